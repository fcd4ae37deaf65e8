/**
 * One writer per object key at a time in this process (issue 11: engine/key-lock.ts). A put takes the lock of
 * bucket/key from reading the head's sequence to its commit, so concurrent puts of one key commit one after the
 * other (last writer wins) instead of failing the catalog's compare-and-set, and conditional writes
 * (ifMatch / ifNoneMatch) are decided against the head they commit over. Waiters are served in arrival order;
 * an idle key holds no memory.
 */
export class KeyLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Waits for the previous holder of bucket/key's lock; resolves with the release function (call it once). */
  async acquire(bucket: string, key: string): Promise<() => void> {
    const id = `${bucket}\0${key}`;
    const previous = this.#tails.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.#tails.set(id, tail);
    await previous;
    return () => {
      release();
      if (this.#tails.get(id) === tail) this.#tails.delete(id);
    };
  }

  /** Keys with a holder or waiters (tests). */
  get size(): number {
    return this.#tails.size;
  }
}
