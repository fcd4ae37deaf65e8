// The batch API hashes blocks of one length across blocks (Hasher::HashEqualLength: one chunk or one parent
// of up to 16 blocks per kernel call). Every length the fast path takes (whole blocks in one chunk, 2/4/8
// whole chunks) and the lengths next to them, in all three modes, on the active (or forced) kernel, sync and
// async: each digest equals hashing that block alone, and @noble/hashes.
import { randomBytes } from 'node:crypto';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';

const addon = native();
const lengths = [1, 63, 64, 128, 640, 960, 1023, 1024, 1025, 1088, 2047, 2048, 3072, 4096, 4160, 8192, 16384];
const counts = [1, 2, 3, 15, 16, 17, 40];

describe.skipIf(!addon)(`BLAKE3 batches of equal-length blocks${addon ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  const a = addon!;
  const key = randomBytes(32);
  const modes: Array<[string, Uint8Array | undefined, string | undefined, (b: Uint8Array) => Uint8Array]> = [
    ['hash', undefined, undefined, (b) => nobleBlake3(b)],
    ['keyed', key, undefined, (b) => nobleBlake3(b, { key })],
    ['derive', undefined, 'shardvault test 2026-12-03 batch', (b) => nobleBlake3(b, { context: new TextEncoder().encode('shardvault test 2026-12-03 batch') })],
  ];
  for (const [mode, k, context, oracle] of modes) {
    it(`${mode}: every digest of a batch equals the block hashed alone (sync and async)`, async () => {
      for (const len of lengths) {
        for (const count of counts) {
          const backing = randomBytes(len * count + 7);
          // Blocks at odd offsets inside one allocation, as a stripe's blocks are.
          const blocks = Array.from({ length: count }, (_, i) => new Uint8Array(backing.buffer, backing.byteOffset + 7 + i * len, len));
          const sync = a.blake3BatchSync(blocks, k, context);
          const asyncOut = await a.blake3BatchAsync(blocks, k, context);
          for (let i = 0; i < count; i++) {
            const alone = Buffer.from(a.blake3Sync(blocks[i], k, context));
            expect(Buffer.from(sync.subarray(i * 32, i * 32 + 32)).equals(alone), `${mode} len ${len} count ${count} block ${i}`).toBe(true);
            expect(Buffer.from(asyncOut.subarray(i * 32, i * 32 + 32)).equals(alone)).toBe(true);
          }
          expect(Buffer.from(sync.subarray(0, 32)).equals(Buffer.from(oracle(blocks[0])))).toBe(true);
        }
      }
    }, 120_000);
  }
});
