/**
 * `audit`: the pool's hash-chained audit log (every bucket, object, disk and key change, with who and when) and
 * whether the chain verifies. Read-only: runs beside a process that holds the pool.
 */
import type { Command } from 'commander';

import { ErrorCode } from '../../errors.js';
import { positiveInt } from '../args.js';
import { Ctx, metaOption, withVault } from '../context.js';
import { CliError } from '../errors.js';

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('show the audit log (newest last) and verify its hash chain; exits 6 when the chain is broken')
    .option(...metaOption)
    .option('--last <count>', 'only the last COUNT records', positiveInt)
    .action((o: { last?: number }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      return withVault(ctx, async (v) => {
        const all = v.auditLog();
        const records = o.last === undefined ? all : all.slice(-o.last);
        const brokenAt = v.verifyAudit();
        const chain = brokenAt === -1 ? { ok: true as const } : { ok: false as const, brokenAt };
        const lines = records.map((r) =>
          [String(r.index).padStart(6), new Date(r.timeMs).toISOString(), r.action, r.principal,
            [r.bucket, r.key].filter((x) => x !== undefined).join('/'), r.versionId ?? '', r.detail ?? ''].join('  ').trimEnd());
        lines.push(chain.ok ? `audit chain verified: ${all.length} record(s)` : `audit chain BROKEN at record ${brokenAt} of ${all.length}`);
        ctx.result({ records, total: all.length, chain }, lines);
        if (!chain.ok) {
          throw new CliError(ErrorCode.CORRUPT, `audit chain broken at record ${brokenAt}`, 'the catalog was altered or damaged: keep a copy of the meta directory for investigation and compare with your backups');
        }
      }, { readOnly: true });
    });
}
