#!/usr/bin/env node
/** shardvault command line. Grows with the engine: today `info` and `demo`. */
import { Command, InvalidArgumentError } from 'commander';

import { readFile, writeFile } from 'node:fs/promises';

import { runDemo } from './demo.js';
import { nativeInfo } from './native-info.js';
import { Vault } from './vault.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

const program = new Command();
program.name('shardvault').description('Erasure-coded, fsync-durable object storage engine');

program
  .command('info')
  .description('show whether the native addon loaded and which kernels it chose')
  .action(() => {
    console.log(JSON.stringify(nativeInfo(), null, 2));
  });

program
  .command('demo')
  .description('open (or create on first start) a 4+2 pool of directory disks under --data and do a put/get round trip')
  .option('--data <dir>', 'pool directory (created on first start)', './data')
  .option('--size <bytes>', 'object size in bytes', positiveInt, 8 * 1024 * 1024 + 12345)
  .action(async (opts: { data: string; size: number }) => {
    await runDemo({ dataDir: opts.data, objectBytes: opts.size, log: (line) => console.log(line) });
  });

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** "path" or "path:host=h1,enclosure=e2" */
function parseDisk(spec: string): { path: string; labels: Record<string, string> } {
  const [path, labelText] = spec.split(/:(?=[^/]*=)/);
  const labels: Record<string, string> = {};
  for (const pair of labelText ? labelText.split(',') : []) {
    const [k, v] = pair.split('=');
    if (!k || !v) throw new InvalidArgumentError(`bad label "${pair}" in --disk ${spec}`);
    labels[k] = v;
  }
  return { path, labels };
}

async function withVault<T>(meta: string, fn: (v: Vault) => Promise<T>): Promise<T> {
  const vault = await Vault.open(meta);
  try {
    return await fn(vault);
  } finally {
    await vault.close();
  }
}

const metaOption = ['--meta <dir>', 'pool metadata directory (catalog, key, pool.json)', './data/meta'] as const;

program
  .command('init')
  .description('format a pool: --disk PATH[:label=value,...] once per disk')
  .requiredOption('--disk <spec>', 'a disk directory with optional failure-domain labels', collect, [])
  .option(...metaOption)
  .option('-k <count>', 'data shards', positiveInt, 4)
  .option('-m <count>', 'parity shards', positiveInt, 2)
  .option('--block <bytes>', 'block size per shard per stripe', positiveInt, 1 << 20)
  .option('--domain <level>', 'failure-domain level (a label name, or disk)', 'disk')
  .action(async (o: { disk: string[]; meta: string; k: number; m: number; block: number; domain: string }) => {
    const vault = await Vault.init({ disks: o.disk.map(parseDisk), metaDir: o.meta, k: o.k, m: o.m, blockBytes: o.block, failureDomain: o.domain });
    await vault.close();
    console.log(`pool formatted: ${o.disk.length} disks, ${o.k}+${o.m}, metadata in ${o.meta}`);
  });

program
  .command('mb <bucket>')
  .description('create a bucket')
  .option(...metaOption)
  .action((bucket: string, o: { meta: string }) => withVault(o.meta, (v) => v.createBucket(bucket)));

program
  .command('put <bucket> <key> <file>')
  .description('store a file; prints the durability receipt')
  .option(...metaOption)
  .action((bucket: string, key: string, file: string, o: { meta: string }) =>
    withVault(o.meta, async (v) => console.log(JSON.stringify(await v.put(bucket, key, await readFile(file))))),
  );

program
  .command('get <bucket> <key> [out]')
  .description('read an object (verified); to a file, or to stdout')
  .option(...metaOption)
  .action((bucket: string, key: string, out: string | undefined, o: { meta: string }) =>
    withVault(o.meta, async (v) => {
      const data = await v.get(bucket, key);
      if (out === undefined) process.stdout.write(data);
      else await writeFile(out, data);
    }),
  );

program
  .command('ls <bucket>')
  .description('list keys')
  .option(...metaOption)
  .option('--prefix <prefix>', 'only keys starting with this')
  .action((bucket: string, o: { meta: string; prefix?: string }) =>
    withVault(o.meta, async (v) => {
      for (const k of v.list(bucket, { prefix: o.prefix })) console.log(k);
    }),
  );

program
  .command('rm <bucket> <key>')
  .description('delete an object (signed tombstone)')
  .option(...metaOption)
  .action((bucket: string, key: string, o: { meta: string }) => withVault(o.meta, (v) => v.delete(bucket, key)));

program
  .command('status')
  .description('per-disk health, objects at risk, queued repair work')
  .option(...metaOption)
  .action((o: { meta: string }) => withVault(o.meta, async (v) => console.log(JSON.stringify(await v.status(), null, 2))));

program
  .command('scrub')
  .description('verify every block of every object; bad ones are queued for repair')
  .option(...metaOption)
  .option('--rate <bytesPerSec>', 'read at most this many bytes per second', positiveInt)
  .action((o: { meta: string; rate?: number }) =>
    withVault(o.meta, async (v) => {
      const r = await v.scrub({
        rateBytesPerSec: o.rate,
        onProgress: (p) => process.stderr.write(`\rscrub: ${p.objects} objects, ${(p.bytes / 1e6).toFixed(1)} MB, ${p.bad} bad`),
      });
      process.stderr.write('\n');
      console.log(`scrub: ${r.objects} objects, ${r.bytes} bytes, ${r.bad} bad shard(s) queued for repair`);
    }),
  );

program
  .command('repair')
  .description('rebuild every shard queued for repair (from reads, degraded writes)')
  .option(...metaOption)
  .action((o: { meta: string }) =>
    withVault(o.meta, async (v) => {
      const queued = v.repairQueue().length;
      const r = await v.repair();
      console.log(`repair: ${queued} queued, ${r.repaired} rebuilt, ${r.dropped} dropped (superseded)`);
    }),
  );

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`shardvault: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`);
  process.exitCode = 1;
});
