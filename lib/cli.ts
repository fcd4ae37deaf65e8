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
  .description('open (or create on first start) a 4+2 pool of directory disks under --data and do a put/get round trip')
  .option('--data <dir>', 'pool directory (created on first start)', './data')
  .option('--size <bytes>', 'object size in bytes', positiveInt, 8 * 1024 * 1024 + 12345)
  .action(async (opts: { data: string; size: number }) => {
    await runDemo({ dataDir: opts.data, objectBytes: opts.size, log: (line) => console.log(line) });
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`shardvault: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`);
  process.exitCode = 1;
});
