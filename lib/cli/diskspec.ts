/**
 * `--disk PATH[:key=value,...]` (init, disk add, disk replace): a disk directory and its failure-domain
 * labels. Parsed strictly, because a typo here is silent damage: `/mnt/d1:hots=h1` would give the disk no
 * `host` label, and `/mnt/d1,host=h1` a directory named after the label. The bad piece is always named.
 *
 * Labels start at the first `:` after the last `/` (a disk path cannot have a `:` in its last component).
 */
import { ErrorCode } from '../errors.js';
import { CliCode, CliError } from './errors.js';

export interface DiskSpec {
  path: string;
  labels: Record<string, string>;
}

const LABEL_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const LABEL_VALUE = /^[A-Za-z0-9_.-]{1,128}$/;

const usage = (spec: string, why: string) =>
  new CliError(CliCode.USAGE, `--disk ${spec}: ${why}`, 'a disk is PATH or PATH:key=value[,key=value...], e.g. /mnt/d1:host=h1,rack=r2');

/** Parses one spec; throws ERR_SV_USAGE naming the malformed part. */
export function parseDiskSpec(spec: string): DiskSpec {
  const slash = spec.lastIndexOf('/');
  const colon = spec.indexOf(':', slash + 1);
  const path = colon === -1 ? spec : spec.slice(0, colon);
  const labelText = colon === -1 ? undefined : spec.slice(colon + 1);
  if (path.length === 0) throw usage(spec, 'no path before the labels');
  const last = path.slice(slash + 1);
  if (last.includes('=')) throw usage(spec, `path part "${last}" contains "=": labels follow a ":" (PATH:key=value)`);
  const labels: Record<string, string> = {};
  if (labelText !== undefined) {
    if (labelText.length === 0) throw usage(spec, 'nothing after ":" (drop it, or give key=value labels)');
    for (const pair of labelText.split(',')) {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? undefined : pair.slice(eq + 1);
      if (pair.length === 0) throw usage(spec, 'an empty label (two commas, or a trailing one)');
      if (value === undefined) throw usage(spec, `label "${key}" has no value (key=value)`);
      if (!LABEL_KEY.test(key)) throw usage(spec, `bad label key "${key}" (a letter, then letters, digits, "_", "." or "-")`);
      if (!LABEL_VALUE.test(value)) throw usage(spec, `bad value "${value}" for label "${key}" (letters, digits, "_", "." or "-")`);
      if (Object.hasOwn(labels, key)) throw usage(spec, `label "${key}" given twice`);
      labels[key] = value;
    }
  }
  return { path, labels };
}

/** Levenshtein distance, for "did you mean" (label keys are short). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

function didYouMean(key: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

const unknownKey = (spec: string, key: string, why: string, known: Iterable<string>) =>
  new CliError(ErrorCode.UNKNOWN_OPTION, `--disk ${spec}: unknown label key "${key}"${didYouMean(key, known)}: ${why}`, 'fix the label key, so every disk of the pool carries the same label keys');

/**
 * The disks given to `init`: every disk must carry the same label keys, and the failure-domain level (unless
 * `disk`) must be one of them. A key only some disks have is a typo until shown otherwise: refused by name.
 */
export function checkInitSpecs(specs: readonly string[], parsed: readonly DiskSpec[], level: string): void {
  const n = parsed.length;
  const count = new Map<string, number>();
  for (const d of parsed) for (const k of Object.keys(d.labels)) count.set(k, (count.get(k) ?? 0) + 1);
  // The rarest key not on every disk is the likely typo (on a tie, not the --domain level's key); a key on
  // most disks is missing from the others.
  const [rare] = [...count].filter(([, c]) => c < n).sort((a, b) => a[1] - b[1] || Number(a[0] === level) - Number(b[0] === level) || (a[0] < b[0] ? -1 : 1));
  if (rare !== undefined) {
    const [key, c] = rare;
    if (c * 2 > n) {
      const i = parsed.findIndex((d) => !Object.hasOwn(d.labels, key));
      throw new CliError(ErrorCode.UNKNOWN_OPTION, `--disk ${specs[i]}: missing label "${key}" (${c} of ${n} disks have it)`, 'fix the label keys, so every disk of the pool carries the same ones');
    }
    const i = parsed.findIndex((d) => Object.hasOwn(d.labels, key));
    throw unknownKey(specs[i], key, `only ${c} of ${n} disks have it`, [...count].filter(([, cc]) => cc > c).map(([k]) => k));
  }
  if (level !== 'disk' && !count.has(level)) {
    const given = [...count.keys()];
    throw new CliError(
      ErrorCode.UNKNOWN_OPTION,
      `--domain ${level}: no disk has a "${level}" label${given.length > 0 ? ` (labels given: ${given.join(', ')})${didYouMean(level, given)}` : ''}`,
      `label each disk with it (--disk PATH:${level}=NAME), or use --domain disk`,
    );
  }
}

/**
 * A disk joining a pool (`disk add`, `disk replace`): its label keys must be keys the pool's disks already
 * use, and it must have every key they all have, unless `allowNew` (a new label level on purpose).
 */
export function checkJoiningSpec(spec: string, parsed: DiskSpec, poolLabels: ReadonlyArray<Record<string, string>>, allowNew: boolean): void {
  if (allowNew || poolLabels.length === 0) return;
  const known = new Set(poolLabels.flatMap((l) => Object.keys(l)));
  const everywhere = [...known].filter((k) => poolLabels.every((l) => Object.hasOwn(l, k)));
  for (const k of Object.keys(parsed.labels)) {
    if (!known.has(k)) throw unknownKey(spec, k, `no disk of the pool has it (pool label keys: ${[...known].join(', ') || 'none'}; --allow-new-labels to add one)`, known);
  }
  for (const k of everywhere) {
    if (!Object.hasOwn(parsed.labels, k)) {
      throw new CliError(ErrorCode.UNKNOWN_OPTION, `--disk ${spec}: missing label "${k}" (every disk of the pool has one)`, `add it: ${parsed.path}:${[...everywhere].map((x) => `${x}=...`).join(',')}`);
    }
  }
}
