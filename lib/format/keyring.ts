/**
 * The pool's public key ring (issue 13, docs/keyring.md): the Ed25519 keys that sign manifests, tombstones and
 * receipts, each with an id, a state (active, retired, revoked) and times, as canonical, versioned, bounded
 * bytes. Pure: no file system (lib/security/keyring.ts keeps the ring and the private keys in the meta
 * directory, the catalog and on every member).
 *
 * A ring is a chain of versions; a new version is made by every change (adoption, rotation, revocation) and
 * names the hash of the version before it, and is signed by the key that was active in that version (the
 * first by its own active key). So a copy of the chain found on a disk is checked from its first version on,
 * against an anchor (the pool's original key id): whoever can write to a disk but holds no active private key
 * can neither add a key nor take a revocation back.
 *
 * Layout of one ring version (big-endian; str8 = u8 length then UTF-8):
 *   "SVKR" u16 format=1 | u32 generation (1, 2, ...) | prevHash[32] (zeros in generation 1) | u64 timeMs |
 *   u8 entryCount (1..64) | entry x count (ids strictly ascending) | signerKeyId[16] | signature[64]
 *   entry: keyId[16] | Ed25519 public key[32] | u8 state (1 active, 2 retired, 3 revoked) | u64 createdMs |
 *          u64 retiredMs (0 exactly when active) | u64 revokedMs (0 unless revoked) |
 *          str8 revokeReason (1..255 bytes when revoked, else empty)
 * The signature is Ed25519 over "shardvault/keyring/v1\0" || the bytes before it; the version's hash (what the
 * next version names) is BLAKE3 derive "shardvault/keyring-hash/v1" of all its bytes, signature included.
 * The chain: "SVKC" u16 format=1 | u16 versionCount (>= 1) | (u32 length, ring version) x count, at most
 * KEYRING_LIMITS.chainBytesMax bytes (a pool record's limit, so every member can keep it).
 * N.B. Stored bytes: change them only with a new format version.
 */
import { createPublicKey, sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';

import { ErrorCode, ShardVaultError } from '../errors.js';
import { blake3Sync } from '../hash.js';
import { hex, keyId } from './ids.js';
import { Reader, Writer } from './manifest.js';

export const KEYRING_FORMAT = 1;
export const KEYRING_LIMITS = {
  keysMax: 64,
  reasonBytesMax: 255,
  /** The whole chain: ShardStore's pool-record limit (lib/store/names.ts RECORD_BYTES_MAX). */
  chainBytesMax: 1 << 20,
} as const;

export type KeyState = 'active' | 'retired' | 'revoked';

export interface KeyEntry {
  /** Hex key id (lib/format/ids.ts keyId of the public key). */
  id: string;
  /** The raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  state: KeyState;
  createdMs: number;
  /** When it stopped being the active key. */
  retiredMs?: number;
  revokedMs?: number;
  revokeReason?: string;
}

export interface RingVersion {
  generation: number;
  /** Hash of the previous version's bytes (zeros for the first). */
  prevHash: Uint8Array;
  timeMs: number;
  entries: KeyEntry[];
  /** Hex id of the key that signed this version: the previous version's active key (the first: its own). */
  signerKeyId: string;
}

/** A verified chain: its versions oldest first, each with its bytes. */
export interface KeyChain {
  versions: RingVersion[];
  raw: Uint8Array[];
}

const RING_MAGIC = Uint8Array.from([0x53, 0x56, 0x4b, 0x52]); // "SVKR"
const CHAIN_MAGIC = Uint8Array.from([0x53, 0x56, 0x4b, 0x43]); // "SVKC"
const SIGNATURE_DOMAIN = new TextEncoder().encode('shardvault/keyring/v1\0');
const RING_HASH_CONTEXT = 'shardvault/keyring-hash/v1';
const SIGNATURE_BYTES = 64;
const STATES: readonly KeyState[] = ['active', 'retired', 'revoked'];
/** The DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function ringError(message: string): ShardVaultError {
  return new ShardVaultError(ErrorCode.CORRUPT, `key ring: ${message}`);
}

/** The raw 32-byte public key of an Ed25519 KeyObject (public or private). */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const der = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  if (der.length !== ED25519_SPKI_PREFIX.length + 32 || !der.subarray(0, ED25519_SPKI_PREFIX.length).equals(ED25519_SPKI_PREFIX)) throw ringError('not an Ed25519 key');
  return new Uint8Array(der.subarray(ED25519_SPKI_PREFIX.length));
}

