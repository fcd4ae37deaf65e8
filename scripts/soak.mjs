#!/usr/bin/env node
// Soak tier (issue 14): `shardvault serve` as a child process under N concurrent S3 clients
// (@aws-sdk/client-s3) doing mixed PUT/GET/DELETE (and multipart when the daemon supports it: probed with
// CreateMultipartUpload), killed with kill -9 at a fixed interval and restarted on the same data dir and
// port; halfway, one disk is made to fail (root + xfsprogs: the pool's six disks are loop-mounted xfs
// images and `xfs_io -x -c shutdown` hits one; otherwise that part is skipped with the reason printed, and
// is a failure under SHARDVAULT_CI_REQUIRE_ALL=1); at the end the daemon is stopped, the failed disk is
// replaced (`shardvault disk replace` onto a spare image) and `repair` and `scrub` run, then the daemon is
// started once more and every key is checked against the ledger.
//
// The ledger: each client owns its keys and works on each key sequentially, so per key there is one
// confirmed state (the last acked PUT's sha256 and size, or "absent" after an acked DELETE) and the states of
// the operations since then that were not acked (killed mid-flight: they may or may not have happened). A
// read must return the confirmed state or one of those — anything else is a torn or lost object.
// RSS and open fds of the daemon are sampled from /proc/PID every second and must stay under bounds.
//
// Usage: node scripts/soak.mjs [--short] [--seconds N] [--clients N] [--kill-every S] [--max-mib N]
//                              [--rss-mib N] [--fds N]
// Long (default): 32 clients, 10 min, sizes 0 B..64 MiB, kill every 30 s. Short: 8 clients, 60 s, 0..4 MiB,
// kill every 15 s. Prints its counts and ends with "N passed, N failed"; exit status 0 only if none failed.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client, CreateBucketCommand, AbortMultipartUploadCommand, UploadPartCommand, CompleteMultipartUploadCommand } from '@aws-sdk/client-s3';

const root = new URL('..', import.meta.url).pathname;
const CLI = join(root, 'dist/lib/cli.js');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i === -1 ? def : Number(args[i + 1]);
};
const SHORT = args.includes('--short');
const SECONDS = opt('--seconds', SHORT ? 60 : 600);
const CLIENTS = opt('--clients', SHORT ? 8 : 32);
const KILL_EVERY_S = opt('--kill-every', SHORT ? 15 : 30);
const MAX_BYTES = opt('--max-mib', SHORT ? 4 : 64) * 2 ** 20;
const RSS_BOUND = opt('--rss-mib', SHORT ? 768 : 2048) * 2 ** 20;
const FDS_BOUND = opt('--fds', 1024);
const KEYS_PER_CLIENT = SHORT ? 12 : 24;
const DISKS = 6;
const BUCKET = 'soak';
const CREDS = { accessKeyId: 'SVSOAKROOTKEY0000001', secretAccessKey: 'soak-root-secret-0123456789abcdefghijklmn' };
const requireAll = process.env.SHARDVAULT_CI_REQUIRE_ALL === '1';

const results = [];
function check(name, ok, detail) {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail !== undefined ? `: ${detail}` : ''}`);
}
const log = (s) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${s}`);
const t0 = performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const run = (cmd, a, o = {}) => spawnSync(cmd, a, { encoding: 'utf8', ...o });

// ------------------------------------------------------------------ disks: loop-mounted xfs, or directories

const work = mkdtempSync(join(tmpdir(), 'sv-soak-'));
const dataDir = join(work, 'data');
const loops = []; // { name, image, dev, mnt }
let xfsReason;
{
  const missing = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const c of ['mkfs.xfs', 'xfs_io', 'losetup', 'mount', 'umount', 'findmnt']) if (run('sh', ['-c', `command -v ${c}`]).status !== 0) missing.push(c);
  if (!existsSync('/dev/loop-control')) missing.push('loop devices');
  if (missing.length > 0) xfsReason = `needs ${missing.join(', ')}`;
}

function mountLoop(name) {
  const image = join(work, `${name}.img`);
  const mnt = join(work, 'mnt', name);
  mkdirSync(mnt, { recursive: true });
  run('truncate', ['-s', `${SHORT ? 1 : 4}G`, image]);
  let r = run('mkfs.xfs', ['-q', '-f', image]);
  if (r.status !== 0) throw new Error(`mkfs.xfs ${image}: ${r.stderr}`);
  r = run('losetup', ['-f', '--show', image]);
  if (r.status !== 0) throw new Error(`losetup ${image}: ${r.stderr}`);
  const dev = r.stdout.trim();
  const entry = { name, image, dev, mnt, mounted: false };
  loops.push(entry);
  // An immutable empty mount point: if the mount goes away, writes fail (EPERM) instead of landing on /.
  run('chattr', ['+i', mnt]);
  r = run('mount', [dev, mnt]);
  if (r.status !== 0) throw new Error(`mount ${dev} ${mnt}: ${r.stderr}`);
  entry.mounted = true;
  chmodSync(mnt, 0o755);
  return entry;
}

