/**
 * `audit`: the pool's hash-chained audit log (every bucket, object, disk and key change, with who and when) and
 * whether the chain verifies. `audit verify` only walks the chain and names the first broken link; `audit tail`
 * shows the newest records. Read-only: runs beside a process that holds the pool (`--meta`/`--data`), or asks
 * the daemon (`--endpoint`).
 */
import type { Command } from 'commander';

import type { AuditRecord } from '../../catalog/catalog.js';
import { ErrorCode } from '../../errors.js';
import { positiveInt } from '../args.js';
import { Ctx, dataOption, endpointOption, metaOption, regionOption, withVault } from '../context.js';
import { CliCode, CliError } from '../errors.js';

/** The most records `audit tail` shows (the admin API's bound too). */
const TAIL_MAX = 1000;

/** One record on one line; evidence records (the daemon's) add their target, result, request id and source. */
const recordLine = (r: AuditRecord) =>
  [String(r.index).padStart(6), new Date(r.timeMs).toISOString(), r.action, r.principal,
    r.target ?? [r.bucket, r.key].filter((x) => x !== undefined).join('/'), r.versionId ?? '', r.result ?? '',
    r.detail ?? '', r.requestId !== undefined ? `req=${r.requestId}` : '', r.source !== undefined ? `from=${r.source}` : '']
    .filter((x, i) => i < 4 || x !== '').join('  ').trimEnd();

const brokenError = (brokenAt: number) =>
  new CliError(ErrorCode.CORRUPT, `audit chain broken at record ${brokenAt}`, 'the catalog was altered or damaged: keep a copy of the meta directory for investigation and compare with your backups');

/** The chain check, here or in the daemon. */
async function verify(ctx: Ctx): Promise<{ ok: boolean; records: number; brokenAt?: number }> {
  const remote = ctx.remote();
  if (remote !== undefined) return remote.get('audit/verify');
  return withVault(ctx, async (v) => {
    const brokenAt = (await v.verifyAudit());
    const records = (await v.auditLog()).length;
    return brokenAt === -1 ? { ok: true, records } : { ok: false, records, brokenAt };
  }, { readOnly: true });
}

/** The last `n` records and the total, here or in the daemon. */
async function tail(ctx: Ctx, n: number): Promise<{ records: AuditRecord[]; total: number }> {
  const remote = ctx.remote();
  // The admin API answers at most TAIL_MAX records per request.
  if (remote !== undefined) return remote.get(`audit/tail?n=${Math.min(n, TAIL_MAX)}`);
  return withVault(ctx, async (v) => {
    const all = (await v.auditLog());
    return { records: all.slice(-n), total: all.length };
  }, { readOnly: true });
}

const withPoolOptions = (c: Command) => c.option(...metaOption).option(...dataOption).option(...endpointOption).option(...regionOption);

export function registerAudit(program: Command): void {
  const audit = withPoolOptions(program
    .command('audit')
    .description('show the audit log (newest last) and verify its hash chain; exits 6 when the chain is broken'))
    .option('--last <count>', 'only the last COUNT records', positiveInt)
    .action(async (o: { last?: number }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const chainState = await verify(ctx);
      const { records, total } = await tail(ctx, o.last ?? Number.MAX_SAFE_INTEGER);
      const chain = chainState.ok ? { ok: true as const } : { ok: false as const, brokenAt: chainState.brokenAt! };
      const lines = records.map(recordLine);
      if (o.last === undefined && records.length < total) lines.push(`(the newest ${records.length} of ${total} records: the daemon answers at most ${TAIL_MAX}; --data DIR reads them all)`);
      lines.push(chain.ok ? `audit chain verified: ${total} record(s)` : `audit chain BROKEN at record ${chain.brokenAt} of ${total}`);
      ctx.result({ records, total, chain }, lines);
      if (!chain.ok) throw brokenError(chain.brokenAt);
    });

  withPoolOptions(audit
    .command('verify')
    .description('walk the audit chain and name the first broken link; exits 6 when it is broken'))
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const r = await verify(ctx);
      ctx.result(r, r.ok ? `audit chain verified: ${r.records} record(s)` : `audit chain BROKEN at record ${r.brokenAt} of ${r.records}: every record from there on is unverified`);
      if (!r.ok) throw brokenError(r.brokenAt!);
    });

  withPoolOptions(audit
    .command('tail')
    .description(`show the newest audit records (default 20, at most ${TAIL_MAX})`))
    .option('-n, --count <count>', 'how many records', positiveInt, 20)
    .action(async (o: { count: number }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      if (o.count > TAIL_MAX) throw new CliError(CliCode.USAGE, `--count ${o.count}: at most ${TAIL_MAX}`, `use \`${ctx.suggest('audit')}\` for the whole log`);
      const r = await tail(ctx, o.count);
      ctx.result(r, [...r.records.map(recordLine), `${r.records.length} of ${r.total} record(s)`]);
    });
}
