/**
 * Canonical JSON: object keys sorted at every level and undefined members left out, so one value has one text.
 * Hashes and signatures over configuration (the daemon's config sha256, the config digest, the security floor
 * record) are taken over this text, so two processes that hold the same value agree on its digest.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