function cleanupDisks() {
  for (const l of loops.reverse()) {
    if (run('findmnt', ['-n', '-M', l.mnt]).stdout.trim() !== '') {
      if (run('umount', [l.mnt]).status !== 0) run('umount', ['-l', l.mnt]);
    }
    if (l.dev) run('losetup', ['-d', l.dev]);
    run('chattr', ['-i', l.mnt]);
  }
  loops.length = 0;
}

// ------------------------------------------------------------------ the daemon child

let child;
let exited = null;
let out = '';
let port = 0;
const configFile = join(work, 'config.json');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function startDaemon() {
  exited = null;
  out = '';
  const c = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--address', `127.0.0.1:${port}`, '--config', configFile, '--log-level', 'error'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHARDVAULT_ROOT_ACCESS_KEY: CREDS.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: CREDS.secretAccessKey } });
  child = c;
  c.stdout.on('data', (b) => (out += b));
  c.stderr.on('data', (b) => (out += b));
  c.on('exit', (code, signal) => {
    if (child === c) exited = { code, signal };
  });
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`the daemon did not start within 60 s:\n${out}`)), 60_000);
    const look = () => {
      if (/^listening http:/m.test(out)) {
        clearTimeout(t);
        resolve();
      }
    };
    c.stdout.on('data', look);
    c.on('exit', (code, signal) => {
      clearTimeout(t);
      reject(new Error(`the daemon exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
}

async function kill9() {
  const c = child;
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise((r) => c.once('exit', r));
  process.kill(c.pid, 'SIGKILL');
  await done;
}

async function stopDaemon() {
  const c = child;
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 30_000);
  await done;
  clearTimeout(t);
}

function cli(a) {
  const r = run(process.execPath, [CLI, ...a, '--meta', join(dataDir, 'meta'), '--json'], { timeout: 300_000 });
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch { /* reported below */ }
  return { status: r.status, json, text: `${r.stdout}${r.stderr}` };
}

let sampler;
const samples = { rssMax: 0, fdsMax: 0, rssFirst: 0, n: 0 };
function sample() {
  try {
    const st = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rss = Number(/^VmRSS:\s+(\d+)/m.exec(st)?.[1] ?? 0) * 1024;
    const fds = readdirSync(`/proc/${child.pid}/fd`).length;
    if (samples.n++ === 0) samples.rssFirst = rss;
    samples.rssMax = Math.max(samples.rssMax, rss);
    samples.fdsMax = Math.max(samples.fdsMax, fds);
  } catch { /* between a kill and a restart */ }
}

// ------------------------------------------------------------------ content and ledger

/** Deterministic bytes of one object version (xorshift32 words; fast for 64 MiB). */
function content(seed, size) {
  const b = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  const words = size >>> 2;
  const w = new Uint32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    w[i] = x;
  }
  for (let i = words * 4; i < size; i++) b[i] = (seed + i) & 0xff;
  return b;
}
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Sizes: mostly small, some medium, a few near the maximum (log-uniform over 0..MAX). */
function pickSize() {
  const r = Math.random();
  if (r < 0.05) return 0;
  if (r < 0.6) return Math.floor(Math.random() * 64 * 1024);
  if (r < 0.9) return Math.floor(Math.random() * 1024 * 1024);
  return Math.floor(Math.random() * MAX_BYTES);
}

const ABSENT = 'absent';
const ledger = new Map(); // key -> { confirmed: ABSENT | {hash,size}, uncertain: [...] }
const counts = { put: 0, get: 0, del: 0, mpu: 0, putFail: 0, getFail: 0, delFail: 0, mpuFail: 0, readMismatch: 0, serverErrors: new Map(), bytesPut: 0 };
const mismatches = [];

function stateMatches(state, got) {
  if (state === ABSENT) return got === ABSENT;
  return got !== ABSENT && state.hash === got.hash && state.size === got.size;
}
function acceptable(key, got) {
  const e = ledger.get(key) ?? { confirmed: ABSENT, uncertain: [] };
  return stateMatches(e.confirmed, got) || e.uncertain.some((s) => stateMatches(s, got));
}
function ack(key, state) {
  ledger.set(key, { confirmed: state, uncertain: [] });
}
function unsure(key, state) {
  const e = ledger.get(key) ?? { confirmed: ABSENT, uncertain: [] };
  e.uncertain.push(state);
  ledger.set(key, e);
}

function isTransport(err) {
  const code = err?.code ?? err?.cause?.code ?? err?.$metadata?.httpStatusCode;
  return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'socket hang up'].includes(code)
    || err?.name === 'TimeoutError' || /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|aborted/i.test(String(err?.message ?? ''))
    || err?.$metadata?.httpStatusCode === undefined;
}
const firstMessage = new Map(); // code -> [seconds into the run, message] of its first occurrence
function noteServerError(err, op) {
  const status = err?.$metadata?.httpStatusCode;
  const k = `${status ?? 'net'} ${err?.Code ?? err?.name ?? ''}`.trim();
  counts.serverErrors.set(k, (counts.serverErrors.get(k) ?? 0) + 1);
  if (!firstMessage.has(`${op} ${k}`)) firstMessage.set(`${op} ${k}`, `${((performance.now() - t0) / 1000).toFixed(1)} s: ${String(err?.message ?? '').slice(0, 300)}`);
}

async function readKey(client, key) {
  try {
    const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const body = Buffer.from(await r.Body.transformToByteArray());
    return { hash: sha(body), size: body.length };
  } catch (err) {
    if (err?.name === 'NoSuchKey' || err?.$metadata?.httpStatusCode === 404) return ABSENT;
    throw err;
  }
}

// ------------------------------------------------------------------ the clients

let stopping = false;
let multipart = false;
let seedCounter = 1;

async function clientLoop(i) {
  const client = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: CREDS, maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  try {
    while (!stopping) {
      const key = `c${i}/k${Math.floor(Math.random() * KEYS_PER_CLIENT)}`;
      const r = Math.random();
      const op = r < 0.45 ? 'PUT' : r < 0.8 ? 'GET' : r < 0.95 || !multipart ? 'DELETE' : 'MULTIPART';
      try {
        if (r < 0.45) {
          const size = pickSize();
          const seed = seedCounter++;
          const body = content(seed, size);
          const state = { hash: sha(body), size };
          try {
            await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentLength: size }));
            ack(key, state);
            counts.put++;
            counts.bytesPut += size;
          } catch (err) {
            unsure(key, state);
            counts.putFail++;
            throw err;
          }
        } else if (r < 0.8) {
          const got = await readKey(client, key);
          counts.get++;
          if (!acceptable(key, got)) {
            counts.readMismatch++;
            mismatches.push(`during the run: ${key} read ${JSON.stringify(got)}, ledger ${JSON.stringify(ledger.get(key))}`);
          }
        } else if (r < 0.95 || !multipart) {
          try {
            await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
            ack(key, ABSENT);
            counts.del++;
          } catch (err) {
            unsure(key, ABSENT);
            counts.delFail++;
            throw err;
          }
        } else {
          // multipart: two parts of 5 MiB + a tail (only when the daemon supports it)
          const seed = seedCounter++;
          const body = content(seed, 5 * 2 ** 20 + Math.floor(Math.random() * 2 ** 20));
          const state = { hash: sha(body), size: body.length };
          try {
            const up = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
            const p1 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: 1, Body: body.subarray(0, 5 * 2 ** 20) }));
            const p2 = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, PartNumber: 2, Body: body.subarray(5 * 2 ** 20) }));
            unsure(key, state);
            await client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: up.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }] } }));
            ack(key, state);
            counts.mpu++;
          } catch (err) {
            counts.mpuFail++;
            throw err;
          }
        }
      } catch (err) {
        if (!isTransport(err)) noteServerError(err, op);
        await sleep(isTransport(err) ? 200 : 20);
      }
    }
  } finally {
    client.destroy();
  }
}

// ------------------------------------------------------------------ the run

let failedDisk; // { id, loop }
async function main() {
  port = await freePort();
  const pool = { k: 4, m: 2, writeQuorum: 5 };
  if (xfsReason === undefined) {
    for (let i = 0; i < DISKS; i++) mountLoop(`d${i}`);
    pool.disks = loops.map((l) => ({ path: join(l.mnt, 'disk'), labels: { disk: l.name } }));
    for (const d of pool.disks) mkdirSync(d.path, { recursive: true });
    log(`disks: ${DISKS} loop-mounted xfs images (${loops.map((l) => l.dev).join(' ')})`);
  } else {
    const msg = `the disk-failure part is skipped: ${xfsReason} (loop-mounted xfs and xfs_io shutdown)`;
    if (requireAll) check('disk failure tier available (SHARDVAULT_CI_REQUIRE_ALL=1)', false, msg);
    else console.log(`skip ${msg}`);
  }
  writeFileSync(configFile, JSON.stringify({ pool, limits: { concurrentRequestsMax: 1024, shutdownDeadlineMs: 5000 } }));
  await startDaemon();
  log(`daemon pid ${child.pid} on 127.0.0.1:${port}; ${CLIENTS} clients, ${SECONDS} s, sizes 0..${MAX_BYTES / 2 ** 20} MiB, kill -9 every ${KILL_EVERY_S} s`);
  sampler = setInterval(sample, 1000);
  const admin = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: CREDS, maxAttempts: 1 });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  try {
    const up = await admin.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'probe' }));
    await admin.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'probe', UploadId: up.UploadId }));
    multipart = true;
    log('multipart: supported, in the mix');
  } catch (err) {
    log(`multipart: not in the mix (CreateMultipartUpload: ${err?.$metadata?.httpStatusCode ?? ''} ${err?.Code ?? err?.name})`);
  }
  admin.destroy();

  const clients = Array.from({ length: CLIENTS }, (_, i) => clientLoop(i));
  let kills = 0;
  let restartMsMax = 0;
  let restartFailures = 0;
  const end = performance.now() + SECONDS * 1000;
  let nextKill = performance.now() + KILL_EVERY_S * 1000;
  const failAt = performance.now() + (SECONDS * 1000) / 2;
  while (performance.now() < end) {
    await sleep(250);
    if (exited !== null) {
      check('the daemon does not exit on its own', false, `${JSON.stringify(exited)}\n${out.slice(-3000)}`);
      const s = performance.now();
      try {
        await startDaemon();
      } catch (err) {
        restartFailures++;
        console.log(String(err));
        break;
      }
      restartMsMax = Math.max(restartMsMax, performance.now() - s);
    }
    if (failedDisk === undefined && xfsReason === undefined && performance.now() >= failAt) {
      const l = loops[2];
      const st = cli(['status']);
      const d = st.json?.disks?.find((x) => x.path?.startsWith(l.mnt));
      const r = run('xfs_io', ['-x', '-c', 'shutdown', l.mnt]);
      failedDisk = { id: d?.id, loop: l };
      log(`disk failure: xfs_io -x -c shutdown ${l.mnt} (disk ${d?.id ?? '?'}) -> ${r.status === 0 ? 'done' : r.stderr.trim()}`);
      if (d?.id === undefined) check('the failed disk is named by status --json', false, st.text.slice(0, 500));
    }
    if (performance.now() >= nextKill) {
      await kill9();
      kills++;
      const s = performance.now();
      try {
        await startDaemon();
      } catch (err) {
        restartFailures++;
        log(`restart after kill -9 failed: ${err}`);
        break;
      }
      const ms = performance.now() - s;
      restartMsMax = Math.max(restartMsMax, ms);
      log(`kill -9 #${kills}, restarted as pid ${child.pid} in ${ms.toFixed(0)} ms`);
      nextKill = performance.now() + KILL_EVERY_S * 1000;
    }
  }
  stopping = true;
  await Promise.all(clients);
  clearInterval(sampler);
  log(`workload done: ${counts.put} puts (${(counts.bytesPut / 2 ** 20).toFixed(0)} MiB), ${counts.get} gets, ${counts.del} deletes, ${counts.mpu} multipart acked; not acked: ${counts.putFail} puts, ${counts.getFail} gets, ${counts.delFail} deletes, ${counts.mpuFail} multipart; server errors ${JSON.stringify(Object.fromEntries(counts.serverErrors))}`);
  for (const [k, m] of firstMessage) console.log(`  first ${k} at ${m}`);
  check('kill -9 and restart on the same data dir', kills >= Math.max(1, Math.floor(SECONDS / KILL_EVERY_S) - 1) && restartFailures === 0, `${kills} kills, ${restartFailures} failed restarts, slowest restart ${restartMsMax.toFixed(0)} ms`);
  check('the clients got work done', counts.put > 0 && counts.get > 0 && counts.del > 0, `${counts.put} puts, ${counts.get} gets, ${counts.del} deletes`);
  const fiveHundreds = [...counts.serverErrors].filter(([k]) => /^5\d\d/.test(k) && !/^503/.test(k));
  check('no 5xx other than 503 while the daemon was up', fiveHundreds.length === 0, fiveHundreds.map(([k, v]) => `${k}:${v}`).join(' ') || 'none');
  check('every read during the run matched the ledger (no torn or lost object)', counts.readMismatch === 0, mismatches.slice(0, 5).join('\n') || `${counts.get} reads`);
  check(`daemon RSS stayed under ${RSS_BOUND / 2 ** 20} MiB`, samples.rssMax < RSS_BOUND, `max ${(samples.rssMax / 2 ** 20).toFixed(0)} MiB over ${samples.n} samples`);
  check(`daemon open fds stayed under ${FDS_BOUND}`, samples.fdsMax < FDS_BOUND, `max ${samples.fdsMax}`);

  // Replace the failed disk (daemon stopped: the CLI takes the pool lock), repair, scrub.
  await stopDaemon();
  if (failedDisk !== undefined && failedDisk.id !== undefined) {
    const l = failedDisk.loop;
    if (run('umount', [l.mnt]).status !== 0) run('umount', ['-l', l.mnt]);
    const spare = mountLoop('spare');
    mkdirSync(join(spare.mnt, 'disk'));
    const rep = cli(['disk', 'replace', failedDisk.id, `${join(spare.mnt, 'disk')}:disk=spare`]);
    check('disk replace onto the spare', rep.status === 0, rep.status === 0 ? `${failedDisk.id} -> ${rep.json?.newDisk}, ${rep.json?.queued} shard(s) queued` : rep.text.slice(0, 800));
    const rp = cli(['repair']);
    check('repair after the replacement', rp.status === 0 && rp.json?.failed === 0, rp.status === 0 ? `${rp.json?.repaired} rebuilt, ${rp.json?.failed} failed, ${rp.json?.repairQueued} still queued` : rp.text.slice(0, 800));
  } else {
    const rp = cli(['repair']);
    check('repair (no disk failed)', rp.status === 0, rp.status === 0 ? `${rp.json?.repaired} rebuilt, ${rp.json?.failed} failed` : rp.text.slice(0, 800));
  }
  const sc = cli(['scrub']);
  check('scrub is clean after repair', sc.status === 0 && sc.json?.bad === 0 && (sc.json?.disksSkipped ?? []).length === 0,
    sc.status === 0 ? `${sc.json?.objects} objects, ${sc.json?.bad} bad, ${(sc.json?.disksSkipped ?? []).length} disks skipped` : sc.text.slice(0, 800));

  // Every acked object reads back exact; every key is in a state the ledger allows.
  await startDaemon();
  const reader = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', forcePathStyle: true, credentials: CREDS, maxAttempts: 3,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  let exact = 0;
  let absentOk = 0;
  let uncertainSeen = 0;
  const bad = [];
  for (const [key, e] of ledger) {
    let got;
    try {
      got = await readKey(reader, key);
    } catch (err) {
      bad.push(`${key}: read failed: ${err?.$metadata?.httpStatusCode ?? ''} ${err?.Code ?? err?.name}: ${err?.message}`);
      continue;
    }
    if (stateMatches(e.confirmed, got)) {
      if (got === ABSENT) absentOk++;
      else exact++;
    } else if (e.uncertain.some((s) => stateMatches(s, got))) uncertainSeen++;
    else bad.push(`${key}: got ${JSON.stringify(got)}, confirmed ${JSON.stringify(e.confirmed)}, un-acked ${JSON.stringify(e.uncertain)}`);
  }
  reader.destroy();
  check('after repair every acked object reads back exact, no key torn', bad.length === 0,
    bad.length === 0 ? `${ledger.size} keys: ${exact} exact, ${absentOk} absent as acked, ${uncertainSeen} in an un-acked (killed) state` : `${bad.length} bad:\n${bad.slice(0, 8).join('\n')}`);
  await stopDaemon();
}

let exitCode = 1;
const onSignal = () => {
  try {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  } finally {
    cleanupDisks();
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
try {
  await main();
} catch (err) {
  check('the run completed', false, `${err?.stack ?? err}\n${out.slice(-3000)}`);
} finally {
  clearInterval(sampler);
  stopping = true;
  if (child && child.exitCode === null && child.signalCode === null) {
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await done;
  }
  cleanupDisks();
  rmSync(work, { recursive: true, force: true });
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  exitCode = failed === 0 ? 0 : 1;
}
process.exit(exitCode);
