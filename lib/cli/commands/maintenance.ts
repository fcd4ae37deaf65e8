/**
 * Background work an operator starts by hand: `scrub` (verify everything; Ctrl-C saves a cursor for
 * `--resume`), `repair` (rebuild what is queued), `rebalance`, `gc`, `rebuild-catalog`. Scrub and repair end
 * with the pool's open work (a missing disk is work: they say which command fixes it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

import { ErrorCode } from '../../errors.js';
import { Vault } from '../../vault.js';
import { nonNegativeNumber, positiveInt } from '../args.js';
import type { AdminClient } from '../admin-client.js';
import { Ctx, dataOption, endpointOption, interruptible, metaOption, progressOption, regionOption, withVault } from '../context.js';
import { CliCode, CliError, HINT_OF } from '../errors.js';
import type { Action } from '../health.js';
import type { ProgressBar } from '../progress.js';
import { formatBytes } from '../units.js';
import { statusView, statusViewOf, type StatusView } from './status.js';

type RepairError = { bucket: string; key: string; code: string; message: string };

/** Per-object failures on stderr, each code's hint once. */
function reportErrors(ctx: Ctx, what: string, errors: readonly RepairError[]): void {
  const hinted = new Set<string>();
  for (const e of errors) {
    process.stderr.write(`${what}: ${e.bucket}/${e.key}: ${e.code}: ${e.message}\n`);
    if (!hinted.has(e.code) && Object.hasOwn(HINT_OF, e.code)) {
      hinted.add(e.code);
      process.stderr.write(`hint: ${HINT_OF[e.code as keyof typeof HINT_OF]({ ...ctx.hint, bucket: e.bucket, key: e.key })}\n`);
    }
  }
}

/** A scrub or repair job of the admin API (lib/server/admin.ts). */
interface RemoteJob<P, R> {
  state: 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
  startedMs?: number;
  progress?: P;
  result?: R;
  error?: { code: string; message: string };
}

/** How often a remote job's progress is read. */
const POLL_MS = 250;

const remoteStatus = async (ctx: Ctx, client: AdminClient): Promise<StatusView> => statusViewOf(ctx, await client.get('status'));

/**
 * Starts a scrub or repair in the daemon and follows it until it ends, drawing its progress. Ctrl-C cancels
 * it in the daemon (what the local command's Ctrl-C does: scrub keeps its cursor, repair its queue) and ends
 * with ERR_SV_ABORTED; a job that failed in the daemon ends with the daemon's error code.
 */
async function followRemoteJob<P, R>(client: AdminClient, kind: 'scrub' | 'repair', body: Record<string, unknown>, kept: string, bar: ProgressBar, show: (p: P) => void): Promise<R> {
  // Ctrl-C is handled from before the job is started: a SIGINT that arrives while the daemon is starting it
  // (the job already running there, the answer not yet here) cancels it like any other, instead of killing
  // this process with the job left running.
  const intr = interruptible(kind, kept, () => bar);
  try {
    const started = await client.post<RemoteJob<P, R>>(kind, body);
    let job = started;
    while (job.state === 'running') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_MS);
        intr.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
      if (intr.interrupted()) {
        await client.post(`${kind}/cancel`);
        throw intr.signal.reason;
      }
      job = await client.get<RemoteJob<P, R>>(kind);
      if (job.startedMs !== started.startedMs) throw new CliError(ErrorCode.CONFLICT, `another ${kind} was started in the daemon meanwhile; this one ended`);
      if (job.progress !== undefined) show(job.progress);
    }
    if (job.state === 'done' && job.result !== undefined) return job.result;
    const e = job.error ?? { code: ErrorCode.ABORTED, message: `the ${kind} ${job.state === 'cancelled' ? 'was cancelled in the daemon' : 'ended without a result'}` };
    throw new CliError(Object.hasOwn(HINT_OF, e.code) ? (e.code as keyof typeof HINT_OF) : ErrorCode.IO, `${kind} in the daemon: ${e.message}`);
  } catch (err) {
    bar.interrupt();
    throw err;
  } finally {
    intr.dispose();
  }
}

const todo = (actions: readonly Action[]) => (actions.length === 0 ? [] : ['what to do:', ...actions.map((a) => `  ${a.message}`)]);

