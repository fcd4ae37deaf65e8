/**
 * The freshness witness (issue 13, I4's last sentence; docs/witness.md): the catalog's audit head, signed by a
 * pool key (lib/format/witness.ts), written durably to one or more files outside the pool. A restore of every
 * disk and the catalog from an older snapshot brings back an older audit chain, but not an older witness, so
 * the next open sees a catalog behind its witness and refuses it (ERR_SV_ROLLBACK) unless an operator accepts
 * the older state on purpose.
 *
 * Writes are batched: every commit notes its audit record, and the newest one noted is written at most once a
 * second while commits happen (and once more at close), so a put never waits for the witness and a busy pool
 * writes it about once a second. A catalog ahead of its witness is normal (a crash before the flush); only a
 * catalog behind it, or one whose record at the witness's index is another record, is a rollback. A failed
 * witness write is an event and never fails a put: the commit it would have anchored is already durable.
 */
import { stat, open as fsOpen } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';

import type { AuditRecord, Catalog } from '../catalog/catalog.js';
import { ErrorCode, ShardVaultError } from '../errors.js';
import type { VaultEvents } from '../events.js';
import { describeHead, signWitness, verifyWitness, WITNESS_BYTES, WITNESS_FORMAT, type AuditHead, type WitnessRecord } from '../format/witness.js';
import { hex } from '../format/ids.js';
import { blake3Sync } from '../hash.js';
import { mkdirDurable, writeFileDurable } from '../store/local/disk.js';
import { within } from '../engine/pool-setup.js';

/** How often at most the witness is written while commits happen (and how stale it may be at worst). */
export const WITNESS_INTERVAL_MS = 1000;

/** What open found and decided about the witness (Vault.status().witness). */
export interface WitnessStatus {
  /**
   * 'anchored': a witness verified and the catalog is at or ahead of it; 'unanchored': no witness verified
   * while the catalog has commits (the open could not check for a rollback; the witness is written from now
   * on); 'new': the pool has no commits and no witness was written yet; 'rollback-accepted': the catalog was behind its witness and
   * break-glass accepted it (re-anchored).
   */
  state: 'anchored' | 'unanchored' | 'new' | 'rollback-accepted';
  locations: string[];
  /** The newest witness that verified at open (where and what it said). */
  witness?: { location: string; head: string; timeMs: number };
  /** The catalog's audit head at open. */
  catalogHead: string;
  /** Witness files that exist but did not verify (ignored), and other warnings (same filesystem as the pool). */
  problems: string[];
  /** The last witness write: when it succeeded, and the head it wrote; or its error. */
  lastFlush?: { timeMs: number; head: string; error?: string };
}

/**
 * The default witness file: `$XDG_STATE_HOME/shardvault/<poolId>-<tag>.witness`, else the same under
 * `~/.local/state` (the XDG base directory for state that should survive a reboot but is not configuration),
 * outside the pool wherever the pool is. `<tag>` (8 hex digits of the BLAKE3 of the meta directory's absolute
 * path) keeps copies of one pool at other paths (a backup restored elsewhere to look at it) from writing over
 * the witness of the pool itself; a pool moved to another path starts unanchored once.
 */
export function defaultWitnessPath(poolId: string, metaDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'state');
  const tag = hex(blake3Sync(new TextEncoder().encode(resolve(metaDir)))).slice(0, 8);
  return join(base, 'shardvault', `${poolId}-${tag}.witness`);
}

/**
 * Resolves witness locations and refuses any that are inside the meta directory or a member (or contain one):
 * a witness restored together with the pool witnesses nothing.
 */
