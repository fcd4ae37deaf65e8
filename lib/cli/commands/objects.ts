/**
 * Objects: `put` (a file, or stdin as `-`; Ctrl-C aborts cleanly), `get` (to a file, never a partial one, or
 * to stdout; a reader that goes away, `| head`, ends it quietly), `ls`, `rm`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, stat, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { addAbortSignal } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type { Command } from 'commander';

import { ErrorCode } from '../../errors.js';
import { INLINE_BYTES_MAX, type Receipt } from '../../vault.js';
import { positiveInt } from '../args.js';
import { Ctx, interruptible, markStdoutClosed, metaOption, progressOption, withVault } from '../context.js';
import { CliCode, CliError } from '../errors.js';
import type { ProgressBar } from '../progress.js';
import { formatBytes } from '../units.js';

const isEpipe = (err: unknown) => (err as { code?: string } | null)?.code === 'EPIPE';

function putSummary(ctx: Ctx, r: Receipt, size: number): string {
  const of = r.durableDisks.length;
  const line = `put ${r.bucket}/${r.key}: ${formatBytes(size)} durable on ${of} disk(s), version ${r.versionId} (sequence ${r.sequence})`;
  return r.degraded ? `${line}; degraded: some disks missed it, run \`${ctx.suggest('repair')}\`` : line;
}

export function registerObjects(program: Command): void {
  program
    .command('put <bucket> <key> <file>')
    .description('store a file, or stdin when FILE is "-" (streamed; memory stays bounded); prints the durability receipt')
    .option(...metaOption)
    .option(...progressOption)
    .action((bucket: string, key: string, file: string, o: { progress?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      Object.assign(ctx.hint, { bucket, key });
      return withVault(ctx, async (v) => {
        const fromStdin = file === '-';
        let size: number | undefined;
        if (!fromStdin) {
          const st = await stat(file);
          if (st.isDirectory()) throw new CliError(CliCode.USAGE, `${file} is a directory`, 'give a file, or "-" to read stdin');
          size = st.size;
        }
        let bar: ProgressBar | undefined;
        const intr = interruptible(`put ${bucket}/${key}`, 'nothing is stored', () => bar);
        let receipt: Receipt;
        let sent = 0;
        try {
          if (size !== undefined && size <= INLINE_BYTES_MAX) {
            const body = await readFile(file);
            sent = body.length;
            receipt = await v.put(bucket, key, body, { signal: intr.signal });
          } else {
            if (fromStdin && process.stdin.isTTY === true) ctx.note('put: reading stdin (end with Ctrl-D)');
            const input: Readable = fromStdin ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
            // Ctrl-C destroys the input: a put blocked on a slow pipe stops too, not only at its next batch.
            addAbortSignal(intr.signal, input);
            const b = (bar = ctx.bar(`put ${bucket}/${key}`, size, o));
            const counted = async function* () {
              for await (const chunk of input) {
                sent += (chunk as Buffer).length;
                b.update(sent);
                yield chunk as Buffer;
              }
            };
            receipt = await v.put(bucket, key, counted(), { signal: intr.signal });
            b.done(sent, 'durable');
          }
        } catch (err) {
          bar?.interrupt();
          // Whatever the put reports after an interrupt (an AbortError from the input, ERR_SV_ABORTED), it is one.
          if (intr.interrupted()) throw intr.signal.reason;
          throw err;
        } finally {
          intr.dispose();
        }
        // An interrupt during the commit comes too late to stop it: the object is stored, and that is said.
        if (intr.interrupted()) process.stderr.write(`shardvault: put ${bucket}/${key} had already committed when interrupted: it is stored\n`);
        ctx.result({ ...receipt, size: sent }, putSummary(ctx, receipt, sent));
      });
    });

  program
    .command('get <bucket> <key> [out]')
    .description('read an object (verified, streamed) to OUT, or to stdout when OUT is "-" or absent')
    .option(...metaOption)
    .option(...progressOption)
    .option('--min-sequence <n>', "fail with ERR_SV_STALE unless the object is at this per-key sequence or newer (a put receipt's `sequence`)")
    .action((bucket: string, key: string, out: string | undefined, o: { progress?: boolean; minSequence?: string }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      Object.assign(ctx.hint, { bucket, key });
      const toStdout = out === undefined || out === '-';
      if (toStdout && ctx.json) {
        throw new CliError(CliCode.USAGE, '--json with get needs an output file: stdout carries the object', `\`shardvault get ${bucket} ${key} FILE --json\``);
      }
      return withVault(ctx, async (v) => {
        if (!(await v.listBuckets()).includes(bucket)) throw new CliError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
        const fresh = o.minSequence !== undefined ? { minSequence: o.minSequence } : {};
        const head = await v.head(bucket, key, fresh);
        if (head === undefined) throw new CliError(ErrorCode.NOT_FOUND, `no object ${bucket}/${key}`);
        // To stdout, a bar only when asked: the terminal showing stderr is likely showing the object too.
        const bar = ctx.bar(`get ${bucket}/${key}`, head.size, o, 'bytes', !toStdout);
        let got = 0;
        const source = v.get(bucket, key, fresh);
        source.on('data', (c: Buffer) => bar.update((got += c.length)));
        if (toStdout) {
          try {
            await pipeline(source, process.stdout, { end: false });
          } catch (err) {
            // The reader went away (`| head`): what it wanted it has; no error, no stack, exit 0.
            if (!isEpipe(err)) throw err;
            markStdoutClosed();
            return;
          }
        } else {
          // A temporary name, renamed only when the whole object was read and verified: never a partial file.
          const tmp = `${out}.partial-${process.pid}`;
          try {
            await pipeline(source, createWriteStream(tmp));
            await rename(tmp, out!);
          } catch (err) {
            await unlink(tmp).catch(() => undefined);
            throw err;
          }
        }
        bar.done(got, 'verified');
        if (!toStdout) ctx.result({ bucket, key, size: got, versionId: head.versionId, out }, `get ${bucket}/${key}: ${formatBytes(got)} verified, written to ${out}`);
      }, { readOnly: true });
    });

  program
    .command('ls <bucket>')
    .description('list keys (every page: never a silent stop at 1000); with --delimiter, common prefixes too')
    .option(...metaOption)
    .option('--prefix <prefix>', 'only keys starting with this')
    .option('--delimiter <char>', 'roll keys up to the prefix ending at this (e.g. "/"), like a directory listing')
    .option('--start-after <key>', 'only keys after this one')
    .option('--limit <count>', 'at most this many keys and prefixes (default: all)', positiveInt)
    .option('-l, --long', 'also show each key\'s size and time')
    .action((bucket: string, o: { prefix?: string; delimiter?: string; startAfter?: string; limit?: number; long?: boolean }, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      ctx.hint.bucket = bucket;
      return withVault(ctx, async (v) => {
        if (!(await v.listBuckets()).includes(bucket)) throw new CliError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
        const limit = o.limit ?? Infinity;
        const keys: string[] = [];
        const objects: Array<{ key: string; size: number; lastModified: string }> = [];
        const commonPrefixes: string[] = [];
        const lines: string[] = [];
        let continuationToken: string | undefined;
        do {
          const page = await v.list(bucket, {
            ...(o.prefix !== undefined ? { prefix: o.prefix } : {}), ...(o.delimiter !== undefined ? { delimiter: o.delimiter } : {}),
            ...(o.startAfter !== undefined && continuationToken === undefined ? { startAfter: o.startAfter } : {}),
            ...(continuationToken !== undefined ? { continuationToken } : {}),
            maxKeys: Math.min(1000, limit - keys.length - commonPrefixes.length),
          });
          for (const p of page.commonPrefixes) {
            commonPrefixes.push(p);
            lines.push(o.long ? `${'PREFIX'.padStart(10)}  ${''.padEnd(24)}  ${p}` : p);
          }
          for (const obj of page.objects) {
            keys.push(obj.key);
            objects.push({ key: obj.key, size: obj.size, lastModified: obj.lastModified.toISOString() });
            lines.push(o.long ? `${formatBytes(obj.size).padStart(10)}  ${obj.lastModified.toISOString().padEnd(24)}  ${obj.key}` : obj.key);
          }
          continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
        } while (continuationToken !== undefined && keys.length + commonPrefixes.length < limit);
        ctx.result({ bucket, keys, commonPrefixes, ...(o.long ? { objects } : {}) }, lines);
      }, { readOnly: true });
    });

  program
    .command('rm <bucket> <key>')
    .description('delete an object (signed tombstone); deleting a missing key succeeds (deleted: false)')
    .option(...metaOption)
    .action((bucket: string, key: string, _o: unknown, cmd: Command) => {
      const ctx = Ctx.of(cmd);
      Object.assign(ctx.hint, { bucket, key });
      return withVault(ctx, async (v) => {
        if (!(await v.listBuckets()).includes(bucket)) throw new CliError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
        const receipt = await v.delete(bucket, key);
        const deleted = receipt !== undefined;
        const where = receipt === undefined ? '' : ` (durable on ${receipt.durableDisks.length} disk(s)${receipt.degraded ? '; degraded: repair queued for the others, run `shardvault repair`' : ''})`;
        ctx.result({ bucket, key, deleted, ...(receipt !== undefined ? { receipt } : {}) }, deleted ? `rm ${bucket}/${key}: deleted${where}` : `rm ${bucket}/${key}: no such object, nothing to delete`);
      });
    });
}
