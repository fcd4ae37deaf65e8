// Test access to manifest copies, which live as records in each disk's copy log (lib/store/local/copylog.ts): read a
// copy's payload, damage it in place, or forge a well-formed record (valid record hash at that position) that
// carries any payload, so that tests exercise the manifest-level checks (signature, hash, sequence) and not
// only the record checksum, which anyone who can write to a disk can recompute.
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';

import { LOG_DIR, RECORD_ALIGN, RECORD_HEADER_BYTES, encodeRecord, parseSegmentName } from '../../lib/store/local/copylog.js';

export interface CopyLoc {
  file: string;
  offset: number;
  length: number;
}

export function readRegion(file: string, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, length, offset);
  } finally {
    closeSync(fd);
  }
  return buf;
}

export function writeRegion(file: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** The copy bytes (length-prefixed signed manifest + hash table) the record at `loc` holds. */
export function copyPayload(loc: CopyLoc): Buffer {
  return readRegion(loc.file, loc.offset, loc.length).subarray(RECORD_HEADER_BYTES);
}

/** Damages the record at `loc`: zeroed (a lost copy), one bit flipped in its payload, or cut short. */
export function damageCopy(loc: CopyLoc, how: 'zero' | 'flip' | 'truncate'): void {
  if (how === 'zero') return writeRegion(loc.file, loc.offset, Buffer.alloc(loc.length));
  if (how === 'truncate') return writeRegion(loc.file, loc.offset + Math.floor(loc.length / 2), Buffer.alloc(loc.length - Math.floor(loc.length / 2)));
  const at = loc.offset + RECORD_HEADER_BYTES + Math.floor((loc.length - RECORD_HEADER_BYTES) / 2);
  const b = readRegion(loc.file, at, 1);
  b[0] ^= 0x20;
  writeRegion(loc.file, at, b);
}

/** Pool id of the disk whose copy log holds `file`. */
function poolIdOf(file: string): Buffer {
  const disk = join(file, '..', '..');
  return Buffer.from((JSON.parse(readFileSync(join(disk, 'disk.json'), 'utf8')) as { poolId: string }).poolId, 'hex');
}

/**
 * Writes a well-formed record holding `payload` at `loc` (what a hostile disk that knows the format can do).
 * The payload must fit the slot; the rest of the old record is zeroed.
 */
export function forgeCopy(loc: CopyLoc, payload: Uint8Array): void {
  const seg = parseSegmentName(basename(loc.file));
  if (typeof seg !== 'number') throw new Error(`${loc.file} is not a segment`);
  const rec = encodeRecord(poolIdOf(loc.file), seg, loc.offset, payload);
  if (rec.length > Math.ceil(loc.length / RECORD_ALIGN) * RECORD_ALIGN) throw new Error('forged copy does not fit the record slot');
  const out = Buffer.alloc(Math.max(rec.length, loc.length));
  out.set(rec);
  writeRegion(loc.file, loc.offset, out);
}

/** Segment files in a disk's copy log (none: nothing was ever written there). */
export function segmentsOf(diskPath: string): string[] {
  return readdirSync(join(diskPath, LOG_DIR)).filter((f) => typeof parseSegmentName(f) === 'number');
}
