/**
 * The admin API (issue 12, Admin): JSON under its own path, reached only by admin principals. The core
 * authenticates the request with SigV4 first (the admin CLI signs with lib/auth's signRequest, the same
 * signature the daemon verifies for S3) and passes who it is; this module refuses non-admins with 403
 * AccessDenied, then routes. `shardvault keys|status|scrub|repair|audit --endpoint URL` are its clients
 * (lib/cli/admin-client.ts); docs/operations.md documents every route.
 *
 *   POST   keys                 {name, policy?, admin?} -> {accessKeyId, secretAccessKey, principal}
 *   GET    keys                 -> {keys: [{accessKeyId, principal, name, admin, enabled, createdMs, hasPolicy}]}
 *   GET    keys/ID              -> one key's info with its policy (never a secret)
 *   POST   keys/ID/disable | keys/ID/enable
 *   DELETE keys/ID
 *   PUT    keys/ID/policy       {policy} (null detaches: the key can then do nothing)
 *   GET    status               -> vault.status()
 *   POST   scrub                {rateBytesPerSec?, resume?} -> 202 job; GET scrub -> job; POST scrub/cancel
 *   POST   repair {resign?}     -> 202 job (resign: re-sign what a revoked key signed first); GET repair -> job; POST repair/cancel
 *   GET    audit/verify         -> {ok, records, brokenAt?}
 *   GET    audit/tail?n=N       -> {records: the last N (1..1000, default 20), total}
 *   POST   disks                {path, labels?, mountPoint?} -> {disk, path, labels}   (the daemon's paths)
 *   POST   disks/ID/drain       -> {disk, queued};  POST disks/ID/replace {path, labels?, mountPoint?} -> {disk, newDisk, queued}
 *   DELETE disks/ID             -> {disk, removed: true} (refused while it holds shards)
 *   GET    config               -> {pool, floor, history: vault.configHistory()}
 *   POST   config               {writeQuorum, breakGlass?: {reason}} -> {setting, before, after, floor}
 *   POST   config/floor/raise   {settings} -> {floor};  POST config/floor/lower {settings, breakGlass} -> {floor}
 *   (the security floor, docs/security-floor.md: weaker than the floor is InvalidRequest with svCode ERR_SV_FLOOR;
 *   the engine writes the audit records -- pool.reconfigure, floor.lower with the reason, floor.raise)
 *
 * Scrub and repair run for hours on a big pool, longer than any request should: POST starts a job (one of
 * each kind at a time, 409 JobRunning otherwise) and answers 202; GET reports its progress and, once
 * finished, its result or error; cancel aborts it the way Ctrl-C aborts the local command (scrub keeps its
 * cursor for `resume`). `abortAdminJobs(vault)` stops them at daemon shutdown.
 *
 * Evidence (I6): every key or policy change is written to the audit chain BEFORE it is made (checked first,
 * so the record names a change that can happen), with who, what, request id and source; a change that then
 * fails gets a second record with result `failed`. A change whose audit record cannot be written is not made.
 *
 * Errors are JSON `{code, message}` with these stable codes: AccessDenied 403, NotFound 404 (no such route),
 * MethodNotAllowed 405, InvalidRequest 400 (bad JSON, bad field), MalformedPolicy 400, NoSuchAccessKey 404,
 * JobRunning 409, ReadOnly 409 (pool open read-only), NoSuchDisk 404, InvalidDisk 400 (a disk the pool refuses:
 * not empty, not a mount point, another pool's), ServiceUnavailable 503 (pool or catalog failing), InternalError
 * 500. An error that came from the engine also carries its stable ShardVault code as `svCode`
 * (`ERR_SV_...`), so the CLI reports the same code as when it works on the pool directly.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

import { parsePolicy, type KeyStore, type Policy } from '../auth/index.js';
import { ErrorCode } from '../errors.js';
import type { ScrubProgress, Vault, VaultDiskSpec } from '../vault.js';

export const ADMIN_PREFIX = '/_shardvault/admin/';

export interface AdminContext {
  vault: Vault;
  keys: KeyStore;
}

/** Stable error codes of the admin API (JSON `code`). */
export const AdminErrorCode = {
  ACCESS_DENIED: 'AccessDenied',
  NOT_FOUND: 'NotFound',
  METHOD_NOT_ALLOWED: 'MethodNotAllowed',
  INVALID_REQUEST: 'InvalidRequest',
  MALFORMED_POLICY: 'MalformedPolicy',
  NO_SUCH_ACCESS_KEY: 'NoSuchAccessKey',
  JOB_RUNNING: 'JobRunning',
  READ_ONLY: 'ReadOnly',
  SERVICE_UNAVAILABLE: 'ServiceUnavailable',
  INTERNAL: 'InternalError',
  NO_SUCH_DISK: 'NoSuchDisk',
  INVALID_DISK: 'InvalidDisk',
} as const;
export type AdminErrorCodeValue = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

