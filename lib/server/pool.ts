/**
 * The daemon's pool: reopened when `<data>/meta/pool.json` exists, else created: the disks of the config
 * (or six directory disks `<data>/disk-0..5`, one failure domain each, 4+2, as the demo always did).
 * A reopened pool whose k, m or failure domain differ from an explicit config is refused: the config says
 * what the operator believes, and a silent mismatch is how a weaker layout goes unnoticed (I5).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { ErrorCode, ShardVaultError } from '../errors.js';
import { Vault, type BreakGlass } from '../vault.js';
import type { EffectiveConfig } from './config.js';

export const DEFAULT_DISKS = 6;

export function metaDirOf(dataDir: string): string {
  return join(resolve(dataDir), 'meta');
}

/**
 * The daemon's effective configuration is its part of the pool's configuration digest (source `daemon`), and its
 * write quorum (config file or SHARDVAULT_WRITE_QUORUM) is applied at open, checked against the security floor:
 * weaker is ERR_SV_FLOOR unless `breakGlass` (serve --break-glass --reason TEXT) accepts it, audited.
 */
export async function openOrCreatePool(c: EffectiveConfig, explicit: { k: boolean; m: boolean; failureDomain: boolean }, breakGlass?: BreakGlass): Promise<{ vault: Vault; created: boolean }> {
  const meta = metaDirOf(c.data);
  const configSource = { name: 'daemon', settings: c };
  const witness = c.witness !== undefined ? { witness: c.witness } : {};
  if (existsSync(join(meta, 'pool.json'))) {
    const vault = await Vault.open(meta, { configSource, ...witness, ...(c.pool.writeQuorum !== undefined ? { writeQuorum: c.pool.writeQuorum } : {}), ...(breakGlass !== undefined ? { breakGlass: { principal: 'serve', ...breakGlass } } : {}) });
    const s = await vault.status();
    const wrong: string[] = [];
    if (explicit.k && s.pool.k !== c.pool.k) wrong.push(`k is ${s.pool.k}, the config says ${c.pool.k}`);
    if (explicit.m && s.pool.m !== c.pool.m) wrong.push(`m is ${s.pool.m}, the config says ${c.pool.m}`);
    if (explicit.failureDomain && s.pool.failureDomain !== c.pool.failureDomain) wrong.push(`the failure domain is ${s.pool.failureDomain}, the config says ${c.pool.failureDomain}`);
    if (wrong.length > 0) {
      await vault.close();
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `the pool in ${meta} does not match the config: ${wrong.join('; ')} (a pool's layout is fixed at creation)`);
    }
    return { vault, created: false };
  }
  await mkdir(resolve(c.data), { recursive: true });
  const disks = c.pool.disks ?? Array.from({ length: DEFAULT_DISKS }, (_, i) => ({ path: join(resolve(c.data), `disk-${i}`), labels: { disk: `disk-${i}` } }));
  for (const d of disks) if (!existsSync(d.path)) await mkdir(d.path, { recursive: true });
  const vault = await Vault.init({
    disks,
    metaDir: meta,
    k: c.pool.k,
    m: c.pool.m,
    blockBytes: c.pool.blockBytes,
    failureDomain: c.pool.failureDomain,
    ...(c.pool.writeQuorum !== undefined ? { writeQuorum: c.pool.writeQuorum } : {}),
    configSource,
    ...witness,
  });
  return { vault, created: true };
}
