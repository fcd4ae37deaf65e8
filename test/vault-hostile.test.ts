// A hostile disk per shard (DESIGN.md I3, I4; fault-harness.md 5c): for every kind of attack, on 1..m shards
// of a striped object (4+2, 4 KiB blocks, 4 stripes) and on the manifest copies of striped and inline objects,
// get returns the right bytes, the bad shards are reported (repairQueue() lists exactly them after scrub, and
// a subset of them after the read), repair() rebuilds them byte for byte and scrub then finds nothing bad.
// Beyond what the redundancy covers (m + 1 bad shard files; all k + m manifest copies, since any one verified
// copy serves the manifest and an inline object) getBuffer rejects with ERR_SV_CORRUPT and the get stream emits an error
// and no bytes.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { blake3Sync } from '../lib/hash.js';
import { decodeManifest, signManifest } from '../lib/format/manifest.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { RECORD_HEADER_BYTES } from '../lib/store/local/copylog.js';
import { Vault } from '../lib/vault.js';
import { copyPayload, forgeCopy, writeRegion, type CopyLoc } from './support/copies.js';

const hasNative = native() !== null;
const K = 4;
const M = 2;
const N = K + M;
const BLOCK = 4096;
const HEADER = 128; // shard file header bytes (lib/store/local/layout.ts)
const STRIPES = 4;
const STRIPED_SIZE = STRIPES * K * BLOCK - 123; // last stripe partial
const INLINE_SIZE = 9000; // <= INLINE_BYTES_MAX: lives only in the manifest copies

const root = mkdtempSync(join(tmpdir(), 'sv-hostile-'));
let vault: Vault;
afterAll(async () => {
  await vault?.close();
  rmSync(root, { recursive: true, force: true });
});

type Kind = 'striped' | 'inline';
/** Which file of a shard an attack replaces: the shard file (striped only), the manifest copy, or both. */
type Target = 'shard' | 'copy' | 'both';
interface Files {
  shard?: Buffer;
  /** The manifest copy (the payload of its record in the disk's copy log). */
  copy: Buffer;
}
interface Ctx {
  kind: Kind;
  shard: number;
  current: Files; // the files the attack replaces (as written by the put)
  old: Files; // same key, previous version, same shard index
  donor: Files[]; // another object of the same size, by shard index
}
interface Attack {
  name: string;
  target: Target;
  kinds: Kind[];
  /**
   * Bytes to put in place of the shard file / manifest copy. A forged copy is written as a well-formed record
   * (the record checksum is no secret, so only the manifest checks can catch it), unless `rawCopy`: then the
   * bytes go over the record as they are (a torn or wiped record).
   */
  forge: (ctx: Ctx) => Partial<Files>;
  rawCopy?: boolean;
  /** Every block still verifies (only the header or the file length is wrong): reads never notice and the
   * object stays readable with any number of such shards; only scrub finds them. */
  blocksIntact?: boolean;
}

const flip = (b: Buffer, at: number) => {
  const out = Buffer.from(b);
  out[at] ^= 0x10;
  return out;
};

/** A manifest copy (u32 length | signed manifest | hash table) re-signed by an attacker's Ed25519 key, with
 * the content changed consistently (inline bytes and their content hash; or the principal and time). */
function resigned(copy: Buffer, signerKeyIsPools: boolean): Buffer {
  const len = copy.readUInt32BE(0);
  const signed = copy.subarray(4, 4 + len);
  const hashTable = copy.subarray(4 + len);
  const manifest = decodeManifest(signed.subarray(0, signed.length - 64));
  const forgedInline = manifest.inline.length > 0 ? randomBytes(manifest.inline.length) : manifest.inline;
  const { privateKey } = generateKeyPairSync('ed25519');
  const forged = signManifest(
    {
      ...manifest,
      inline: forgedInline,
      contentHash: manifest.inline.length > 0 ? blake3Sync(forgedInline) : manifest.contentHash,
      principal: 'mallory',
      timeMs: manifest.timeMs + 1,
      signerKeyId: signerKeyIsPools ? manifest.signerKeyId : randomBytes(16),
    },
    privateKey,
  );
  const out = Buffer.alloc(4 + forged.length + hashTable.length);
  out.writeUInt32BE(forged.length, 0);
  out.set(forged, 4);
  out.set(hashTable, 4 + forged.length);
  return out;
}

