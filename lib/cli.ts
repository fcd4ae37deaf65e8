#!/usr/bin/env node
/** shardvault command line: pool init, objects (put/get/ls/rm), buckets, scrub, repair, gc, disk lifecycle, status. */
import { Command, InvalidArgumentError } from 'commander';

import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

import { runDemo } from './demo.js';
import { nativeInfo } from './native-info.js';
import { ErrorCode, ShardVaultError } from './errors.js';
import { ProgressBar } from './progress.js';
import { INLINE_BYTES_MAX, Vault } from './vault.js';

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

const progressOption = ['--progress', 'draw a progress bar on stderr even when it is not a terminal'] as const;
const wantBar = (o: { progress?: boolean }) => o.progress === true || process.stderr.isTTY === true;

program
  .command('put <bucket> <key> <file>')
  .description('store a file (streamed; memory stays bounded); prints the durability receipt')
  .option(...metaOption)
  .option(...progressOption)
  .action((bucket: string, key: string, file: string, o: { meta: string; progress?: boolean }) =>
    withVault(o.meta, async (v) => {
      const size = (await stat(file)).size;
      let receipt;
      if (size <= INLINE_BYTES_MAX) {
        receipt = await v.put(bucket, key, await readFile(file));
      } else {
        const bar = new ProgressBar(`put ${bucket}/${key}`, size, wantBar(o));
        let sent = 0;
        async function* counted() {
          for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
            sent += (chunk as Buffer).length;
            bar.update(sent);
            yield chunk as Buffer;
          }
        }
        receipt = await v.put(bucket, key, counted());
        bar.done(sent, 'durable');
      }
      console.log(JSON.stringify(receipt));
    }),
  );

program
  .command('get <bucket> <key> [out]')
  .description('read an object (verified, streamed); to a file, or to stdout')
  .option(...metaOption)
  .option(...progressOption)
  .action((bucket: string, key: string, out: string | undefined, o: { meta: string; progress?: boolean }) =>
    withVault(o.meta, async (v) => {
      const head = await v.head(bucket, key);
      if (head === undefined) throw new ShardVaultError(ErrorCode.NOT_FOUND, `no object ${bucket}/${key}`);
      const bar = new ProgressBar(`get ${bucket}/${key}`, head.size, out !== undefined && wantBar(o));
      let got = 0;
      const source = v.get(bucket, key);
      source.on('data', (c: Buffer) => bar.update((got += c.length)));
      // A temporary name, renamed only when the whole object was read and verified: never a partial file.
      if (out === undefined) {
        await pipeline(source, process.stdout);
      } else {
        const tmp = `${out}.partial-${process.pid}`;
        try {
          await pipeline(source, createWriteStream(tmp));
          await rename(tmp, out);
        } catch (err) {
          await unlink(tmp).catch(() => undefined);
          throw err;
        }
      }
      bar.done(got, 'verified');
    }),
  );

program
  .command('ls <bucket>')
  .description('list keys')
  .option(...metaOption)
  .option('--prefix <prefix>', 'only keys starting with this')
  .option('--start-after <key>', 'only keys after this one')
  .option('--limit <count>', 'at most this many keys (default: all)', positiveInt)
  .action((bucket: string, o: { meta: string; prefix?: string; startAfter?: string; limit?: number }) =>
    withVault(o.meta, async (v) => {
      // Page through the listing (1000 keys a page) until --limit keys are printed or none are left.
      const limit = o.limit ?? Infinity;
      let printed = 0;
      let continuationToken: string | undefined;
      do {
        const page = await v.list(bucket, { prefix: o.prefix, startAfter: o.startAfter, continuationToken, maxKeys: Math.min(1000, limit - printed) });
        for (const obj of page.objects) console.log(obj.key);
        printed += page.objects.length;
        continuationToken = page.nextContinuationToken;
      } while (continuationToken !== undefined && printed < limit);
    }),
  );

program
  .command('rm <bucket> <key>')
  .description('delete an object (signed tombstone)')
  .option(...metaOption)
  .action((bucket: string, key: string, o: { meta: string }) => withVault(o.meta, (v) => v.delete(bucket, key)));

program
  .command('buckets')
  .description('list buckets')
  .option(...metaOption)
  .action((o: { meta: string }) =>
    withVault(o.meta, async (v) => {
      for (const b of v.listBuckets()) console.log(b);
    }),
  );

program
  .command('rb <bucket>')
  .description('delete an empty bucket')
  .option(...metaOption)
  .action((bucket: string, o: { meta: string }) => withVault(o.meta, (v) => v.deleteBucket(bucket)));

program
  .command('status')
  .description('per-disk state and health, objects at risk, queued repair work')
  .option(...metaOption)
  .action((o: { meta: string }) => withVault(o.meta, async (v) => console.log(JSON.stringify(await v.status(), null, 2))));