/** The KeyObject of a raw Ed25519 public key. */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function ringHash(raw: Uint8Array): Uint8Array {
  return blake3Sync(raw, { context: RING_HASH_CONTEXT });
}

function message(body: Uint8Array): Uint8Array {
  const msg = new Uint8Array(SIGNATURE_DOMAIN.length + body.length);
  msg.set(SIGNATURE_DOMAIN);
  msg.set(body, SIGNATURE_DOMAIN.length);
  return msg;
}

/** The active entry of a version (checkEntries makes sure there is exactly one). */
export function activeEntry(v: Pick<RingVersion, 'entries'>): KeyEntry {
  const active = v.entries.filter((e) => e.state === 'active');
  if (active.length !== 1) throw ringError(`${active.length} active keys, exactly one expected`);
  return active[0];
}

/** The rules every version's entries keep, whether being encoded or decoded. */
function checkEntries(entries: readonly KeyEntry[]): void {
  if (entries.length < 1 || entries.length > KEYRING_LIMITS.keysMax) throw ringError(`${entries.length} keys, 1..${KEYRING_LIMITS.keysMax} allowed`);
  activeEntry({ entries: [...entries] });
  entries.forEach((e, i) => {
    if (i > 0 && !(entries[i - 1].id < e.id)) throw ringError('key ids are not strictly ascending');
    if (!(e.publicKey instanceof Uint8Array) || e.publicKey.length !== 32) throw ringError(`key ${e.id}: public key is not 32 bytes`);
    if (hex(keyId(publicKeyObject(e.publicKey))) !== e.id) throw ringError(`key ${e.id}: the id is not its public key's`);
    if (!STATES.includes(e.state)) throw ringError(`key ${e.id}: unknown state`);
    for (const t of [e.createdMs, e.retiredMs ?? 0, e.revokedMs ?? 0]) {
      if (!Number.isSafeInteger(t) || t < 0) throw ringError(`key ${e.id}: a time is not a millisecond count`);
    }
    if (e.createdMs === 0) throw ringError(`key ${e.id}: no creation time`);
    if ((e.state === 'active') !== (e.retiredMs === undefined)) throw ringError(`key ${e.id}: a retirement time exactly when not active`);
    if ((e.state === 'revoked') !== (e.revokedMs !== undefined) || (e.state === 'revoked') !== (e.revokeReason !== undefined)) throw ringError(`key ${e.id}: a revocation time and reason exactly when revoked`);
    if (e.revokeReason !== undefined) {
      const n = Buffer.byteLength(e.revokeReason, 'utf8');
      if (n < 1 || n > KEYRING_LIMITS.reasonBytesMax) throw ringError(`key ${e.id}: the revocation reason must be 1..${KEYRING_LIMITS.reasonBytesMax} UTF-8 bytes`);
    }
  });
}

/** Encodes and signs one ring version with `signer` (whose id must be `v.signerKeyId`). */
export function encodeRingVersion(v: RingVersion, signer: KeyObject): Uint8Array {
  checkEntries(v.entries);
  if (!Number.isSafeInteger(v.generation) || v.generation < 1 || v.generation > 0xffffffff) throw ringError('generation out of range');
  if (hex(keyId(createPublicKey(signer))) !== v.signerKeyId) throw ringError('signed by another key than the one it names');
  const w = new Writer(ringError);
  w.fixed(RING_MAGIC, 4, 'magic');
  w.u16(KEYRING_FORMAT);
  w.u32(v.generation);
  w.fixed(v.prevHash, 32, 'prevHash');
  w.u64(BigInt(v.timeMs));
  w.u8(v.entries.length);
  for (const e of v.entries) {
    w.fixed(Buffer.from(e.id, 'hex'), 16, 'keyId');
    w.fixed(e.publicKey, 32, 'publicKey');
    w.u8(STATES.indexOf(e.state) + 1);
    w.u64(BigInt(e.createdMs));
    w.u64(BigInt(e.retiredMs ?? 0));
    w.u64(BigInt(e.revokedMs ?? 0));
    w.str(e.revokeReason ?? '', 1, KEYRING_LIMITS.reasonBytesMax, 'revokeReason');
  }
  w.fixed(Buffer.from(v.signerKeyId, 'hex'), 16, 'signerKeyId');
  const body = w.bytes();
  const out = new Uint8Array(body.length + SIGNATURE_BYTES);
  out.set(body);
  out.set(edSign(null, message(body), signer), body.length);
  return out;
}