// Every attack, with the file it breaks. Inline objects have no shard file: their attacks hit the copy.
const ATTACKS: Attack[] = [
  // Shard files of striped objects.
  { name: 'bit flip in a block', target: 'shard', kinds: ['striped'], forge: (c) => ({ shard: flip(c.current.shard!, HEADER + 1234) }) }, // block of stripe 0
  { name: 'truncated inside the first block', target: 'shard', kinds: ['striped'], forge: (c) => ({ shard: c.current.shard!.subarray(0, HEADER + 1000) }) },
  { name: 'zeroed', target: 'shard', kinds: ['striped'], forge: (c) => ({ shard: Buffer.alloc(c.current.shard!.length) }) },
  { name: 'swapped from another object, same index', target: 'shard', kinds: ['striped'], forge: (c) => ({ shard: c.donor[c.shard].shard }) },
  { name: 'swapped from another object, other index', target: 'shard', kinds: ['striped'], forge: (c) => ({ shard: c.donor[(c.shard + 1) % N].shard }) },
  { name: 'old version replayed (shard + copy)', target: 'both', kinds: ['striped'], forge: (c) => ({ shard: c.old.shard, copy: c.old.copy }) },
  {
    name: 'forged self-consistent header, wrong blocks', target: 'shard', kinds: ['striped'],
    forge: (c) => ({ shard: Buffer.concat([c.current.shard!.subarray(0, HEADER), randomBytes(c.current.shard!.length - HEADER)]) }),
  },
  // A header that no longer matches the manifest (bit rot in a field reads never use), and a file with bytes
  // beyond its last block: the blocks verify, but the file is not what was written.
  { name: 'header k field flipped', target: 'shard', kinds: ['striped'], blocksIntact: true, forge: (c) => ({ shard: flip(c.current.shard!, 9) }) },
  { name: 'header blockBytes field flipped', target: 'shard', kinds: ['striped'], blocksIntact: true, forge: (c) => ({ shard: flip(c.current.shard!, 14) }) },
  { name: 'header hash-table-root field flipped', target: 'shard', kinds: ['striped'], blocksIntact: true, forge: (c) => ({ shard: flip(c.current.shard!, 70) }) },
  { name: 'bytes appended after the last block', target: 'shard', kinds: ['striped'], blocksIntact: true, forge: (c) => ({ shard: Buffer.concat([c.current.shard!, randomBytes(BLOCK)]) }) },
  // Manifest copies (striped and inline).
  { name: 'copy: bit flip', target: 'copy', kinds: ['striped', 'inline'], forge: (c) => ({ copy: flip(c.current.copy, c.current.copy.length >> 1) }) },
  { name: 'copy: truncated', target: 'copy', kinds: ['striped', 'inline'], forge: (c) => ({ copy: c.current.copy.subarray(0, c.current.copy.length >> 1) }) },
  { name: 'copy: zeroed', target: 'copy', kinds: ['inline'], forge: (c) => ({ copy: Buffer.alloc(c.current.copy.length) }) },
  { name: 'copy: record wiped', target: 'copy', kinds: ['striped', 'inline'], rawCopy: true, forge: (c) => ({ copy: Buffer.alloc(c.current.copy.length) }) },
  { name: 'copy: swapped from another object, same index', target: 'copy', kinds: ['inline'], forge: (c) => ({ copy: c.donor[c.shard].copy }) },
  { name: 'copy: swapped from another object, other index', target: 'copy', kinds: ['inline'], forge: (c) => ({ copy: c.donor[(c.shard + 1) % N].copy }) },
  { name: 'copy: validly signed older manifest', target: 'copy', kinds: ['striped', 'inline'], forge: (c) => ({ copy: c.old.copy }) },
  { name: 'copy: re-signed by another key (claims the pool key id)', target: 'copy', kinds: ['striped', 'inline'], forge: (c) => ({ copy: resigned(c.current.copy, true) }) },
  { name: 'copy: re-signed by another key (its own key id)', target: 'copy', kinds: ['striped', 'inline'], forge: (c) => ({ copy: resigned(c.current.copy, false) }) },
];

