// The security floor through the daemon (in-process startServer): a write quorum below the floor from the
// config file or from SHARDVAULT_WRITE_QUORUM refuses the start with ERR_SV_FLOOR naming it; with break-glass
// the start goes ahead, audited, logged as a warning and shown by shardvault_security_floor_overridden until
// the floor is raised back.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { native } from '../lib/native.js';
import { startServer, type StartServerOptions } from '../lib/server/index.js';
import { metaDirOf } from '../lib/server/pool.js';
import { Vault } from '../lib/vault.js';
import { ROOT, logSink } from './support/s3-helpers.js';

const ready = native() !== null;
const cli = join(__dirname, '..', 'dist', 'lib', 'cli.js');
const cliReady = ready && existsSync(cli);
const work = mkdtempSync(join(tmpdir(), 'sv-floord-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const metric = async (url: string, name: string) => {
  const text = await (await fetch(url)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe.skipIf(!ready)('the daemon and the security floor', () => {
  const disks = [0, 1, 2, 3].map((i) => ({ path: join(work, `disk${i}`), labels: { host: `h${i}` } }));
  const file = join(work, 'config.json');
  const data = join(work, 'data');
  const start = (o: Partial<StartServerOptions> = {}, log = logSink()) => startServer({ dataDir: data, address: '127.0.0.1:0', metricsAddress: '127.0.0.1:0', configFile: file, logDestination: log.stream, env: {}, ...o });

  it('refuses a weaker write quorum from the config file and from the environment, accepts it with break-glass', async () => {
    writeFileSync(file, JSON.stringify({ logLevel: 'warn', pool: { k: 2, m: 2, failureDomain: 'host', disks, writeQuorum: 4 } }));
    const first = await start();
    expect(first.vault.floor()).toMatchObject({ writeQuorumAboveK: 2, overridden: false });
    expect(await metric(first.metricsUrl!, 'shardvault_security_floor_overridden')).toBe(0);
    await first.close();

    // The config file asks for k+1.
    writeFileSync(file, JSON.stringify({ logLevel: 'warn', pool: { k: 2, m: 2, writeQuorum: 3 } }));
    await expect(start()).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('writeQuorum k+1 is below the floor k+2') });
    // The environment asks for k+1 (the file says nothing about the quorum).
    writeFileSync(file, JSON.stringify({ logLevel: 'warn', pool: { k: 2, m: 2 } }));
    await expect(start({ env: { SHARDVAULT_WRITE_QUORUM: '3' } })).rejects.toMatchObject({ code: 'ERR_SV_FLOOR', message: expect.stringContaining('writeQuorum k+1 is below the floor k+2') });
    await expect(start({ env: { SHARDVAULT_WRITE_QUORUM: 'three' } })).rejects.toMatchObject({ code: 'ERR_SV_OUT_OF_RANGE', message: expect.stringContaining('SHARDVAULT_WRITE_QUORUM') });
    // Neither refused start changed the pool.
    const check = await Vault.open(metaDirOf(data), { readOnly: true });
    expect((await check.status()).pool.writeQuorum).toBe(4);
    expect((await check.auditLog()).map((r) => r.action)).not.toContain('floor.lower');
    await check.close();

    // Break-glass: the environment's quorum takes effect, audited, logged, and the metric says so.
    const log = logSink();
    const s = await start({ env: { SHARDVAULT_WRITE_QUORUM: '3' }, breakGlass: { reason: 'host h3 replaced this week' } }, log);
    try {
      expect((await s.vault.status()).pool.writeQuorum).toBe(3);
      expect(s.vault.floor()).toMatchObject({ overridden: true, reason: 'host h3 replaced this week' });
      const audit = await s.vault.auditLog();
      expect(audit.find((r) => r.action === 'floor.lower')?.detail).toContain('host h3 replaced this week');
      expect(audit.find((r) => r.action === 'config.drift')?.detail).toContain('pool.writeQuorum 4 -> 3');
      expect(await metric(s.metricsUrl!, 'shardvault_security_floor_overridden')).toBe(1);
      expect(await metric(s.metricsUrl!, 'shardvault_config_security_change_timestamp_seconds')).toBeGreaterThan(0);
      const warnings = log.text().split('\n').filter((l) => l.includes('"level":"warn"'));
      expect(warnings.some((l) => l.includes('security-relevant configuration changed') && l.includes('pool.writeQuorum'))).toBe(true);
      expect(warnings.some((l) => l.includes('the security floor is overridden'))).toBe(true);
    } finally {
      await s.close();
    }

    // Raising the floor back (after the quorum is back) clears the override; the metric follows.
    const v = await Vault.open(metaDirOf(data), { writeQuorum: 4 });
    await v.raiseFloor({ writeQuorumAboveK: 2 });
    await v.close();
    const back = await start();
    try {
      expect(back.vault.floor()?.overridden).toBe(false);
      expect(await metric(back.metricsUrl!, 'shardvault_security_floor_overridden')).toBe(0);
    } finally {
      await back.close();
    }

    // The config file's quorum with break-glass: accepted once, audited; the floor stays lowered after it.
    writeFileSync(file, JSON.stringify({ logLevel: 'warn', pool: { k: 2, m: 2, writeQuorum: 3 } }));
    await expect(start()).rejects.toMatchObject({ code: 'ERR_SV_FLOOR' });
    const glass = await start({ breakGlass: { reason: 'config file drill' } });
    try {
      expect((await glass.vault.status()).pool.writeQuorum).toBe(3);
      expect(glass.vault.floor()).toMatchObject({ overridden: true, reason: 'config file drill' });
      expect((await glass.vault.auditLog()).filter((r) => r.action === 'floor.lower').map((r) => r.detail)).toEqual([expect.stringContaining('host h3'), expect.stringContaining('config file drill')]);
    } finally {
      await glass.close();
    }
  });
});

/** The CLI against the daemon in this process (asynchronous: the daemon answers from this event loop). */
function sv(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cli, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHARDVAULT_ROOT_ACCESS_KEY: ROOT.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: ROOT.secretAccessKey } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
}