export class AdminError extends Error {
  constructor(readonly code: AdminErrorCodeValue, readonly status: number, message: string, readonly svCode?: string) {
    super(message);
    this.name = 'AdminError';
  }
}

/** Key names: what `keys create NAME` accepts (shown in listings and audit records). */
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+=-]{0,63}$/;
/** Access key ids: lib/auth makes 20 chars, a root key from the environment may be 3-128 letters and digits. */
const KEY_ID = /^[A-Za-z0-9]{3,128}$/;
const TAIL_DEFAULT = 20;
const TAIL_MAX = 1000;

type Who = { principal: string; admin: boolean; requestId: string };

// ------------------------------------------------------------------ jobs (scrub, repair)

export interface AdminJob<P, R> {
  kind: 'scrub' | 'repair';
  state: 'running' | 'done' | 'failed' | 'cancelled';
  startedMs: number;
  finishedMs?: number;
  startedBy: string;
  progress: P;
  result?: R;
  error?: { code: string; message: string };
}
type ScrubJob = AdminJob<ScrubProgress, ScrubProgress>;
type RepairResult = Awaited<ReturnType<Vault['repair']>>;
type RepairJob = AdminJob<{ done: number; total: number }, RepairResult>;

interface Jobs {
  scrub?: { job: ScrubJob; ac: AbortController; done: Promise<void> };
  repair?: { job: RepairJob; ac: AbortController; done: Promise<void> };
}
const jobsOf = new WeakMap<Vault, Jobs>();

/** Aborts the running admin jobs of `vault` and waits for them to stop (the daemon's close() calls it). */
export async function abortAdminJobs(vault: Vault): Promise<void> {
  const jobs = jobsOf.get(vault);
  if (jobs === undefined) return;
  const running = [jobs.scrub, jobs.repair].filter((j) => j !== undefined && j.job.state === 'running');
  for (const j of running) j!.ac.abort(new Error('the daemon is shutting down'));
  await Promise.all(running.map((j) => j!.done));
}

const errorOf = (err: unknown) => {
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e.code === 'string' ? e.code : 'ERR_SV_INTERNAL', message: typeof e.message === 'string' ? e.message : String(err) };
};

function startScrub(vault: Vault, who: Who, o: { rateBytesPerSec?: number; resume?: boolean }): ScrubJob {
  const jobs = jobsOf.get(vault) ?? {};
  jobsOf.set(vault, jobs);
  if (jobs.scrub?.job.state === 'running') throw new AdminError(AdminErrorCode.JOB_RUNNING, 409, `a scrub is running since ${new Date(jobs.scrub.job.startedMs).toISOString()}: GET scrub for its progress, POST scrub/cancel to stop it`);
  const ac = new AbortController();
  const job: ScrubJob = { kind: 'scrub', state: 'running', startedMs: Date.now(), startedBy: who.principal, progress: { objects: 0, bytes: 0, bad: 0 } };
  const done = vault
    .scrub({ ...o, signal: ac.signal, onProgress: (p) => (job.progress = { ...p }) })
    .then((r) => {
      job.result = r;
      job.progress = { objects: r.objects, bytes: r.bytes, bad: r.bad, ...(r.last !== undefined ? { last: r.last } : {}) };
      job.state = 'done';
    }, (err: unknown) => {
      job.state = ac.signal.aborted ? 'cancelled' : 'failed';
      job.error = errorOf(err);
    })
    .finally(() => (job.finishedMs = Date.now()));
  jobs.scrub = { job, ac, done };
  return job;
}

