/**
 * The security floor record (DESIGN.md I5, issue 13): the weakest settings a pool may run with, signed by a pool
 * key, kept in the catalog and as pool record `floor` on every member. Pure: bytes in, values out.
 *
 * Encoding: the canonical JSON (lib/format/canonical-json.ts) of exactly these fields, as UTF-8, at most
 * FLOOR_BYTES_MAX bytes:
 *   format (FLOOR_FORMAT) | poolId | serial (one more at every change) | timeMs | settings | override? |
 *   signerKeyId (hex) | signature (hex Ed25519 over "shardvault/floor/v1\0" + the same text without `signature`)
 * A record is read only when its text is exactly the canonical text of what it decodes to (one byte form per
 * record), every field has its type and bound, and the signature verifies under a key of the pool; anything
 * else is refused (ERR_SV_FLOOR), never read as a lower floor.
 *
 * `override` is present while the floor stands below an earlier one (lowered with break-glass): it holds the
 * reason, since when, and `previous`, the highest floor before the lowering. Raising the floor back to at least
 * `previous` in every setting clears it. It is inside the signed text, so it cannot be removed unseen either.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

import { ErrorCode, ShardVaultError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { hex } from './ids.js';

/** The floor record's own format version. */
export const FLOOR_FORMAT = 1;
/** The pool record name of the floor on every member (ShardStore.writeRecord). */
export const FLOOR_RECORD = 'floor';
/** Upper bound of an encoded floor record (bounded before it is parsed, I7). */
export const FLOOR_BYTES_MAX = 4096;
/** The longest break-glass reason kept in the record (UTF-8 bytes). */
export const REASON_BYTES_MAX = 512;

/** Hash and signature algorithms this release knows, each the only one it uses. */
export const HASH_ALGORITHMS = ['blake3'] as const;
export const SIGNATURE_ALGORITHMS = ['ed25519'] as const;

const DOMAIN = 'shardvault/floor/v1\0';
const utf8 = new TextEncoder();

export interface FloorSettings {
  /** Minimum data shards per stripe. */
  k: number;
  /** Minimum parity shards per stripe. */
  m: number;
  hash: (typeof HASH_ALGORITHMS)[number];
  signature: (typeof SIGNATURE_ALGORITHMS)[number];
  /** Every write is fsync-durable before it is acknowledged. */
  fsync: boolean;
  /** Every byte read is verified against its hash chain. */
  verifyOnRead: boolean;
  /** The oldest manifest format a reader may accept. */
  manifestFormat: number;
  /** The write quorum is at least k + this. */
  writeQuorumAboveK: number;
}

export interface FloorOverride {
  reason: string;
  sinceMs: number;
  /** The highest floor before it was lowered: raising back to it ends the override. */
  previous: FloorSettings;
}

export interface FloorRecord {
  format: number;
  poolId: string;
  serial: number;
  timeMs: number;
  settings: FloorSettings;
  override?: FloorOverride;
}

/** The floor as `status()` reports it. */
export interface FloorStatus extends FloorSettings {
  serial: number;
  timeMs: number;
  overridden: boolean;
  reason?: string;
  sinceMs?: number;
  previous?: FloorSettings;
}

/** One setting weaker than the floor: `asked` and `floor` are rendered as an operator writes them. */
export interface Weakening {
  setting: keyof FloorSettings | 'writeQuorum';
  asked: string;
  floor: string;
}

export const FLOOR_SETTING_NAMES: ReadonlyArray<keyof FloorSettings> = ['k', 'm', 'hash', 'signature', 'fsync', 'verifyOnRead', 'manifestFormat', 'writeQuorumAboveK'];

const floorError = (message: string) => new ShardVaultError(ErrorCode.FLOOR, message);

