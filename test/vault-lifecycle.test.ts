// Disk lifecycle and placement over time: a failed disk is refused by identity but the pool still opens and
// serves; replace moves every shard it held onto the new disk (or another disk within the rule, I8) through
// repair with a re-signed manifest; drain empties a disk; add makes a disk eligible for new objects; open
// queues repair for heads whose files are short; stale or missing manifest copies met by reads are queued.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';
import { copyPayload, damageCopy, forgeCopy } from './support/copies.js';

const hasNative = native() !== null;
const root = mkdtempSync(join(tmpdir(), 'sv-life-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function makePool(hosts: string[], k = 4, m = 2) {
  const base = join(root, `p${n++}`);
  const disks = hosts.map((host, i) => {
    mkdirSync(join(base, `d${i}`), { recursive: true });
    return { path: join(base, `d${i}`), labels: { host } };
  });
  const vault = await Vault.init({ disks, metaDir: join(base, 'meta'), k, m, blockBytes: 4096, failureDomain: 'host' });
  await vault.createBucket('bkt');
  return { vault, base, meta: join(base, 'meta') };
}

async function fill(vault: Vault, count: number) {
  const objects = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const data = randomBytes(i % 3 === 0 ? 700 : 5 * 4096 * 4 + i); // inline and striped
    await vault.put('bkt', `o${i}`, data);
    objects.set(`o${i}`, data);
  }
  return objects;
}

/** Every object reads back, and no read needed a repair (nothing queued). */
async function expectAllClean(vault: Vault, objects: Map<string, Buffer>) {
  for (const [key, data] of objects) expect(Buffer.from(await vault.getBuffer('bkt', key)).equals(data), key).toBe(true);
  expect((await vault.repairQueue())).toEqual([]);
  expect((await vault.scrub()).bad).toBe(0);
}

async function hostsOf(vault: Vault, key: string, hostOfDisk: Map<string, string>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const s of (await vault.locate('bkt', key))!.shards) counts.set(hostOfDisk.get(s.diskId)!, (counts.get(hostOfDisk.get(s.diskId)!) ?? 0) + 1);
  return counts;
}

