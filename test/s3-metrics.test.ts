// lib/server/metrics.ts: the Prometheus exposition the daemon serves, exercised through a plain node:http
// server (the way the daemon uses it: requestStarted/requestDone around each request, text() on /metrics)
// and against a real pool (disk health, repair backlog, scrub progress, audit chain length at scrape time).
// `promtool check metrics` (Debian `prometheus`) lints the output; without promtool that test skips, saying
// why, except under SHARDVAULT_CI_REQUIRE_ALL=1, where it fails (a tier: test/support/tier.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ServerMetrics } from '../lib/server/metrics.js';
import { testPools } from './support/pools.js';
import { tier } from './support/tier.js';

const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

/** Samples of a text exposition: `name{labels}` -> value (labels as written, in order). */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    out.set(m![1], Number(m![2]));
  }
  return out;
}

let server: Server;
let base = '';
const metrics = new ServerMetrics({ poolSnapshotMs: 0 });
const { make } = testPools('sv-metrics-');

beforeAll(async () => {
  // A daemon's shape: every request counted; /metrics answers the exposition with its content type.
  server = createServer((req, res) => {
    const t0 = performance.now();
    metrics.requestStarted();
    let bytesIn = 0;
    req.on('data', (c: Buffer) => (bytesIn += c.length));
    req.on('end', async () => {
      let status = 200;
      let body: string;
      if (req.url === '/metrics') {
        body = await metrics.text();
        res.setHeader('content-type', metrics.contentType);
      } else if (req.url === '/deny') {
        metrics.authFailure('signature');
        status = 403;
        body = '<Error><Code>SignatureDoesNotMatch</Code></Error>';
      } else if (req.url === '/busy') {
        metrics.admissionRejected('concurrency');
        status = 503;
        body = '<Error><Code>SlowDown</Code></Error>';
      } else {
        body = 'x'.repeat(100);
      }
      res.statusCode = status;
      res.end(body, () => {
        const operation = req.url === '/metrics' ? 'Metrics' : req.method === 'PUT' ? 'PutObject' : 'GetObject';
        metrics.requestDone({ operation, status, bytesIn, bytesOut: Buffer.byteLength(body), seconds: (performance.now() - t0) / 1000 });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  metrics.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('ServerMetrics over HTTP', () => {
  it('counts requests by operation and status, bytes both ways, latency, auth failures and admission rejections', async () => {
    for (let i = 0; i < 3; i++) await (await fetch(`${base}/obj`, { method: 'PUT', body: 'a'.repeat(1000) })).text();
    await (await fetch(`${base}/obj`)).text();
    await (await fetch(`${base}/deny`)).text();
    await (await fetch(`${base}/busy`)).text();
    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = samples(await res.text());
    expect(s.get('shardvault_s3_requests_total{operation="PutObject",status="200"}')).toBe(3);
    expect(s.get('shardvault_s3_requests_total{operation="GetObject",status="200"}')).toBe(1);
    expect(s.get('shardvault_s3_requests_total{operation="GetObject",status="403"}')).toBe(1);
    expect(s.get('shardvault_s3_requests_total{operation="GetObject",status="503"}')).toBe(1);
    expect(s.get('shardvault_s3_received_bytes_total{operation="PutObject"}')).toBe(3000);
    expect(s.get('shardvault_s3_sent_bytes_total{operation="PutObject"}')).toBe(300);
    expect(s.get('shardvault_s3_request_duration_seconds_count{operation="PutObject"}')).toBe(3);
    expect(s.get('shardvault_s3_request_duration_seconds_bucket{le="60",operation="PutObject"}')).toBe(3);
    expect(s.get('shardvault_s3_request_duration_seconds_bucket{le="0.001",operation="PutObject"}')).toBeLessThanOrEqual(3);
    expect(s.get('shardvault_auth_failures_total{reason="signature"}')).toBe(1);
    expect(s.get('shardvault_admission_rejections_total{reason="concurrency"}')).toBe(1);
    // The scrape itself is in flight while it renders.
    expect(s.get('shardvault_s3_requests_in_flight')).toBe(1);
    expect(s.get('shardvault_pool_up')).toBe(0); // no vault attached
    expect(s.has('shardvault_process_cpu_user_seconds_total')).toBe(true);
    // Nothing but our prefix: the exposition is the daemon's own registry.
    for (const name of s.keys()) expect(name).toMatch(/^shardvault_/);
  });

  it('shows event-loop stalls in the lag gauges', async () => {
    const until = performance.now() + 60;
    while (performance.now() < until) {
      // a 60 ms stall of the event loop
    }
    await new Promise((r) => setTimeout(r, 20));
    const s = samples(await metrics.text());
    expect(s.get('shardvault_event_loop_lag_max_seconds')).toBeGreaterThanOrEqual(0.04);
    expect(s.get('shardvault_event_loop_lag_p50_seconds')).toBeLessThan(0.04);
  });

  it('two instances keep separate series (own registries, not the global one)', async () => {
    const other = new ServerMetrics();
    try {
      other.authFailure('expired');
      const a = samples(await other.text());
      const b = samples(await metrics.text());
      expect(a.get('shardvault_auth_failures_total{reason="expired"}')).toBe(1);
      expect(b.has('shardvault_auth_failures_total{reason="expired"}')).toBe(false);
    } finally {
      other.close();
    }
  });
});

describe('ServerMetrics and the pool', () => {
  it('reads disk health and capacity, repair backlog, scrub progress and audit chain length at scrape time', async () => {
    const { vault, disks } = await make({ disks: 4, k: 2, m: 1 });
    const m = new ServerMetrics({ poolSnapshotMs: 0 });
    try {
      m.attachVault(vault);
      await vault.put('bkt', 'a', new Uint8Array(50_000).fill(1));
      await vault.put('bkt', 'b', new Uint8Array(70_000).fill(2));
      let s = samples(await m.text());
      expect(s.get('shardvault_pool_up')).toBe(1);
      expect(s.get('shardvault_catalog_ok')).toBe(1);
      expect(s.get('shardvault_objects')).toBe(2);
      expect(s.get('shardvault_repair_queued_shards')).toBe(0);
      const audit = (await vault.auditLog()).length;
      expect(audit).toBeGreaterThanOrEqual(3); // bucket.create + 2 puts
      expect(s.get('shardvault_audit_chain_records')).toBe(audit);
      const ids = (await vault.status()).disks.map((d) => d.id);
      for (const id of ids) {
        expect(s.get(`shardvault_disk_condition{disk="${id}",condition="online"}`)).toBe(1);
        expect(s.get(`shardvault_disk_condition{disk="${id}",condition="missing"}`)).toBe(0);
        expect(s.get(`shardvault_disk_size_bytes{disk="${id}"}`)).toBeGreaterThan(0);
        expect(s.get(`shardvault_disk_free_bytes{disk="${id}"}`)).toBeGreaterThan(0);
      }
      const shardsTotal = ids.reduce((n, id) => n + (s.get(`shardvault_disk_shards{disk="${id}"}`) ?? 0), 0);
      expect(shardsTotal).toBe(2 * 3); // two objects, k + m shards each

      await vault.scrub();
      s = samples(await m.text());
      expect(s.get('shardvault_scrub_objects_checked')).toBe(2);
      expect(s.get('shardvault_scrub_checked_bytes')).toBeGreaterThan(0);
      expect(s.get('shardvault_scrub_last_progress_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);

      // A disk goes away: its condition flips, the objects on it are at risk, a scrub queues repair work.
      const gone = (await vault.status()).disks.find((d) => d.shards > 0)!;
      const path = disks[ids.indexOf(gone.id)].path;
      renameSync(path, `${path}.gone`);
      await vault.scrub();
      s = samples(await m.text());
      expect(s.get(`shardvault_disk_condition{disk="${gone.id}",condition="online"}`)).toBe(0);
      expect(s.get(`shardvault_disk_condition{disk="${gone.id}",condition="missing"}`)).toBe(1);
      expect(s.get('shardvault_objects_at_risk')).toBeGreaterThanOrEqual(1);
      renameSync(`${path}.gone`, path);
    } finally {
      m.close();
      await vault.close();
    }
  });

  it('keeps answering when the pool read fails (closed vault): pool_up 0, the error counted', async () => {
    const { vault } = await make();
    const m = new ServerMetrics({ poolSnapshotMs: 0 });
    try {
      m.attachVault(vault);
      expect(samples(await m.text()).get('shardvault_pool_up')).toBe(1);
      await vault.close();
      const s = samples(await m.text());
      expect(s.get('shardvault_pool_up')).toBe(0);
      expect(s.get('shardvault_pool_scrape_errors_total')).toBe(1);
      expect(s.get('shardvault_objects')).toBe(0); // the last good value is kept
    } finally {
      m.close();
    }
  });

  it('reuses a fresh snapshot instead of walking the pool at every scrape', async () => {
    const { vault } = await make();
    let now = 1_000_000;
    const m = new ServerMetrics({ poolSnapshotMs: 10_000, now: () => now });
    try {
      m.attachVault(vault);
      expect(samples(await m.text()).get('shardvault_objects')).toBe(0);
      await vault.put('bkt', 'x', new Uint8Array(10));
      expect(samples(await m.text()).get('shardvault_objects')).toBe(0); // still the snapshot
      now += 10_001;
      expect(samples(await m.text()).get('shardvault_objects')).toBe(1);
    } finally {
      m.close();
      await vault.close();
    }
  });
});

describe('promtool check metrics', () => {
  const t = tier('the promtool tier', [promtool === undefined && 'promtool (apt-get install prometheus)']);
  it.skipIf(!t.ready)(`accepts the exposition with a pool attached${t.why}`, async () => {
    const { vault } = await make({ disks: 4, k: 2, m: 1 });
    const m = new ServerMetrics({ poolSnapshotMs: 0 });
    try {
      m.attachVault(vault);
      await vault.put('bkt', 'k', new Uint8Array(1000));
      await vault.scrub();
      m.requestStarted();
      m.requestDone({ operation: 'PutObject', status: 200, bytesIn: 1000, bytesOut: 0, seconds: 0.012 });
      m.authFailure('signature');
      m.admissionRejected('bytes');
      const text = await m.text();
      const r = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    } finally {
      m.close();
      await vault.close();
    }
  });
});