export function checkWitnessLocations(locations: readonly string[], metaDir: string, members: ReadonlyArray<{ id: string; path: string }>): string[] {
  if (locations.length === 0) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'witness: at least one location is needed');
  const out: string[] = [];
  for (const [i, raw] of locations.entries()) {
    if (typeof raw !== 'string' || raw.length === 0 || raw.includes('\0')) throw new ShardVaultError(ErrorCode.INVALID_ARG_TYPE, `witness[${i}] must be a non-empty path`);
    const p = resolve(raw);
    const inside = within(resolve(metaDir), p) || within(p, resolve(metaDir)) ? `the meta directory ${resolve(metaDir)}`
      : members.map((d) => (within(resolve(d.path), p) || within(p, resolve(d.path)) ? `disk ${d.id} (${resolve(d.path)})` : undefined)).find((x) => x !== undefined);
    if (inside !== undefined) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `witness location ${p} is inside ${inside}: a witness must live outside the pool, or a restore of the pool restores it too`);
    }
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** The device of `path`, or of its nearest existing ancestor (a witness directory may not exist yet). */
async function deviceOf(path: string): Promise<number | undefined> {
  for (let p = path; ; p = dirname(p)) {
    try {
      return (await stat(p)).dev;
    } catch {
      if (dirname(p) === p) return undefined;
    }
  }
}

export class Witness {
  #pending: AuditHead | null | undefined;
  #written: AuditHead | null | undefined;
  #lastFlushMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  readonly status: WitnessStatus;

  constructor(
    readonly locations: string[],
    readonly poolId: string,
    /** The key that signs (the engine's active key, looked up at each write so a key rotation is picked up). */
    readonly signer: () => { keyId: Uint8Array; privateKey: KeyObject },
    readonly events: VaultEvents,
    /** Whether this Vault may write (a read-only one only checks). */
    readonly writable: boolean,
  ) {
    this.status = { state: 'new', locations: [...locations], catalogHead: 'none', problems: [] };
  }

  /**
   * Reads every location and returns the newest record that verifies (by audit index); a file that exists but
   * does not verify (torn, tampered, another pool's, signed by an unknown key) is reported in `problems` and
   * ignored. A missing file is not a problem by itself.
   */
  async readNewest(publicKeyFor: (keyId: Uint8Array) => KeyObject | null): Promise<{ location: string; record: WitnessRecord } | undefined> {
    let newest: { location: string; record: WitnessRecord } | undefined;
    for (const location of this.locations) {
      let bytes: Buffer;
      try {
        const fh = await fsOpen(location, 'r');
        try {
          // One byte more than a record: a longer file is refused without reading it all (I7).
          const buf = Buffer.alloc(WITNESS_BYTES + 1);
          const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
          bytes = buf.subarray(0, bytesRead);
        } finally {
          await fh.close();
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.#problem('ignored', location, `witness ${location} cannot be read: ${(err as Error).message}`);
        continue;
      }
      try {
        const record = verifyWitness(bytes, publicKeyFor);
        if (record.poolId !== this.poolId) throw new ShardVaultError(ErrorCode.MANIFEST_FORMAT, `it is the witness of pool ${record.poolId}`);
        if (newest === undefined || (record.head?.index ?? -1) > (newest.record.head?.index ?? -1)) newest = { location, record };
      } catch (err) {
        this.#problem('ignored', location, `witness ${location} does not verify and is ignored: ${(err as Error).message}`);
      }
    }
    return newest;
  }

  /** Warns when a witness location is on the filesystem of the meta directory (one restore or loss takes both). */
  async checkFilesystems(metaDir: string): Promise<void> {
    const metaDev = await deviceOf(resolve(metaDir));
    for (const location of this.locations) {
      if (metaDev !== undefined && (await deviceOf(location)) === metaDev) {
        this.#problem('same-filesystem', location, `witness ${location} is on the same filesystem as the meta directory ${metaDir}: a snapshot or loss of that filesystem takes both (give --witness a path on another filesystem)`);
      }
    }
  }

  #problem(kind: 'ignored' | 'same-filesystem', location: string, message: string): void {
    this.status.problems.push(message);
    if (kind === 'ignored') processWarning(kind, message);
    this.events.emit('witness', { kind, location, message });
  }

