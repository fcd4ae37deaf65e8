// The key ring's stored bytes (lib/format/keyring.ts): a chain verifies from its first version on, against the
// pool's original key; every way of adding, changing or un-revoking a key without the active private key is
// refused, and hostile sizes are refused before anything is allocated.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { hex, keyId } from '../lib/format/ids.js';
import { KEYRING_LIMITS, decodeRingVersion, encodeChain, encodeRingVersion, extendChain, rawPublicKey, ringHash, verifyChain, type KeyChain, type KeyEntry } from '../lib/format/keyring.js';

const idOf = (k: KeyObject) => hex(keyId(createPublicKey(k)));
const entry = (k: KeyObject, createdMs = 1000): KeyEntry => ({ id: idOf(k), publicKey: rawPublicKey(k), state: 'active', createdMs });

function genesis(): { key: KeyObject; chain: KeyChain; bytes: Uint8Array } {
  const key = generateKeyPairSync('ed25519').privateKey;
  return { key, ...extendChain(undefined, [entry(key)], key, 1000) };
}

/** A second version: `key` retired, a new active key. */
function rotated(g: { key: KeyObject; chain: KeyChain }) {
  const next = generateKeyPairSync('ed25519').privateKey;
  const old = { ...entry(g.key), state: 'retired' as const, retiredMs: 2000 };
  return { next, ...extendChain(g.chain, [old, entry(next, 2000)], g.key, 2000) };
}

describe('key ring format', () => {
  it('round-trips a chain and checks it against the anchor', () => {
    const g = genesis();
    const r = rotated(g);
    const chain = verifyChain(r.bytes, idOf(g.key));
    expect(chain.versions.map((v) => v.generation)).toEqual([1, 2]);
    expect(chain.versions[1].entries.find((e) => e.state === 'active')!.id).toBe(idOf(r.next));
    expect(Buffer.compare(chain.versions[1].prevHash, ringHash(chain.raw[0]))).toBe(0);
    // Another pool's chain (or one made up from scratch) does not start with this pool's key.
    expect(() => verifyChain(genesis().bytes, idOf(g.key))).toThrow(/not the pool's original key/);
  });

  it('refuses a key added without the active key: unsigned, signed by the new key itself, or by a retired key', () => {
    const g = genesis();
    const r = rotated(g);
    const intruder = generateKeyPairSync('ed25519').privateKey;
    const current = r.chain.versions[1];
    // 1. The bytes of the last version with one more entry, old signature kept.
    const withIntruder = [...current.entries, { ...entry(intruder, 3000), state: 'retired' as const, retiredMs: 3000 }].sort((a, b) => (a.id < b.id ? -1 : 1));
    const forgedBody = encodeRingVersion({ ...current, entries: withIntruder }, g.key); // then its signature swapped for the honest one
    const keptSig = Uint8Array.from([...forgedBody.subarray(0, forgedBody.length - 64), ...r.chain.raw[1].subarray(r.chain.raw[1].length - 64)]);
    expect(() => verifyChain(encodeChain([r.chain.raw[0], keptSig]), idOf(g.key))).toThrow(/signature does not verify/);
    // 2. A third version signed by the intruder, naming itself as signer.
    const self = { generation: 3, prevHash: ringHash(r.chain.raw[1]), timeMs: 3000, entries: [...current.entries.map((e) => ({ ...e, ...(e.state === 'active' ? { state: 'retired' as const, retiredMs: 3000 } : {}) })), entry(intruder, 3000)].sort((a, b) => (a.id < b.id ? -1 : 1)), signerKeyId: idOf(intruder) };
    expect(() => verifyChain(encodeChain([...r.chain.raw, encodeRingVersion(self, intruder)]), idOf(g.key))).toThrow(/not by the active key/);
    // 3. The same step signed by the retired (first) key, which is no longer the one that may sign.
    const byRetired = { ...self, signerKeyId: idOf(g.key) };
    expect(() => verifyChain(encodeChain([...r.chain.raw, encodeRingVersion(byRetired, g.key)]), idOf(g.key))).toThrow(/not by the active key/);
    // The honest third version (signed by the active key) is accepted.
    const honest = extendChain(r.chain, self.entries, r.next, 3000);
    expect(verifyChain(honest.bytes, idOf(g.key)).versions).toHaveLength(3);
  });

  it('refuses taking a revocation back, dropping a key, a retired key made active again, and a swapped order', () => {
    const g = genesis();
    const r = rotated(g);
    const [a, b] = r.chain.versions[1].entries;
    const revoked = r.chain.versions[1].entries.map((e) => (e.id === idOf(g.key) ? { ...e, state: 'revoked' as const, revokedMs: 2500, revokeReason: 'stolen' } : e));
    const withRevocation = extendChain(r.chain, revoked, r.next, 2500);
    expect(verifyChain(withRevocation.bytes, idOf(g.key)).versions[2].entries.find((e) => e.id === idOf(g.key))!.revokeReason).toBe('stolen');
    expect(() => extendChain(withRevocation.chain, r.chain.versions[1].entries, r.next, 2600)).toThrow(/takes back the revocation/);
    expect(() => extendChain(r.chain, [r.chain.versions[1].entries.find((e) => e.state === 'active')!], r.next, 2600)).toThrow(/drops key/);
    const back = [a, b].map((e) => (e.id === idOf(g.key) ? { ...entry(g.key), createdMs: 1000 } : { ...e, state: 'retired' as const, retiredMs: 2600 }));
    expect(() => extendChain(r.chain, back, r.next, 2600)).toThrow(/active again/);
    // Versions out of order: the second version's generation and predecessor do not fit at the front.
    expect(() => verifyChain(encodeChain([r.chain.raw[1], r.chain.raw[0]]), idOf(g.key))).toThrow(/generation/);
  });

  it('checks every field and bounds sizes before allocating', () => {
    const g = genesis();
    const raw = g.chain.raw[0];
    expect(decodeRingVersion(raw).version.entries[0].id).toBe(idOf(g.key));
    // Two active keys, an id that is not its key's, a reason without revocation: refused on encode.
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(() => extendChain(undefined, [entry(g.key), entry(other)], g.key, 1)).toThrow(/2 active keys/);
    expect(() => extendChain(undefined, [{ ...entry(g.key), id: idOf(other) }], g.key, 1)).toThrow(/not its public key's/);
    expect(() => extendChain(undefined, [{ ...entry(g.key), revokeReason: 'x' }], g.key, 1)).toThrow(/exactly when revoked/);
    // A flipped state byte (to an unknown state) and a truncated version.
    const bad = Uint8Array.from(raw);
    bad[4 + 2 + 4 + 32 + 8 + 1 + 16 + 32] = 9;
    expect(() => decodeRingVersion(bad)).toThrow(/unknown state/);
    expect(() => verifyChain(Uint8Array.from(g.bytes.subarray(0, g.bytes.length - 10)), idOf(g.key))).toThrow(/truncated/);
    // A chain that claims a version of 4 GiB is refused by the length check, not by trying to read it.
    const huge = Uint8Array.from([...g.bytes.subarray(0, 8), 0xff, 0xff, 0xff, 0xff, ...g.bytes.subarray(12)]);
    expect(() => verifyChain(huge, idOf(g.key))).toThrow(/truncated/);
    expect(() => verifyChain(new Uint8Array(KEYRING_LIMITS.chainBytesMax + 1))).toThrow(/at most/);
    // Trailing bytes after the last version.
    expect(() => verifyChain(Uint8Array.from([...g.bytes, 0]), idOf(g.key))).toThrow(/trailing/);
  });
});