interface Case {
  attack: Attack;
  kind: Kind;
  count: number;
  readable: boolean;
}
const CASES: Case[] = ATTACKS.flatMap((attack) =>
  attack.kinds.flatMap((kind) => {
    // Shard files: 1..m readable, m + 1 not. Manifest copies: each one holds the whole manifest (and an inline
    // object), so the object stays readable until every copy is bad.
    const counts = attack.target === 'copy' ? [1, M, M + 1, N] : [1, M, M + 1];
    return counts.map((count) => ({ attack, kind, count, readable: attack.blocksIntact === true || (attack.target === 'copy' ? count < N : count <= M) }));
  }),
);

async function filesOf(key: string): Promise<Array<{ shard: number; diskId: string; shardFile?: string; copy: CopyLoc }>> {
  const where = (await vault.locate('bkt', key));
  if (where === undefined) throw new Error(`no ${key}`);
  return where.shards.map((s) => ({ ...s, copy: s.copy! }));
}
async function read(key: string): Promise<Files[]> {
  return (await filesOf(key)).map((s) => ({ ...(s.shardFile !== undefined ? { shard: readFileSync(s.shardFile) } : {}), copy: copyPayload(s.copy) }));
}
async function restore(key: string, originals: Files[]): Promise<void> {
  (await filesOf(key)).forEach((s, i) => {
    if (s.shardFile !== undefined) writeFileSync(s.shardFile, originals[i].shard!);
    forgeCopy(s.copy, originals[i].copy); // the same payload at the same place: the original record, byte for byte
  });
}
const queued = async () => (await vault.repairQueue()).map((r) => `${r.shard}@${r.disk}`).sort();

async function streamAll(key: string): Promise<{ bytes: number; error?: { code?: string } }> {
  let bytes = 0;
  try {
    for await (const piece of vault.get('bkt', key)) bytes += (piece as Uint8Array).length;
  } catch (err) {
    return { bytes, error: err as { code?: string } };
  }
  return { bytes };
}

const donors: Record<Kind, Files[]> = { striped: [], inline: [] };
const sizeOf = (kind: Kind) => (kind === 'striped' ? STRIPED_SIZE : INLINE_SIZE);

