#!/usr/bin/env node
// Overload tier (issue 14): the daemon (`shardvault serve`, a child process on 127.0.0.1:0) configured with
// small admission limits and driven at 4x them. Checks, each counted:
//   - it refuses the excess with 503 SlowDown and a Retry-After header (an S3 XML error with that Code);
//   - the p99 latency of the requests it admits stays within 2x of the unloaded value, measured in the same
//     run: the same request mix at exactly the admission limit (no request refused), before and after the
//     overload window (the larger of the two: this machine is shared, and the bracket catches drift);
//   - no 5xx other than 503 SlowDown, and the daemon's RSS stays under a configured bound (sampled from
//     /proc/PID/status every 200 ms) and it is still serving (/healthz) afterwards.
// Usage: node scripts/overload.mjs [--short] [--seconds N] [--limit C] [--rss-mib N] [--retry-pause-ms N]
// Ends with "N passed, N failed"; exit status 0 only when nothing failed. Needs dist/ (npx tsc -p .).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const { signRequest } = await import(join(root, 'dist/lib/auth/index.js'));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i === -1 ? def : Number(args[i + 1]);
};
const SHORT = args.includes('--short');
const SECONDS = opt('--seconds', SHORT ? 8 : 60);
const BASE_SECONDS = SHORT ? 5 : 20;
const LIMIT = opt('--limit', 8);
const RSS_BOUND_MIB = opt('--rss-mib', 400);
// A refused client tries again after this pause (jittered ±50%), not after Retry-After: the offered load stays
// at 4x the limit without the load generator itself spinning on the same two cores as the daemon.
const RETRY_PAUSE_MS = opt('--retry-pause-ms', 25);
const OBJECT_BYTES = 64 * 1024;
const KEYS = 16;
const CREDS = { accessKeyId: 'SVOVERLOADROOTKEY001', secretAccessKey: 'overload-root-secret-0123456789abcdefghij' };

const results = [];
function check(name, ok, detail) {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

const dir = mkdtempSync(join(tmpdir(), 'sv-overload-'));
const config = join(dir, 'config.json');
writeFileSync(config, JSON.stringify({
  limits: {
    concurrentRequestsMax: LIMIT,
    principalShare: 1,
    bytesInFlightMax: LIMIT * OBJECT_BYTES * 2,
    bodyChargeBytesMax: OBJECT_BYTES,
    retryAfterSeconds: 1,
  },
}));
const child = spawn(process.execPath, [join(root, 'dist/lib/cli.js'), 'serve', '--data', join(dir, 'data'), '--address', '127.0.0.1:0', '--config', config, '--log-level', 'error'],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SHARDVAULT_ROOT_ACCESS_KEY: CREDS.accessKeyId, SHARDVAULT_ROOT_SECRET_KEY: CREDS.secretAccessKey } });
let out = '';
child.stdout.on('data', (c) => (out += c));
child.stderr.on('data', (c) => (out += c));
let exited = null;
child.on('exit', (code, signal) => (exited = { code, signal }));
const cleanup = () => {
  if (exited === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

const url = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`the daemon did not start:\n${out}`)), 30_000);
  child.stdout.on('data', () => {
    const m = /^listening (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
    if (m) {
      clearTimeout(t);
      resolve(m[1]);
    }
  });
  child.on('exit', () => reject(new Error(`the daemon exited before listening:\n${out}`)));
});
const { hostname, port } = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

function send(method, path, body) {
  const u = new URL(path, url);
  const headers = signRequest({ method, url: u, headers: body ? { 'content-length': String(body.length) } : {}, ...(body ? { body } : {}), ...CREDS, region: 'us-east-1' });
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: hostname, port, method, path: u.pathname + u.search, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', (e) => resolve({ status: 0, error: e.code ?? e.message, ms: performance.now() - started }));
    });
    req.on('error', (e) => resolve({ status: 0, error: e.code ?? e.message, ms: performance.now() - started }));
    req.end(body);
  });
}

const payload = Buffer.alloc(OBJECT_BYTES, 0x5a);
let seq = 0;
/** One request of the mix: 3 GETs of existing objects to 1 PUT (a 64 KiB object). */
function one() {
  const n = seq++;
  return (n % 4 === 3 ? send('PUT', `/ovl/put-${n % KEYS}`, payload) : send('GET', `/ovl/obj-${n % KEYS}`)).then((r) => ({ ...r, op: n % 4 === 3 ? 'PUT' : 'GET' }));
}

let rssMax = 0;
const sampler = setInterval(() => {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (m) rssMax = Math.max(rssMax, Number(m[1]) * 1024);
  } catch { /* gone: the exit check reports it */ }
}, 200);

/** `workers` closed-loop clients for `seconds`: each sends its next request as soon as the last one answered. */
function cpuMs() {
  try {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, in clock ticks of 10 ms
  } catch {
    return NaN;
  }
}