program
  .command('scrub')
  .description('verify every block of every object; bad ones are queued for repair')
  .option(...metaOption)
  .option(...progressOption)
  .option('--rate <bytesPerSec>', 'read at most this many bytes per second', positiveInt)
  .option('--resume', 'continue after the object where the last interrupted scrub stopped')
  .action((o: { meta: string; rate?: number; resume?: boolean; progress?: boolean }) =>
    withVault(o.meta, async (v) => {
      const objects = (await v.status()).objects;
      const bar = new ProgressBar('scrub', objects, wantBar(o), 'items');
      const ac = new AbortController();
      const onSignal = () => ac.abort();
      process.once('SIGINT', onSignal);
      try {
        const r = await v.scrub({ rateBytesPerSec: o.rate, resume: o.resume, signal: ac.signal, onProgress: (p) => bar.update(p.objects, `${(p.bytes / 1e6).toFixed(1)} MB read, ${p.bad} bad`) });
        bar.done(r.objects, `${(r.bytes / 1e6).toFixed(1)} MB read, ${r.bad} bad`);
        console.log(`scrub: ${r.objects} objects, ${r.bytes} bytes, ${r.bad} bad shard(s) queued for repair`);
      } finally {
        process.off('SIGINT', onSignal);
      }
    }),
  );

program
  .command('rebalance')
  .description('after adding disks: queue the shards the placement now puts on disks their object does not use, then move them (repair)')
  .option(...metaOption)
  .option(...progressOption)
  .action((o: { meta: string; progress?: boolean }) =>
    withVault(o.meta, async (v) => {
      const queued = await v.rebalance();
      const total = v.repairQueue().length;
      const bar = new ProgressBar('rebalance', total, wantBar(o), 'items');
      const r = await v.repair({ onProgress: (p) => bar.update(p.done) });
      bar.done(total);
      console.log(`rebalance: ${queued} shards queued, ${r.moved} moved, ${r.failed} failed`);
      for (const e of r.errors) console.error(`rebalance: ${e.bucket}/${e.key}: ${e.code}: ${e.message}`);
      if (r.failed > 0) process.exitCode = 1;
    }),
  );

program
  .command('repair')
  .description('rebuild every shard queued for repair (reads, scrub, degraded writes, drained or replaced disks)')
  .option(...metaOption)
  .option(...progressOption)
  .action((o: { meta: string; progress?: boolean }) =>
    withVault(o.meta, async (v) => {
      const queued = v.repairQueue().length;
      const bar = new ProgressBar('repair', queued, wantBar(o), 'items');
      const r = await v.repair({ onProgress: (p) => bar.update(p.done) });
      bar.done(queued);
      console.log(`repair: ${queued} queued, ${r.repaired} rebuilt (${r.moved} moved to another disk), ${r.failed} failed, ${r.dropped} dropped (superseded)`);
      for (const e of r.errors) console.error(`repair: ${e.bucket}/${e.key}: ${e.code}: ${e.message}`);
      if (r.failed > 0) process.exitCode = 1;
    }),
  );

program
  .command('gc')
  .description('remove leftovers: files of uncommitted or superseded versions and stale copies older than --grace')
  .option(...metaOption)
  .option('--grace <seconds>', 'keep files younger than this', (x) => Number(x), 3600)
  .option('--quick', 'only the queued superseded versions, no walk of the disks')
  .action((o: { meta: string; grace: number; quick?: boolean }) =>
    withVault(o.meta, async (v) => console.log(JSON.stringify(await v.gc({ graceMs: o.grace * 1000, walk: o.quick !== true })))),
  );

program
  .command('rebuild-catalog')
  .description('rebuild a lost or damaged catalog from the manifest copies on the disks (the old one is moved aside)')
  .option(...metaOption)
  .action(async (o: { meta: string }) => console.log(JSON.stringify(await Vault.rebuildCatalog(o.meta))));

const disk = program.command('disk').description('disk lifecycle: add, drain, replace, rm');
disk
  .command('add <spec>')
  .description('format and add a disk: PATH[:label=value,...]')
  .option(...metaOption)
  .action((spec: string, o: { meta: string }) => withVault(o.meta, async (v) => console.log(await v.addDisk(parseDisk(spec)))));
disk
  .command('drain <diskId>')
  .description('stop placing shards on a disk and queue all of its shards to move (then run repair)')
  .option(...metaOption)
  .action((id: string, o: { meta: string }) => withVault(o.meta, async (v) => console.log(`drain: ${await v.drainDisk(id)} shard(s) queued; run repair`)));
disk
  .command('replace <diskId> <spec>')
  .description('replace a (failed) disk by a new one and queue its shards to be rebuilt there (then run repair)')
  .option(...metaOption)
  .action((id: string, spec: string, o: { meta: string }) =>
    withVault(o.meta, async (v) => {
      const newId = await v.replaceDisk(id, parseDisk(spec));
      console.log(`replace: ${id} -> ${newId}; ${v.repairQueue().length} shard(s) queued; run repair`);
    }),
  );
disk
  .command('rm <diskId>')
  .description('remove a drained disk from the pool (refused while it holds shards)')
  .option(...metaOption)
  .action((id: string, o: { meta: string }) => withVault(o.meta, (v) => v.removeDisk(id)));

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`shardvault: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`);
  process.exitCode = 1;
});