describe.skipIf(!hasNative)(`disk lifecycle${hasNative ? '' : ` (skipped: ${nativeUnavailableReason()})`}`, () => {
  it('a failed disk: the pool opens without it, serves every object, and replace + repair rebuilds its shards elsewhere', async () => {
    const { vault, base, meta } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
    const objects = await fill(vault, 9);
    await vault.delete('bkt', 'o1');
    objects.delete('o1');
    const st0 = await vault.status();
    const victim = st0.disks.reduce((a, b) => (b.shards > a.shards ? b : a));
    expect(victim.shards).toBeGreaterThan(0);
    await vault.close();

    renameSync(victim.path, `${victim.path}.dead`); // the disk is gone (an empty mount point would do the same)
    mkdirSync(victim.path);
    const degraded = await Vault.open(meta, { orphanGraceMs: 0 });
    const st1 = await degraded.status();
    expect(st1.disks.find((d) => d.id === victim.id)).toMatchObject({ ok: false });
    expect(st1.disks.find((d) => d.id === victim.id)?.freeBytes).toBeUndefined();
    expect(st1.disks.filter((d) => d.ok).every((d) => d.freeBytes! > 0 && d.totalBytes! >= d.freeBytes!)).toBe(true);
    expect(st1.disks.find((d) => d.id === victim.id)?.copyLog).toBeUndefined();
    // Every usable disk that holds a copy has a copy log of at least one segment.
    for (const d of st1.disks.filter((x) => x.ok && x.shards > 0)) expect(d.copyLog!.segments > 0 && d.copyLog!.bytes > 4096, d.id).toBe(true);
    expect(st1.objectsAtRisk).toBeGreaterThan(0);
    for (const [key, data] of objects) expect(Buffer.from(await degraded.getBuffer('bkt', key)).equals(data), key).toBe(true);
    // New writes place around the offline disk (7 disks, 6 shards): not degraded.
    const fresh = await degraded.put('bkt', 'while-down', randomBytes(3 * 4096 * 4));
    expect(fresh.degraded).toBe(false);
    expect(fresh.durableDisks).not.toContain(victim.id);

    mkdirSync(join(base, 'new'));
    const newId = await degraded.replaceDisk(victim.id, { path: join(base, 'new'), labels: { host: 'h9' } });
    const queued = (await degraded.repairQueue()).length;
    expect(queued).toBe(victim.shards);
    const r = await degraded.repair();
    expect(r).toMatchObject({ repaired: queued, moved: queued, failed: 0 });
    const st2 = await degraded.status();
    expect(st2.disks.find((d) => d.id === victim.id)).toMatchObject({ state: 'removed', shards: 0 });
    expect(st2.disks.find((d) => d.id === newId)).toMatchObject({ state: 'active', ok: true, shards: queued });
    expect(st2.objectsAtRisk).toBe(0);
    objects.set('while-down', Buffer.from(await degraded.getBuffer('bkt', 'while-down')));
    await expectAllClean(degraded, objects);
    await expect(degraded.getBuffer('bkt', 'o1')).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
    const audit = (await degraded.auditLog()).map((a: { action: string }) => a.action);
    expect(audit).toEqual(expect.arrayContaining(['disk.add', 'disk.remove', 'repair.move']));
    expect((await degraded.verifyAudit())).toBe(-1);
    await degraded.close();

    // After a reopen the moved objects still read from their new places, and gc leaves nothing to repair.
    const again = await Vault.open(meta, { orphanGraceMs: 0 });
    expect(again.lastRecovery.repairQueued).toBe(0);
    await expectAllClean(again, objects);
    await again.close();
  });

  it('replacement keeps the failure-domain rule (I8): never more than m shards of an object per host', async () => {
    // 4 hosts with 2 disks each, 2+2: at most 2 shards per host; losing any host leaves every object readable.
    const hosts = ['a', 'a', 'b', 'b', 'c', 'c', 'd', 'd'];
    const { vault, meta } = await makePool(hosts, 2, 2);
    const objects = await fill(vault, 40);
    const st = await vault.status();
    const hostOfDisk = new Map(st.disks.map((d) => [d.id, d.labels.host]));
    // Objects that already hold 2 shards in host "a" and one on the victim: the preferred disk is not allowed
    // for them. The victim (outside "a") is the disk with the most such objects (~3.4 expected per disk).
    const where = new Map<string, { hosts: Map<string, number>; disks: string[] }>();
    for (const key of objects.keys()) where.set(key, { hosts: await hostsOf(vault, key, hostOfDisk), disks: (await vault.locate('bkt', key))!.shards.map((s) => s.diskId) });
    const conflictsOf = (diskId: string) =>
      [...objects.keys()].filter((key) => where.get(key)!.hosts.get('a') === 2 && where.get(key)!.disks.includes(diskId));
    const victim = st.disks.filter((d) => d.labels.host !== 'a').reduce((a, b) => (conflictsOf(b.id).length > conflictsOf(a.id).length ? b : a));
    const conflicts = conflictsOf(victim.id);
    expect(conflicts.length).toBeGreaterThan(0);
    await vault.close();
    renameSync(victim.path, `${victim.path}.dead`);
    mkdirSync(victim.path);
    const v = await Vault.open(meta, { orphanGraceMs: 0 });
    const spare = join(meta, '..', 'spare');
    mkdirSync(spare);
    // The replacement sits in host "a": wherever an object already has 2 shards in "a", repair must pick another disk.
    const newId = await v.replaceDisk(victim.id, { path: spare, labels: { host: 'a' } });
    hostOfDisk.set(newId, 'a');
    await v.repair();
    for (const key of conflicts) expect((await v.locate('bkt', key))!.shards.map((s) => s.diskId)).not.toContain(newId);
    for (const key of objects.keys()) {
      for (const [host, count] of await hostsOf(v, key, hostOfDisk)) expect(count, `${key} on ${host}`).toBeLessThanOrEqual(2);
      expect((await v.locate('bkt', key))!.shards.map((s) => s.diskId)).not.toContain(victim.id);
    }
    await expectAllClean(v, objects);
    await v.close();
  });

  it('drain moves every shard off a disk; remove is refused until it is empty; add makes a disk eligible', async () => {
    const { vault, base } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
    const objects = await fill(vault, 8);
    const st = await vault.status();
    const target = st.disks.find((d) => d.shards > 0)!;
    await expect(vault.removeDisk(target.id)).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    const queued = await vault.drainDisk(target.id);
    expect(queued).toBe(target.shards);
    // Draining: still readable, takes no new shards.
    for (let i = 0; i < 5; i++) expect((await vault.put('bkt', `during${i}`, randomBytes(20_000))).durableDisks).not.toContain(target.id);
    const r = await vault.repair();
    expect(r.moved).toBe(queued);
    expect((await vault.status()).disks.find((d) => d.id === target.id)).toMatchObject({ state: 'draining', shards: 0 });
    await vault.removeDisk(target.id);
    expect((await vault.status()).disks.find((d) => d.id === target.id)?.state).toBe('removed');
    await expectAllClean(vault, objects);

    mkdirSync(join(base, 'added'));
    const added = await vault.addDisk({ path: join(base, 'added'), labels: { host: 'h7' } });
    const before = new Map<string, string>();
    for (const k of objects.keys()) before.set(k, (await vault.locate('bkt', k))!.shards.map((s) => s.diskId).join());
    let used = 0;
    for (let i = 0; i < 20; i++) if ((await vault.put('bkt', `after${i}`, randomBytes(20_000))).durableDisks.includes(added)) used++;
    expect(used).toBeGreaterThan(0); // 7 active disks, 6 shards each: the new disk gets most objects
    for (const [k, where] of before) expect((await vault.locate('bkt', k))!.shards.map((s) => s.diskId).join()).toBe(where); // no rebalancing
    await expect(vault.addDisk({ path: join(base, 'added'), labels: { host: 'h8' } })).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY' });
    // A disk formatted for this pool by an addDisk that crashed before its commit can be added again.
    mkdirSync(join(base, 'half'));
    const identity = JSON.parse(readFileSync(join(base, 'added', 'disk.json'), 'utf8'));
    writeFileSync(join(base, 'half', 'disk.json'), JSON.stringify({ ...identity, diskId: 'disk-99-deadbeef' }));
    expect(await vault.addDisk({ path: join(base, 'half'), labels: { host: 'h9' } })).toMatch(/^disk-/);
    await vault.close();
  });

  it('open queues repair for heads whose files went missing; reads queue missing or stale manifest copies', async () => {
    const { vault, meta } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    const striped = randomBytes(3 * 4096 * 4);
    const inline = randomBytes(900);
    await vault.put('bkt', 's', striped);
    await vault.put('bkt', 'i', inline);
    const s = (await vault.locate('bkt', 's'))!;
    const i = (await vault.locate('bkt', 'i'))!;
    await vault.close();
    unlinkSync(s.shards[2].shardFile!);
    // A lost copy-log segment: every copy in it is gone (here those of both objects on that disk).
    const lostSegment = i.shards[3].copy!.file;
    unlinkSync(lostSegment);
    const lost = [s, i].flatMap((w, j) => w.shards.filter((x) => x.copy!.file === lostSegment).map((x) => `${'si'[j]}${x.shard}`));
    expect(lost).toContain('i3');
    // After a clean close, open only works off the garbage queue; the walk finds files lost meanwhile.
    const quick = await Vault.open(meta);
    expect(quick.lastRecovery.repairQueued).toBe(0);
    await quick.close();
    const v = await Vault.open(meta, { orphanGraceMs: 0, recover: 'walk' });
    const expected = [...new Set(['s2', ...lost])].sort();
    expect(v.lastRecovery.repairQueued).toBe(expected.length);
    expect((await v.repairQueue()).map((q) => `${q.key}${q.shard}`).sort()).toEqual(expected);
    expect(await v.repair()).toMatchObject({ repaired: expected.length, failed: 0 });
    expect(existsSync(s.shards[2].shardFile!)).toBe(true);
    expect((await v.scrub()).bad).toBe(0);

    // A stale copy (an older, validly signed manifest of the same key) where the first copy should be.
    const oldBytes = copyPayload((await v.locate('bkt', 'i'))!.shards[0].copy!);
    await v.put('bkt', 'i', randomBytes(800));
    const now = (await v.locate('bkt', 'i'))!;
    forgeCopy(now.shards[0].copy!, oldBytes);
    await v.getBuffer('bkt', 'i');
    expect((await v.repairQueue()).map((q) => `${q.key}${q.shard}`)).toEqual(['i0']);
    await v.repair();
    expect((await v.scrub()).bad).toBe(0);
    await v.close();
  });

  it('repair goes on past an object it cannot rebuild (more than m bad shards), leaving that one queued', async () => {
    const { vault } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    const good = randomBytes(3 * 4096 * 4);
    await vault.put('bkt', 'lost', randomBytes(3 * 4096 * 4));
    await vault.put('bkt', 'good', good);
    const lost = (await vault.locate('bkt', 'lost'))!;
    for (const s of lost.shards.slice(0, 3)) unlinkSync(s.shardFile!);
    unlinkSync((await vault.locate('bkt', 'good'))!.shards[0].shardFile!);
    expect((await vault.scrub()).bad).toBe(4);
    const r = await vault.repair();
    expect(r).toMatchObject({ repaired: 1, failed: 3 });
    expect(r.errors).toEqual([expect.objectContaining({ key: 'lost', code: 'ERR_SV_CORRUPT' })]);
    expect((await vault.repairQueue()).map((q) => q.key)).toEqual(['lost', 'lost', 'lost']);
    expect(Buffer.from(await vault.getBuffer('bkt', 'good')).equals(good)).toBe(true);
    await expect(vault.getBuffer('bkt', 'lost')).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    await vault.close();
  });

  it('the pool still opens when disks are mounted elsewhere (pool.json paths win), and refuses when fewer than k disks remain', async () => {
    const { vault, base, meta } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    const data = randomBytes(40_000);
    await vault.put('bkt', 'x', data);
    await vault.close();
    const poolJson = join(meta, 'pool.json');
    renameSync(join(base, 'd0'), join(base, 'moved0'));
    writeFileSync(poolJson, readFileSync(poolJson, 'utf8').split(join(base, 'd0')).join(join(base, 'moved0')));
    const v = await Vault.open(meta);
    expect((await v.status()).disks.every((d) => d.ok)).toBe(true);
    expect(Buffer.from(await v.getBuffer('bkt', 'x')).equals(data)).toBe(true);
    await v.close();
    for (const d of ['moved0', 'd1', 'd2']) rmSync(join(base, d), { recursive: true });
    await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_DISK_IDENTITY' });
  });
});

