/**
 * The daemon's configuration: a JSON file validated with zod (unknown keys are refused, naming the key and
 * where it is), merged with the command line (the command line wins) over the defaults. The effective value
 * is hashed (sha256 of canonical JSON: keys sorted) and written to the audit chain at every start, so a
 * configuration change is evidence, not a silent drift.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { z } from 'zod';

import { ErrorCode, ShardVaultError } from '../errors.js';
import { canonicalJson } from '../format/canonical-json.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';

const CONFIG_BYTES_MAX = 1024 * 1024;

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

const limitsSchema = z.object({
  headerBytesMax: positiveInt.max(1024 * 1024),
  urlBytesMax: positiveInt.max(1024 * 1024),
  queryParamsMax: positiveInt.max(10_000),
  xmlBodyBytesMax: positiveInt.max(64 * 1024 * 1024),
  xmlDepthMax: positiveInt.max(100),
  deleteKeysMax: positiveInt.max(1000),
  metadataBytesMax: positiveInt.max(2048),
  objectBytesMax: positiveInt,
  concurrentRequestsMax: positiveInt.max(1_000_000),
  principalShare: z.number().gt(0).lte(1),
  bytesInFlightMax: positiveInt,
  bodyChargeBytesMax: positiveInt,
  headersTimeoutMs: positiveInt,
  requestTimeoutMs: nonNegativeInt,
  bodyIdleTimeoutMs: positiveInt,
  bodyBytesPerSecMin: nonNegativeInt,
  bodyRateGraceMs: positiveInt,
  keepAliveTimeoutMs: positiveInt,
  retryAfterSeconds: positiveInt.max(3600),
  shutdownDeadlineMs: nonNegativeInt,
}).strict().partial();

const diskSchema = z.object({
  path: z.string().min(1).max(4096),
  labels: z.record(z.string().min(1).max(64), z.string().max(256)).optional(),
  mountPoint: z.boolean().optional(),
}).strict();

const poolSchema = z.object({
  disks: z.array(diskSchema).min(2).max(256).optional(),
  k: z.number().int().min(1).max(255).optional(),
  m: z.number().int().min(1).max(255).optional(),
  blockBytes: z.number().int().positive().optional(),
  failureDomain: z.string().min(1).max(64).optional(),
  writeQuorum: z.number().int().positive().optional(),
}).strict();

const addressRe = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+|[0-9a-fA-F:]+):(\d{1,5})$/;

export const configSchema = z.object({
  data: z.string().min(1).max(4096).optional(),
  address: z.string().regex(addressRe, 'expected HOST:PORT').optional(),
  /** A second listener serving only GET /metrics, unauthenticated (for Prometheus; bind it to a private address). */
  metricsAddress: z.string().regex(addressRe, 'expected HOST:PORT').optional(),
  domain: z.string().min(1).max(253).regex(/^[a-z0-9.-]+$/, 'expected a DNS name').optional(),
  region: z.string().min(1).max(64).regex(/^[a-z0-9-]+$/, 'expected a region name like us-east-1').optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
  pool: poolSchema.optional(),
  limits: limitsSchema.optional(),
}).strict();

export type ConfigFile = z.infer<typeof configSchema>;

export interface EffectiveConfig {
  data: string;
  address: { host: string; port: number };
  metricsAddress?: { host: string; port: number };
  domain?: string;
  region: string;
  logLevel: string;
  pool: { disks?: Array<{ path: string; labels?: Record<string, string>; mountPoint?: boolean }>; k: number; m: number; blockBytes: number; failureDomain: string; writeQuorum?: number };
  limits: Limits;
}

function configError(where: string, issues: z.core.$ZodIssue[]): ShardVaultError {
  const first = issues[0]!;
  const path = first.path.map(String).join('.');
  if (first.code === 'unrecognized_keys') {
    const keys = (first as { keys: string[] }).keys;
    return new ShardVaultError(ErrorCode.UNKNOWN_OPTION, `${where}: unknown key ${keys.map((k) => JSON.stringify(path === '' ? k : `${path}.${k}`)).join(', ')}`);
  }
  return new ShardVaultError(first.code === 'invalid_type' ? ErrorCode.INVALID_ARG_TYPE : ErrorCode.OUT_OF_RANGE, `${where}: ${path === '' ? '(top level)' : path}: ${first.message}`);
}

