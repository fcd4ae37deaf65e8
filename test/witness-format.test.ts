// The witness record (lib/format/witness.ts): canonical fixed-length bytes, signed; every malformed or
// altered record is refused before it is trusted, and the default location is where the XDG rules put state.
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { keyId } from '../lib/format/ids.js';
import { WITNESS_BYTES, WITNESS_FORMAT, describeHead, signWitness, verifyWitness, type WitnessRecord } from '../lib/format/witness.js';
import { checkWitnessLocations, defaultWitnessPath } from '../lib/security/witness.js';

const { privateKey } = generateKeyPairSync('ed25519');
const pub = createPublicKey(privateKey);
const id = keyId(pub);
const lookup = (k: Uint8Array) => (Buffer.compare(k, id) === 0 ? pub : null);
const record: WitnessRecord = { format: WITNESS_FORMAT, poolId: 'ab'.repeat(16), head: { index: 41, hash: 'cd'.repeat(32) }, timeMs: 1_700_000_000_000, signerKeyId: id };

describe('witness record', () => {
  it('round-trips, with and without an audit head, at a fixed length', () => {
    const bytes = signWitness(record, privateKey);
    expect(bytes.length).toBe(WITNESS_BYTES);
    expect(verifyWitness(bytes, lookup)).toEqual(record);
    const empty = { ...record, head: null };
    expect(verifyWitness(signWitness(empty, privateKey), lookup)).toEqual(empty);
    expect(describeHead(record.head)).toBe(`41:${'cd'.repeat(32)}`);
    expect(describeHead(null)).toBe('none');
  });

  it('refuses every single-byte change, a wrong length, and an unknown signer', () => {
    const bytes = signWitness(record, privateKey);
    for (let i = 0; i < bytes.length; i++) {
      const bad = Uint8Array.from(bytes);
      bad[i] ^= 0x01;
      expect(() => verifyWitness(bad, lookup), `byte ${i}`).toThrow(/witness record/);
    }
    expect(() => verifyWitness(bytes.subarray(0, bytes.length - 1), lookup)).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
    expect(() => verifyWitness(Buffer.concat([bytes, Buffer.alloc(1)]), lookup)).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_FORMAT' }));
    expect(() => verifyWitness(bytes, () => null)).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_SIGNATURE' }));
    const other = generateKeyPairSync('ed25519');
    const forged = signWitness({ ...record, signerKeyId: id }, other.privateKey); // claims the pool key, signed by another
    expect(() => verifyWitness(forged, lookup)).toThrow(expect.objectContaining({ code: 'ERR_SV_MANIFEST_SIGNATURE' }));
  });

  it('refuses to encode what it could not decode', () => {
    expect(() => signWitness({ ...record, format: 2 }, privateKey)).toThrow(/format 2/);
    expect(() => signWitness({ ...record, poolId: 'xyz' }, privateKey)).toThrow(/poolId/);
    expect(() => signWitness({ ...record, head: { index: -1, hash: 'cd'.repeat(32) } }, privateKey)).toThrow(/head.index/);
    expect(() => signWitness({ ...record, head: { index: 1, hash: 'CD'.repeat(32) } }, privateKey)).toThrow(/head.hash/);
  });

  it('lives under $XDG_STATE_HOME, else ~/.local/state, one file per pool and meta directory; never inside the pool', () => {
    const a = defaultWitnessPath('p1', '/srv/pool/meta', { XDG_STATE_HOME: '/var/lib/state' });
    expect(a).toMatch(/^\/var\/lib\/state\/shardvault\/p1-[0-9a-f]{8}\.witness$/);
    expect(defaultWitnessPath('p1', '/srv/pool/meta', {})).toBe(join(homedir(), '.local', 'state', 'shardvault', a.split('/').pop()!));
    expect(defaultWitnessPath('p1', '/srv/pool/meta', { XDG_STATE_HOME: 'relative' }).startsWith(join(homedir(), '.local', 'state'))).toBe(true);
    expect(defaultWitnessPath('p1', '/srv/copy/meta', { XDG_STATE_HOME: '/var/lib/state' })).not.toBe(a);
    const members = [{ id: 'd0', path: '/srv/pool/d0' }];
    expect(checkWitnessLocations(['/elsewhere/w', '/elsewhere/w'], '/srv/pool/meta', members)).toEqual(['/elsewhere/w']);
    expect(() => checkWitnessLocations(['/srv/pool/meta/w'], '/srv/pool/meta', members)).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE', message: expect.stringContaining('meta directory') }));
    expect(() => checkWitnessLocations(['/srv/pool/d0/x/w'], '/srv/pool/meta', members)).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE', message: expect.stringContaining('disk d0') }));
    expect(() => checkWitnessLocations([], '/srv/pool/meta', members)).toThrow(expect.objectContaining({ code: 'ERR_SV_OUT_OF_RANGE' }));
  });
});