describe.skipIf(!hasNative)('rebalancing after disks are added', () => {
  it('moves only what the new disks win, keeps the failure-domain rule, and every object reads back', async () => {
    const { vault, base } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    const objects = await fill(vault, 30);
    expect(await vault.rebalance()).toBe(0); // nothing new: nothing moves
    const before = new Map<string, string[]>();
    for (const k of objects.keys()) before.set(k, (await vault.locate('bkt', k))!.shards.map((s) => s.diskId));
    mkdirSync(join(base, 'n1'));
    mkdirSync(join(base, 'n2'));
    const n1 = await vault.addDisk({ path: join(base, 'n1'), labels: { host: 'h6' } });
    const n2 = await vault.addDisk({ path: join(base, 'n2'), labels: { host: 'h7' } });
    const queued = await vault.rebalance();
    // Rendezvous: each version moves at most one shard to each new disk, and about 2/8 of all shards move.
    expect(queued).toBeGreaterThan(30 * 6 * 0.1);
    expect(queued).toBeLessThan(30 * 6 * 0.45);
    expect((await vault.repairQueue()).every((q) => q.to === n1 || q.to === n2)).toBe(true);
    const r = await vault.repair();
    expect(r).toMatchObject({ failed: 0 });
    expect(r.moved).toBe(queued); // one host per disk: the rule always allows the move
    await expectAllClean(vault, objects);
    for (const [key, was] of before) {
      const now = (await vault.locate('bkt', key))!.shards.map((s) => s.diskId);
      expect(new Set(now).size, key).toBe(6); // still six disks, so six hosts
      now.forEach((id, i) => expect(id === was[i] || id === n1 || id === n2, `${key} shard ${i}`).toBe(true));
      for (const s of (await vault.locate('bkt', key))!.shards) if (s.shardFile !== undefined) expect(existsSync(s.shardFile), key).toBe(true);
    }
    const st = await vault.status();
    expect(st.disks.find((d) => d.id === n1)!.shards + st.disks.find((d) => d.id === n2)!.shards).toBe(queued);
    expect((await vault.scrub()).bad).toBe(0);
    expect(await vault.rebalance()).toBe(0); // balanced now
    // The moved-away shard files are gone from the old disks (the walk finds nothing stale either).
    expect((await vault.gc({ graceMs: 0 })).staleRemoved).toBe(0);
    await vault.close();
  });
});