async function startRepair(vault: Vault, who: Who, resign: boolean): Promise<RepairJob> {
  const jobs = jobsOf.get(vault) ?? {};
  jobsOf.set(vault, jobs);
  if (jobs.repair?.job.state === 'running') throw new AdminError(AdminErrorCode.JOB_RUNNING, 409, `a repair is running since ${new Date(jobs.repair.job.startedMs).toISOString()}: GET repair for its progress, POST repair/cancel to stop it`);
  const ac = new AbortController();
  const job: RepairJob = { kind: 'repair', state: 'running', startedMs: Date.now(), startedBy: who.principal, progress: { done: 0, total: (await vault.repairQueue()).length } };
  const done = vault
    .repair({ principal: who.principal, signal: ac.signal, onProgress: (p) => (job.progress = { ...p }), ...(resign ? { resign: true } : {}) })
    .then((r) => {
      job.result = r;
      job.state = 'done';
    }, (err: unknown) => {
      job.state = ac.signal.aborted ? 'cancelled' : 'failed';
      job.error = errorOf(err);
    })
    .finally(() => (job.finishedMs = Date.now()));
  jobs.repair = { job, ac, done };
  return job;
}

// ------------------------------------------------------------------ request helpers

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', body.length);
  // Responses can carry a secret (keys create): never cached by anything in between.
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

function jsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, `the request body is not JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'the request body must be a JSON object');
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, `unknown field ${JSON.stringify(k)} (expected ${allowed.join(', ') || 'none'})`);
  }
}

function policyOf(v: unknown): Policy {
  try {
    return parsePolicy(v);
  } catch (err) {
    const e = err as { message?: string };
    throw new AdminError(AdminErrorCode.MALFORMED_POLICY, 400, e.message ?? String(err));
  }
}

function keyId(ctx: AdminContext, raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'the access key id is not valid percent-encoding');
  }
  if (!KEY_ID.test(id) || ctx.keys.info(id) === undefined) throw new AdminError(AdminErrorCode.NO_SUCH_ACCESS_KEY, 404, `no access key ${JSON.stringify(id.slice(0, 128))}`);
  return id;
}

/** Public fields of a key (lib/auth never hands out secrets; this is what goes on the wire, explicitly). */
function keyView(k: { accessKeyId: string; principal: string; name: string; admin: boolean; enabled: boolean; createdMs: number; policy?: unknown }, withPolicy: boolean) {
  return {
    accessKeyId: k.accessKeyId, principal: k.principal, name: k.name, admin: k.admin, enabled: k.enabled, createdMs: k.createdMs,
    hasPolicy: k.policy !== undefined, ...(withPolicy && k.policy !== undefined ? { policy: k.policy } : {}),
  };
}

/** Writes an evidence record to the pool's audit chain (Vault.appendAudit). */
async function audit(ctx: AdminContext, req: IncomingMessage, who: Who, action: string, target: string, result: string, detail?: string): Promise<void> {
  const source = req.socket.remoteAddress !== undefined ? `${req.socket.remoteAddress}:${req.socket.remotePort ?? ''}` : undefined;
  await ctx.vault.appendAudit({
    principal: who.principal, action, target, result, requestId: who.requestId,
    ...(source !== undefined ? { source } : {}), ...(detail !== undefined ? { detail } : {}),
  });
}

/** Audit first, then the change; a change that fails after its record gets a `failed` record (best effort). */
async function audited<T>(ctx: AdminContext, req: IncomingMessage, who: Who, action: string, target: string, detail: string | undefined, change: () => Promise<T>): Promise<T> {
  await audit(ctx, req, who, action, target, 'ok', detail);
  try {
    return await change();
  } catch (err) {
    await audit(ctx, req, who, action, target, 'failed', errorOf(err).code).catch(() => undefined);
    throw err;
  }
}

function mapError(err: unknown): AdminError {
  if (err instanceof AdminError) return err;
  const e = err as { code?: unknown; s3Code?: unknown; status?: unknown; message?: unknown };
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : 'internal error';
  if (e.s3Code === 'MalformedPolicy') return new AdminError(AdminErrorCode.MALFORMED_POLICY, 400, message);
  if (typeof e.s3Code === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AdminError(AdminErrorCode.INVALID_REQUEST, 400, message);
  }
  const sv = typeof e.code === 'string' && e.code.startsWith('ERR_SV_') ? e.code : undefined;
  const as = (code: AdminErrorCodeValue, status: number) => new AdminError(code, status, message, sv);
  switch (e.code) {
    case ErrorCode.READ_ONLY: return as(AdminErrorCode.READ_ONLY, 409);
    case ErrorCode.NO_SUCH_DISK: return as(AdminErrorCode.NO_SUCH_DISK, 404);
    case ErrorCode.DISK_IDENTITY:
    case ErrorCode.NO_SPACE: return as(AdminErrorCode.INVALID_DISK, 400);
    case ErrorCode.CATALOG_FAILED:
    case ErrorCode.PLACEMENT: return as(AdminErrorCode.SERVICE_UNAVAILABLE, 503);
    case ErrorCode.NOT_FOUND: return as(AdminErrorCode.NO_SUCH_ACCESS_KEY, 404);
    case ErrorCode.INVALID_ARG_TYPE:
    case ErrorCode.FLOOR:
    case ErrorCode.OUT_OF_RANGE:
    case ErrorCode.UNKNOWN_OPTION: return as(AdminErrorCode.INVALID_REQUEST, 400);
    default: return as(AdminErrorCode.INTERNAL, 500);
  }
}

/** A disk spec from a JSON body: {path, labels?, mountPoint?}, checked before the engine sees it. */
function diskSpecOf(o: Record<string, unknown>): VaultDiskSpec {
  onlyKeys(o, ['path', 'labels', 'mountPoint']);
  if (typeof o.path !== 'string' || o.path === '' || o.path.length > 4096 || !o.path.startsWith('/')) {
    throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'path must be an absolute path on the daemon\'s machine');
  }
  const labels: Record<string, string> = {};
  if (o.labels !== undefined) {
    if (o.labels === null || typeof o.labels !== 'object' || Array.isArray(o.labels)) throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'labels must be an object of strings');
    const entries = Object.entries(o.labels as Record<string, unknown>);
    if (entries.length > 32) throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'at most 32 labels');
    for (const [k, v] of entries) {
      if (typeof v !== 'string') throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, `label ${JSON.stringify(k.slice(0, 64))} must be a string`);
      labels[k] = v;
    }
  }
  if (o.mountPoint !== undefined && typeof o.mountPoint !== 'boolean') throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'mountPoint must be true or false');
  return { path: o.path, labels, ...(o.mountPoint === true ? { mountPoint: true } : {}) };
}

async function diskOf(ctx: AdminContext, raw: string): Promise<string> {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'the disk id is not valid percent-encoding');
  }
  const d = (await ctx.vault.status()).disks.find((x) => x.id === id && x.state !== 'removed');
  if (d === undefined) throw new AdminError(AdminErrorCode.NO_SUCH_DISK, 404, `no disk ${JSON.stringify(id.slice(0, 128))} in the pool`, ErrorCode.NO_SUCH_DISK);
  return d.id;
}

const jobView = (j: AdminJob<unknown, unknown> | undefined, kind: string) => j ?? { kind, state: 'idle' };

// ------------------------------------------------------------------ routes

type Route = (ctx: AdminContext, req: IncomingMessage, res: ServerResponse, who: Who, body: Buffer, params: { id?: string; query: URLSearchParams }) => Promise<void>;

async function createKey(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, who: Who, body: Buffer): Promise<void> {
  const o = jsonBody(body);
  onlyKeys(o, ['name', 'policy', 'admin']);
  if (typeof o.name !== 'string' || !KEY_NAME.test(o.name)) {
    throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'name must be 1-64 characters of letters, digits and ._@+=- starting with a letter or digit');
  }
  if (o.admin !== undefined && typeof o.admin !== 'boolean') throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'admin must be true or false');
  const policy = o.policy === undefined || o.policy === null ? undefined : policyOf(o.policy);
  const admin = o.admin === true;
  const name = o.name;
  // The id is made by create(): the record names the key by its name, then a second record gives the id.
  const created = await audited(ctx, req, who, 'key.create', `name:${name}`, `admin=${admin} policy=${policy !== undefined}`, () => ctx.keys.create(name, { ...(policy !== undefined ? { policy } : {}), admin }));
  await audit(ctx, req, who, 'key.created', created.accessKeyId, 'ok', `name=${name} principal=${created.principal}`).catch(async (err: unknown) => {
    // No key may exist without its record: take it back, then fail.
    await ctx.keys.delete(created.accessKeyId).catch(() => undefined);
    throw err;
  });
  send(res, 200, { accessKeyId: created.accessKeyId, secretAccessKey: created.secretAccessKey, principal: created.principal });
}

const routes: Array<{ method: string; path: RegExp; run: Route }> = [
  { method: 'POST', path: /^keys$/, run: (ctx, req, res, who, body) => createKey(ctx, req, res, who, body) },
  { method: 'GET', path: /^keys$/, run: async (ctx, _req, res) => send(res, 200, { keys: ctx.keys.list().map((k) => keyView(k, false)) }) },
  { method: 'GET', path: /^keys\/([^/]+)$/, run: async (ctx, _req, res, _who, _body, p) => send(res, 200, keyView(ctx.keys.info(keyId(ctx, p.id!))!, true)) },
  {
    method: 'POST', path: /^keys\/([^/]+)\/disable$/,
    run: async (ctx, req, res, who, _b, p) => {
      const id = keyId(ctx, p.id!);
      await audited(ctx, req, who, 'key.disable', id, undefined, () => ctx.keys.disable(id));
      send(res, 200, keyView(ctx.keys.info(id)!, false));
    },
  },
  {
    method: 'POST', path: /^keys\/([^/]+)\/enable$/,
    run: async (ctx, req, res, who, _b, p) => {
      const id = keyId(ctx, p.id!);
      await audited(ctx, req, who, 'key.enable', id, undefined, () => ctx.keys.enable(id));
      send(res, 200, keyView(ctx.keys.info(id)!, false));
    },
  },
  {
    method: 'DELETE', path: /^keys\/([^/]+)$/,
    run: async (ctx, req, res, who, _b, p) => {
      // Deleting the key this very request is signed with is allowed (rotation): the next request fails.
      const id = keyId(ctx, p.id!);
      await audited(ctx, req, who, 'key.delete', id, undefined, () => ctx.keys.delete(id));
      send(res, 200, { accessKeyId: id, deleted: true });
    },
  },
  {
    method: 'PUT', path: /^keys\/([^/]+)\/policy$/,
    run: async (ctx, req, res, who, body, p) => {
      const id = keyId(ctx, p.id!);
      const o = jsonBody(body);
      onlyKeys(o, ['policy']);
      if (!Object.hasOwn(o, 'policy')) throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'policy is required (null detaches the policy)');
      const policy = o.policy === null ? undefined : policyOf(o.policy);
      await audited(ctx, req, who, policy === undefined ? 'key.policy.detach' : 'key.policy.set', id, policy === undefined ? undefined : `statements=${policy.Statement.length}`, () => ctx.keys.setPolicy(id, policy));
      send(res, 200, keyView(ctx.keys.info(id)!, true));
    },
  },
  { method: 'GET', path: /^status$/, run: async (ctx, _req, res) => send(res, 200, await ctx.vault.status()) },
  {
    method: 'POST', path: /^scrub$/,
    run: async (ctx, _req, res, who, body) => {
      const o = jsonBody(body);
      onlyKeys(o, ['rateBytesPerSec', 'resume']);
      if (o.rateBytesPerSec !== undefined && (typeof o.rateBytesPerSec !== 'number' || !Number.isSafeInteger(o.rateBytesPerSec) || o.rateBytesPerSec < 1)) {
        throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'rateBytesPerSec must be a positive integer');
      }
      if (o.resume !== undefined && typeof o.resume !== 'boolean') throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'resume must be true or false');
      send(res, 202, startScrub(ctx.vault, who, { ...(o.rateBytesPerSec !== undefined ? { rateBytesPerSec: o.rateBytesPerSec as number } : {}), ...(o.resume !== undefined ? { resume: o.resume as boolean } : {}) }));
    },
  },
  { method: 'GET', path: /^scrub$/, run: async (ctx, _req, res) => send(res, 200, jobView(jobsOf.get(ctx.vault)?.scrub?.job, 'scrub')) },
  { method: 'POST', path: /^scrub\/cancel$/, run: async (ctx, _req, res) => send(res, 200, await cancel(ctx.vault, 'scrub')) },
  {
    method: 'POST', path: /^repair$/,
    run: async (ctx, _req, res, who, body) => {
      const o = jsonBody(body);
      onlyKeys(o, ['resign']);
      if (o.resign !== undefined && typeof o.resign !== 'boolean') throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, 'resign must be true or false');
      if (ctx.vault.readOnly) throw new AdminError(AdminErrorCode.READ_ONLY, 409, 'the pool is open read-only: repair needs it open for writing');
      send(res, 202, await startRepair(ctx.vault, who, o.resign === true));
    },
  },
  { method: 'GET', path: /^repair$/, run: async (ctx, _req, res) => send(res, 200, jobView(jobsOf.get(ctx.vault)?.repair?.job, 'repair')) },
  { method: 'POST', path: /^repair\/cancel$/, run: async (ctx, _req, res) => send(res, 200, await cancel(ctx.vault, 'repair')) },
  // Disks: the engine records each change in the audit chain itself (disk.add, disk.drain, ...), with the principal.
  {
    method: 'POST', path: /^disks$/,
    run: async (ctx, _req, res, who, body) => {
      const spec = diskSpecOf(jsonBody(body));
      const disk = await ctx.vault.addDisk(spec, who.principal);
      send(res, 200, { disk, path: spec.path, labels: spec.labels });
    },
  },
  {
    method: 'POST', path: /^disks\/([^/]+)\/drain$/,
    run: async (ctx, _req, res, who, body, p) => {
      onlyKeys(jsonBody(body), []);
      const disk = await diskOf(ctx, p.id!);
      send(res, 200, { disk, queued: await ctx.vault.drainDisk(disk, who.principal) });
    },
  },
  {
    method: 'POST', path: /^disks\/([^/]+)\/replace$/,
    run: async (ctx, _req, res, who, body, p) => {
      const disk = await diskOf(ctx, p.id!);
      const newDisk = await ctx.vault.replaceDisk(disk, diskSpecOf(jsonBody(body)), who.principal);
      send(res, 200, { disk, newDisk, queued: (await ctx.vault.repairQueue()).length });
    },
  },
  {
    method: 'DELETE', path: /^disks\/([^/]+)$/,
    run: async (ctx, _req, res, who, _b, p) => {
      const disk = await diskOf(ctx, p.id!);
      await ctx.vault.removeDisk(disk, who.principal);
      send(res, 200, { disk, removed: true });
    },
  },
  // The security floor and the settings with a knob: the vault validates the fields and audits every change.
  {
    method: 'GET', path: /^config$/,
    run: async (ctx, _req, res) => send(res, 200, { pool: (await ctx.vault.status()).pool, floor: ctx.vault.floor() ?? null, history: await ctx.vault.configHistory() }),
  },
  {
    method: 'POST', path: /^config$/,
    run: async (ctx, _req, res, who, body) => {
      const o = jsonBody(body);
      onlyKeys(o, ['writeQuorum', 'breakGlass']);
      const before = (await ctx.vault.status()).pool.writeQuorum;
      await ctx.vault.reconfigure({ writeQuorum: o.writeQuorum as number, ...(o.breakGlass !== undefined ? { breakGlass: o.breakGlass as { reason: string } } : {}), principal: who.principal });
      send(res, 200, { setting: 'write-quorum', before, after: (await ctx.vault.status()).pool.writeQuorum, floor: ctx.vault.floor() ?? null });
    },
  },
  {
    method: 'POST', path: /^config\/floor\/(raise|lower)$/,
    run: async (ctx, _req, res, who, body, p) => {
      const o = jsonBody(body);
      onlyKeys(o, p.id === 'raise' ? ['settings'] : ['settings', 'breakGlass']);
      const settings = o.settings as Parameters<Vault['raiseFloor']>[0];
      const floor = p.id === 'raise' ? await ctx.vault.raiseFloor(settings, who.principal)
        : await ctx.vault.lowerFloor(settings, { ...(o.breakGlass !== undefined ? { breakGlass: o.breakGlass as { reason: string } } : {}), principal: who.principal });
      send(res, 200, { floor });
    },
  },
  {
    method: 'GET', path: /^audit\/verify$/,
    run: async (ctx, _req, res) => {
      const brokenAt = (await ctx.vault.verifyAudit());
      const records = (await ctx.vault.auditLog()).length;
      send(res, 200, brokenAt === -1 ? { ok: true, records } : { ok: false, records, brokenAt });
    },
  },
  {
    method: 'GET', path: /^audit\/tail$/,
    run: async (ctx, _req, res, _who, _b, p) => {
      const raw = p.query.get('n');
      const n = raw === null ? TAIL_DEFAULT : Number(raw);
      if (raw !== null && (!/^\d{1,7}$/.test(raw) || n < 1 || n > TAIL_MAX)) throw new AdminError(AdminErrorCode.INVALID_REQUEST, 400, `n must be an integer 1..${TAIL_MAX}`);
      const all = (await ctx.vault.auditLog());
      send(res, 200, { records: all.slice(-n), total: all.length });
    },
  },
];

async function cancel(vault: Vault, kind: 'scrub' | 'repair'): Promise<unknown> {
  const j = jobsOf.get(vault)?.[kind];
  if (j === undefined || j.job.state !== 'running') return jobView(j?.job, kind);
  j.ac.abort(new Error(`${kind} cancelled through the admin API`));
  await j.done;
  return j.job;
}

/**
 * Answers one admin request. `who` comes from the core's SigV4 check; `body` was read and size-bounded by
 * the core. Never throws: every failure is a JSON error response.
 */
export async function handleAdmin(ctx: AdminContext, req: IncomingMessage, res: ServerResponse, who: Who, body: Buffer): Promise<void> {
  try {
    if (!who.admin) throw new AdminError(AdminErrorCode.ACCESS_DENIED, 403, 'Access Denied: the admin API needs an admin principal');
    const target = req.url ?? '';
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    if (!path.startsWith(ADMIN_PREFIX)) throw new AdminError(AdminErrorCode.NOT_FOUND, 404, `not an admin path: the admin API is under ${ADMIN_PREFIX}`);
    const rest = path.slice(ADMIN_PREFIX.length).replace(/\/+$/, '');
    const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
    const matching = routes.filter((r) => r.path.test(rest));
    if (matching.length === 0) throw new AdminError(AdminErrorCode.NOT_FOUND, 404, `no admin route ${JSON.stringify(rest.slice(0, 200))}`);
    const route = matching.find((r) => r.method === req.method);
    if (route === undefined) {
      res.setHeader('allow', [...new Set(matching.map((r) => r.method))].join(', '));
      throw new AdminError(AdminErrorCode.METHOD_NOT_ALLOWED, 405, `${req.method ?? '?'} is not allowed on ${rest} (allowed: ${matching.map((r) => r.method).join(', ')})`);
    }
    const id = route.path.exec(rest)?.[1];
    await route.run(ctx, req, res, who, body, { ...(id !== undefined ? { id } : {}), query });
  } catch (err) {
    const e = mapError(err);
    if (res.headersSent) {
      res.destroy(e);
      return;
    }
    send(res, e.status, { code: e.code, message: e.message, ...(e.svCode !== undefined ? { svCode: e.svCode } : {}) });
  }
}
