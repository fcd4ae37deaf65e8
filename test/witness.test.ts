// The freshness witness and minimum-sequence reads (issue 13, "Rollback of the whole store"), broken on purpose
// on real pools in temporary directories: disks restored to an older snapshot (reads give the latest bytes or
// an error, never the old version; scrub names the stale shards); disks and catalog restored together (open
// refuses with ERR_SV_ROLLBACK naming both heads; break-glass opens, is audited, re-anchors, and a read with
// a receipt's minimum sequence from before the restore still fails with ERR_SV_STALE); the witness deleted
// (open says it runs unanchored) or tampered with (ignored and reported); witness writes batched and failing.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { WITNESS_BYTES } from '../lib/format/witness.js';
import { native, nativeUnavailableReason } from '../lib/native.js';
import { defaultWitnessPath } from '../lib/security/witness.js';
import { Vault, type Receipt } from '../lib/vault.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-witness-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const DISKS = 6;

/** A 4+2 pool of directory disks under `<base>/pool`, its witness at `<base>/state/w` (outside the pool). */
async function makePool(witness = true) {
  const base = join(root, `p${n++}`);
  const pool = join(base, 'pool');
  const disks = Array.from({ length: DISKS }, (_, i) => {
    mkdirSync(join(pool, `d${i}`), { recursive: true });
    return { path: join(pool, `d${i}`) };
  });
  const w = join(base, 'state', 'w');
  const meta = join(pool, 'meta');
  const vault = await Vault.init({ disks, metaDir: meta, k: 4, m: 2, blockBytes: 4096, ...(witness ? { witness: [w] } : {}) });
  await vault.createBucket('bkt');
  return { vault, base, pool, meta, witness: w, diskPaths: disks.map((d) => d.path) };
}

const striped = (tag: number) => Buffer.concat([Buffer.from(`version ${tag} `), randomBytes(4096 * 4 * 3)]);

/** Copies `dirs` to `<base>/snap-<name>/` (the pool is closed). */
function snapshot(base: string, name: string, dirs: string[]): void {
  for (const d of dirs) cpSync(d, join(base, `snap-${name}`, d.slice(base.length)), { recursive: true });
}

/** Puts the snapshot's copies back in place of `dirs` (the pool is closed). */
function restore(base: string, name: string, dirs: string[]): void {
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
    cpSync(join(base, `snap-${name}`, d.slice(base.length)), d, { recursive: true });
  }
}

/** The audit index the witness file at `path` names (-1: none); decoded only, the opens check its signature. */
function witnessIndex(path: string): number {
  const b = readFileSync(path);
  expect(b.length).toBe(WITNESS_BYTES);
  return b.readUInt8(22) === 1 ? Number(b.readBigUInt64BE(23)) : -1;
}

async function auditHead(vault: Vault): Promise<string> {
  const log = await vault.auditLog();
  const last = log[log.length - 1];
  return `${last.index}:${last.hash}`;
}