export function parseConfig(value: unknown, where = 'config'): ConfigFile {
  const r = configSchema.safeParse(value);
  if (!r.success) throw configError(where, r.error.issues);
  return r.data;
}

export async function readConfigFile(file: string): Promise<ConfigFile> {
  let text: string;
  try {
    const buf = await readFile(file);
    if (buf.length > CONFIG_BYTES_MAX) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${file}: the config file is larger than ${CONFIG_BYTES_MAX} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof ShardVaultError) throw err;
    const e = err as NodeJS.ErrnoException;
    throw new ShardVaultError(ErrorCode.IO, `${file}: cannot read the config file: ${e.message}`, { ...(e.errno !== undefined ? { errno: e.errno } : {}), ...(e.syscall !== undefined ? { syscall: e.syscall } : {}), path: file });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ShardVaultError(ErrorCode.INVALID_ARG_TYPE, `${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(json, file);
}

export function parseAddress(s: string, where = 'address'): { host: string; port: number } {
  const m = addressRe.exec(s);
  if (m === null) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${where}: expected HOST:PORT (e.g. 127.0.0.1:9000), got ${JSON.stringify(s)}`);
  const port = Number(m[2]);
  if (port > 65535) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${where}: port ${port} is above 65535`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

export interface ConfigOverrides { dataDir?: string; address?: string; metricsAddress?: string; domain?: string; region?: string; logLevel?: string; limits?: Partial<Limits>; writeQuorum?: number }

/**
 * The daemon's environment variables that set configuration (between the config file and the command line):
 * SHARDVAULT_WRITE_QUORUM, the pool's write quorum (checked against the security floor at open like the file's
 * pool.writeQuorum). A value that is not a positive integer is an error naming the variable.
 */
export function environmentOverrides(env: NodeJS.ProcessEnv): Pick<ConfigOverrides, 'writeQuorum'> {
  const raw = env.SHARDVAULT_WRITE_QUORUM;
  if (raw === undefined) return {};
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `SHARDVAULT_WRITE_QUORUM: expected a positive integer, got ${JSON.stringify(raw)}`);
  return { writeQuorum: n };
}

/** Defaults < config file < environment (environmentOverrides) and explicit options. */
export function effectiveConfig(file: ConfigFile | undefined, o: ConfigOverrides): EffectiveConfig {
  const f = file ?? {};
  const limitsOverride = o.limits === undefined ? {} : (() => {
    const r = limitsSchema.safeParse(o.limits);
    if (!r.success) throw configError('limits', r.error.issues);
    return r.data;
  })();
  const data = o.dataDir ?? f.data;
  if (data === undefined) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'a data directory is required (--data DIR or "data" in the config file)');
  const logLevel = o.logLevel ?? f.logLevel ?? 'info';
  parseConfig({ logLevel }, 'logLevel');
  const region = o.region ?? f.region ?? 'us-east-1';
  parseConfig({ region }, 'region');
  const domain = o.domain ?? f.domain;
  if (domain !== undefined) parseConfig({ domain }, 'domain');
  const p = f.pool ?? {};
  const writeQuorum = o.writeQuorum ?? p.writeQuorum;
  return {
    data,
    address: parseAddress(o.address ?? f.address ?? '127.0.0.1:9000'),
    ...((o.metricsAddress ?? f.metricsAddress) !== undefined ? { metricsAddress: parseAddress((o.metricsAddress ?? f.metricsAddress)!, 'metricsAddress') } : {}),
    ...(domain !== undefined ? { domain } : {}),
    region,
    logLevel,
    pool: {
      ...(p.disks !== undefined ? { disks: p.disks } : {}),
      k: p.k ?? 4,
      m: p.m ?? 2,
      blockBytes: p.blockBytes ?? 1 << 20,
      failureDomain: p.failureDomain ?? 'disk',
      ...(writeQuorum !== undefined ? { writeQuorum } : {}),
    },
    limits: { ...DEFAULT_LIMITS, ...(f.limits ?? {}), ...limitsOverride } as Limits,
  };
}

export function configHash(c: EffectiveConfig): string {
  return createHash('sha256').update(canonicalJson(c)).digest('hex');
}
