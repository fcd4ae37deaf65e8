// lib/engine/key-lock.ts: one holder per key, waiters in arrival order, other keys independent, no memory kept.
import { describe, expect, it } from 'vitest';

import { KeyLock } from '../lib/engine/key-lock.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyLock', () => {
  it('serializes holders of one key in arrival order, leaves other keys free, and forgets idle keys', async () => {
    const lock = new KeyLock();
    const order: string[] = [];
    const first = await lock.acquire('b', 'k');
    const waiters = ['w1', 'w2', 'w3'].map((name) => lock.acquire('b', 'k').then((release) => {
      order.push(name);
      return release;
    }));
    const other = await lock.acquire('b', 'other'); // not blocked by b/k
    other();
    // A key whose name contains the separator elsewhere is another key.
    (await lock.acquire('b\0k', ''))();
    await tick();
    expect(order).toEqual([]);
    first();
    const r1 = await waiters[0];
    await tick();
    expect(order).toEqual(['w1']);
    r1();
    (await waiters[1])();
    (await waiters[2])();
    expect(order).toEqual(['w1', 'w2', 'w3']);
    expect(lock.size).toBe(0);
  });
});
