/**
 * The daemon's Prometheus metrics (issue 12, Observability): requests by operation and status, latency
 * histograms, bytes in and out, requests in flight, authentication failures and admission rejections by
 * reason, event-loop lag, process metrics, and the pool's state read from the attached Vault at scrape time
 * (disk health and capacity, repair backlog, scrub progress, audit chain length).
 *
 * One prom-client Registry per ServerMetrics (never the global one): two daemons in one process (tests,
 * the bench) do not share or clash on series. Every name starts with `shardvault_`. docs/operations.md lists
 * them all; `promtool check metrics` runs on the output in test/s3-metrics.test.ts.
 *
 * Label values are bounded: operations are the daemon's fixed table, statuses HTTP codes, reasons the auth
 * and admission modules' fixed words, disks the pool's disk ids. Nothing a client sends (bucket, key, access
 * key) ever becomes a label.
 *
 * The pool part costs: vault.status() walks every head and statfs()es every disk, and the audit chain length
 * reads the audit table (Vault has no cheaper count yet). A scrape therefore reuses a snapshot younger than `poolSnapshotMs` (default 10 s),
 * and concurrent scrapes share one refresh; a failed refresh is counted and the last good values kept.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { DiskHealthCondition, Vault } from '../vault.js';

/** Every condition status() can report for a disk (the state-set of `shardvault_disk_condition`). */
const DISK_CONDITIONS: readonly DiskHealthCondition[] = ['online', 'draining', 'removed', 'missing', 'empty', 'foreign', 'wrong-device', 'unreadable'];

/** Request latency buckets, seconds: 1 ms (a cached HEAD) to 60 s (a 64 MiB PUT on a slow disk, or a repair). */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Pool snapshots younger than this are reused by a scrape (status() walks every head: see the header). */
export const POOL_SNAPSHOT_MS_DEFAULT = 10_000;

/** Event-loop delay is sampled every this many ms (perf_hooks' resolution; 10 ms, its default, hides short stalls). */
const LOOP_RESOLUTION_MS = 5;
/** The event-loop lag gauges cover a window of this long, then start over (so an old stall ages out). */
const LOOP_WINDOW_MS = 60_000;

type PoolStatus = Awaited<ReturnType<Vault['status']>>;

interface PoolSnapshot {
  status: PoolStatus;
  auditRecords: number;
  takenMs: number;
}

export interface ServerMetricsOptions {
  /** Reuse a pool snapshot younger than this (ms); 0: read the pool at every scrape. */
  poolSnapshotMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly contentType: string;

  readonly #now: () => number;
  readonly #snapshotMs: number;
  readonly #loop: IntervalHistogram;
  #loopWindowStartMs: number;
  #vault: Vault | undefined;
  #detachVault: (() => void) | undefined;
  #snapshot: PoolSnapshot | undefined;
  #refreshing: Promise<void> | undefined;

  readonly #inFlight: Gauge;
  readonly #requests: Counter;
  readonly #duration: Histogram;
  readonly #bytesIn: Counter;
  readonly #bytesOut: Counter;
  readonly #authFailures: Counter;
  readonly #admission: Counter;
  readonly #poolScrapeErrors: Counter;
  readonly #poolScrapeSeconds: Gauge;
  readonly #poolUp: Gauge;
  readonly #catalogOk: Gauge;
  readonly #diskCondition: Gauge;
  readonly #diskFree: Gauge;
  readonly #diskTotal: Gauge;
  readonly #diskShards: Gauge;
  readonly #diskRepairQueued: Gauge;
  readonly #diskIoErrors: Gauge;
  readonly #objects: Gauge;
  readonly #objectsAtRisk: Gauge;
  readonly #repairQueued: Gauge;
  readonly #auditRecords: Gauge;
  readonly #scrubObjects: Gauge;
  readonly #scrubBytes: Gauge;
  readonly #scrubBad: Gauge;
  readonly #scrubLast: Gauge;
  readonly #repairRuns: Counter;
  readonly #repairShards: Counter;
  readonly #repairQueuedTotal: Counter;
  readonly #diskDropped: Counter;
  readonly #keyRevoked: Counter;

