// Read-only open (issue 10): `Vault.open(meta, { readOnly: true })` works while another process holds the pool
// open read-write (a real second process), reads back what that process wrote (also after the open), reports
// status, scrubs (verify only) and reads the audit log, writes nothing anywhere, and refuses every mutation
// with ERR_SV_READ_ONLY.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';

import { native, nativeUnavailableReason } from '../lib/native.js';
import { Vault } from '../lib/vault.js';

const hasNative = native() !== null;
const dist = join(__dirname, '..', 'dist');
const built = existsSync(join(dist, 'lib', 'vault.js'));
const root = mkdtempSync(join(tmpdir(), 'sv-readonly-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir` with its size and mtime (what a writer would change). */
function snapshot(dir: string, skip: (path: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, f);
    if (skip(p)) continue;
    const st = statSync(p);
    out[f] = st.isDirectory() ? 'dir' : `${st.size}@${st.mtimeMs}`;
  }
  return out;
}

function holder(meta: string): { child: ChildProcessWithoutNullStreams; next: () => Promise<string> } {
  const child = spawn(process.execPath, [join(__dirname, 'fault', 'holder-child.mjs'), dist, meta], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done === true) throw new Error(`holder exited: ${stderr}`);
    return r.value as string;
  };
  return { child, next };
}

describe.skipIf(!hasNative || !built)(`read-only open${hasNative && built ? '' : ` (skipped: ${hasNative ? 'dist/ not built (npx tsc -p .)' : nativeUnavailableReason()})`}`, () => {
  it('while another process holds the pool: reads, status, scrub and audit work; mutations are refused; nothing is written', async () => {
    const base = join(root, 'p0');
    const disks = Array.from({ length: 6 }, (_, i) => {
      mkdirSync(join(base, `d${i}`), { recursive: true });
      return { path: join(base, `d${i}`) };
    });
    const meta = join(base, 'meta');
    const setup = await Vault.init({ disks, metaDir: meta, k: 4, m: 2, blockBytes: 4096 });
    await setup.createBucket('bkt');
    const data = Buffer.alloc(100_000, 0x42);
    await setup.put('bkt', 'striped', data);
    await setup.put('bkt', 'inline', Buffer.from('small'));
    await setup.close();

    const { child, next } = holder(meta);
    try {
      expect(await next()).toBe('ready');
      // The writer holds the lock: a second read-write open is refused...
      await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_POOL_BUSY' });
      const lockBefore = statSync(join(meta, 'lock'));
      // ...a read-only one is not. LMDB's reader table (lock.mdb) is the only file a reader touches.
      const skip = (p: string) => p.endsWith('lock.mdb');
      const before = [snapshot(meta, skip), ...disks.map((d) => snapshot(d.path))];
      const ro = await Vault.open(meta, { readOnly: true });
      expect(ro.readOnly).toBe(true);
      expect(Buffer.from(await ro.getBuffer('bkt', 'striped')).equals(data)).toBe(true);
      expect(Buffer.from(await ro.getBuffer('bkt', 'inline')).toString()).toBe('small');
      expect(await ro.head('bkt', 'striped')).toMatchObject({ size: 100_000 });
      expect((await ro.list('bkt')).objects.map((o) => o.key)).toEqual(['inline', 'striped']);
      expect((await ro.listBuckets())).toEqual(['bkt']);
      const status = await ro.status();
      expect(status.objects).toBe(2);
      expect(status.disks.every((d) => d.ok)).toBe(true);
      expect((await ro.scrub()).bad).toBe(0);
      expect((await ro.auditLog()).length).toBeGreaterThan(0);
      expect((await ro.verifyAudit())).toBe(-1);

      // A write by the holder after the read-only open is seen by the reader.
      child.stdin.write('put later 20000\n');
      expect(await next()).toBe('put later');
      expect(Buffer.from(await ro.getBuffer('bkt', 'later')).equals(Buffer.alloc(20_000, 0x61))).toBe(true);
      const afterPut = [snapshot(meta, skip), ...disks.map((d) => snapshot(d.path))];

      const refused: Array<[string, () => Promise<unknown>]> = [
        ['put', () => ro.put('bkt', 'x', Buffer.from('x'))],
        ['delete', () => ro.delete('bkt', 'striped')],
        ['createBucket', () => ro.createBucket('other')],
        ['deleteBucket', () => ro.deleteBucket('bkt')],
        ['repair', () => ro.repair()],
        ['gc', () => ro.gc()],
        ['rebalance', () => ro.rebalance()],
        ['addDisk', () => ro.addDisk({ path: join(base, 'new') })],
        ['drainDisk', () => ro.drainDisk(status.disks[0].id)],
        ['replaceDisk', () => ro.replaceDisk(status.disks[0].id, { path: join(base, 'new') })],
        ['removeDisk', () => ro.removeDisk(status.disks[0].id)],
      ];
      for (const [what, call] of refused) {
        await expect(call(), what).rejects.toMatchObject({ code: 'ERR_SV_READ_ONLY', message: expect.stringMatching(new RegExp(what)) });
      }
      // Still nothing written by the reader: the files are as the holder left them.
      expect([snapshot(meta, skip), ...disks.map((d) => snapshot(d.path))]).toEqual(afterPut);
      expect(existsSync(join(base, 'new'))).toBe(false);
      await ro.close();
      // The holder's lock is untouched and it keeps working after the reader closed.
      expect(statSync(join(meta, 'lock')).mtimeMs).toBe(lockBefore.mtimeMs);
      child.stdin.write('put again 5000\n');
      expect(await next()).toBe('put again');
      expect(before[0]['pool.json']).toBe(afterPut[0]['pool.json']);
      child.stdin.write('close\n');
      expect(await next()).toBe('closed');
    } finally {
      child.kill();
    }
    // A read-only open of a closed pool does no recovery and takes no lock either.
    const ro = await Vault.open(meta, { readOnly: true });
    expect(existsSync(join(meta, 'lock'))).toBe(false);
    expect(Buffer.from(await ro.getBuffer('bkt', 'again')).length).toBe(5000);
    await ro.close();
  });
});
