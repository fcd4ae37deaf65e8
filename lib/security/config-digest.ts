/**
 * Configuration drift (issue 13; docs/security-floor.md): the effective configuration of a read-write open --
 * the pool's configuration, the security settings and floor, the open options, and what the embedder passes
 * as its own (the daemon: its config file merged with its environment and command line) -- hashed canonically
 * into the audit chain.
 *
 * A `config.open` record (with the digest) is written only when the digest differs from the last recorded one,
 * not at every open: every CLI command that changes the pool opens it, and one record per command would bury
 * the changes the chain is meant to show. The configuration itself (not only its digest) is kept in the catalog
 * (meta item `config.effective`, with the one before it), so `shardvault config diff` can say what changed.
 *
 * Each embedder is a source (`library`, `cli`, `daemon`) with its own section: an open by one source leaves the
 * others' last known sections as they were, so a CLI command beside a daemon's pool does not read as a change of
 * the daemon's settings. A change of a security-relevant setting (isSecurityRelevant) is also a `config.drift`
 * audit record, kept as meta item `config.drift` (status and the daemon's metric show it) and a 'configDrift'
 * event (the daemon logs it as a warning).
 */
import type { Engine } from '../engine/context.js';
import { ErrorCode, ShardVaultError } from '../errors.js';
import type { ConfigChange, ConfigDriftEvent } from '../events.js';
import { canonicalJson } from '../format/canonical-json.js';
import type { FloorRecord } from '../format/floor.js';
import { hex } from '../format/ids.js';
import { blake3Sync } from '../hash.js';
import { currentSettings } from './floor.js';

/** The last recorded effective configuration (and the one before it). */
export const CONFIG_META = 'config.effective';
/** The last change of a security-relevant setting. */
export const CONFIG_DRIFT_META = 'config.drift';
/** Upper bound of the canonical text of an effective configuration (I7: an embedder's section is bounded). */
export const CONFIG_BYTES_MAX = 64 * 1024;

/** Who opens the pool, and its own effective settings (plain JSON: objects, arrays, strings, numbers, booleans). */
export interface ConfigSource {
  name: string;
  settings?: unknown;
}

export interface EffectiveConfig {
  pool: { poolId: string; formatVersion: number; k: number; m: number; blockBytes: number; failureDomain: string; writeQuorum: number; disks: string[] };
  security: { hash: string; signature: string; fsync: boolean; verifyOnRead: boolean; manifestFormat: number };
  floor: { serial: number; overridden: boolean } | null;
  sources: Record<string, { open: Record<string, unknown>; settings?: unknown }>;
}

export interface RecordedConfig {
  digest: string;
  timeMs: number;
  source: string;
  config: EffectiveConfig;
  previous?: { digest: string; timeMs: number; source: string; config: EffectiveConfig };
}

/** The last change of security-relevant settings, as kept in `config.drift` and emitted as 'configDrift'. */
export type ConfigDrift = ConfigDriftEvent;

const SOURCE_RE = /^[a-z][a-z0-9-]{0,31}$/;

/** Checks an embedder's source: a short lower-case name and settings whose canonical text is bounded. */
export function checkSource(value: unknown): ConfigSource {
  const o = value as { name?: unknown; settings?: unknown } | null;
  if (o === null || typeof o !== 'object' || Object.keys(o).some((k) => k !== 'name' && k !== 'settings') || typeof o.name !== 'string' || !SOURCE_RE.test(o.name)) {
    throw new ShardVaultError(ErrorCode.INVALID_ARG_TYPE, 'configSource must be { name: 1-32 lower-case letters, digits or -, settings?: JSON }');
  }
  if (o.settings !== undefined && canonicalJson(o.settings).length > CONFIG_BYTES_MAX / 2) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `configSource.settings is more than ${CONFIG_BYTES_MAX / 2} characters of JSON`);
  }
  return o.settings === undefined ? { name: o.name } : { name: o.name, settings: JSON.parse(canonicalJson(o.settings)) as unknown };
}

