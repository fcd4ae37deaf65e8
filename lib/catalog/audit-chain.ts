/**
 * The audit chain (I6), as pure functions every catalog backend uses, so that all of them produce identical
 * chains: each record's hash is BLAKE3 (derive context `shardvault/audit/v1`) of its canonical fields, and
 * names the previous record's hash (64 zeros for the first).
 */
import { blake3Sync } from '../hash.js';
import type { AuditRecord } from './catalog.js';

export const ZERO_HASH = '0'.repeat(64);
const AUDIT_CONTEXT = 'shardvault/audit/v1';

export function auditHash(r: Omit<AuditRecord, 'hash'>): string {
  // Canonical: fixed key order, JSON of primitives only. Evidence fields (target, result, requestId, source)
  // extend the array only when one is present, so every record written before they existed hashes as it did.
  const fields: unknown[] = [r.index, r.prevHash, r.timeMs, r.action, r.principal, r.bucket ?? null, r.key ?? null, r.versionId ?? null, r.detail ?? null];
  if (r.target !== undefined || r.result !== undefined || r.requestId !== undefined || r.source !== undefined) {
    fields.push(r.target ?? null, r.result ?? null, r.requestId ?? null, r.source ?? null);
  }
  const canonical = JSON.stringify(fields);
  return Buffer.from(blake3Sync(new TextEncoder().encode(canonical), { context: AUDIT_CONTEXT })).toString('hex');
}

/** The record that follows `last` (undefined: the first record) with the fields `r`. */
export function nextRecord(last: AuditRecord | undefined, r: Omit<AuditRecord, 'hash' | 'index' | 'prevHash'>): AuditRecord {
  const body: Omit<AuditRecord, 'hash'> = { index: last === undefined ? 0 : last.index + 1, prevHash: last?.hash ?? ZERO_HASH, ...r };
  return { ...body, hash: auditHash(body) };
}

/** Recomputes a chain, oldest first: the index of the first bad record, or -1 when it is intact. */
export async function verifyChain(records: AsyncIterable<AuditRecord> | Iterable<AuditRecord>): Promise<number> {
  let prev = ZERO_HASH;
  let i = 0;
  for await (const rec of records) {
    const { hash, ...rest } = rec;
    if (rest.index !== i || rest.prevHash !== prev || auditHash(rest) !== hash) return i;
    prev = hash;
    i++;
  }
  return -1;
}