  /** Notes the audit head of a commit; it is written within WITNESS_INTERVAL_MS (batched with later ones). */
  note(head: AuditHead): void {
    if (!this.writable || this.#closed) return;
    if (this.#pending !== undefined && this.#pending !== null && this.#pending.index >= head.index) return;
    if (this.#written !== undefined && this.#written !== null && this.#written.index >= head.index) return; // written already
    this.#pending = head;
    if (this.#timer !== undefined || this.#flushing !== undefined) return; // the running flush reschedules
    this.#schedule();
  }

  #schedule(): void {
    const wait = Math.max(0, this.#lastFlushMs + WITNESS_INTERVAL_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, wait);
    this.#timer.unref(); // a pending witness write never keeps a process alive (close writes it)
  }

  /**
   * Writes the newest noted head to every location (temporary file, fsync, rename, directory fsync), one
   * write at a time. A failure is a 'witness' event with kind 'flush-failed' and is kept in `status.lastFlush`;
   * it never throws. Resolves once what was noted before the call is written (or failed).
   */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    const head = this.#pending;
    if (head === undefined) return;
    this.#pending = undefined;
    this.#flushing = this.#write(head);
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
      if (this.#pending !== undefined && !this.#closed && this.#timer === undefined) this.#schedule();
    }
  }

  async #write(head: AuditHead | null): Promise<void> {
    this.#lastFlushMs = Date.now();
    const { keyId, privateKey } = this.signer();
    const bytes = signWitness({ format: WITNESS_FORMAT, poolId: this.poolId, head, timeMs: Date.now(), signerKeyId: keyId }, privateKey);
    const failed: string[] = [];
    await Promise.all(this.locations.map(async (location) => {
      try {
        await mkdirDurable(dirname(location));
        await writeFileDurable(location, bytes, 0o600);
      } catch (err) {
        const message = `witness ${location} could not be written (the pool runs on; rollback detection is behind until a write succeeds): ${(err as Error).message}`;
        failed.push(message);
        this.events.emit('witness', { kind: 'flush-failed', location, message });
      }
    }));
    if (failed.length < this.locations.length) {
      this.#written = head;
      if (this.status.state === 'new') this.status.state = 'anchored'; // the first commits of a new pool are witnessed now
    }
    this.status.lastFlush = { timeMs: Date.now(), head: describeHead(head), ...(failed.length > 0 ? { error: failed.join('; ') } : {}) };
    if (failed.length === 0) this.events.emit('witness', { kind: 'flushed', message: `witness written at audit head ${describeHead(head)}` });
  }

  /** Writes `head` now, whatever is batched (open's anchoring and re-anchoring; close's last write). */
  async anchor(head: AuditHead | null): Promise<void> {
    if (!this.writable) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#flushing !== undefined) await this.#flushing;
    this.#pending = undefined;
    if (this.#written !== undefined && head !== null && this.#written !== null && this.#written.index === head.index && this.#written.hash === head.hash) return;
    await this.#write(head);
  }

  /** The last write at `head` (the catalog's head at close); no write is scheduled after it. */
  async close(head: AuditHead | null): Promise<void> {
    await this.anchor(head);
    this.#closed = true;
  }
}

/**
 * A process warning (code SV_WITNESS_<KIND>) besides the event: what open finds is emitted before any caller
 * could listen to the Vault's events, and an unanchored or overridden open must not pass unseen.
 */
function processWarning(kind: 'ignored' | 'unanchored' | 'rollback-accepted', message: string): void {
  process.emitWarning(message, { type: 'ShardVaultWarning', code: `SV_WITNESS_${kind.toUpperCase().replace('-', '_')}` });
}

/** An audit record as the head the witness keeps. */
export function headOf(r: AuditRecord | undefined): AuditHead | null {
  return r === undefined ? null : { index: r.index, hash: r.hash };
}

/** The catalog meta item holding the last rollback break-glass accepted (also its audit record's subject). */
export const ROLLBACK_ACCEPTED = 'witness.rollback';

export interface OpenWitnessOptions {
  /** Witness files (default: one at defaultWitnessPath). */
  locations: readonly string[] | undefined;
  metaDir: string;
  poolId: string;
  members: ReadonlyArray<{ id: string; path: string }>;
  catalog: Catalog;
  signer: () => { keyId: Uint8Array; privateKey: KeyObject };
  publicKeyFor: (keyId: Uint8Array) => KeyObject | null;
  events: VaultEvents;
  writable: boolean;
  /** Accept a catalog behind its witness (audited, re-anchored); refused on a read-only open. */
  breakGlass?: { reason: string; principal: string };
}

/**
 * The witness check of an open (before recovery writes anything): compares the catalog's audit head with the
 * newest witness that verifies. A catalog behind it (a shorter chain), or one whose record at the witness's
 * index is another record (an older state written on since), is a rollback: ERR_SV_ROLLBACK naming both
 * heads, unless `breakGlass` accepts it, which is audited (`witness.rollback-accepted` with both heads and the
 * reason) and re-anchors the witness at the catalog's head. No witness at all on a pool with commits leaves
 * the open 'unanchored' (a 'witness' event and the status field): it cannot tell, and says so. A writable
 * open then writes the witness at the catalog's head, so the next open is anchored.
 */
export async function openWitness(o: OpenWitnessOptions): Promise<Witness> {
  const locations = checkWitnessLocations(o.locations ?? [defaultWitnessPath(o.poolId, o.metaDir)], o.metaDir, o.members);
  if (o.breakGlass !== undefined && !o.writable) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'breakGlass needs a read-write open: accepting an older state is audited and re-anchors the witness');
  const w = new Witness(locations, o.poolId, o.signer, o.events, o.writable);
  await w.checkFilesystems(o.metaDir);
  const newest = await w.readNewest(o.publicKeyFor);
  let head = headOf(await o.catalog.auditHead());
  w.status.catalogHead = describeHead(head);
  if (newest === undefined) {
    let commits = false;
    for await (const _ of o.catalog.heads({ tombstones: true })) {
      commits = true;
      break;
    }
    if (commits) {
      w.status.state = 'unanchored';
      const message = `no freshness witness verified at ${locations.join(', ')}: the pool has commits, so this open cannot tell whether the store was rolled back; it runs unanchored${o.writable ? ' and writes the witness from now on' : ''}`;
      w.status.problems.push(message);
      processWarning('unanchored', message);
      o.events.emit('witness', { kind: 'unanchored', message });
    }
    await w.anchor(head);
    return w;
  }
  const seen = newest.record.head;
  w.status.witness = { location: newest.location, head: describeHead(seen), timeMs: newest.record.timeMs };
  const problem = seen === null ? undefined
    : head === null || head.index < seen.index ? 'is behind'
      : (await o.catalog.auditRecord(seen.index))?.hash !== seen.hash ? 'has another history than' : undefined;
  if (problem === undefined) {
    w.status.state = 'anchored';
    await w.anchor(head);
    return w;
  }
  const both = `catalog audit head ${describeHead(head)}, witness audit head ${describeHead(seen)} (${newest.location}, written ${new Date(newest.record.timeMs).toISOString()})`;
  if (o.breakGlass === undefined) {
    throw new ShardVaultError(ErrorCode.ROLLBACK, `the catalog ${problem} its freshness witness: the store was restored from an older state or its catalog replaced (${both}); nothing was changed. Find out why; to accept the older state, open with breakGlass { reason } (--break-glass --reason TEXT), which is audited`, { path: newest.location });
  }
  const timeMs = Date.now();
  await o.catalog.setMeta(ROLLBACK_ACCEPTED, { timeMs, principal: o.breakGlass.principal, reason: o.breakGlass.reason, catalogHead: describeHead(head), witnessHead: describeHead(seen), location: newest.location }, {
    action: 'witness.rollback-accepted', principal: o.breakGlass.principal, timeMs,
    detail: `${both}; reason: ${o.breakGlass.reason}`,
  });
  head = headOf(await o.catalog.auditHead());
  w.status.state = 'rollback-accepted';
  const message = `break-glass accepted a catalog that ${problem} its freshness witness (${both}); reason: ${o.breakGlass.reason}; re-anchored at ${describeHead(head)}`;
  w.status.problems.push(message);
  processWarning('rollback-accepted', message);
  o.events.emit('witness', { kind: 'rollback-accepted', location: newest.location, message });
  await w.anchor(head);
  return w;
}
