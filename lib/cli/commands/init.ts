/** `init`: format a pool from `--disk PATH[:labels]` specs (checked for typos first, lib/cli/diskspec.ts). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import { ErrorCode } from '../../errors.js';
import { POOL_FORMAT } from '../../format/versions.js';
import { Vault } from '../../vault.js';
import { collect, positiveInt } from '../args.js';
import { Ctx, metaOption } from '../context.js';
import { checkInitSpecs, parseDiskSpec } from '../diskspec.js';
import { CliError } from '../errors.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('format a pool: --disk PATH[:label=value,...] once per disk')
    .requiredOption('--disk <spec>', 'a disk directory with optional failure-domain labels (repeat per disk)', collect, [])
    .option(...metaOption)
    .option('-k <count>', 'data shards', positiveInt, 4)
    .option('-m <count>', 'parity shards', positiveInt, 2)
    .option('--block <bytes>', 'block size per shard per stripe', positiveInt, 1 << 20)
    .option('--domain <level>', 'failure-domain level (a label name, or disk)', 'disk')
    .option('--format <version>', 'pool format: 4 (this release), or 3 so that release 0.1.0 can still open it until `shardvault upgrade finalize`', positiveInt, POOL_FORMAT)
    .action(async (o: { disk: string[]; k: number; m: number; block: number; domain: string; format: number }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      // Absolute paths: the pool then opens from any working directory.
      const disks = o.disk.map(parseDiskSpec).map((d) => ({ ...d, path: resolve(d.path) }));
      checkInitSpecs(o.disk, disks, o.domain);
      if (existsSync(join(ctx.meta, 'pool.json'))) {
        throw new CliError(ErrorCode.DISK_IDENTITY, `${ctx.meta} already holds a pool`, `use another --meta directory, or look at this pool: \`shardvault status --meta ${ctx.meta}\``);
      }
      const vault = await Vault.init({ disks, metaDir: ctx.meta, k: o.k, m: o.m, blockBytes: o.block, failureDomain: o.domain, format: o.format });
      let formatted;
      try {
        formatted = (await vault.status()).disks.map((d) => ({ id: d.id, path: d.path, labels: d.labels }));
      } finally {
        await vault.close();
      }
      const labels = (l: Record<string, string>) => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(',');
      ctx.result(
        { meta: ctx.meta, k: o.k, m: o.m, blockBytes: o.block, failureDomain: o.domain, formatVersion: o.format, disks: formatted },
        [
          `pool formatted: ${formatted.length} disks, ${o.k}+${o.m}, failure domain "${o.domain}", format ${o.format}, metadata in ${ctx.meta}`,
          ...formatted.map((d) => `  ${d.id}  ${d.path}${Object.keys(d.labels).length > 0 ? `  ${labels(d.labels)}` : ''}`),
          `next: \`${ctx.suggest('mb BUCKET')}\``,
        ],
      );
    });
}