describe.skipIf(!hasNative)('one open Vault per pool', () => {
  it('a second open is refused while the first is open (same process or a live one); a dead owner is taken over', async () => {
    const { vault, meta } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_POOL_BUSY' });
    await vault.close();
    // A lock left by a process that is gone (crashed): taken over.
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    writeFileSync(join(meta, 'lock'), `${dead}\n`);
    const v = await Vault.open(meta);
    await v.close();
    // A crashed owner's lock means an unclean shutdown: open runs the recovery walk (its temporary file goes).
    const fan = join(meta, '..', 'd0', 'objects', '00');
    writeFileSync(join(fan, '.tmp-left-by-a-crash'), 'x');
    writeFileSync(join(meta, 'lock'), `${dead}\n`);
    const afterCrash = await Vault.open(meta);
    expect(afterCrash.lastRecovery.temporaryRemoved).toBe(1);
    await afterCrash.close();
    writeFileSync(join(fan, '.tmp-kept-after-a-clean-close'), 'x');
    const clean = await Vault.open(meta);
    expect(clean.lastRecovery.temporaryRemoved).toBe(0);
    await clean.close();
    // A lock naming a live pid but another start time (the pid was reused after a reboot): taken over.
    writeFileSync(join(meta, 'lock'), `${process.ppid} 1\n`);
    await (await Vault.open(meta)).close();
    // A lock held by a live process: refused, with its pid in the message.
    writeFileSync(join(meta, 'lock'), `${process.ppid}\n`);
    await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_POOL_BUSY', message: expect.stringContaining(String(process.ppid)) });
    unlinkSync(join(meta, 'lock'));
  });
});