function scrubResult(ctx: Ctx, r: { objects: number; bytes: number; bad: number; revoked?: number }, skipped: StatusView['disks'], after: StatusView): void {
  ctx.result(
    { objects: r.objects, bytes: r.bytes, bad: r.bad, ...(r.revoked !== undefined ? { revoked: r.revoked } : {}), repairQueued: after.repairQueued, disksSkipped: skipped.map((d) => ({ id: d.id, condition: d.condition })), actions: after.actions },
    [
      `scrub: ${r.objects} objects, ${formatBytes(r.bytes)} read, ${r.bad} bad shard(s) queued for repair`,
      ...(r.revoked !== undefined ? [`scrub: ${r.revoked} object(s) signed only by a revoked key: run \`shardvault repair --resign\``] : []),
      ...skipped.map((d) => `scrub: disk ${d.id} not checked: ${d.condition}`),
      ...todo(after.actions),
    ],
  );
}

type RepairResult = Awaited<ReturnType<Vault['repair']>>;

function repairResult(ctx: Ctx, queued: number, r: RepairResult, after: StatusView): void {
  const resign = r.resign;
  ctx.result(
    { queued, repaired: r.repaired, moved: r.moved, failed: r.failed, dropped: r.dropped, errors: r.errors, repairQueued: after.repairQueued, actions: after.actions, ...(resign !== undefined ? { resign } : {}) },
    [
      ...(resign !== undefined ? [`repair --resign: ${resign.resigned} manifests re-signed by the active key, ${resign.failed} could not be (still refused)`] : []),
      `repair: ${queued} queued, ${r.repaired} rebuilt (${r.moved} moved to another disk), ${r.failed} failed, ${r.dropped} dropped (superseded)`, ...todo(after.actions),
    ],
  );
  reportErrors(ctx, 'repair', [...(resign?.errors ?? []), ...r.errors]);
  if (r.failed > 0 || (resign?.failed ?? 0) > 0) process.exitCode = 1;
}

/** Works off the repair queue with a progress bar; Ctrl-C stops it cleanly (`kept`: what the message says stays). */
async function repairWithBar(ctx: Ctx, v: Vault, what: string, kept: string, o: { progress?: boolean; resign?: boolean }): Promise<Awaited<ReturnType<Vault['repair']>>> {
  const total = (await v.repairQueue()).length;
  const bar: ProgressBar = ctx.bar(what, total, o, 'items');
  const intr = interruptible(what, kept, () => bar);
  try {
    const r = await v.repair({ signal: intr.signal, onProgress: (p) => bar.update(p.done), ...(o.resign === true ? { resign: true } : {}) });
    bar.done(total);
    return r;
  } catch (err) {
    bar.interrupt();
    throw intr.interrupted() ? intr.signal.reason : err;
  } finally {
    intr.dispose();
  }
}