describe.skipIf(!hasNative)(`hostile disks${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  beforeAll(async () => {
    const disks = Array.from({ length: N }, (_, i) => {
      mkdirSync(join(root, `d${i}`), { recursive: true });
      return { path: join(root, `d${i}`) };
    });
    vault = await Vault.init({ disks, metaDir: join(root, 'meta'), k: K, m: M, blockBytes: BLOCK });
    await vault.createBucket('bkt');
    for (const kind of ['striped', 'inline'] as const) {
      await vault.put('bkt', `donor-${kind}`, randomBytes(sizeOf(kind)));
      donors[kind] = await read(`donor-${kind}`);
    }
    expect(donors.striped.every((f) => f.shard !== undefined && f.shard.length === HEADER + STRIPES * BLOCK)).toBe(true);
    expect(donors.inline.every((f) => f.shard === undefined)).toBe(true);
  });

  CASES.forEach(({ attack, kind, count, readable }, caseNo) => {
    it(`${kind}: ${attack.name} on ${count} shard${count > 1 ? 's' : ''} -> ${readable ? 'read, reported, repaired' : 'ERR_SV_CORRUPT, no bytes'}`, async () => {
      expect((await vault.repairQueue())).toEqual([]);
      const key = `case-${caseNo}`;
      await vault.put('bkt', key, randomBytes(sizeOf(kind))); // the old version, same size
      const old = await read(key);
      const data = randomBytes(sizeOf(kind));
      await vault.put('bkt', key, data);
      const originals = await read(key);
      const where = await filesOf(key);
      // Spread the bad shards over data and parity: 1 -> [c], 2 -> [c, c+2], 3 -> [c, c+2, c+4], 6 -> all.
      const bad = count === N ? [...where.keys()] : Array.from({ length: count }, (_, j) => (caseNo + 2 * j) % N).sort((a, b) => a - b);
      expect(new Set(bad).size).toBe(count);
      for (const shard of bad) {
        const forged = attack.forge({ kind, shard, current: originals[shard], old: old[shard], donor: donors[kind] });
        if (forged.shard !== undefined) {
          expect(Buffer.compare(forged.shard, originals[shard].shard!)).not.toBe(0);
          writeFileSync(where[shard].shardFile!, forged.shard);
        }
        if (forged.copy !== undefined) {
          expect(Buffer.compare(forged.copy, originals[shard].copy)).not.toBe(0);
          if (attack.rawCopy === true) writeRegion(where[shard].copy.file, where[shard].copy.offset + RECORD_HEADER_BYTES, forged.copy);
          else forgeCopy(where[shard].copy, forged.copy);
        }
      }
      const expected = bad.map((s) => `${s}@${where[s].diskId}`).sort();

      if (!readable) {
        await expect(vault.getBuffer('bkt', key)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
        const streamed = await streamAll(key);
        expect(streamed.error?.code).toBe('ERR_SV_CORRUPT');
        expect(streamed.bytes).toBe(0);
        // Nothing but attacked shards was queued; repair cannot fix more than m, so put the originals back.
        for (const q of (await queued())) expect(expected).toContain(q);
        await restore(key, originals);
        await vault.repair();
        expect(Buffer.from(await vault.getBuffer('bkt', key)).equals(data)).toBe(true);
        expect((await vault.repairQueue())).toEqual([]);
        return;
      }

      expect(Buffer.from(await vault.getBuffer('bkt', key)).equals(data)).toBe(true);
      const afterRead = (await queued());
      for (const q of afterRead) expect(expected, 'a read reported a good shard').toContain(q);
      if (attack.target !== 'copy' && attack.blocksIntact !== true) {
        // Every bad data shard is met by the read (its block fails, parity is read, the rest is found too).
        for (const s of bad.filter((x) => x < K)) expect(afterRead).toContain(`${s}@${where[s].diskId}`);
      }
      expect(Buffer.from(await vault.getBuffer('bkt', key, { range: { start: 100, end: 5000 } })).equals(data.subarray(100, 5000))).toBe(true);
      const scrubbed = await vault.scrub();
      expect(scrubbed.bad, 'scrub over the whole pool finds exactly the attacked shards').toBe(count);
      expect((await queued())).toEqual(expected);
      const repaired = await vault.repair();
      expect(repaired).toMatchObject({ repaired: count, moved: 0, failed: 0 });
      expect((await vault.repairQueue())).toEqual([]);
      const after = await read(key);
      for (let i = 0; i < N; i++) {
        if (kind === 'striped') expect(after[i].shard!.equals(originals[i].shard!), `shard file ${i} byte-identical`).toBe(true);
        expect(after[i].copy.equals(originals[i].copy), `manifest copy ${i} byte-identical`).toBe(true);
      }
      expect((await vault.scrub()).bad).toBe(0);
      expect(Buffer.from(await vault.getBuffer('bkt', key)).equals(data)).toBe(true);
      expect((await vault.repairQueue())).toEqual([]);
    });
  });

  it('m + 1 bad blocks in a later stripe: getBuffer rejects; the get stream emits only verified whole stripes before the error', async () => {
    const key = 'late-stripe';
    const data = randomBytes(STRIPED_SIZE);
    await vault.put('bkt', key, data);
    const originals = await read(key);
    const where = await filesOf(key);
    for (const s of [0, 3, 5]) writeFileSync(where[s].shardFile!, flip(originals[s].shard!, HEADER + 2 * BLOCK + 77)); // stripe 2
    await expect(vault.getBuffer('bkt', key)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    const got: Uint8Array[] = [];
    let error: { code?: string } | undefined;
    try {
      for await (const piece of vault.get('bkt', key)) got.push(piece as Uint8Array);
    } catch (err) {
      error = err as { code?: string };
    }
    expect(error?.code).toBe('ERR_SV_CORRUPT');
    // A stream cannot take back what it sent: what came before the error is stripes 0 and 1, each verified
    // block by block against the signed hash table, and identical to the stored bytes.
    const prefix = Buffer.concat(got);
    expect(prefix.length).toBe(2 * K * BLOCK);
    expect(prefix.equals(data.subarray(0, prefix.length))).toBe(true);
    await restore(key, originals);
    await vault.repair();
    expect((await vault.repairQueue())).toEqual([]);
  });
});
