// Aborts follow the web convention: put, get, scrub and repair reject with an Error whose name is
// 'AbortError', code ERR_SV_ABORTED and cause the signal's reason; an already aborted signal rejects at once.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';

import { AbortError } from '../lib/abort.js';
import { ShardVaultError } from '../lib/errors.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { testPools } from './support/pools.js';

const hasNative = native() !== null;
const pools = testPools('sv-abort-');
const makeVault = async () => (await pools.make()).vault;

function expectAbort(err: unknown, reason: unknown): void {
  expect(err).toBeInstanceOf(Error);
  expect(err).toBeInstanceOf(AbortError);
  expect(err).toBeInstanceOf(ShardVaultError);
  expect((err as Error).name).toBe('AbortError');
  expect((err as { code?: string }).code).toBe('ERR_SV_ABORTED');
  expect((err as Error).cause).toBe(reason);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(!hasNative)(`abort convention${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('an already aborted signal rejects put, get, scrub and repair at once, carrying signal.reason', async () => {
    const vault = await makeVault();
    try {
      await vault.put('bkt', 'k', Buffer.alloc(50_000, 3));
      const reason = new Error('client went away');
      const signal = AbortSignal.abort(reason);
      expectAbort(await rejection(vault.put('bkt', 'small', Buffer.alloc(10), { signal })), reason);
      expectAbort(await rejection(vault.put('bkt', 'big', Buffer.alloc(50_000), { signal })), reason);
      expectAbort(await rejection(vault.getBuffer('bkt', 'k', { signal })), reason);
      expectAbort(await rejection(vault.scrub({ signal })), reason);
      expectAbort(await rejection(vault.repair({ signal })), reason);
      // A stream read: the error arrives on the stream.
      expectAbort(await rejection((async () => { for await (const _ of vault.get('bkt', 'k', { signal })) { /* drain */ } })()), reason);
      // Without a reason the cause is the platform's default reason (a DOMException named AbortError).
      const plain = new AbortController();
      plain.abort();
      const err = await rejection(vault.getBuffer('bkt', 'k', { signal: plain.signal }));
      expectAbort(err, plain.signal.reason);
      expect(((err as Error).cause as DOMException).name).toBe('AbortError');
      // Nothing of the aborted puts became visible.
      expect((await vault.list('bkt')).objects.map((o) => o.key)).toEqual(['k']);
      await expect(vault.put('bkt', 'x', Buffer.alloc(1), { signal: 'nope' as never })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    } finally {
      await vault.close();
    }
  });

  it('an abort in the middle of a put (custom reason, any value) rejects with it and leaves nothing visible', async () => {
    const vault = await makeVault();
    try {
      const ac = new AbortController();
      const reason = { why: 'shutdown', at: 3 };
      async function* body() {
        for (let i = 0; i < 10; i++) {
          if (i === 3) ac.abort(reason);
          yield Buffer.alloc(20_000, i);
        }
      }
      expectAbort(await rejection(vault.put('bkt', 'streamed', body(), { signal: ac.signal })), reason);
      expect((await vault.list('bkt')).objects).toEqual([]);
      await expect(vault.head('bkt', 'streamed')).resolves.toBeUndefined();
    } finally {
      await vault.close();
    }
  });

  it('an abort in the middle of a scrub or a read rejects with the reason', async () => {
    const vault = await makeVault();
    try {
      for (let i = 0; i < 4; i++) await vault.put('bkt', `o${i}`, Buffer.alloc(30_000, i));
      const ac = new AbortController();
      const reason = 'operator pressed ^C';
      const err = await rejection(vault.scrub({ signal: ac.signal, onProgress: (p) => { if (p.objects === 2) ac.abort(reason); } }));
      expectAbort(err, reason);
      const read = new AbortController();
      const chunks: Uint8Array[] = [];
      const streamErr = await rejection((async () => {
        for await (const c of vault.get('bkt', 'o1', { signal: read.signal })) {
          chunks.push(c);
          read.abort(reason);
        }
      })());
      expectAbort(streamErr, reason);
      expect(chunks.length).toBeGreaterThan(0);
    } finally {
      await vault.close();
    }
  });

  it('an abort ends a put whose source is stalled (a client that stopped sending) and a rate-limited scrub asleep', async () => {
    const vault = await makeVault();
    try {
      const ac = new AbortController();
      const reason = new Error('client timeout');
      async function* stalled() {
        yield Buffer.alloc(20_000, 1); // past the inline threshold: the striped path
        await new Promise(() => undefined); // never sends again
      }
      setTimeout(() => ac.abort(reason), 50);
      const t0 = Date.now();
      expectAbort(await rejection(vault.put('bkt', 'stalled', stalled(), { signal: ac.signal })), reason);
      expect(Date.now() - t0).toBeLessThan(5000);
      // A Readable that never ends is destroyed (released), not left hanging.
      const body = new PassThrough();
      body.write(Buffer.alloc(30_000, 2));
      const ac2 = new AbortController();
      setTimeout(() => ac2.abort('gone'), 50);
      expectAbort(await rejection(vault.put('bkt', 'stream', body, { signal: ac2.signal })), 'gone');
      await new Promise((r) => setImmediate(r));
      expect(body.destroyed).toBe(true);
      // Stalled before the inline threshold was reached (while the put peeks at the source).
      async function* early() {
        yield Buffer.alloc(10, 1);
        await new Promise(() => undefined);
      }
      const ac3 = new AbortController();
      setTimeout(() => ac3.abort('early'), 50);
      expectAbort(await rejection(vault.put('bkt', 'early', early(), { signal: ac3.signal })), 'early');
      expect((await vault.list('bkt')).objects).toEqual([]);

      for (let i = 0; i < 3; i++) await vault.put('bkt', `o${i}`, Buffer.alloc(30_000, i));
      const ac4 = new AbortController();
      const t1 = Date.now();
      setTimeout(() => ac4.abort('stop'), 100);
      // 1 byte/s: after the first object the scrub would sleep for a day.
      expectAbort(await rejection(vault.scrub({ signal: ac4.signal, rateBytesPerSec: 1 })), 'stop');
      expect(Date.now() - t1).toBeLessThan(5000);
      const resumed = await vault.scrub({ resume: true }); // the cursor was saved on the abort
      expect(resumed.objects).toBe(2);
    } finally {
      await vault.close();
    }
  });
});