describe.skipIf(!cliReady)(`shardvault config --endpoint${cliReady ? '' : ' (skipped: dist/ not built or the addon missing)'}`, () => {
  it('refuses below the floor, breaks glass, diffs and raises the floor back through the admin API', async () => {
    const disks = [0, 1, 2, 3].map((i) => ({ path: join(work, `e${i}`), labels: { host: `h${i}` } }));
    const cfg = join(work, 'endpoint.json');
    writeFileSync(cfg, JSON.stringify({ logLevel: 'warn', pool: { k: 2, m: 2, failureDomain: 'host', disks } }));
    process.env.SHARDVAULT_ROOT_ACCESS_KEY = ROOT.accessKeyId;
    process.env.SHARDVAULT_ROOT_SECRET_KEY = ROOT.secretAccessKey;
    const s = await startServer({ dataDir: join(work, 'edata'), address: '127.0.0.1:0', metricsAddress: '127.0.0.1:0', configFile: cfg, logDestination: logSink().stream, env: {} });
    try {
      const at = ['--endpoint', s.url];
      let r = await sv('config', 'set', 'write-quorum', '3', ...at);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('ERR_SV_FLOOR');
      expect(r.stderr).toContain('writeQuorum k+1 is below the floor k+2');
      r = await sv('config', 'set', 'write-quorum', '3', ...at, '--break-glass', '--reason', 'remote drill', '--json');
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ before: 4, after: 3, floor: { overridden: true, reason: 'remote drill' } });
      r = await sv('status', ...at, '--json');
      expect(JSON.parse(r.stdout).floor).toMatchObject({ overridden: true, reason: 'remote drill' });
      expect(await metric(s.metricsUrl!, 'shardvault_security_floor_overridden')).toBe(1);
      r = await sv('config', 'diff', ...at);
      expect(r.stdout).toMatch(/! pool\.writeQuorum: 4 -> 3/);
      expect((await s.vault.auditLog()).find((x) => x.action === 'floor.lower')).toMatchObject({ principal: expect.stringMatching(/root/) });
      expect((await sv('config', 'set', 'write-quorum', '4', ...at)).status).toBe(0);
      r = await sv('config', 'floor', 'raise', '--write-quorum', 'k+2', ...at, '--json');
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).floor).toMatchObject({ overridden: false });
      expect(s.vault.floor()?.overridden).toBe(false);
    } finally {
      await s.close();
    }
  });
});
