/**
 * `shardvault demo`: a pool of six directory disks under ./data (4+2, one failure domain per disk) created on
 * first start and reopened after, and a put/get round trip through the Vault that prints the signed
 * durability receipt. (`npm start` runs the S3 daemon, `shardvault serve`, over the same layout.)
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { blake3Sync } from './hash.js';
import { nativeInfo } from './native-info.js';
import { Vault } from './vault.js';

export interface DemoOptions {
  dataDir: string;
  objectBytes: number;
  log: (line: string) => void;
}

const DISKS = 6;

export async function openDemoVault(dataDir: string, log: (line: string) => void): Promise<Vault> {
  const meta = join(dataDir, 'meta');
  if (existsSync(join(meta, 'pool.json'))) return Vault.open(meta);
  const disks = [];
  for (let i = 0; i < DISKS; i++) {
    const path = join(dataDir, `disk-${i}`);
    await mkdir(path, { recursive: true });
    disks.push({ path, labels: { disk: `disk-${i}` } });
  }
  const vault = await Vault.init({ disks, metaDir: meta, k: 4, m: 2, blockBytes: 1 << 20, failureDomain: 'disk' });
  await vault.createBucket('demo');
  log(`pool: created ${DISKS} directory disks (4+2) under ${dataDir}`);
  return vault;
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const { log } = opts;
  const info = nativeInfo();
  log(`native: ${info.loaded ? `codec ${info.codec?.chosen}, BLAKE3 ${info.blake3?.chosen}` : `unavailable (${info.reason})`}`);
  const vault = await openDemoVault(opts.dataDir, log);
  try {
    const data = randomBytes(opts.objectBytes);
    const key = `demo-${Date.now()}`;
    const t0 = process.hrtime.bigint();
    const receipt = await vault.put('demo', key, data);
    const putMs = Number(process.hrtime.bigint() - t0) / 1e6;
    log(`put demo/${key}: ${data.length} bytes durable in ${putMs.toFixed(1)} ms`);
    log(`receipt: ${JSON.stringify(receipt)}`);
    const t1 = process.hrtime.bigint();
    const back = await vault.getBuffer('demo', key);
    const getMs = Number(process.hrtime.bigint() - t1) / 1e6;
    const ok = Buffer.compare(blake3Sync(back), blake3Sync(data)) === 0;
    log(`get demo/${key}: ${back.length} bytes verified in ${getMs.toFixed(1)} ms: ${ok ? 'matches' : 'MISMATCH'}`);
    if (!ok) throw new Error('demo round trip returned different bytes');
  } finally {
    await vault.close();
  }
}
