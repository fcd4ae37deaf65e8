/**
 * `keyring`: the pool's signing key ring (docs/keyring.md). `list` shows every key with its state and times
 * (read-only: works beside a running daemon), `rotate` makes a new active key and retires the old one,
 * `revoke ID --reason TEXT` revokes a key (the active one only with `--rotate`, which makes its successor in
 * the same change). Changes take the pool lock and are audited (`keyring.rotate`, `keyring.revoke`); after a
 * revocation, `shardvault repair --resign` re-signs what the revoked key signed and the catalog vouches for.
 */
import type { Command } from 'commander';

import type { Vault } from '../../vault.js';
import { Ctx, metaOption, withVault } from '../context.js';

type Ring = ReturnType<Vault['keyring']>;

function lines(ring: Ring): string[] {
  const time = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());
  const rows = [['KEY ID', 'STATE', 'CREATED', 'RETIRED', 'REVOKED', 'REASON'],
    ...ring.keys.map((k) => [k.id, k.state, time(k.createdMs), time(k.retiredMs), time(k.revokedMs), k.revokeReason ?? ''])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return [`key ring generation ${ring.generation}`, ...rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd())];
}

export function registerKeyring(program: Command): void {
  const keyring = program.command('keyring').description("the pool's signing keys: list, rotate, revoke");

  keyring.command('list').description('list the signing keys with their state (active, retired, revoked) and times')
    .option(...metaOption)
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const ring = await withVault(ctx, async (v) => v.keyring(), { readOnly: true });
      ctx.result(ring, lines(ring));
    });

  keyring.command('rotate').description('make a new active signing key; the old one is retired (what it signed still verifies)')
    .option(...metaOption)
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const r = await withVault(ctx, async (v) => v.rotateKey('cli'));
      ctx.result(r, `keyring rotate: ${r.id} is the active key now, ${r.retired} is retired (generation ${r.generation})${r.membersFailed.length > 0 ? `; not written to ${r.membersFailed.join(', ')} (they get it with the next change)` : ''}`);
    });

  keyring.command('revoke <id>').description('revoke a signing key: what only it signed is refused until `repair --resign`')
    .requiredOption('--reason <text>', 'why (kept in the ring and the audit record)')
    .option('--rotate', 'the key is the active one: make a new active key in the same change')
    .option(...metaOption)
    .action(async (id: string, o: { reason: string; rotate?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const r = await withVault(ctx, async (v) => v.revokeKey(id, o.reason, { rotate: o.rotate === true, principal: 'cli' }));
      ctx.result(r, [`keyring revoke: ${r.revoked} is revoked; the active key is ${r.active} (generation ${r.generation})`, 'next: `shardvault repair --resign` re-signs what the revoked key signed']);
    });
}