describe.skipIf(!hasNative)('catalog rebuild from the disks', () => {
  it('a lost catalog is rebuilt from the manifest copies: latest versions, deletes stay deleted, moved shards found, audit re-anchored', async () => {
    const { vault, base, meta } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
    const objects = await fill(vault, 6);
    await vault.put('bkt', 'o2', Buffer.from('overwritten, small'));
    objects.set('o2', Buffer.from('overwritten, small'));
    const big = randomBytes(5 * 4096 * 4);
    await vault.put('bkt', 'o4', big);
    objects.set('o4', big);
    await vault.delete('bkt', 'o3');
    objects.delete('o3');
    // A disk replaced and repaired: the moved versions are known only by their re-signed manifests.
    const victim = (await vault.status()).disks.reduce((a, b) => (b.shards > a.shards ? b : a));
    mkdirSync(join(base, 'repl'));
    await vault.replaceDisk(victim.id, { path: join(base, 'repl'), labels: { host: 'h7' } });
    expect((await vault.repair()).moved).toBeGreaterThan(0);
    await vault.createBucket('empty'); // no object: known only from the saved bucket list
    await vault.createBucket('gone');
    await vault.deleteBucket('gone');
    const lastAudit = (await vault.auditLog()).at(-1).hash as string;
    const listed = (await vault.list('bkt')).objects.map((o) => o.key);
    await vault.close();

    const r = await Vault.rebuildCatalog(meta);
    expect(r.objects).toBe(6); // o0..o5, o3 as a tombstone
    expect(r.copiesRejected).toBe(0);
    expect(r.movedAside).toMatch(/catalog-lost-/);
    const v = await Vault.open(meta, { orphanGraceMs: 0 });
    expect((await v.list('bkt')).objects.map((o) => o.key)).toEqual(listed);
    expect((await v.listBuckets())).toEqual(['bkt', 'empty']);
    await expect(v.getBuffer('bkt', 'o3')).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
    await expectAllClean(v, objects);
    const audit = (await v.auditLog());
    expect(audit[0]).toMatchObject({ action: 'catalog.rebuild' });
    expect(audit[0].detail).toContain(lastAudit);
    expect((await v.status()).disks.find((d) => d.id === victim.id)?.state).toBe('removed'); // the pool config came from pool.json
    // A put after the rebuild continues the key's sequence.
    expect((await v.put('bkt', 'o4', Buffer.from('next'))).sequence).toBe('3');
    await v.close();
  });

  it('copies forged by another key or planted under a wrong name are rejected', async () => {
    const { vault, meta } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    await vault.put('bkt', 'x', Buffer.from('real'));
    const where = (await vault.locate('bkt', 'x'))!;
    const other = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    await other.vault.put('bkt', 'x', Buffer.from('forged by a different pool key, with a higher sequence'));
    await other.vault.put('bkt', 'x', Buffer.from('forged by a different pool key, with a higher sequence'));
    const forged = (await other.vault.locate('bkt', 'x'))!;
    // The other pool's copy in a well-formed record of our pool, in the free slot after our copy on one disk
    // (a record copied as it is would not even pass the record check: it is bound to its pool and position).
    const ours = where.shards[0].copy!;
    await vault.close();
    await other.vault.close();
    forgeCopy({ file: ours.file, offset: ours.offset + 4096, length: 40 }, copyPayload(forged.shards[0].copy!));
    const r = await Vault.rebuildCatalog(meta);
    expect(r).toMatchObject({ objects: 1, copiesRejected: 1 });
    const v = await Vault.open(meta);
    expect(Buffer.from(await v.getBuffer('bkt', 'x')).toString()).toBe('real');
    await v.close();
  });
});

