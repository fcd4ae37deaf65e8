/**
 * ListBuckets' CreationDate. The engine keeps no creation time a daemon can read cheaply (only the audit
 * chain, whose length grows with every put), so the daemon keeps its own small record,
 * `<meta>/server/bucket-times.json`: the time it created a bucket, or the time it first saw one created
 * elsewhere (the CLI, the library). Bounded by the bucket count; written atomically (temp file + rename).
 * Cosmetic data: a lost file only changes the dates shown.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FILE_BYTES_MAX = 4 * 1024 * 1024;

export class BucketTimes {
  readonly #file: string;
  readonly #times = new Map<string, number>();
  #saving: Promise<void> = Promise.resolve();

  private constructor(file: string) {
    this.#file = file;
  }

  static async open(metaDir: string): Promise<BucketTimes> {
    const dir = join(metaDir, 'server');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const t = new BucketTimes(join(dir, 'bucket-times.json'));
    if (existsSync(t.#file)) {
      try {
        const buf = await readFile(t.#file);
        if (buf.length <= FILE_BYTES_MAX) {
          const v = JSON.parse(buf.toString('utf8')) as unknown;
          if (v !== null && typeof v === 'object') {
            for (const [k, ms] of Object.entries(v as Record<string, unknown>)) if (typeof ms === 'number' && Number.isFinite(ms)) t.#times.set(k, ms);
          }
        }
      } catch {
        // unreadable: start over (the dates are cosmetic)
      }
    }
    return t;
  }

  /** The creation time of each live bucket (buckets seen for the first time get now). */
  dates(live: readonly string[]): Map<string, Date> {
    let changed = false;
    const now = Date.now();
    for (const b of live) {
      if (!this.#times.has(b)) {
        this.#times.set(b, now);
        changed = true;
      }
    }
    const liveSet = new Set(live);
    for (const b of [...this.#times.keys()]) {
      if (!liveSet.has(b)) {
        this.#times.delete(b);
        changed = true;
      }
    }
    if (changed) void this.#save();
    return new Map(live.map((b) => [b, new Date(this.#times.get(b)!)]));
  }

  created(bucket: string): Promise<void> {
    this.#times.set(bucket, Date.now());
    return this.#save();
  }

  deleted(bucket: string): Promise<void> {
    this.#times.delete(bucket);
    return this.#save();
  }

  #save(): Promise<void> {
    const text = JSON.stringify(Object.fromEntries(this.#times));
    this.#saving = this.#saving.catch(() => undefined).then(async () => {
      const tmp = `${this.#file}.${process.pid}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await rename(tmp, this.#file);
    });
    return this.#saving.catch(() => undefined);
  }

  /** Waits for pending writes (at shutdown). */
  flush(): Promise<void> {
    return this.#saving.catch(() => undefined);
  }
}
