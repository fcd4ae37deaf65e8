/** `info` (the native addon and its kernels) and `demo` (a 4+2 round trip in ./data). */
import type { Command } from 'commander';

import { runDemo } from '../../demo.js';
import { nativeInfo } from '../../native-info.js';
import { positiveInt } from '../args.js';
import { Ctx } from '../context.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show whether the native addon loaded and which kernels it chose')
    .action((_o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const i = nativeInfo();
      ctx.result(i, [
        `native addon: ${i.loaded ? 'loaded' : `not loaded (${i.reason ?? 'unknown reason'})`}`,
        `cpu: ${i.cpu}`,
        `node: ${i.node}`,
        ...(i.codec !== null ? [`codec kernel: ${i.codec.chosen} (best ${i.codec.best}; supported: ${i.codec.supported.join(', ')})${i.codec.error ? ` error: ${i.codec.error}` : ''}`] : []),
        ...(i.blake3 !== null ? [`blake3 kernel: ${i.blake3.chosen} (supported: ${i.blake3.supported.join(', ')})`] : []),
        ...(i.crc !== null ? [`crc kernel: ${i.crc.chosen} (best ${i.crc.best}; supported: ${i.crc.supported.join(', ')})${i.crc.error ? ` error: ${i.crc.error}` : ''}`] : []),
      ]);
    });

  program
    .command('demo')
    .description('open (or create on first start) a 4+2 pool of directory disks under --data and do a put/get round trip')
    .option('--data <dir>', 'pool directory (created on first start)', './data')
    .option('--size <bytes>', 'object size in bytes', positiveInt, 8 * 1024 * 1024 + 12345)
    .action(async (o: { data: string; size: number }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      const log: string[] = [];
      await runDemo({ dataDir: o.data, objectBytes: o.size, log: (line) => (ctx.json ? log.push(line) : ctx.write(`${line}\n`)) });
      if (ctx.json) ctx.result({ log }, []);
    });
}
