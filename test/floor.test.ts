// The security floor (I5, issue 13) through the library API: the signed record in the catalog and on every
// disk, every weakening with a knob refused with ERR_SV_FLOOR naming it, break-glass allowing it once (audited,
// shown by status until the floor is raised back), configuration drift recorded and diffed, and a floor record
// that was tampered with, replayed or replaced refused rather than read as a lower floor.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { FLOOR_META } from '../lib/security/floor.js';
import { Vault } from '../lib/vault.js';
import { testPools } from './support/pools.js';

const pools = testPools('sv-floor-');
/** A 2+2 pool whose write quorum is k + 2 (all four disks): the floor starts at k+2. */
const make = () => pools.make({ disks: 4, k: 2, m: 2, writeQuorum: 4 });
const floorFile = (disk: string) => join(disk, 'records', 'floor');
const actions = async (v: Vault) => (await v.auditLog()).map((r) => r.action);

async function withCatalog<T>(meta: string, fn: (c: LmdbCatalog) => Promise<T>): Promise<T> {
  const c = await LmdbCatalog.open(join(meta, 'catalog'));
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

describe('the floor record', () => {
  it('is made at init from the pool settings, signed, in the catalog and on every disk, and audited', async () => {
    const { vault, disks, base } = await make();
    const floor = vault.floor()!;
    expect(floor).toMatchObject({ k: 2, m: 2, writeQuorumAboveK: 2, hash: 'blake3', signature: 'ed25519', fsync: true, verifyOnRead: true, manifestFormat: 1, serial: 1, overridden: false });
    expect(await actions(vault)).toEqual(expect.arrayContaining(['floor.init', 'config.open']));
    await vault.close();
    const catalogHex = await withCatalog(join(base, 'meta'), (c) => c.getMeta<string>(FLOOR_META));
    for (const d of disks) expect(readFileSync(floorFile(d.path)).toString('hex')).toBe(catalogHex);
    const status = await (await Vault.open(join(base, 'meta'))).status();
    expect(status.floor).toMatchObject({ serial: 1, overridden: false });
  });

  it('a pool without a floor (older release) gets one equal to its settings at open', async () => {
    const { vault, disks, base } = await make();
    await vault.close();
    await withCatalog(join(base, 'meta'), (c) => c.setMeta(FLOOR_META, undefined));
    for (const d of disks) rmSync(floorFile(d.path));
    const v = await Vault.open(join(base, 'meta'));
    expect(v.floor()).toMatchObject({ serial: 1, writeQuorumAboveK: 2 });
    expect((await actions(v)).filter((a) => a === 'floor.init')).toHaveLength(2);
    await v.close();
  });
});

describe('weakening the write quorum', () => {
  it('reconfigure below the floor is refused naming the setting, the value and the floor', async () => {
    const { vault } = await make();
    await expect(vault.reconfigure({ writeQuorum: 3 })).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('writeQuorum k+1 is below the floor k+2') });
    // Out of range is a range error, even with break-glass: the floor is never lowered to a quorum the pool cannot have.
    await expect(vault.reconfigure({ writeQuorum: 2, breakGlass: { reason: 'x' } })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    expect(vault.floor()).toMatchObject({ overridden: false, serial: 1 });
    expect((await vault.status()).pool.writeQuorum).toBe(4);
    expect(await actions(vault)).not.toContain('pool.reconfigure');
    await vault.close();
  });

  it('break-glass allows it once, audited with the reason, shown by status until the floor is raised back', async () => {
    const { vault, base } = await make();
    const t0 = Date.now();
    await vault.reconfigure({ writeQuorum: 3, breakGlass: { reason: 'disk d3 is out for a week (ticket 42)' } });
    let s = await vault.status();
    expect(s.pool.writeQuorum).toBe(3);
    expect(s.floor).toMatchObject({ writeQuorumAboveK: 1, overridden: true, reason: 'disk d3 is out for a week (ticket 42)', previous: expect.objectContaining({ writeQuorumAboveK: 2 }) });
    expect(s.floor!.sinceMs).toBeGreaterThanOrEqual(t0);
    const log = await vault.auditLog();
    const lower = log.find((r) => r.action === 'floor.lower')!;
    expect(lower.detail).toContain('ticket 42');
    expect(lower.detail).toContain('writeQuorum k+1 is below the floor k+2');
    expect(log.map((r) => r.action)).toEqual(expect.arrayContaining(['pool.reconfigure', 'config.change', 'config.drift']));
    expect(s.config?.lastSecurityChange?.settings).toContain('pool.writeQuorum');
    // The next reconfigure to k+1 is no weakening any more, but going lower than the lowered floor is.
    await vault.close();
    const again = await Vault.open(join(base, 'meta'));
    expect(again.floor()).toMatchObject({ overridden: true, writeQuorumAboveK: 1 });
    // Raising the floor while the pool runs below it is refused; raise the setting first.
    await expect(again.raiseFloor({ writeQuorumAboveK: 2 })).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('the pool runs below it') });
    await again.reconfigure({ writeQuorum: 4 });
    expect(again.floor()?.overridden).toBe(true); // the setting is back, the floor is not yet
    const raised = await again.raiseFloor({ writeQuorumAboveK: 2 });
    expect(raised).toMatchObject({ overridden: false, writeQuorumAboveK: 2 });
    s = await again.status();
    expect(s.floor).toMatchObject({ overridden: false });
    expect(s.floor).not.toHaveProperty('reason');
    expect((await again.auditLog()).find((r) => r.action === 'floor.raise')?.detail).toContain('override ended');
    // Lowering the floor itself needs break-glass too.
    await expect(again.lowerFloor({ writeQuorumAboveK: 1 }, {})).rejects.toMatchObject({ code: 'ERR_SV_FLOOR' });
    await expect(again.raiseFloor({ writeQuorumAboveK: 1 })).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('below the floor k+2') });
    expect(await again.verifyAudit()).toBe(-1);
    await again.close();
  });

  it('the open option is refused below the floor, and with break-glass reconfigures the pool (audited)', async () => {
    const { vault, base } = await make();
    await vault.close();
    const meta = join(base, 'meta');
    await expect(Vault.open(meta, { writeQuorum: 3 })).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('writeQuorum k+1 is below the floor k+2') });
    await expect(Vault.open(meta, { breakGlass: { reason: '' } })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' });
    const v = await Vault.open(meta, { writeQuorum: 3, breakGlass: { reason: 'maintenance window' } });
    expect((await v.status()).pool.writeQuorum).toBe(3);
    expect(v.floor()).toMatchObject({ overridden: true, reason: 'maintenance window' });
    expect(v.lastConfigDrift?.changes.map((c) => c.path)).toEqual(expect.arrayContaining(['pool.writeQuorum']));
    await v.close();
  });

  it('a pool configuration edited in the catalog behind the engine is refused at open', async () => {
    const { vault, base } = await make();
    await vault.close();
    const meta = join(base, 'meta');
    await withCatalog(meta, async (c) => {
      const config = (await c.getMeta<{ writeQuorum: number }>('pool.config'))!;
      await c.setMeta('pool.config', { ...config, writeQuorum: 3 });
    });
    await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('writeQuorum k+1 is below the floor k+2') });
    await expect(Vault.open(meta, { readOnly: true })).rejects.toMatchObject({ code: 'ERR_SV_FLOOR' });
    // k and m, which have no knob, one by one.
    for (const [field, value, text] of [['m', 1, 'm 1 is below the floor 2'], ['k', 1, 'k 1 is below the floor 2']] as const) {
      await withCatalog(meta, async (c) => {
        const config = (await c.getMeta<Record<string, unknown>>('pool.config'))!;
        await c.setMeta('pool.config', { ...config, writeQuorum: 4, k: 2, m: 2, [field]: value });
      });
      await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining(text) });
    }
  });
});