describe.skipIf(!hasNative)('garbage of superseded versions', () => {
  it('overwrites and deletes queue the old version; gc removes its files after the grace period without walking', async () => {
    const { vault } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    await vault.put('bkt', 'x', randomBytes(3 * 4096 * 4));
    const v1 = (await vault.locate('bkt', 'x'))!;
    await vault.put('bkt', 'x', randomBytes(500));
    const v2 = (await vault.locate('bkt', 'x'))!;
    await vault.delete('bkt', 'x');
    expect((await vault.garbageQueue()).map((g: { head: { versionId: string } }) => g.head.versionId)).toEqual([v1.versionId, v2.versionId].sort());
    expect(await vault.gc({ graceMs: 3600_000, walk: false })).toMatchObject({ supersededRemoved: 0 }); // too young
    expect(v1.shards.every((s) => existsSync(s.shardFile!))).toBe(true);
    expect(await vault.gc({ graceMs: 0, walk: false })).toMatchObject({ supersededRemoved: 6 }); // v1's shard files
    expect(v1.shards.some((s) => existsSync(s.shardFile!))).toBe(false);
    expect(v2.shards.every((s) => s.shardFile === undefined)).toBe(true); // inline: its copies are all it had
    expect((await vault.garbageQueue())).toEqual([]);
    await expect(vault.getBuffer('bkt', 'x')).rejects.toMatchObject({ code: 'ERR_SV_NOT_FOUND' });
    expect((await vault.gc({ graceMs: 0 })).repairQueued).toBe(0); // the tombstone's copies are kept and complete
    await vault.close();
  });

  it('gc walks and compactions racing with puts and overwrites never remove a segment a committed copy is in', async () => {
    const { vault } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    const want = new Map<string, { seq: bigint; data: Buffer }>();
    let gcRuns = () => 0;
    let stop = false;
    const gcs = (async () => {
      const done = { runs: 0, segmentsRemoved: 0, copiesCompacted: 0 };
      gcRuns = () => done.runs;
      while (!stop) {
        const r = await vault.gc({ graceMs: 0 });
        done.runs++;
        done.segmentsRemoved += r.segmentsRemoved;
        done.copiesCompacted += r.copiesCompacted;
      }
      return done;
    })();
    // Puts of 5 KB over 60 keys, 16 at a time, until gc has run a few times (at least 600): segments of 1, 2, 4
    // MiB roll over while gc walks; overwritten keys leave retired segments dead or sparse behind.
    let next = 0;
    let walks = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < 600 || (walks < 4 && next < 20_000)) {
        walks = gcRuns();
        const i = next++;
        const key = `k${i % 60}`;
        const data = randomBytes(5000);
        const seq = BigInt((await vault.put('bkt', key, data)).sequence);
        if (seq > (want.get(key)?.seq ?? 0n)) want.set(key, { seq, data }); // the highest acked sequence is the head
      }
    }));
    stop = true;
    const done = await gcs;
    expect(done.runs).toBeGreaterThan(0);
    expect(done.segmentsRemoved, JSON.stringify(done)).toBeGreaterThan(0); // the race was real: segments went meanwhile
    for (const [key, { data }] of want) expect(Buffer.from(await vault.getBuffer('bkt', key)).equals(data), key).toBe(true);
    expect((await vault.scrub()).bad).toBe(0);
    const r = await vault.gc({ graceMs: 0 });
    expect(r.repairQueued).toBe(0);
    expect((await vault.scrub()).bad).toBe(0);
    await vault.close();
  });

  it('compaction: the few live copies of a mostly dead segment move, the segment goes, every object still reads', async () => {
    const { vault, meta } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    for (let i = 0; i < 40; i++) await vault.put('bkt', `o${i}`, Buffer.from(`v1 of ${i}`));
    const old = new Set((await vault.locate('bkt', 'o0'))!.shards.map((s) => s.copy!.file));
    await vault.close(); // the segments are cut back to what was written
    const v = await Vault.open(meta);
    for (let i = 0; i < 25; i++) await v.put('bkt', `o${i}`, Buffer.from(`v2 of ${i}`));
    expect((await v.gc({ graceMs: 0, compact: false })).segmentsRemoved).toBe(0); // 15 of 40 still live there
    const before = (await v.auditLog()).length;
    const r = await v.gc({ graceMs: 0 });
    expect(r).toMatchObject({ copiesCompacted: 15 * 6, segmentsRemoved: 6 });
    expect([...old].some((f) => existsSync(f))).toBe(false);
    expect((await v.auditLog()).slice(before).every((a: { action: string }) => a.action === 'gc.compact')).toBe(true);
    for (let i = 0; i < 40; i++) expect(Buffer.from(await v.getBuffer('bkt', `o${i}`)).toString()).toBe(`${i < 25 ? 'v2' : 'v1'} of ${i}`);
    expect((await v.scrub()).bad).toBe(0);
    expect(await v.gc({ graceMs: 0 })).toMatchObject({ copiesCompacted: 0, segmentsRemoved: 0 });
    await v.close();
  });

  it('copy-log segments go once nothing points into them; a segment a live copy or a running put uses stays', async () => {
    const { vault, meta, base } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    await vault.put('bkt', 'a', Buffer.from('first'));
    await vault.put('bkt', 'keep', Buffer.from('kept'));
    const first = (await vault.locate('bkt', 'a'))!.shards.map((s) => s.copy!.file);
    await vault.put('bkt', 'a', Buffer.from('second'));
    // The segments are still written by this process, and 'keep' lives there: nothing goes.
    expect((await vault.gc({ graceMs: 0 })).segmentsRemoved).toBe(0);
    await vault.close();
    // A new process writes new segments; overwriting both keys leaves the old segments without live records.
    const v = await Vault.open(meta);
    await v.put('bkt', 'a', Buffer.from('third'));
    expect((await v.gc({ graceMs: 3600_000 })).segmentsRemoved).toBe(0); // too young
    expect((await v.gc({ graceMs: 0, compact: false })).segmentsRemoved).toBe(0); // 'keep' still lives in them
    await v.put('bkt', 'keep', Buffer.from('kept again'));
    const now = (await v.locate('bkt', 'a'))!.shards.map((s) => s.copy!.file);
    expect(now.some((f) => first.includes(f))).toBe(false);
    expect((await v.gc({ graceMs: 0 })).segmentsRemoved).toBe(6);
    expect(first.some((f) => existsSync(f))).toBe(false);
    expect(now.every((f) => existsSync(f))).toBe(true);
    expect(Buffer.from(await v.getBuffer('bkt', 'a')).toString()).toBe('third');
    expect(Buffer.from(await v.getBuffer('bkt', 'keep')).toString()).toBe('kept again');
    expect((await v.scrub()).bad).toBe(0);
    // Segments under preparation that a crash left, and files that are not ours, in the log directory.
    await v.close();
    writeFileSync(join(base, 'd0', 'log', '.tmp-000000ff.seg'), 'half a segment');
    writeFileSync(join(base, 'd0', 'log', 'notes.txt'), 'not ours');
    writeFileSync(join(meta, 'lock'), `${spawnSync(process.execPath, ['-e', '0']).pid}\n`); // a crashed owner
    const w = await Vault.open(meta);
    expect(w.lastRecovery.temporaryRemoved).toBe(1);
    expect(existsSync(join(base, 'd0', 'log', 'notes.txt'))).toBe(true);
    expect(Buffer.from(await w.getBuffer('bkt', 'keep')).toString()).toBe('kept again');
    await w.close();
  });
});

