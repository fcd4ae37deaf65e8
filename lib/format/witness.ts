/**
 * The freshness witness record (issue 13, I4's last sentence): what the pool had committed at some moment,
 * signed by a pool key, kept outside the pool so that a restore of every disk and the catalog from an older
 * snapshot cannot also roll the witness back.
 *
 * The global order of commits is the catalog's audit chain: every commit, and every other mutation, appends
 * exactly one hash-chained record, so the audit head (index and hash of the newest record) says both how far
 * the catalog got and which history it is. Per-key sequences are not a global order (each key counts its own),
 * so the record carries no separate "highest sequence": the audit index is that number.
 *
 * Layout (fixed 154 bytes, big-endian):
 *   magic "SVWT" | u16 format (1) | 16 pool id | u8 has head (0/1) | u64 audit index | 32 audit hash
 *   | u64 time (ms) | 16 signer key id | 64 Ed25519 signature over "shardvault/witness/v1\0" + the bytes before it
 * Every field has a fixed length, so decoding allocates nothing that the input controls (I7), and any other
 * length, magic or format is refused before the signature is looked at.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

import { ErrorCode, ShardVaultError } from '../errors.js';
import { hex } from './ids.js';

/** The witness format this release writes and reads. */
export const WITNESS_FORMAT = 1;

const MAGIC = new TextEncoder().encode('SVWT');
const DOMAIN = new TextEncoder().encode('shardvault/witness/v1\0');
const BODY_BYTES = 4 + 2 + 16 + 1 + 8 + 32 + 8 + 16;
const SIGNATURE_BYTES = 64;
/** The length of every witness record. */
export const WITNESS_BYTES = BODY_BYTES + SIGNATURE_BYTES;

/** The newest record of the audit chain: how far the catalog's history got, and which history it is. */
export interface AuditHead {
  index: number;
  hash: string; // hex, 32 bytes
}

export interface WitnessRecord {
  format: number;
  poolId: string; // hex, 16 bytes
  /** The catalog's audit head when the record was made; null for a pool that has no audit record yet. */
  head: AuditHead | null;
  timeMs: number;
  signerKeyId: Uint8Array; // 16 bytes
}

function formatError(message: string): ShardVaultError {
  return new ShardVaultError(ErrorCode.MANIFEST_FORMAT, `witness record: ${message}`);
}

function hexField(name: string, value: string, bytes: number): Buffer {
  if (typeof value !== 'string' || !/^[0-9a-f]*$/.test(value) || value.length !== bytes * 2) throw formatError(`${name} must be ${bytes} bytes of lowercase hex`);
  return Buffer.from(value, 'hex');
}

function body(r: WitnessRecord): Buffer {
  if (r.format !== WITNESS_FORMAT) throw formatError(`format ${String(r.format)} is not ${WITNESS_FORMAT}`);
  if (!(r.signerKeyId instanceof Uint8Array) || r.signerKeyId.length !== 16) throw formatError('signerKeyId must be 16 bytes');
  if (!Number.isSafeInteger(r.timeMs) || r.timeMs < 0) throw formatError('timeMs must be a non-negative safe integer');
  if (r.head !== null && (!Number.isSafeInteger(r.head.index) || r.head.index < 0)) throw formatError('head.index must be a non-negative safe integer');
  const out = Buffer.alloc(BODY_BYTES);
  let at = 0;
  out.set(MAGIC, at);
  at += 4;
  out.writeUInt16BE(r.format, at);
  at += 2;
  out.set(hexField('poolId', r.poolId, 16), at);
  at += 16;
  out.writeUInt8(r.head === null ? 0 : 1, at);
  at += 1;
  out.writeBigUInt64BE(BigInt(r.head?.index ?? 0), at);
  at += 8;
  if (r.head !== null) out.set(hexField('head.hash', r.head.hash, 32), at);
  at += 32;
  out.writeBigUInt64BE(BigInt(r.timeMs), at);
  at += 8;
  out.set(r.signerKeyId, at);
  return out;
}

function message(bodyBytes: Uint8Array): Buffer {
  return Buffer.concat([DOMAIN, bodyBytes]);
}

/** The signed bytes of a witness record (signed by `privateKey`, whose id `r.signerKeyId` names). */
export function signWitness(r: WitnessRecord, privateKey: KeyObject): Uint8Array {
  const b = body(r);
  return Buffer.concat([b, edSign(null, message(b), privateKey)]);
}

/**
 * Decodes and verifies a witness record: exact length, magic, format, a head flag of 0 or 1 (with an all-zero
 * head when 0), then the signature by the key `publicKeyFor` returns for its signer id (null: not a key of
 * this pool). Throws ERR_SV_MANIFEST_FORMAT for malformed bytes and ERR_SV_MANIFEST_SIGNATURE for a signature
 * that does not verify.
 */
export function verifyWitness(untrusted: Uint8Array, publicKeyFor: (keyId: Uint8Array) => KeyObject | null): WitnessRecord {
  if (!(untrusted instanceof Uint8Array)) throw formatError(`must be ${WITNESS_BYTES} bytes, got ${typeof untrusted}`);
  if (untrusted.length !== WITNESS_BYTES) throw formatError(`must be ${WITNESS_BYTES} bytes, got ${untrusted.length < WITNESS_BYTES ? untrusted.length : 'more'}`);
  const b = Buffer.from(untrusted.buffer, untrusted.byteOffset, untrusted.length);
  if (Buffer.compare(b.subarray(0, 4), MAGIC) !== 0) throw formatError('bad magic');
  const format = b.readUInt16BE(4);
  if (format !== WITNESS_FORMAT) throw formatError(`format ${format} is not ${WITNESS_FORMAT} (written by another release?)`);
  const poolId = hex(b.subarray(6, 22));
  const hasHead = b.readUInt8(22);
  const index = b.readBigUInt64BE(23);
  const hash = b.subarray(31, 63);
  if (hasHead > 1) throw formatError('bad head flag');
  if (hasHead === 0 && (index !== 0n || hash.some((x) => x !== 0))) throw formatError('a record without a head has a non-zero head');
  if (index > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError('audit index out of range');
  const time = b.readBigUInt64BE(63);
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) throw formatError('time out of range');
  const signerKeyId = new Uint8Array(b.subarray(71, 87));
  const key = publicKeyFor(signerKeyId);
  if (key === null) throw new ShardVaultError(ErrorCode.MANIFEST_SIGNATURE, `witness record: signer key ${hex(signerKeyId)} is not a key of this pool`);
  if (!edVerify(null, message(b.subarray(0, BODY_BYTES)), key, b.subarray(BODY_BYTES))) {
    throw new ShardVaultError(ErrorCode.MANIFEST_SIGNATURE, 'witness record: the signature does not verify');
  }
  return { format, poolId, head: hasHead === 1 ? { index: Number(index), hash: hex(hash) } : null, timeMs: Number(time), signerKeyId };
}

/** `a:hash` for messages and audit details (`none` for a pool without audit records). */
export function describeHead(h: AuditHead | null): string {
  return h === null ? 'none' : `${h.index}:${h.hash}`;
}