/** The settings in which `asked` is weaker than `floor` (empty: `asked` meets the floor). */
export function weakerThan(asked: FloorSettings, floor: FloorSettings): Weakening[] {
  const out: Weakening[] = [];
  const onOff = (b: boolean) => (b ? 'on' : 'off');
  if (asked.k < floor.k) out.push({ setting: 'k', asked: String(asked.k), floor: String(floor.k) });
  if (asked.m < floor.m) out.push({ setting: 'm', asked: String(asked.m), floor: String(floor.m) });
  if (asked.hash !== floor.hash) out.push({ setting: 'hash', asked: asked.hash, floor: floor.hash });
  if (asked.signature !== floor.signature) out.push({ setting: 'signature', asked: asked.signature, floor: floor.signature });
  if (!asked.fsync && floor.fsync) out.push({ setting: 'fsync', asked: onOff(asked.fsync), floor: onOff(floor.fsync) });
  if (!asked.verifyOnRead && floor.verifyOnRead) out.push({ setting: 'verifyOnRead', asked: onOff(asked.verifyOnRead), floor: onOff(floor.verifyOnRead) });
  if (asked.manifestFormat < floor.manifestFormat) out.push({ setting: 'manifestFormat', asked: String(asked.manifestFormat), floor: String(floor.manifestFormat) });
  if (asked.writeQuorumAboveK < floor.writeQuorumAboveK) out.push({ setting: 'writeQuorum', asked: `k+${asked.writeQuorumAboveK}`, floor: `k+${floor.writeQuorumAboveK}` });
  return out;
}

/** `writeQuorum k+1 is below the floor k+2; fsync off is below the floor on` (the ERR_SV_FLOOR message body). */
export function describeWeakenings(w: readonly Weakening[]): string {
  return w.map((x) => `${x.setting} ${x.asked} is below the floor ${x.floor}`).join('; ');
}

/** The stronger of two floors in every setting (algorithms are the one each release knows, so they agree). */
export function strongest(a: FloorSettings, b: FloorSettings): FloorSettings {
  return {
    k: Math.max(a.k, b.k), m: Math.max(a.m, b.m), hash: a.hash, signature: a.signature,
    fsync: a.fsync || b.fsync, verifyOnRead: a.verifyOnRead || b.verifyOnRead,
    manifestFormat: Math.max(a.manifestFormat, b.manifestFormat), writeQuorumAboveK: Math.max(a.writeQuorumAboveK, b.writeQuorumAboveK),
  };
}

/** The floor lowered to `asked` in each setting where `asked` is weaker (what a break-glass override accepts). */
export function weakest(floor: FloorSettings, asked: FloorSettings): FloorSettings {
  return {
    k: Math.min(floor.k, asked.k), m: Math.min(floor.m, asked.m), hash: asked.hash, signature: asked.signature,
    fsync: floor.fsync && asked.fsync, verifyOnRead: floor.verifyOnRead && asked.verifyOnRead,
    manifestFormat: Math.min(floor.manifestFormat, asked.manifestFormat), writeQuorumAboveK: Math.min(floor.writeQuorumAboveK, asked.writeQuorumAboveK),
  };
}

/** What status() shows of a record. */
export function floorStatus(r: FloorRecord): FloorStatus {
  return {
    ...r.settings, serial: r.serial, timeMs: r.timeMs, overridden: r.override !== undefined,
    ...(r.override !== undefined ? { reason: r.override.reason, sinceMs: r.override.sinceMs, previous: r.override.previous } : {}),
  };
}

// ------------------------------------------------------------------ encoding

function unsigned(r: FloorRecord, signerKeyId: Uint8Array): Record<string, unknown> {
  return { format: r.format, poolId: r.poolId, serial: r.serial, timeMs: r.timeMs, settings: r.settings, ...(r.override !== undefined ? { override: r.override } : {}), signerKeyId: hex(signerKeyId) };
}

/** The signed bytes of a floor record (checked as a reader checks it, so a bad record is never written). */
export function signFloor(r: FloorRecord, signer: { keyId: Uint8Array; privateKey: KeyObject }): Uint8Array {
  checkRecord(r);
  const body = unsigned(r, signer.keyId);
  const signature = edSign(null, Buffer.from(DOMAIN + canonicalJson(body)), signer.privateKey);
  const bytes = utf8.encode(canonicalJson({ ...body, signature: hex(signature) }));
  if (bytes.length > FLOOR_BYTES_MAX) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `the floor record would be ${bytes.length} bytes, more than ${FLOOR_BYTES_MAX}`);
  return bytes;
}

/**
 * Decodes and verifies a signed floor record of pool `poolId`; `where` names it in the error (`the catalog`,
 * `disk d1`). Throws ERR_SV_FLOOR for anything but a canonical, bounded record signed by a key of the pool.
 */