/** The effective configuration of this open; the other sources' sections come from the last recorded one. */
export function effectiveConfig(ctx: Engine, floor: FloorRecord | undefined, source: ConfigSource, open: Record<string, unknown>, last?: EffectiveConfig): EffectiveConfig {
  const c = ctx.config;
  const s = currentSettings(ctx);
  const sources = { ...(last?.sources ?? {}) };
  sources[source.name] = { open, ...(source.settings !== undefined ? { settings: source.settings } : {}) };
  return {
    pool: { poolId: c.poolId, formatVersion: c.formatVersion, k: c.k, m: c.m, blockBytes: c.blockBytes, failureDomain: c.failureDomain, writeQuorum: c.writeQuorum, disks: c.disks.map((d) => `${d.id}:${d.state}`) },
    security: { hash: s.hash, signature: s.signature, fsync: s.fsync, verifyOnRead: s.verifyOnRead, manifestFormat: s.manifestFormat },
    floor: floor === undefined ? null : { serial: floor.serial, overridden: floor.override !== undefined },
    sources,
  };
}

/** BLAKE3 (context `shardvault/config/v1`) of the canonical JSON, hex. */
export function configDigest(c: EffectiveConfig): string {
  const text = canonicalJson(c);
  if (text.length > CONFIG_BYTES_MAX) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `the effective configuration is ${text.length} characters of JSON, more than ${CONFIG_BYTES_MAX}`);
  return hex(blake3Sync(new TextEncoder().encode(text), { context: 'shardvault/config/v1' }));
}

/**
 * Settings whose change can weaken what the pool promises: the coding and quorum, the security settings and
 * floor, a source's write quorum, and a daemon's pool section, listen addresses and request limits.
 */
export function isSecurityRelevant(path: string): boolean {
  return /^pool\.(k|m|writeQuorum|failureDomain)$/.test(path) || /^(security|floor)\./.test(path) ||
    /^sources\.[^.]+\.open\.writeQuorum$/.test(path) || /^sources\.[^.]+\.settings\.(pool|address|metricsAddress|limits)(\.|$)/.test(path);
}

/** Every leaf that differs between two configurations (arrays compare as one value), in path order. */
export function diffConfig(before: unknown, after: unknown): ConfigChange[] {
  const out: ConfigChange[] = [];
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const walk = (a: unknown, b: unknown, path: string) => {
    // A section that appears or goes is listed setting by setting, so each one's relevance is judged.
    if ((isObject(a) || a === undefined) && (isObject(b) || b === undefined) && (isObject(a) || isObject(b))) {
      const x = (a ?? {}) as Record<string, unknown>;
      const y = (b ?? {}) as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) walk(x[k], y[k], path === '' ? k : `${path}.${k}`);
      return;
    }
    if (canonicalJson(a) === canonicalJson(b)) return;
    out.push({ path, ...(a !== undefined ? { before: a } : {}), ...(b !== undefined ? { after: b } : {}), security: isSecurityRelevant(path) });
  };
  walk(before, after, '');
  return out;
}

const changeText = (c: ConfigChange) => `${c.path} ${c.before === undefined ? '(unset)' : canonicalJson(c.before)} -> ${c.after === undefined ? '(unset)' : canonicalJson(c.after)}`;

/**
 * Records `config` when its digest differs from the last recorded one (`action`: `config.open` at an open,
 * `config.change` after a reconfigure), with the security drift record and event when a security-relevant
 * setting changed. Returns the drift, if any.
 */
export async function recordConfig(ctx: Engine, config: EffectiveConfig, source: string, action: string, principal: string): Promise<ConfigDrift | undefined> {
  const last = await ctx.catalog.getMeta<RecordedConfig>(CONFIG_META);
  const digest = configDigest(config);
  if (last?.digest === digest) return undefined;
  const timeMs = Date.now();
  const changes = last === undefined ? [] : diffConfig(last.config, config);
  const value: RecordedConfig = { digest, timeMs, source, config, ...(last !== undefined ? { previous: { digest: last.digest, timeMs: last.timeMs, source: last.source, config: last.config } } : {}) };
  const listed = changes.length === 0 ? 'first record' : `changed: ${changes.map((c) => c.path).join(', ')}`;
  await ctx.catalog.setMeta(CONFIG_META, value, { action, principal, timeMs, detail: `source=${source} digest=${digest} previous=${last?.digest ?? 'none'} ${listed}`.slice(0, 1000) });
  const security = changes.filter((c) => c.security);
  if (security.length === 0) return undefined;
  const drift: ConfigDrift = { timeMs, source, digest, changes: security };
  await ctx.catalog.setMeta(CONFIG_DRIFT_META, drift, { action: 'config.drift', principal, timeMs, detail: `source=${source} ${security.map(changeText).join('; ')}`.slice(0, 1000) });
  ctx.events.emit('configDrift', drift);
  return drift;
}