describe.skipIf(!hasNative)(`freshness witness${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('receipts name their commit in the audit chain, and the witness anchors the head after commits and at close', async () => {
    const { vault, meta, witness } = await makePool();
    const flushed: string[] = [];
    vault.events.on('witness', (e) => flushed.push(e.kind));
    const r1 = await vault.put('bkt', 'a', striped(1));
    const r2 = await vault.put('bkt', 'a', striped(2));
    expect(r1.receiptFormat).toBe(2);
    expect(BigInt(r2.sequence)).toBe(BigInt(r1.sequence) + 1n);
    const log = await vault.auditLog();
    expect(log.find((r) => r.index === r2.auditIndex)).toMatchObject({ hash: r2.auditHash, action: 'put', key: 'a', versionId: r2.versionId });
    expect(r2.auditIndex).toBeGreaterThan(r1.auditIndex);
    // Batched: within about a second of the commits the witness names the newest one, without a close.
    await new Promise((r) => setTimeout(r, 1300));
    expect(witnessIndex(witness)).toBe(r2.auditIndex);
    expect(statSync(witness).mode & 0o777).toBe(0o600);
    // Many commits in a burst are a few witness writes, not one per commit.
    const before = flushed.filter((k) => k === 'flushed').length;
    for (let i = 0; i < 20; i++) await vault.put('bkt', `small${i}`, Buffer.from(`x${i}`));
    const during = flushed.filter((k) => k === 'flushed').length - before;
    expect(during).toBeLessThanOrEqual(3);
    const s = await vault.status();
    expect(s.witness).toMatchObject({ state: 'anchored', locations: [witness] });
    await vault.close();
    const reopened = await Vault.open(meta, { witness: [witness] });
    expect(witnessIndex(witness)).toBe(Number((await auditHead(reopened)).split(':')[0]));
    expect((await reopened.status()).witness?.state).toBe('anchored');
    await reopened.close();
  });

  it('commits that are not puts (a bucket, an evidence record) reach the witness within the interval too, without a close', async () => {
    const { vault, witness } = await makePool();
    await vault.put('bkt', 'a', Buffer.from('first'));
    await new Promise((r) => setTimeout(r, 1300));
    const afterPut = witnessIndex(witness);
    await vault.createBucket('second');
    await vault.appendAudit({ principal: 'ops', action: 'evidence', result: 'ok' });
    const head = Number((await auditHead(vault)).split(':')[0]);
    expect(head).toBeGreaterThan(afterPut);
    // One interval to be seen by the poll of the catalog's head, up to one more for the batched write.
    await new Promise((r) => setTimeout(r, 2500));
    expect(witnessIndex(witness)).toBe(head);
    await vault.close();
  });

  it('disks restored to an older snapshot: reads give the latest bytes or an error, never the old version; scrub names the stale shards', async () => {
    const { vault, base, meta, witness, diskPaths } = await makePool();
    const v1 = striped(1);
    await vault.put('bkt', 'k', v1);
    await vault.put('bkt', 'j', striped(10));
    await vault.close();
    snapshot(base, 'old', diskPaths);
    let v = await Vault.open(meta, { witness: [witness] });
    const v2 = striped(2);
    await v.put('bkt', 'k', v2);
    await v.close();
    // Two of six disks (m) go back: the latest version still reads, rebuilt around the stale shards.
    restore(base, 'old', diskPaths.slice(0, 2));
    v = await Vault.open(meta, { witness: [witness] });
    expect(Buffer.from(await v.getBuffer('bkt', 'k')).equals(v2)).toBe(true);
    await v.close();
    v = await Vault.open(meta, { witness: [witness] });
    const scrubbed = await v.scrub();
    expect(scrubbed.bad).toBeGreaterThan(0);
    const loc = (await v.locate('bkt', 'k'))!;
    const restoredIds = loc.shards.filter((s) => diskPaths.slice(0, 2).some((p) => s.shardFile?.startsWith(p))).map((s) => s.diskId);
    const queued = (await v.repairQueue()).filter((q) => q.key === 'k');
    expect(queued.length).toBeGreaterThan(0);
    expect(new Set(queued.map((q) => q.disk))).toEqual(new Set(restoredIds));
    expect(queued.every((q) => q.versionId === loc.versionId)).toBe(true);
    await v.close();
    // Every disk goes back: the catalog still names version 2, which no disk has: an error, not version 1.
    restore(base, 'old', diskPaths);
    v = await Vault.open(meta, { witness: [witness] });
    await expect(v.getBuffer('bkt', 'k')).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    expect(Buffer.from(await v.getBuffer('bkt', 'j')).length).toBeGreaterThan(0); // untouched since the snapshot
    expect((await v.scrub()).bad).toBeGreaterThan(0);
    expect((await v.repairQueue()).some((q) => q.key === 'k')).toBe(true);
    await v.close();
  });

  it('disks and catalog restored together: open refuses naming both heads; break-glass opens, is audited, re-anchors; an old receipt still reads stale', async () => {
    const { vault, base, pool, meta, witness } = await makePool();
    const v1 = striped(1);
    const r1 = await vault.put('bkt', 'k', v1);
    await vault.close();
    snapshot(base, 'old', [pool]);
    let v = await Vault.open(meta, { witness: [witness] });
    const r2: Receipt = await v.put('bkt', 'k', striped(2));
    const newer = await auditHead(v);
    await v.close();
    restore(base, 'old', [pool]);
    const err = await Vault.open(meta, { witness: [witness] }).then(() => undefined, (e: unknown) => e as Error & { code: string });
    expect(err?.code).toBe('ERR_SV_ROLLBACK');
    expect(err?.message).toContain(`witness audit head ${newer}`);
    expect(err?.message).toMatch(/catalog audit head \d+:[0-9a-f]{64}/);
    expect(err?.message).toContain(witness);
    // The refused open changed nothing: the same refusal again, also read-only (which may not break glass).
    await expect(Vault.open(meta, { witness: [witness], readOnly: true })).rejects.toMatchObject({ code: 'ERR_SV_ROLLBACK' });
    await expect(Vault.open(meta, { witness: [witness], readOnly: true, breakGlass: { reason: 'x' } })).rejects.toMatchObject({ code: 'ERR_SV_READ_ONLY' });
    await expect(Vault.open(meta, { witness: [witness], breakGlass: { reason: '' } })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });

    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => { if (w.code?.startsWith('SV_WITNESS_')) warnings.push(w.code); };
    process.on('warning', onWarning);
    v = await Vault.open(meta, { witness: [witness], breakGlass: { reason: 'restored from the Tuesday backup after the array failed', principal: 'oncall' } });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings).toContain('SV_WITNESS_ROLLBACK_ACCEPTED');
    const s = await v.status();
    expect(s.witness?.state).toBe('rollback-accepted');
    const accepted = (await v.auditLog()).filter((r) => r.action === 'witness.rollback-accepted');
    expect(accepted).toHaveLength(1);
    expect(accepted[0].principal).toBe('oncall');
    expect(accepted[0].detail).toContain(`witness audit head ${newer}`);
    expect(accepted[0].detail).toContain('reason: restored from the Tuesday backup');
    expect(await v.verifyAudit()).toBe(-1);
    // The receipt of the lost write asks for a sequence the store no longer has: an error, not version 1.
    await expect(v.getBuffer('bkt', 'k', { minSequence: r2.sequence })).rejects.toMatchObject({ code: 'ERR_SV_STALE' });
    await expect(v.head('bkt', 'k', { minSequence: BigInt(r2.sequence) })).rejects.toMatchObject({ code: 'ERR_SV_STALE' });
    await expect(new Promise((resolve, reject) => v.get('bkt', 'k', { minSequence: r2.sequence }).on('data', () => undefined).on('end', resolve).on('error', reject))).rejects.toMatchObject({ code: 'ERR_SV_STALE' });
    // The receipt of what the restored state holds still reads.
    expect(Buffer.from(await v.getBuffer('bkt', 'k', { minSequence: r1.sequence })).equals(v1)).toBe(true);
    expect((await v.head('bkt', 'k', { minSequence: Number(r1.sequence) }))?.versionId).toBe(r1.versionId);
    await expect(v.getBuffer('bkt', 'none', { minSequence: '1' })).rejects.toMatchObject({ code: 'ERR_SV_STALE' });
    await expect(v.getBuffer('bkt', 'k', { minSequence: '-1' })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    await expect(v.getBuffer('bkt', 'k', { minSequence: 1.5 })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    await expect(v.getBuffer('bkt', 'k', { minSequence: 1n << 64n })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    await v.close();
    // Re-anchored: the next open is an ordinary one.
    v = await Vault.open(meta, { witness: [witness] });
    expect((await v.status()).witness?.state).toBe('anchored');
    await v.close();
  });

  it('a restored catalog written on past the witness is another history, and still refused', async () => {
    const { vault, base, pool, meta, witness } = await makePool();
    await vault.put('bkt', 'k', Buffer.from('one'));
    await vault.close();
    snapshot(base, 'old', [pool]);
    let v = await Vault.open(meta, { witness: [witness] });
    await v.put('bkt', 'k', Buffer.from('two'));
    await v.close();
    const witnessed = witnessIndex(witness);
    const kept = readFileSync(witness);
    restore(base, 'old', [pool]);
    // Someone opens the restored pool with its witness out of the way and writes more than was lost ...
    v = await Vault.open(meta, { witness: [join(base, 'elsewhere')] });
    for (let i = 0; i < 5; i++) await v.put('bkt', `more${i}`, Buffer.from('x'));
    expect(Number((await auditHead(v)).split(':')[0])).toBeGreaterThan(witnessed);
    await v.close();
    // ... and the real witness still tells: its record at that index is not the catalog's.
    writeFileSync(witness, kept);
    await expect(Vault.open(meta, { witness: [witness] })).rejects.toMatchObject({ code: 'ERR_SV_ROLLBACK', message: expect.stringContaining('another history') });
  });

  it('a deleted witness: open warns that it runs unanchored (status, event, process warning), then anchors again', async () => {
    const { vault, meta, witness } = await makePool();
    await vault.put('bkt', 'k', Buffer.from('one'));
    await vault.close();
    rmSync(witness);
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => { if (w.code?.startsWith('SV_WITNESS_')) warnings.push(w.code); };
    process.on('warning', onWarning);
    let v = await Vault.open(meta, { witness: [witness] });
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    expect(warnings).toEqual(['SV_WITNESS_UNANCHORED']);
    const s = (await v.status()).witness!;
    expect(s.state).toBe('unanchored');
    expect(s.problems.join('\n')).toMatch(/runs unanchored/);
    expect(existsSync(witness)).toBe(true); // written again at open: the next open can check
    await v.close();
    v = await Vault.open(meta, { witness: [witness] });
    expect((await v.status()).witness?.state).toBe('anchored');
    await v.close();
    // A pool without commits has nothing to roll back: not unanchored, and anchored by the open's write.
    const fresh = await makePool();
    await fresh.vault.close();
    rmSync(fresh.witness);
    v = await Vault.open(fresh.meta, { witness: [fresh.witness] });
    const st = (await v.status()).witness!;
    expect(st.state).toBe('anchored');
    expect(st.problems.some((p) => p.includes('unanchored'))).toBe(false);
    // The witness and the meta directory are both under the temporary directory here: said, not refused.
    expect(st.problems.some((p) => p.includes('same filesystem as the meta directory'))).toBe(true);
    await v.close();
  });

  it('a tampered witness is ignored and reported; another location that verifies still anchors', async () => {
    const { vault, base, pool, meta, witness } = await makePool();
    const second = join(base, 'state2', 'w');
    await vault.close();
    let v = await Vault.open(meta, { witness: [witness, second] });
    await v.put('bkt', 'k', Buffer.from('one'));
    await v.close();
    snapshot(base, 'old', [pool]);
    v = await Vault.open(meta, { witness: [witness, second] });
    await v.put('bkt', 'k', Buffer.from('two'));
    await v.close();
    restore(base, 'old', [pool]);
    // One witness altered (its index lowered would hide the rollback): it does not verify, the other one tells.
    const bad = readFileSync(witness);
    bad.writeBigUInt64BE(0n, 23);
    writeFileSync(witness, bad);
    await expect(Vault.open(meta, { witness: [witness, second] })).rejects.toMatchObject({ code: 'ERR_SV_ROLLBACK' });
    // With only the tampered one, there is nothing to compare with: unanchored, and the bad file is reported.
    v = await Vault.open(meta, { witness: [witness] });
    const s = (await v.status()).witness!;
    expect(s.state).toBe('unanchored');
    expect(s.problems.some((p) => p.includes(witness) && p.includes('does not verify'))).toBe(true);
    await v.close();
    // Another pool's witness (a valid signature, but not this pool's key) is ignored too.
    const other = await makePool();
    await other.vault.put('bkt', 'x', Buffer.from('x'));
    await other.vault.close();
    cpSync(other.witness, witness);
    v = await Vault.open(meta, { witness: [witness] });
    expect((await v.status()).witness?.problems.some((p) => p.includes('does not verify'))).toBe(true);
    await v.close();
    // Oversized garbage is refused without reading it all.
    writeFileSync(witness, Buffer.alloc(1 << 20, 7));
    v = await Vault.open(meta, { witness: [witness] });
    expect((await v.status()).witness?.problems.some((p) => p.includes(`must be ${WITNESS_BYTES} bytes`))).toBe(true);
    await v.close();
  });

  it('refuses witness locations inside the pool at open and init', async () => {
    const { vault, meta, diskPaths, base } = await makePool();
    await vault.close();
    await expect(Vault.open(meta, { witness: [join(meta, 'w')] })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE', message: expect.stringContaining('meta directory') });
    await expect(Vault.open(meta, { witness: [join(diskPaths[3], 'sub', 'w')] })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE', message: expect.stringContaining('disk ') });
    await expect(Vault.open(meta, { witness: 'w' as never })).rejects.toMatchObject({ code: 'ERR_SV_INVALID_ARG_TYPE' });
    const fresh = join(base, 'fresh');
    mkdirSync(join(fresh, 'd0'), { recursive: true });
    mkdirSync(join(fresh, 'd1'), { recursive: true });
    mkdirSync(join(fresh, 'd2'), { recursive: true });
    await expect(Vault.init({ disks: [0, 1, 2].map((i) => ({ path: join(fresh, `d${i}`) })), metaDir: join(fresh, 'meta'), k: 2, m: 1, witness: [join(fresh, 'd1', 'w')] }))
      .rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
  });

  it('a witness that cannot be written is an event and a status field, never a failed put', async () => {
    const { vault, base, meta } = await makePool();
    await vault.close();
    writeFileSync(join(base, 'not-a-dir'), 'x');
    const unwritable = join(base, 'not-a-dir', 'w'); // its parent is a file: ENOTDIR
    const v = await Vault.open(meta, { witness: [unwritable] });
    const failures: string[] = [];
    v.events.on('witness', (e) => { if (e.kind === 'flush-failed') failures.push(e.message); });
    const r = await v.put('bkt', 'k', Buffer.from('durable anyway'));
    expect(r.sequence).toBe('1');
    await new Promise((res) => setTimeout(res, 1300));
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toContain(unwritable);
    expect((await v.status()).witness?.lastFlush?.error).toContain('could not be written');
    expect(Buffer.from(await v.getBuffer('bkt', 'k')).toString()).toBe('durable anyway');
    await v.close();
  });

  it('the default location is under $XDG_STATE_HOME, per pool; a catalog rebuild re-anchors it (named in its audit record)', async () => {
    const { vault, meta } = await makePool(false);
    const poolId = (JSON.parse(readFileSync(join(meta, 'pool.json'), 'utf8')) as { poolId: string }).poolId;
    const path = defaultWitnessPath(poolId, meta);
    expect(path.startsWith(process.env.XDG_STATE_HOME!)).toBe(true);
    await vault.put('bkt', 'k', Buffer.from('one'));
    await vault.close();
    expect(witnessIndex(path)).toBeGreaterThan(0);
    const before = witnessIndex(path);
    rmSync(join(meta, 'catalog'), { recursive: true });
    await Vault.rebuildCatalog(meta);
    expect(witnessIndex(path)).toBe(0); // the rebuilt chain's first record
    const v = await Vault.open(meta);
    expect((await v.status()).witness?.state).toBe('anchored');
    const rebuilt = (await v.auditLog()).find((r) => r.action === 'catalog.rebuild');
    expect(rebuilt?.detail).toMatch(new RegExp(`previous-witness=${before}:[0-9a-f]{64}`));
    expect(Buffer.from(await v.getBuffer('bkt', 'k')).toString()).toBe('one');
    await v.close();
  });
});