describe.skipIf(!hasNative)('open never trips over odd leftovers', () => {
  it('unknown files, directories with shard-like names, empty and truncated copies: open and gc survive, unknown files stay', async () => {
    const { vault, base, meta } = await makePool(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    const data = randomBytes(3 * 4096 * 4);
    await vault.put('bkt', 'x', data);
    const where = (await vault.locate('bkt', 'x'))!;
    await vault.close();
    const fan = join(where.shards[0].shardFile!, '..');
    const oid = where.shards[0].shardFile!.split('/').at(-1)!.split('.')[0];
    writeFileSync(join(fan, 'README.txt'), 'not ours');
    mkdirSync(join(fan, `${oid}.${'ab'.repeat(16)}.s3`)); // a directory under a shard-like name
    writeFileSync(join(fan, `${oid}.${'cd'.repeat(16)}.${'0'.repeat(16)}.m1`), ''); // empty copy of an unknown version
    writeFileSync(join(base, 'd1', 'objects', 'zz'), 'a file where a fan-out directory could be');
    damageCopy(where.shards[1].copy!, 'truncate'); // a torn copy record
    const v = await Vault.open(meta, { orphanGraceMs: 0, recover: 'walk' });
    expect(existsSync(join(fan, 'README.txt'))).toBe(true);
    expect(Buffer.from(await v.getBuffer('bkt', 'x')).equals(data)).toBe(true);
    expect((await v.scrub()).bad).toBe(1); // the truncated copy (reads used another one)
    await v.repair();
    expect((await v.scrub()).bad).toBe(0);
    await v.close();
  });
});