export function registerMaintenance(program: Command): void {
  program
    .command('scrub')
    .description('verify every block of every object; bad ones are queued for repair; Ctrl-C stops (resume with --resume)')
    .option(...metaOption)
    .option(...progressOption)
    .option('--rate <bytesPerSec>', 'read at most this many bytes per second', positiveInt)
    .option('--resume', 'continue after the object where the last interrupted scrub stopped')
    .option(...dataOption)
    .option(...endpointOption)
    .option(...regionOption)
    .action((o: { rate?: number; resume?: boolean; progress?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const client = ctx.remote();
      if (client !== undefined) {
        return (async () => {
          const before = await remoteStatus(ctx, client);
          const skipped = before.disks.filter((d) => d.condition !== 'online' && d.condition !== 'draining' && d.condition !== 'removed');
          const bar: ProgressBar = ctx.bar('scrub', before.objects ?? undefined, o, 'items');
          const r = await followRemoteJob<{ objects: number; bytes: number; bad: number }, { objects: number; bytes: number; bad: number }>(
            client, 'scrub', { ...(o.rate !== undefined ? { rateBytesPerSec: o.rate } : {}), ...(o.resume === true ? { resume: true } : {}) },
            'the cursor is saved for --resume', bar, (p) => bar.update(p.objects, `${formatBytes(p.bytes)} read, ${p.bad} bad`),
          );
          bar.done(r.objects, `${formatBytes(r.bytes)} read, ${r.bad} bad`);
          scrubResult(ctx, r, skipped, await remoteStatus(ctx, client));
        })();
      }
      return withVault(ctx, async (v) => {
        const before = await statusView(ctx, v);
        // Disks that cannot be read are not scrubbed (their shards are not checked): said, not hidden.
        const skipped = before.disks.filter((d) => d.condition !== 'online' && d.condition !== 'draining' && d.condition !== 'removed');
        const bar: ProgressBar = ctx.bar('scrub', before.objects ?? undefined, o, 'items');
        const intr = interruptible('scrub', 'the cursor is saved for --resume', () => bar);
        let r;
        try {
          r = await v.scrub({
            rateBytesPerSec: o.rate, resume: o.resume, signal: intr.signal,
            onProgress: (p) => bar.update(p.objects, `${formatBytes(p.bytes)} read, ${p.bad} bad`),
          });
        } catch (err) {
          bar.interrupt();
          throw intr.interrupted() ? intr.signal.reason : err;
        } finally {
          intr.dispose();
        }
        bar.done(r.objects, `${formatBytes(r.bytes)} read, ${r.bad} bad`);
        scrubResult(ctx, r, skipped, await statusView(ctx, v));
      });
    });

  program
    .command('repair')
    .description('rebuild every shard queued for repair (reads, scrub, degraded writes, drained or replaced disks)')
    .option(...metaOption)
    .option(...progressOption)
    .option(...dataOption)
    .option(...endpointOption)
    .option(...regionOption)
    .option('--resign', 'first re-sign, under the active key, every object whose manifest a revoked key signed and the catalog vouches for (docs/keyring.md)')
    .action((o: { progress?: boolean; resign?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const client = ctx.remote();
      if (client !== undefined) {
        return (async () => {
          const queued = (await remoteStatus(ctx, client)).repairQueued ?? 0;
          const bar: ProgressBar = ctx.bar('repair', queued, o, 'items');
          const r = await followRemoteJob<{ done: number; total: number }, RepairResult>(client, 'repair', o.resign === true ? { resign: true } : {}, 'what is not rebuilt stays queued', bar, (p) => bar.update(p.done));
          bar.done(queued);
          repairResult(ctx, queued, r, await remoteStatus(ctx, client));
        })();
      }
      return withVault(ctx, async (v) => {
        const queued = (await v.repairQueue()).length;
        const r = await repairWithBar(ctx, v, 'repair', 'what is not rebuilt stays queued', o);
        // Repair works off the queue; shards on a disk that is gone are not queued until the disk is replaced.
        repairResult(ctx, queued, r, await statusView(ctx, v));
      });
    });

  program
    .command('rebalance')
    .description('after adding disks: queue the shards the placement now puts on disks their object does not use, then move them (repair)')
    .option(...metaOption)
    .option(...progressOption)
    .action((o: { progress?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      return withVault(ctx, async (v) => {
        const queued = await v.rebalance();
        const r = await repairWithBar(ctx, v, 'rebalance', 'what is not moved stays queued', o);
        ctx.result({ queued, moved: r.moved, repaired: r.repaired, failed: r.failed, errors: r.errors }, `rebalance: ${queued} shards queued, ${r.moved} moved, ${r.failed} failed`);
        reportErrors(ctx, 'rebalance', r.errors);
        if (r.failed > 0) process.exitCode = 1;
      });
    });

  program
    .command('gc')
    .description('remove leftovers: files of uncommitted or superseded versions and stale copies older than --grace')
    .option(...metaOption)
    .option('--grace <seconds>', 'keep files younger than this', nonNegativeNumber, 3600)
    .option('--quick', 'only the queued superseded versions, no walk of the disks')
    .action((o: { grace: number; quick?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      return withVault(ctx, async (v) => {
        const g = await v.gc({ graceMs: o.grace * 1000, walk: o.quick !== true });
        ctx.result(g, [
          `gc: removed ${g.temporaryRemoved} temporary, ${g.orphansRemoved} orphan, ${g.supersededRemoved} superseded and ${g.staleRemoved} stale file(s), ${g.segmentsRemoved} copy-log segment(s); ${g.copiesCompacted} cop(ies) compacted`,
          ...(g.repairQueued > 0 ? [`gc: ${g.repairQueued} shard(s) queued for repair: run \`${ctx.suggest('repair')}\``] : []),
        ]);
      });
    });

  program
    .command('rebuild-catalog')
    .description('rebuild a lost or damaged catalog from the manifest copies on the disks (the old one is moved aside)')
    .option(...metaOption)
    .action(async (_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      if (!existsSync(join(ctx.meta, 'pool.json'))) {
        throw new CliError(ErrorCode.NOT_FOUND, `no pool in ${ctx.meta} (no pool.json)`, 'rebuild-catalog needs the pool\'s pool.json and pool.key or keyring/ring: pass their directory with --meta DIR');
      }
      const r = await Vault.rebuildCatalog(ctx.meta, 'local', ctx.open.witness !== undefined ? { witness: ctx.open.witness } : {});
      ctx.result(r, `rebuild-catalog: ${r.objects} objects, ${r.versions} versions from ${r.copiesRead} manifest copies (${r.copiesRejected} rejected, ${r.copiesRevoked} signed by a revoked key; ${r.ringsRefused} key ring copies refused)${r.movedAside !== undefined ? `; the old catalog is in ${r.movedAside}` : ''}`);
    });
}