describe('a tampered floor record is refused, never read as a lower floor', () => {
  it('a disk copy that does not verify refuses the open, naming the disk', async () => {
    const { vault, disks, base } = await make();
    await vault.close();
    const f = floorFile(disks[2].path);
    writeFileSync(f, readFileSync(f, 'utf8').replace('"writeQuorumAboveK":2', '"writeQuorumAboveK":1'));
    await expect(Vault.open(join(base, 'meta'))).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringMatching(/disk disk-2-\w+ .*signature does not verify/) });
  });

  it('a catalog record that does not verify refuses the open (read-write and read-only)', async () => {
    const { vault, base } = await make();
    await vault.close();
    const meta = join(base, 'meta');
    await withCatalog(meta, async (c) => {
      const text = Buffer.from((await c.getMeta<string>(FLOOR_META))!, 'hex').toString('utf8');
      await c.setMeta(FLOOR_META, Buffer.from(text.replace('"m":2', '"m":1')).toString('hex'));
    });
    await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('in the catalog is refused') });
    await expect(Vault.open(meta, { readOnly: true })).rejects.toMatchObject({ code: 'ERR_SV_FLOOR' });
  });

  it('an older, validly signed record put back in the catalog is refused (the disks hold a newer one)', async () => {
    const { vault, base } = await make();
    const meta = join(base, 'meta');
    await vault.reconfigure({ writeQuorum: 3, breakGlass: { reason: 'test' } });
    await vault.close();
    const lowered = await withCatalog(meta, async (c) => c.getMeta<string>(FLOOR_META));
    const v = await Vault.open(meta);
    await v.reconfigure({ writeQuorum: 4 });
    await v.raiseFloor({ writeQuorumAboveK: 2 });
    await v.close();
    await withCatalog(meta, (c) => c.setMeta(FLOOR_META, lowered));
    await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('is older than the one on disk') });
  });

  it('a record from another pool is refused', async () => {
    const a = await make();
    const b = await make();
    await a.vault.close();
    await b.vault.close();
    writeFileSync(floorFile(b.disks[0].path), readFileSync(floorFile(a.disks[0].path)));
    await expect(Vault.open(join(b.base, 'meta'))).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('belongs to pool') });
  });

  it('a disk without its copy, or with an older one, is brought up to date at open', async () => {
    const { vault, disks, base } = await make();
    const meta = join(base, 'meta');
    const first = readFileSync(floorFile(disks[1].path));
    await expect(vault.raiseFloor({ k: 2 })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE' }); // k is the floor already
    await vault.reconfigure({ writeQuorum: 3, breakGlass: { reason: 'a newer floor' } });
    await vault.close();
    rmSync(floorFile(disks[0].path));
    writeFileSync(floorFile(disks[1].path), first);
    const v = await Vault.open(meta);
    await v.close();
    const catalogHex = await withCatalog(meta, (c) => c.getMeta<string>(FLOOR_META));
    for (const d of disks) expect(readFileSync(floorFile(d.path)).toString('hex')).toBe(catalogHex);
  });

  it('a disk added to the pool gets its copy at once', async () => {
    const { vault, base } = await make();
    const path = join(base, 'd4');
    mkdirSync(path);
    await vault.addDisk({ path, labels: { host: 'h4' } });
    await vault.close();
    const catalogHex = await withCatalog(join(base, 'meta'), (c) => c.getMeta<string>(FLOOR_META));
    expect(readFileSync(floorFile(path)).toString('hex')).toBe(catalogHex);
  });

  it('a rebuilt catalog takes the floor from the disks (floor.restore), not a fresh lower one', async () => {
    const { vault, base } = await make();
    const meta = join(base, 'meta');
    await vault.reconfigure({ writeQuorum: 3, breakGlass: { reason: 'before the rebuild' } });
    const serial = vault.floor()!.serial;
    await vault.close();
    await Vault.rebuildCatalog(meta);
    const v = await Vault.open(meta, { writeQuorum: 3 });
    expect(v.floor()).toMatchObject({ serial, overridden: true, reason: 'before the rebuild' });
    expect(await actions(v)).toContain('floor.restore');
    await v.close();
  });
});