export function openFloor(bytesUntrusted: Uint8Array, poolId: string, publicKeyFor: (keyId: Uint8Array) => KeyObject | null, where: string): FloorRecord {
  const bad = (why: string) => floorError(`the security floor record in ${where} is refused: ${why} (it was damaged or tampered with; the floor is not lowered by it)`);
  if (!(bytesUntrusted instanceof Uint8Array) || bytesUntrusted.length === 0 || bytesUntrusted.length > FLOOR_BYTES_MAX) throw bad(`not 1..${FLOOR_BYTES_MAX} bytes`);
  let text: string;
  let v: Record<string, unknown>;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytesUntrusted);
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad('not UTF-8 JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('not an object');
  const allowed = ['format', 'poolId', 'serial', 'timeMs', 'settings', 'override', 'signerKeyId', 'signature'];
  const extra = Object.keys(v).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw bad(`unknown field ${extra[0]}`);
  if (v.format !== FLOOR_FORMAT) throw bad(`format ${String(v.format)} is not ${FLOOR_FORMAT}`);
  if (typeof v.signerKeyId !== 'string' || !/^[0-9a-f]{32}$/.test(v.signerKeyId)) throw bad('bad signer key id');
  if (typeof v.signature !== 'string' || !/^[0-9a-f]{128}$/.test(v.signature)) throw bad('bad signature field');
  const record: FloorRecord = {
    format: FLOOR_FORMAT, poolId: v.poolId as string, serial: v.serial as number, timeMs: v.timeMs as number, settings: v.settings as FloorSettings,
    ...(v.override !== undefined ? { override: v.override as FloorOverride } : {}),
  };
  try {
    checkRecord(record);
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (record.poolId !== poolId) throw bad(`it belongs to pool ${record.poolId}`);
  const signerKeyId = Buffer.from(v.signerKeyId, 'hex');
  const body = unsigned(record, signerKeyId);
  if (canonicalJson({ ...body, signature: v.signature }) !== text) throw bad('not in canonical form');
  const key = publicKeyFor(signerKeyId);
  if (key === null) throw bad('signed by a key that is not one of the pool\'s');
  if (!edVerify(null, Buffer.from(DOMAIN + canonicalJson(body)), key, Buffer.from(v.signature, 'hex'))) throw bad('the signature does not verify');
  return record;
}

function checkSettings(s: unknown, what: string): void {
  if (s === null || typeof s !== 'object' || Array.isArray(s)) throw new Error(`${what} is not an object`);
  const o = s as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !(FLOOR_SETTING_NAMES as readonly string[]).includes(k));
  if (extra.length > 0) throw new Error(`${what} has an unknown setting ${extra[0]}`);
  const int = (name: string, min: number, max: number) => {
    const x = o[name];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) throw new Error(`${what}.${name} is not an integer ${min}..${max}`);
  };
  int('k', 1, 255);
  int('m', 1, 255);
  int('manifestFormat', 1, 65535);
  int('writeQuorumAboveK', 1, 255);
  if (!(HASH_ALGORITHMS as readonly unknown[]).includes(o.hash)) throw new Error(`${what}.hash ${String(o.hash)} is not one this release knows (${HASH_ALGORITHMS.join(', ')})`);
  if (!(SIGNATURE_ALGORITHMS as readonly unknown[]).includes(o.signature)) throw new Error(`${what}.signature ${String(o.signature)} is not one this release knows (${SIGNATURE_ALGORITHMS.join(', ')})`);
  if (typeof o.fsync !== 'boolean' || typeof o.verifyOnRead !== 'boolean') throw new Error(`${what}.fsync and verifyOnRead must be booleans`);
}

function checkRecord(r: FloorRecord): void {
  if (typeof r.poolId !== 'string' || !/^[0-9a-f]{1,64}$/.test(r.poolId)) throw new Error('poolId is not a pool id');
  if (!Number.isSafeInteger(r.serial) || r.serial < 1) throw new Error('serial is not a positive integer');
  if (!Number.isSafeInteger(r.timeMs) || r.timeMs < 0) throw new Error('timeMs is not a time');
  checkSettings(r.settings, 'settings');
  if (r.override !== undefined) {
    const o = r.override as unknown as Record<string, unknown>;
    if (o === null || typeof o !== 'object' || Object.keys(o).some((k) => !['reason', 'sinceMs', 'previous'].includes(k))) throw new Error('override has unknown fields');
    if (typeof o.reason !== 'string' || o.reason.length === 0 || utf8.encode(o.reason).length > REASON_BYTES_MAX) throw new Error(`override.reason must be 1..${REASON_BYTES_MAX} bytes`);
    if (!Number.isSafeInteger(o.sinceMs) || (o.sinceMs as number) < 0) throw new Error('override.sinceMs is not a time');
    checkSettings(o.previous, 'override.previous');
  }
}
