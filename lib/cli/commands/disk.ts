/**
 * `disk add|drain|replace|rm`: the disk lifecycle. A disk is named by its id, by a prefix of it that names
 * one disk (`disk-2` for `disk-2-1a2b3c4d`), or by its path. New specs are checked against the pool's label
 * keys, so a typo in a label is refused by name instead of making a disk without a domain. With `--endpoint URL`
 * the running daemon makes the change (admin API `disks`); paths are then the daemon's, and must be absolute.
 */
import { isAbsolute, resolve } from 'node:path';

import type { Command } from 'commander';

import { ErrorCode } from '../../errors.js';
import type { Vault } from '../../vault.js';
import type { AdminClient } from '../admin-client.js';
import { Ctx, dataOption, endpointOption, metaOption, regionOption, withVault } from '../context.js';
import { checkJoiningSpec, parseDiskSpec, type DiskSpec } from '../diskspec.js';
import { CliCode, CliError } from '../errors.js';

type PoolDisk = Awaited<ReturnType<Vault['status']>>['disks'][number];

/** The pool disk `name` refers to (not removed): exact id, unique id prefix, or path. */
export function resolveDisk(ctx: Ctx, disks: readonly PoolDisk[], name: string): PoolDisk {
  const live = disks.filter((d) => d.state !== 'removed');
  const exact = live.find((d) => d.id === name);
  if (exact !== undefined) return exact;
  const matches = live.filter((d) => d.id.startsWith(`${name}-`) || resolve(d.path) === resolve(name));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw new CliError(CliCode.USAGE, `disk "${name}" could be ${matches.map((d) => d.id).join(' or ')}`, 'give the full disk id');
  const gone = disks.some((d) => d.id === name);
  throw new CliError(ErrorCode.NO_SUCH_DISK, gone ? `disk ${name} was removed from the pool` : `no disk ${name} in the pool`, `disk ids are listed by \`${ctx.suggest('status')}\``);
}

const labelText = (l: Record<string, string>) => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',');

function joining(spec: string, disks: readonly PoolDisk[], allowNew: boolean, remote = false): DiskSpec {
  const parsed = parseDiskSpec(spec);
  checkJoiningSpec(spec, parsed, disks.filter((d) => d.state !== 'removed').map((d) => d.labels), allowNew);
  if (remote && !isAbsolute(parsed.path)) {
    throw new CliError(CliCode.USAGE, `${parsed.path}: with --endpoint, give the disk's absolute path on the daemon's machine`, 'e.g. `disk add /mnt/d7:host=h7 --endpoint URL`');
  }
  return { ...parsed, path: resolve(parsed.path) }; // absolute: the pool opens from any working directory
}

/** The daemon's disks (GET status), for resolving names and checking labels before asking it to change. */
const remoteDisks = async (client: AdminClient): Promise<PoolDisk[]> => (await client.get<Awaited<ReturnType<Vault['status']>>>('status')).disks;