/** Decodes one ring version and checks its fields; the signature is only split off (verifyChain checks it). */
export function decodeRingVersion(raw: Uint8Array): { version: RingVersion; body: Uint8Array; signature: Uint8Array } {
  if (!(raw instanceof Uint8Array) || raw.length <= SIGNATURE_BYTES) throw ringError('version too short');
  const body = raw.subarray(0, raw.length - SIGNATURE_BYTES);
  const r = new Reader(body, ringError);
  if (Buffer.compare(r.fixed(4), RING_MAGIC) !== 0) throw ringError('bad magic');
  const format = r.u16();
  if (format !== KEYRING_FORMAT) throw ringError(`format ${format}, this release reads ${KEYRING_FORMAT}`);
  const generation = r.u32();
  if (generation < 1) throw ringError('generation 0');
  const prevHash = r.fixed(32);
  const timeMs = Number(r.u64());
  const count = r.u8();
  if (count < 1 || count > KEYRING_LIMITS.keysMax) throw ringError(`${count} keys, 1..${KEYRING_LIMITS.keysMax} allowed`);
  const entries: KeyEntry[] = [];
  for (let i = 0; i < count; i++) {
    const id = hex(r.fixed(16));
    const publicKey = r.fixed(32);
    const s = r.u8();
    if (s < 1 || s > STATES.length) throw ringError(`key ${id}: unknown state ${s}`);
    const createdMs = Number(r.u64());
    const retiredMs = Number(r.u64());
    const revokedMs = Number(r.u64());
    const reason = r.str(1, KEYRING_LIMITS.reasonBytesMax, 'revokeReason');
    const state = STATES[s - 1];
    // Canonical: a time that does not apply is 0 and a reason that does not apply is empty, nothing else.
    if (state === 'active' && retiredMs !== 0) throw ringError(`key ${id}: active with a retirement time`);
    if (state !== 'revoked' && (revokedMs !== 0 || reason !== '')) throw ringError(`key ${id}: not revoked but with a revocation time or reason`);
    entries.push({
      id, publicKey, state, createdMs,
      ...(state !== 'active' ? { retiredMs } : {}), ...(state === 'revoked' ? { revokedMs, revokeReason: reason } : {}),
    });
  }
  const signerKeyId = hex(r.fixed(16));
  r.end();
  checkEntries(entries);
  if (!Number.isSafeInteger(timeMs)) throw ringError('time out of range');
  return { version: { generation, prevHash, timeMs, entries, signerKeyId }, body, signature: raw.subarray(raw.length - SIGNATURE_BYTES) };
}

export function encodeChain(raw: readonly Uint8Array[]): Uint8Array {
  const w = new Writer(ringError);
  w.fixed(CHAIN_MAGIC, 4, 'magic');
  w.u16(KEYRING_FORMAT);
  w.u16(raw.length);
  for (const r of raw) {
    w.u32(r.length);
    w.fixed(r, r.length, 'ring version');
  }
  const out = w.bytes();
  if (out.length > KEYRING_LIMITS.chainBytesMax) throw ringError(`the chain would be ${out.length} bytes, at most ${KEYRING_LIMITS.chainBytesMax}`);
  return out;
}

/** Changes allowed from one version to the next: no key disappears or changes, a revocation is final, and a
 *  retired key never becomes active again. */
function checkStep(prev: RingVersion, next: RingVersion): void {
  for (const p of prev.entries) {
    const n = next.entries.find((e) => e.id === p.id);
    if (n === undefined) throw ringError(`generation ${next.generation} drops key ${p.id}`);
    if (Buffer.compare(n.publicKey, p.publicKey) !== 0 || n.createdMs !== p.createdMs) throw ringError(`generation ${next.generation} changes key ${p.id}`);
    if (p.state === 'revoked' && (n.state !== 'revoked' || n.revokedMs !== p.revokedMs || n.revokeReason !== p.revokeReason)) throw ringError(`generation ${next.generation} takes back the revocation of key ${p.id}`);
    if (p.state !== 'active' && n.state === 'active') throw ringError(`generation ${next.generation} makes retired key ${p.id} active again`);
    if (p.retiredMs !== undefined && n.retiredMs !== p.retiredMs) throw ringError(`generation ${next.generation} changes when key ${p.id} retired`);
  }
}

