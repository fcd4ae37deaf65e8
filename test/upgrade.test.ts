// Pool formats and the two-phase upgrade within this release (issue 13): what init writes, what open refuses
// (before writing anything), upgradeStatus, finalizeUpgrade (audited, idempotent, pool.json and the catalog in
// step, a crash between the two repaired at the next open), and the CLI's `upgrade status|finalize` and
// `init --format`. test/upgrade-mixed.test.ts runs a pool between this release and 0.1.0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { LmdbCatalog } from '../lib/catalog/lmdb.js';
import { POOL_CONFIG } from '../lib/engine/context.js';
import { FORMAT_VERSION } from '../lib/format/shard-header.js';
import { POOL_FORMAT, POOL_FORMAT_PREVIOUS, RELEASE, requireWriteFormat } from '../lib/format/versions.js';
import { native } from '../lib/native.js';
import { Vault } from '../lib/vault.js';

const root = mkdtempSync(join(tmpdir(), 'sv-upgrade-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

async function makePool(format?: number): Promise<{ vault: Vault; meta: string; base: string }> {
  const base = join(root, `p${n++}`);
  const disks = [0, 1, 2].map((i) => {
    mkdirSync(join(base, `d${i}`), { recursive: true });
    return { path: join(base, `d${i}`) };
  });
  const meta = join(base, 'meta');
  const vault = await Vault.init({ disks, metaDir: meta, k: 2, m: 1, blockBytes: 4096, ...(format !== undefined ? { format } : {}) });
  await vault.createBucket('bkt');
  return { vault, meta, base };
}

const poolJson = (meta: string) => JSON.parse(readFileSync(join(meta, 'pool.json'), 'utf8')) as { formatVersion: unknown; minRelease?: unknown; disks: Array<{ path: string }> };

async function catalogConfig(meta: string): Promise<{ formatVersion: number; minRelease?: string }> {
  const catalog = await LmdbCatalog.open(join(meta, 'catalog'), { readOnly: true });
  try {
    return (await catalog.getMeta<{ formatVersion: number; minRelease?: string }>(POOL_CONFIG))!;
  } finally {
    await catalog.close();
  }
}

/** Every file under the meta directory with its size and mtime: what "nothing was written" compares. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => { const p = join(e.parentPath, e.name); const st = statSync(p); return `${p} ${st.size} ${st.mtimeMs}`; }).sort();
}

describe('pool formats', () => {
  it('this release is the package version, and the pool format is not the disk format', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(RELEASE).toBe(pkg.version);
    expect([POOL_FORMAT_PREVIOUS, POOL_FORMAT]).toEqual([3, 4]);
    expect(FORMAT_VERSION).toBe(3); // shard headers, copy-log records, disk identities: bytes unchanged
  });

  it('a new pool writes format 4; disk identities keep their version 3', async () => {
    const { vault, meta, base } = await makePool();
    expect(vault.upgradeStatus()).toEqual({ formatVersion: 4, formatsRead: [3, 4], latestFormat: 4, minRelease: RELEASE, finalizePending: false, release: RELEASE, previousRelease: '0.1.0' });
    expect(poolJson(meta)).toMatchObject({ formatVersion: 4, minRelease: RELEASE });
    expect(JSON.parse(readFileSync(join(base, 'd0', 'disk.json'), 'utf8')).formatVersion).toBe(3);
    const audit = (await vault.auditLog()).length;
    expect(await vault.finalizeUpgrade()).toEqual({ changed: false, from: 4, formatVersion: 4, minRelease: RELEASE });
    expect((await vault.auditLog()).length).toBe(audit);
    await vault.close();
    expect(await catalogConfig(meta)).toMatchObject({ formatVersion: 4, minRelease: RELEASE });
  });

  it('format 3 stays 3 until finalize, which is audited, moves pool.json and the catalog together, and is idempotent', async () => {
    const { vault, meta } = await makePool(3);
    await vault.put('bkt', 'a', new Uint8Array(20_000).fill(7));
    expect(vault.upgradeStatus()).toMatchObject({ formatVersion: 3, minRelease: '0.1.0', finalizePending: true });
    expect(() => requireWriteFormat(3, POOL_FORMAT, 'keyring rotate')).toThrow(expect.objectContaining({ code: 'ERR_SV_UPGRADE_PENDING' }));
    await vault.close();
    // Reopened by this release, it still writes 3 (nothing the previous release could not open).
    let v = await Vault.open(meta);
    expect(v.upgradeStatus().formatVersion).toBe(3);
    await v.put('bkt', 'b', new Uint8Array(10).fill(1));
    await v.close();
    expect(poolJson(meta)).toMatchObject({ formatVersion: 3, minRelease: '0.1.0' });
    expect((await catalogConfig(meta)).formatVersion).toBe(3);

    v = await Vault.open(meta, { readOnly: true });
    await expect(v.finalizeUpgrade()).rejects.toMatchObject({ code: 'ERR_SV_READ_ONLY' });
    await v.close();

    v = await Vault.open(meta);
    expect(await v.finalizeUpgrade('ops')).toEqual({ changed: true, from: 3, formatVersion: 4, minRelease: RELEASE });
    expect(v.upgradeStatus()).toMatchObject({ formatVersion: 4, minRelease: RELEASE, finalizePending: false });
    expect(poolJson(meta)).toMatchObject({ formatVersion: 4, minRelease: RELEASE });
    expect(await v.finalizeUpgrade('ops')).toMatchObject({ changed: false });
    const finalized = (await v.auditLog()).filter((r) => r.action === 'upgrade.finalize');
    expect(finalized).toHaveLength(1);
    expect(finalized[0]).toMatchObject({ principal: 'ops', detail: expect.stringContaining('3 -> 4') });
    expect(await v.verifyAudit()).toBe(-1);
    expect(Buffer.from(await v.getBuffer('bkt', 'a')).equals(Buffer.alloc(20_000, 7))).toBe(true);
    await v.close();
    expect((await catalogConfig(meta)).formatVersion).toBe(4);
    v = await Vault.open(meta);
    expect(v.upgradeStatus().formatVersion).toBe(4);
    await v.close();
  });

  it('a finalize that reached the catalog but not pool.json is completed in pool.json at the next open', async () => {
    const { vault, meta } = await makePool(3);
    await vault.close();
    const catalog = await LmdbCatalog.open(join(meta, 'catalog'));
    const config = (await catalog.getMeta<Record<string, unknown>>(POOL_CONFIG))!;
    await catalog.setMeta(POOL_CONFIG, { ...config, formatVersion: 4, minRelease: RELEASE }, { action: 'upgrade.finalize', principal: 'local', timeMs: Date.now() });
    await catalog.close();
    expect(poolJson(meta).formatVersion).toBe(3); // what the crash left: the previous release would still open it
    const v = await Vault.open(meta);
    expect(v.upgradeStatus().formatVersion).toBe(4);
    expect(poolJson(meta)).toMatchObject({ formatVersion: 4, minRelease: RELEASE });
    await v.close();
  });

  it('init refuses formats it does not write', async () => {
    for (const format of [2, 5, '4']) {
      await expect(Vault.init({ disks: [{ path: join(root, 'x0') }, { path: join(root, 'x1') }], metaDir: join(root, 'xmeta'), k: 1, m: 1, format: format as number }))
        .rejects.toMatchObject({ code: typeof format === 'number' ? 'ERR_SV_OUT_OF_RANGE' : 'ERR_SV_INVALID_ARG_TYPE' });
    }
    expect(existsSync(join(root, 'xmeta'))).toBe(false);
  });

  it('open refuses a format this release does not read, naming it and the formats read, before writing anything', async () => {
    const { vault, meta } = await makePool();
    await vault.close();
    const original = readFileSync(join(meta, 'pool.json'), 'utf8');
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ formatVersion: 5 }, /format version 5; release 0\.2\.0 reads pool formats 3 and 4/],
      [{ formatVersion: 2 }, /format version 2; .*reads pool formats 3 and 4/],
      [{ formatVersion: 'four' }, /format version "four"; .*3 and 4/],
      [{ formatVersion: undefined }, /format version missing; .*3 and 4/],
      [{ minRelease: '9.0.0' }, /needs release 9\.0\.0 or newer; this is release 0\.2\.0/],
      [{ minRelease: 'soon' }, /minRelease "soon"/],
    ];
    for (const [patch, message] of cases) {
      writeFileSync(join(meta, 'pool.json'), JSON.stringify({ ...JSON.parse(original), ...patch }));
      const before = snapshot(meta);
      for (const readOnly of [false, true]) {
        await expect(Vault.open(meta, { readOnly })).rejects.toMatchObject({ code: 'ERR_SV_FORMAT_VERSION', message: expect.stringMatching(message) });
      }
      await expect(Vault.rebuildCatalog(meta)).rejects.toMatchObject({ code: 'ERR_SV_FORMAT_VERSION' });
      expect(snapshot(meta)).toEqual(before);
      expect(existsSync(join(meta, 'lock'))).toBe(false);
    }
    writeFileSync(join(meta, 'pool.json'), '{"formatVersion": 4,');
    await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT', message: expect.stringMatching(/pool\.json .* is not JSON/) });
    writeFileSync(join(meta, 'pool.json'), '[4]');
    await expect(Vault.open(meta)).rejects.toMatchObject({ code: 'ERR_SV_CORRUPT' });
    // The catalog's copy is checked too (it is the authoritative one).
    writeFileSync(join(meta, 'pool.json'), original);
    const catalog = await LmdbCatalog.open(join(meta, 'catalog'));
    await catalog.setMeta(POOL_CONFIG, { ...(await catalog.getMeta<Record<string, unknown>>(POOL_CONFIG)), formatVersion: 5 });
    await catalog.close();
    for (const readOnly of [false, true]) {
      await expect(Vault.open(meta, { readOnly })).rejects.toMatchObject({ code: 'ERR_SV_FORMAT_VERSION', message: expect.stringMatching(/the catalog in .* has format version 5/) });
    }
  });
});

const cli = join(__dirname, '..', 'dist', 'lib', 'cli.js');
const cliReady = existsSync(cli) && native() !== null;

describe.skipIf(!cliReady)(`shardvault upgrade${cliReady ? '' : ' (skipped: dist/ or the addon missing)'}`, () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: root });

  it('init --format 3, upgrade status, upgrade finalize (twice), and a pool of an unknown format', () => {
    const meta = join(root, 'cli-meta');
    const disks = [0, 1, 2].flatMap((i) => {
      mkdirSync(join(root, `cli-d${i}`), { recursive: true });
      return ['--disk', join(root, `cli-d${i}`)];
    });
    let r = run('init', ...disks, '--meta', meta, '-k', '2', '-m', '1', '--block', '4096', '--format', '3', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ formatVersion: 3 });
    r = run('upgrade', 'status', '--meta', meta, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ formatVersion: 3, formatsRead: [3, 4], latestFormat: 4, minRelease: '0.1.0', finalizePending: true, release: RELEASE, previousRelease: '0.1.0' });
    r = run('upgrade', 'status', '--meta', meta);
    expect(r.stdout).toMatch(/writes format 3; .*upgrade pending: the pool stays open to release 0\.1\.0 .*shardvault upgrade finalize --meta/s);
    r = run('upgrade', 'finalize', '--meta', meta);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/upgrade finalized: .* now writes format 4 \(was 3\)/);
    r = run('upgrade', 'finalize', '--meta', meta, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ changed: false, formatVersion: 4, finalizePending: false });
    r = run('audit', '--meta', meta);
    expect(r.stdout.match(/upgrade\.finalize/g)).toHaveLength(1);

    r = run('init', ...disks.map((d) => d.replace('cli-d', 'cli-e')), '--meta', join(root, 'cli-bad'), '--format', '5');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ERR_SV_OUT_OF_RANGE|format/);

    const p = poolJson(meta);
    writeFileSync(join(meta, 'pool.json'), JSON.stringify({ ...p, formatVersion: 5 }));
    r = run('upgrade', 'status', '--meta', meta);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/ERR_SV_FORMAT_VERSION.*format version 5; release 0\.2\.0 reads pool formats 3 and 4/);
    expect(r.stderr).toMatch(/docs\/runbooks\/upgrade-and-downgrade\.md/);
  });
});