async function phase(workers, seconds) {
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const stats = { admitted: [], byOp: { GET: [], PUT: [] }, slowDown: 0, slowDownBad: 0, other: new Map(), errors: 0 };
  const until = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (performance.now() < until) {
      const r = await one();
      if (r.status === 200) {
        stats.admitted.push(r.ms);
        stats.byOp[r.op].push(r.ms);
      }
      else if (r.status === 503) {
        stats.slowDown++;
        const text = r.body.toString('utf8');
        if (!/<Code>SlowDown<\/Code>/.test(text) || !/^\d+$/.test(String(r.headers['retry-after'] ?? ''))) stats.slowDownBad++;
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS * (0.5 + Math.random())));
      } else if (r.status === 0) stats.errors++;
      else stats.other.set(r.status, (stats.other.get(r.status) ?? 0) + 1);
    }
  }));
  stats.cpuShare = (cpuMs() - cpu0) / (performance.now() - t0);
  return stats;
}

function p(values, q) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const fmt = (s) => `${s.admitted.length} admitted (p50 ${p(s.admitted, 0.5).toFixed(1)} ms, p99 ${p(s.admitted, 0.99).toFixed(1)} ms; GET p50 ${p(s.byOp.GET, 0.5).toFixed(1)}, PUT p50 ${p(s.byOp.PUT, 0.5).toFixed(1)}), ${s.slowDown} SlowDown, other ${JSON.stringify(Object.fromEntries(s.other))}, socket errors ${s.errors}, daemon CPU ${(s.cpuShare * 100).toFixed(0)}% of a core`;

try {
  const mk = await send('PUT', '/ovl');
  if (mk.status !== 200) throw new Error(`CreateBucket answered ${mk.status}: ${mk.body}`);
  for (let i = 0; i < KEYS; i++) {
    const r = await send('PUT', `/ovl/obj-${i}`, payload);
    if (r.status !== 200) throw new Error(`seeding PUT answered ${r.status}: ${r.body}`);
  }
  await phase(LIMIT, 1); // warm up (JIT, page cache, keep-alive sockets)
  const single = await phase(1, SHORT ? 3 : 10);
  console.log(`one client (idle): ${fmt(single)}`);
  const before = await phase(LIMIT, BASE_SECONDS);
  console.log(`at the limit (${LIMIT} clients), before: ${fmt(before)}`);
  const over = await phase(LIMIT * 4, SECONDS);
  console.log(`overload (${LIMIT * 4} clients, ${SECONDS} s): ${fmt(over)}`);
  const after = await phase(LIMIT, BASE_SECONDS);
  console.log(`at the limit (${LIMIT} clients), after: ${fmt(after)}`);
  clearInterval(sampler);

  const baseP99 = Math.max(p(before.admitted, 0.99), p(after.admitted, 0.99));
  const overP99 = p(over.admitted, 0.99);
  check('at the limit nothing is refused', before.slowDown + after.slowDown === 0, `${before.slowDown + after.slowDown} SlowDown`);
  check('at 4x the limit the excess is refused with 503', over.slowDown > 0, `${over.slowDown} SlowDown of ${over.slowDown + over.admitted.length}`);
  check('every 503 is an S3 SlowDown error with a Retry-After header', over.slowDownBad === 0, `${over.slowDownBad} without`);
  check('requests are still admitted under overload', over.admitted.length > 0, `${over.admitted.length}`);
  // A latency ratio means something only when the daemon gets the CPU it asks for. In --short mode (the test
  // suite) it is printed, never judged: performance is measured by benchmarks, not timed tests, and the 32
  // clients share the daemon's cores. The long mode judges it unless the machine is oversubscribed (load
  // average above 1.5x the cores: the ratio would measure the neighbours).
  const load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  const cores = availableParallelism();
  const ratio = `${overP99.toFixed(1)} ms vs ${baseP99.toFixed(1)} ms (x${(overP99 / baseP99).toFixed(2)})`;
  if (SHORT) {
    console.log(`report admitted p99 under overload vs at the limit: ${ratio}; load average ${load} on ${cores} cores (judged only in the long mode)`);
  } else if (load > 1.5 * cores) {
    console.log(`skip admitted p99 under overload within 2x of the unloaded p99: ${ratio}, not judged: load average ${load} on ${cores} cores`);
  } else {
    check('admitted p99 under overload within 2x of the unloaded p99', overP99 <= 2 * baseP99, `${ratio}; load average ${load} on ${cores} cores`);
  }
  const bad = [before, over, after].reduce((n, s) => n + [...s.other.values()].reduce((a, b) => a + b, 0) + s.errors, 0);
  check('no other status and no socket error', bad === 0, `${bad}`);
  check(`daemon RSS under ${RSS_BOUND_MIB} MiB`, rssMax > 0 && rssMax < RSS_BOUND_MIB * 2 ** 20, `max ${(rssMax / 2 ** 20).toFixed(0)} MiB`);
  const h = await send('GET', '/healthz');
  check('the daemon is up and healthy afterwards', exited === null && h.status === 200, exited ? JSON.stringify(exited) : `healthz ${h.status}`);
} catch (err) {
  check('the run completed', false, `${err.stack ?? err}\n${out.slice(-2000)}`);
} finally {
  clearInterval(sampler);
  agent.destroy();
}
const failed = results.filter((r) => !r.ok).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