/**
 * Decodes and verifies a chain: the first version is generation 1, names no predecessor, is signed by its own
 * active key and (when `anchorKeyId` is given) that key is the anchor; every later version is the next
 * generation, names the hash of the one before, is signed by the key active in the one before, and keeps the
 * step rules. Throws ERR_SV_CORRUPT naming what failed.
 */
export function verifyChain(bytesUntrusted: Uint8Array, anchorKeyId?: string): KeyChain {
  if (!(bytesUntrusted instanceof Uint8Array) || bytesUntrusted.length > KEYRING_LIMITS.chainBytesMax) throw ringError(`the chain must be at most ${KEYRING_LIMITS.chainBytesMax} bytes`);
  const r = new Reader(bytesUntrusted, ringError);
  if (Buffer.compare(r.fixed(4), CHAIN_MAGIC) !== 0) throw ringError('bad chain magic');
  const format = r.u16();
  if (format !== KEYRING_FORMAT) throw ringError(`chain format ${format}, this release reads ${KEYRING_FORMAT}`);
  const count = r.u16();
  if (count < 1) throw ringError('an empty chain');
  const versions: RingVersion[] = [];
  const raw: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const len = r.u32();
    const bytes = r.fixed(len); // bounded: fixed() checks the length against what is left first
    const { version, body, signature } = decodeRingVersion(bytes);
    const prev = versions[i - 1];
    const signerEntry = prev === undefined ? activeEntry(version) : activeEntry(prev);
    if (version.generation !== i + 1) throw ringError(`version ${i} is generation ${version.generation}, ${i + 1} expected`);
    if (prev === undefined) {
      if (version.prevHash.some((b) => b !== 0)) throw ringError('the first version names a predecessor');
      if (anchorKeyId !== undefined && signerEntry.id !== anchorKeyId) throw ringError(`the chain starts with key ${signerEntry.id}, not the pool's original key ${anchorKeyId}`);
    } else {
      if (Buffer.compare(version.prevHash, ringHash(raw[i - 1])) !== 0) throw ringError(`generation ${version.generation} does not name the hash of generation ${prev.generation}`);
      checkStep(prev, version);
    }
    if (version.signerKeyId !== signerEntry.id) throw ringError(`generation ${version.generation} is signed by key ${version.signerKeyId}, not by the active key ${signerEntry.id} of the version before`);
    if (!edVerify(null, message(body), publicKeyObject(signerEntry.publicKey), signature)) throw ringError(`generation ${version.generation}: the signature does not verify`);
    versions.push(version);
    raw.push(bytes);
  }
  r.end();
  return { versions, raw };
}

/** The newest version of a chain. */
export function currentRing(chain: KeyChain): RingVersion {
  return chain.versions[chain.versions.length - 1];
}

/**
 * The chain extended by a version with `entries`, signed by the current active key (`signer`). The entries are
 * sorted here; the step rules and bounds are checked as a reader will check them.
 */
export function extendChain(chain: KeyChain | undefined, entries: KeyEntry[], signer: KeyObject, timeMs: number): { chain: KeyChain; bytes: Uint8Array } {
  const prev = chain === undefined ? undefined : currentRing(chain);
  const sorted = [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const signerKeyId = prev === undefined ? activeEntry({ entries: sorted }).id : activeEntry(prev).id;
  const version: RingVersion = { generation: (prev?.generation ?? 0) + 1, prevHash: prev === undefined ? new Uint8Array(32) : ringHash(chain!.raw[chain!.raw.length - 1]), timeMs, entries: sorted, signerKeyId };
  if (prev !== undefined) checkStep(prev, version);
  const raw = [...(chain?.raw ?? []), encodeRingVersion(version, signer)];
  const bytes = encodeChain(raw);
  return { chain: { versions: [...(chain?.versions ?? []), version], raw }, bytes };
}

/** Whether chain `a` is `b` or a prefix of it (b only adds versions after a's). */
export function isPrefixOf(a: KeyChain, b: KeyChain): boolean {
  return a.raw.length <= b.raw.length && a.raw.every((r, i) => Buffer.compare(r, b.raw[i]) === 0);
}