describe('configuration drift', () => {
  it('records the digest only when it changed, and config history says what changed', async () => {
    const { vault, base } = await make();
    const meta = join(base, 'meta');
    await vault.close();
    const count = async () => {
      const v = await Vault.open(meta, { readOnly: true });
      const n = (await v.auditLog()).filter((r) => r.action === 'config.open').length;
      await v.close();
      return n;
    };
    const before = await count();
    await (await Vault.open(meta)).close();
    expect(await count()).toBe(before); // the same configuration: no new record
    const v = await Vault.open(meta, { uploadTtlMs: 60_000, configSource: { name: 'daemon', settings: { address: '127.0.0.1:9000' } } });
    const h = await v.configHistory();
    expect(h.current?.source).toBe('daemon');
    expect(h.changes).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'sources.daemon.open.uploadTtlMs', after: 60_000, security: false }),
      expect.objectContaining({ path: 'sources.daemon.settings.address', after: '127.0.0.1:9000', security: true }),
    ]));
    expect(v.lastConfigDrift?.changes.map((c) => c.path)).toEqual(['sources.daemon.settings.address']);
    const drift = (await v.auditLog()).filter((r) => r.action === 'config.drift').pop();
    expect(drift?.detail).toContain('sources.daemon.settings.address (unset) -> "127.0.0.1:9000"');
    await v.close();
    // Another source's open leaves the daemon's section as it was: no change recorded.
    await (await Vault.open(meta)).close();
    expect(await count()).toBe(before + 1);
  });

  it('a security-relevant change emits configDrift for the daemon to log', async () => {
    const { vault } = await make();
    const seen: string[] = [];
    vault.events.on('configDrift', (d) => seen.push(...d.changes.map((c) => c.path)));
    await vault.reconfigure({ writeQuorum: 3, breakGlass: { reason: 'x' } });
    expect(seen).toEqual(expect.arrayContaining(['pool.writeQuorum', 'floor.overridden', 'floor.serial']));
    await vault.close();
  });
});