  constructor(options: ServerMetricsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#snapshotMs = options.poolSnapshotMs ?? POOL_SNAPSHOT_MS_DEFAULT;
    this.contentType = this.registry.contentType;
    const registers = [this.registry];

    this.#inFlight = new Gauge({ name: 'shardvault_s3_requests_in_flight', help: 'S3 and admin requests being served now (admitted, not yet answered)', registers });
    this.#requests = new Counter({ name: 'shardvault_s3_requests_total', help: 'S3 and admin requests answered, by operation and HTTP status', labelNames: ['operation', 'status'], registers });
    this.#duration = new Histogram({
      name: 'shardvault_s3_request_duration_seconds', help: 'Time from the request head to the last response byte, by operation',
      labelNames: ['operation'], buckets: LATENCY_BUCKETS_SECONDS, registers,
    });
    this.#bytesIn = new Counter({ name: 'shardvault_s3_received_bytes_total', help: 'Request body bytes received, by operation', labelNames: ['operation'], registers });
    this.#bytesOut = new Counter({ name: 'shardvault_s3_sent_bytes_total', help: 'Response body bytes sent, by operation', labelNames: ['operation'], registers });
    this.#authFailures = new Counter({ name: 'shardvault_auth_failures_total', help: 'Requests refused by authentication or authorization, by reason', labelNames: ['reason'], registers });
    this.#admission = new Counter({ name: 'shardvault_admission_rejections_total', help: 'Requests refused with 503 SlowDown by admission control, by the limit hit', labelNames: ['reason'], registers });

    this.#loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.#loop.enable();
    this.#loopWindowStartMs = this.#now();
    const loop = this.#loop;
    const self = this;
    // Separate gauges, not a `quantile` label: that label belongs to summaries (promtool refuses it on a gauge).
    const lag = (name: string, what: string, read: () => number, last = false) =>
      new Gauge({
        name, help: `Event-loop delay, ${what}, over the current window (up to ${LOOP_WINDOW_MS / 1000} s)`, registers,
        collect() {
          // perf_hooks reports nanoseconds; with no sample yet it reports NaN or a huge min: 0 until it has one.
          this.set(loop.count === 0 ? 0 : read() / 1e9);
          if (last && self.#now() - self.#loopWindowStartMs >= LOOP_WINDOW_MS) {
            loop.reset();
            self.#loopWindowStartMs = self.#now();
          }
        },
      });
    lag('shardvault_event_loop_lag_p50_seconds', 'median', () => loop.percentile(50));
    lag('shardvault_event_loop_lag_p99_seconds', '99th percentile', () => loop.percentile(99));
    lag('shardvault_event_loop_lag_max_seconds', 'maximum', () => loop.max, true);

    // Process metrics by hand rather than prom-client's collectDefaultMetrics: its nodejs_active_*_total are
    // gauges named like counters (promtool refuses them), and it starts a second event-loop sampler.
    const cpu = (name: string, what: string, field: 'user' | 'system') =>
      new Counter({ name, help: `CPU time spent in ${what} mode by the daemon process`, registers, collect() {
        const used = process.cpuUsage()[field] / 1e6;
        this.reset();
        this.inc(used);
      } });
    cpu('shardvault_process_cpu_user_seconds_total', 'user', 'user');
    cpu('shardvault_process_cpu_system_seconds_total', 'system', 'system');
    new Gauge({ name: 'shardvault_process_resident_memory_bytes', help: 'Resident set size of the daemon process', registers, collect() {
      this.set(process.memoryUsage.rss());
    } });
    new Gauge({ name: 'shardvault_process_heap_used_bytes', help: 'V8 heap in use', registers, collect() {
      this.set(process.memoryUsage().heapUsed);
    } });
    new Gauge({ name: 'shardvault_process_external_memory_bytes', help: 'Memory of Buffers and other objects outside the V8 heap', registers, collect() {
      const m = process.memoryUsage();
      this.set(m.external + m.arrayBuffers);
    } });
    const startSeconds = Math.round(performance.timeOrigin / 1000);
    new Gauge({ name: 'shardvault_process_start_time_seconds', help: 'Unix time the daemon process started', registers }).set(startSeconds);

    this.#poolScrapeErrors = new Counter({ name: 'shardvault_pool_scrape_errors_total', help: 'Scrapes whose read of the pool state failed (the last good values are kept)', registers });
    this.#poolScrapeSeconds = new Gauge({ name: 'shardvault_pool_scrape_duration_seconds', help: 'How long the last read of the pool state took', registers });
    this.#poolUp = new Gauge({ name: 'shardvault_pool_up', help: '1 when the pool is attached and its last state read succeeded', registers });
    this.#catalogOk = new Gauge({ name: 'shardvault_catalog_ok', help: '1 when the catalog accepts commits, 0 after a failed commit (writes refused until reopened)', registers });
    this.#diskCondition = new Gauge({ name: 'shardvault_disk_condition', help: 'Disk condition as a state set: 1 for the current condition of each disk, 0 for the others', labelNames: ['disk', 'condition'], registers });
    this.#diskFree = new Gauge({ name: 'shardvault_disk_free_bytes', help: 'Bytes available to the pool on the disk file system', labelNames: ['disk'], registers });
    this.#diskTotal = new Gauge({ name: 'shardvault_disk_size_bytes', help: 'Size of the disk file system', labelNames: ['disk'], registers });
    this.#diskShards = new Gauge({ name: 'shardvault_disk_shards', help: 'Object versions with a shard on the disk', labelNames: ['disk'], registers });
    this.#diskRepairQueued = new Gauge({ name: 'shardvault_disk_repair_queued_shards', help: 'Shards queued for repair on the disk', labelNames: ['disk'], registers });
    this.#diskIoErrors = new Gauge({ name: 'shardvault_disk_io_errors', help: 'I/O errors on the disk since the pool was opened, by operation', labelNames: ['disk', 'op'], registers });
    this.#objects = new Gauge({ name: 'shardvault_objects', help: 'Live objects in the pool', registers });
    this.#objectsAtRisk = new Gauge({ name: 'shardvault_objects_at_risk', help: 'Object versions with queued repair work or a shard on an unusable disk', registers });
    this.#repairQueued = new Gauge({ name: 'shardvault_repair_queued_shards', help: 'Shards waiting for repair (the repair backlog)', registers });
    this.#auditRecords = new Gauge({ name: 'shardvault_audit_chain_records', help: 'Records in the hash-chained audit log', registers });
    this.#scrubObjects = new Gauge({ name: 'shardvault_scrub_objects_checked', help: 'Objects checked by the running or last scrub (since the daemon started)', registers });
    this.#scrubBytes = new Gauge({ name: 'shardvault_scrub_checked_bytes', help: 'Bytes read by the running or last scrub (since the daemon started)', registers });
    this.#scrubBad = new Gauge({ name: 'shardvault_scrub_bad_shards', help: 'Bad shards found by the running or last scrub (queued for repair)', registers });
    this.#scrubLast = new Gauge({ name: 'shardvault_scrub_last_progress_timestamp_seconds', help: 'Unix time of the last scrub progress report (0: none since start)', registers });
    this.#repairRuns = new Counter({ name: 'shardvault_repair_runs_total', help: 'Repair runs finished', registers });
    this.#repairShards = new Counter({ name: 'shardvault_repair_shards_total', help: 'Shards handled by repair runs, by outcome (repaired, moved, dropped, failed)', labelNames: ['outcome'], registers });
    this.#repairQueuedTotal = new Counter({ name: 'shardvault_repair_queued_total', help: 'Shards queued for repair since start, by who found them (put, read, scrub, gc, drain, replace, rebalance, repair)', labelNames: ['reason'], registers });
    this.#diskDropped = new Counter({ name: 'shardvault_disk_dropped_total', help: 'Times a disk dropped out of an operation, by disk and what failed', labelNames: ['disk', 'op'], registers });
    this.#keyRevoked = new Counter({ name: 'shardvault_key_revoked_refusals_total', help: 'Reads refused because the manifest is signed only by a revoked pool key (queued for repair --resign), by key id', labelNames: ['key_id'], registers });
    this.#poolUp.set(0);
    this.#scrubLast.set(0);
  }

  /** The Prometheus text exposition (reads the pool first when a Vault is attached and the snapshot is stale). */
  async text(): Promise<string> {
    if (this.#vault !== undefined) await this.#refreshPool();
    return this.registry.metrics();
  }

  requestStarted(): void {
    this.#inFlight.inc();
  }

  /** One request answered (or ended by an error or a disconnect): counts it and leaves the in-flight gauge. */
  requestDone(o: { operation: string; status: number; bytesIn: number; bytesOut: number; seconds: number }): void {
    this.#inFlight.dec();
    const operation = o.operation;
    this.#requests.inc({ operation, status: String(o.status) });
    if (Number.isFinite(o.seconds) && o.seconds >= 0) this.#duration.observe({ operation }, o.seconds);
    if (Number.isFinite(o.bytesIn) && o.bytesIn > 0) this.#bytesIn.inc({ operation }, o.bytesIn);
    if (Number.isFinite(o.bytesOut) && o.bytesOut > 0) this.#bytesOut.inc({ operation }, o.bytesOut);
  }

  authFailure(reason: string): void {
    this.#authFailures.inc({ reason });
  }

  admissionRejected(reason: string): void {
    this.#admission.inc({ reason });
  }

  /**
   * Reads `vault`'s state at scrape time and counts its events (scrub progress, repair runs, repair work
   * queued, disks dropping out). Attaching another vault detaches the previous one.
   */
  attachVault(vault: Vault): void {
    this.#detachVault?.();
    this.#vault = vault;
    this.#snapshot = undefined;
    const onScrub = (p: { objects: number; bytes: number; bad: number }) => {
      this.#scrubObjects.set(p.objects);
      this.#scrubBytes.set(p.bytes);
      this.#scrubBad.set(p.bad);
      this.#scrubLast.set(this.#now() / 1000);
    };
    const onRepair = (r: { repaired: number; dropped: number; moved: number; failed: number }) => {
      this.#repairRuns.inc();
      for (const outcome of ['repaired', 'moved', 'dropped', 'failed'] as const) if (r[outcome] > 0) this.#repairShards.inc({ outcome }, r[outcome]);
    };
    const onQueued = (q: { reason: string }) => this.#repairQueuedTotal.inc({ reason: q.reason });
    const onDropped = (d: { disk: string; op: string }) => this.#diskDropped.inc({ disk: d.disk, op: d.op });
    vault.events.on('scrubProgress', onScrub);
    vault.events.on('repair', onRepair);
    vault.events.on('repairQueued', onQueued);
    vault.events.on('diskDropped', onDropped);
    const onRevoked = (r: { keyId: string }) => this.#keyRevoked.inc({ key_id: r.keyId });
    vault.events.on('keyRevoked', onRevoked);
    this.#detachVault = () => {
      vault.events.off('keyRevoked', onRevoked);
      vault.events.off('scrubProgress', onScrub);
      vault.events.off('repair', onRepair);
      vault.events.off('repairQueued', onQueued);
      vault.events.off('diskDropped', onDropped);
    };
  }

  /** Stops the event-loop sampler and detaches the vault (the daemon's close() calls it). */
  close(): void {
    this.#loop.disable();
    this.#detachVault?.();
    this.#detachVault = undefined;
    this.#vault = undefined;
  }

  #refreshPool(): Promise<void> {
    if (this.#snapshot !== undefined && this.#now() - this.#snapshot.takenMs < this.#snapshotMs) return Promise.resolve();
    this.#refreshing ??= this.#readPool().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #readPool(): Promise<void> {
    const vault = this.#vault;
    if (vault === undefined) return;
    const started = performance.now();
    try {
      const status = await vault.status();
      // The chain is verified by `audit verify` and the admin API, not here: hashing the whole chain at every
      // scrape would cost what the operator asked not to pay per scrape.
      this.#snapshot = { status, auditRecords: (await vault.auditLog()).length, takenMs: this.#now() };
      this.#apply(this.#snapshot);
      this.#poolUp.set(1);
    } catch {
      // A closed or failing pool must not fail the scrape: the error is counted, pool_up says it.
      this.#poolScrapeErrors.inc();
      this.#poolUp.set(0);
    } finally {
      this.#poolScrapeSeconds.set((performance.now() - started) / 1000);
    }
  }

  #apply(s: PoolSnapshot): void {
    const { status } = s;
    // Disks come and go (add, remove): start the per-disk series over so a gone disk's series disappear.
    for (const g of [this.#diskCondition, this.#diskFree, this.#diskTotal, this.#diskShards, this.#diskRepairQueued, this.#diskIoErrors]) g.reset();
    for (const d of status.disks) {
      for (const c of DISK_CONDITIONS) this.#diskCondition.set({ disk: d.id, condition: c }, d.condition === c ? 1 : 0);
      if (d.freeBytes !== undefined) this.#diskFree.set({ disk: d.id }, d.freeBytes);
      if (d.totalBytes !== undefined) this.#diskTotal.set({ disk: d.id }, d.totalBytes);
      this.#diskShards.set({ disk: d.id }, d.shards);
      this.#diskRepairQueued.set({ disk: d.id }, d.repairQueued);
      this.#diskIoErrors.set({ disk: d.id, op: 'read' }, d.errors.read);
      this.#diskIoErrors.set({ disk: d.id, op: 'write' }, d.errors.write);
    }
    this.#catalogOk.set(status.catalog.ok ? 1 : 0);
    this.#objects.set(status.objects);
    this.#objectsAtRisk.set(status.objectsAtRisk);
    this.#repairQueued.set(status.repairQueued);
    this.#auditRecords.set(s.auditRecords);
  }
}
