#!/usr/bin/env node
/** shardvault command line. Grows with the engine: today `info` and `demo`. */
import { Command, InvalidArgumentError } from 'commander';

import { runDemo } from './demo.js';
import { nativeInfo } from './native-info.js';

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
  .description('erasure-code an object across directory disks under --data and read it back with disks lost')
  .option('--data <dir>', 'pool directory (created on first start)', './data')
  .option('--size <bytes>', 'object size in bytes', positiveInt, 8 * 1024 * 1024 + 12345)
  .option('-k <count>', 'data shards', positiveInt, 4)
  .option('-m <count>', 'parity shards', positiveInt, 2)
  .option('--block <bytes>', 'block size per shard per stripe', positiveInt, 1024 * 1024)
  .action(async (opts: { data: string; size: number; k: number; m: number; block: number }) => {
    await runDemo({
      dataDir: opts.data,
      objectBytes: opts.size,
      k: opts.k,
      m: opts.m,
      blockBytes: opts.block,
      log: (line) => console.log(line),
    });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`shardvault: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`);
  process.exitCode = 1;
});