export function registerDisk(program: Command): void {
  const disk = program.command('disk').description('disk lifecycle: add, drain, replace, rm');
  const newLabels = ['--allow-new-labels', 'accept label keys no disk of the pool has yet (otherwise refused as a likely typo)'] as const;
  const where = (c: Command) => c.option(...dataOption).option(...endpointOption).option(...regionOption);

  where(disk
    .command('add <spec>')
    .description('format and add a disk: PATH[:label=value,...]')
    .option(...metaOption)
    .option(...newLabels))
    .action(async (spec: string, o: { allowNewLabels?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const client = ctx.remote();
      const added = async (id: string, parsed: DiskSpec) => ctx.result(
          { disk: id, path: parsed.path, labels: parsed.labels },
          [`disk add: ${id} at ${parsed.path}${Object.keys(parsed.labels).length > 0 ? ` (${labelText(parsed.labels)})` : ''}`, `existing objects stay where they are: \`${ctx.suggest('rebalance')}\` gives the new disk its share`],
        );
      if (client !== undefined) {
        const parsed = joining(spec, await remoteDisks(client), o.allowNewLabels === true, true);
        const r = await client.post<{ disk: string }>('disks', { path: parsed.path, labels: parsed.labels });
        return added(r.disk, parsed);
      }
      return withVault(ctx, async (v) => {
        const parsed = joining(spec, (await v.status()).disks, o.allowNewLabels === true);
        added(await v.addDisk(parsed), parsed);
      });
    });

  where(disk
    .command('drain <disk>')
    .description('stop placing shards on a disk and queue all of its shards to move (then run repair)')
    .option(...metaOption))
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const client = ctx.remote();
      const drained = (id: string, queued: number) => ctx.result({ disk: id, queued }, `drain: ${id}: ${queued} shard(s) queued; run \`${ctx.suggest('repair')}\`, then \`${ctx.suggest(`disk rm ${id}`)}\``);
      if (client !== undefined) {
        const d = resolveDisk(ctx, await remoteDisks(client), name);
        return drained(d.id, (await client.post<{ queued: number }>(`disks/${encodeURIComponent(d.id)}/drain`)).queued);
      }
      return withVault(ctx, async (v) => {
        const d = resolveDisk(ctx, (await v.status()).disks, name);
        drained(d.id, await v.drainDisk(d.id));
      });
    });

  where(disk
    .command('replace <disk> <spec>')
    .description('replace a (failed) disk by a new one and queue its shards to be rebuilt there (then run repair)')
    .option(...metaOption)
    .option(...newLabels))
    .action(async (name: string, spec: string, o: { allowNewLabels?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const client = ctx.remote();
      const check = (disks: readonly PoolDisk[]) => {
        const d = resolveDisk(ctx, disks, name);
        const parsed = joining(spec, disks, o.allowNewLabels === true, client !== undefined);
        if (resolve(parsed.path) === resolve(d.path)) {
          // The library adds the new disk before it removes the old one, so one path cannot be both (yet).
          throw new CliError(CliCode.USAGE, `${parsed.path} is the path of ${d.id} itself`, 'replace onto another path (a new mount point); to reuse this path, mount the new disk elsewhere first');
        }
        return { d, parsed };
      };
      const replaced = (id: string, newId: string, queued: number) => ctx.result({ disk: id, newDisk: newId, queued }, `replace: ${id} -> ${newId}; ${queued} shard(s) queued; run \`${ctx.suggest('repair')}\``);
      if (client !== undefined) {
        const { d, parsed } = check(await remoteDisks(client));
        const r = await client.post<{ newDisk: string; queued: number }>(`disks/${encodeURIComponent(d.id)}/replace`, { path: parsed.path, labels: parsed.labels });
        return replaced(d.id, r.newDisk, r.queued);
      }
      return withVault(ctx, async (v) => {
        const { d, parsed } = check((await v.status()).disks);
        const newId = await v.replaceDisk(d.id, parsed);
        replaced(d.id, newId, (await v.repairQueue()).length);
      });
    });

  where(disk
    .command('rm <disk>')
    .description('remove a drained disk from the pool (refused while it holds shards)')
    .option(...metaOption))
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const client = ctx.remote();
      const check = (disks: readonly PoolDisk[]) => {
        const d = resolveDisk(ctx, disks, name);
        if (d.shards > 0) {
          throw new CliError(ErrorCode.OUT_OF_RANGE, `disk ${d.id} still holds ${d.shards} shard(s)`, `move them first: \`${ctx.suggest(`disk drain ${d.id}`)}\`, then \`${ctx.suggest('repair')}\``);
        }
        return d;
      };
      if (client !== undefined) {
        const d = check(await remoteDisks(client));
        await client.call('DELETE', `disks/${encodeURIComponent(d.id)}`);
        ctx.result({ disk: d.id, removed: true }, `disk rm: ${d.id} removed from the pool`);
        return;
      }
      return withVault(ctx, async (v) => {
        const d = check((await v.status()).disks);
        await v.removeDisk(d.id);
        ctx.result({ disk: d.id, removed: true }, `disk rm: ${d.id} removed from the pool`);
      });
    });
}
