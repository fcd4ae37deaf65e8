/**
 * The main job until the vault engine and daemon land: an erasure-coding round trip over a pool of directory
 * "disks" under ./data (created on first start). It stripes an object 4+2, writes one shard file per disk
 * (write, fsync, rename, directory fsync), then reads it back with two disks treated as lost and verifies
 * the reconstructed bytes against the object's hash. Shard headers, BLAKE3 block hashes, native durable I/O
 * and signed manifests arrive with the BLAKE3/I-O and engine issues; this demo does not claim them.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ReedSolomon } from './codec.js';
import { nativeInfo } from './native-info.js';

export interface DemoOptions {
  dataDir: string;
  objectBytes: number;
  k: number;
  m: number;
  blockBytes: number;
  log: (line: string) => void;
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function ensureDisks(dataDir: string, count: number): Promise<string[]> {
  await mkdir(dataDir, { recursive: true });
  const disks: string[] = [];
  for (let i = 0; i < count; i++) {
    const dir = join(dataDir, `disk-${i}`);
    disks.push(dir);
    if (existsSync(join(dir, 'disk.json'))) continue;
    await mkdir(join(dir, 'shards'), { recursive: true });
    const tmp = join(dir, `.disk.json.${process.pid}`);
    await writeFile(tmp, JSON.stringify({ diskId: randomUUID(), formatVersion: 0, createdMs: Date.now() }) + '\n', {
      mode: 0o600,
    });
    await fsyncPath(tmp);
    await rename(tmp, join(dir, 'disk.json'));
    await fsyncPath(dir);
  }
  return disks;
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const { k, m, blockBytes, log } = opts;
  const info = nativeInfo();
  log(`codec: ${info.loaded ? `native, kernel ${info.codec?.chosen}` : `pure TypeScript (${info.reason})`}`);
  const disks = await ensureDisks(opts.dataDir, k + m);
  log(`pool: ${disks.length} directory disks under ${opts.dataDir}`);

  const object = randomBytes(opts.objectBytes);
  const contentHash = createHash('sha256').update(object).digest('hex');
  const stripeBytes = k * blockBytes;
  const stripes = Math.max(1, Math.ceil(object.length / stripeBytes));
  const rs = new ReedSolomon(k, m);
  const name = `demo-${Date.now()}.shard`;

  // Write: encode each stripe, append block i to shard file i, then seal every file durably.
  const t0 = process.hrtime.bigint();
  const files = await Promise.all(disks.map((d) => open(join(d, 'shards', `.${name}.tmp`), 'wx', 0o600)));
  for (let s = 0; s < stripes; s++) {
    const blocks = Array.from({ length: k + m }, () => Buffer.alloc(blockBytes));
    for (let i = 0; i < k; i++) {
      const start = Math.min(object.length, s * stripeBytes + i * blockBytes);
      object.copy(blocks[i], 0, start, Math.min(object.length, start + blockBytes)); // the tail stays zero-padded
    }
    await rs.encode(blocks);
    await Promise.all(files.map((fh, i) => fh.write(blocks[i])));
  }
  await Promise.all(files.map((fh) => fh.datasync()));
  await Promise.all(files.map((fh) => fh.close()));
  await Promise.all(disks.map((d) => rename(join(d, 'shards', `.${name}.tmp`), join(d, 'shards', name))));
  await Promise.all(disks.map((d) => fsyncPath(join(d, 'shards'))));
  const writeMs = Number(process.hrtime.bigint() - t0) / 1e6;
  log(`put: ${opts.objectBytes} bytes as ${stripes} stripe(s) of ${k}+${m} x ${blockBytes} B, durable in ${writeMs.toFixed(1)} ms`);

  // Read back with the last m disks' shards treated as lost (disks 1 and 4 for 4+2).
  const lost = new Set(Array.from({ length: m }, (_, i) => (i * (k + m)) / m + 1).map((x) => Math.floor(x) % (k + m)));
  const t1 = process.hrtime.bigint();
  const shardFiles = await Promise.all(disks.map((d, i) => (lost.has(i) ? null : readFile(join(d, 'shards', name)))));
  const out = Buffer.alloc(stripes * stripeBytes);
  const present = disks.map((_, i) => !lost.has(i));
  for (let s = 0; s < stripes; s++) {
    const blocks = shardFiles.map((f) =>
      f === null ? Buffer.alloc(blockBytes) : f.subarray(s * blockBytes, (s + 1) * blockBytes),
    );
    await rs.reconstruct(blocks, { present });
    for (let i = 0; i < k; i++) blocks[i].copy(out, s * stripeBytes + i * blockBytes);
  }
  const readMs = Number(process.hrtime.bigint() - t1) / 1e6;
  const back = out.subarray(0, object.length);
  const ok = createHash('sha256').update(back).digest('hex') === contentHash;
  log(`get: disks ${[...lost].join(', ')} treated as lost; rebuilt and read in ${readMs.toFixed(1)} ms`);
  log(`verify: sha256 ${contentHash.slice(0, 16)}… ${ok ? 'matches' : 'MISMATCH'}`);
  if (!ok) throw new Error('demo round trip returned different bytes');
}
