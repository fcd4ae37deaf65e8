/**
 * The pool's security floor at run time (DESIGN.md I5, issue 13; docs/security-floor.md): where the signed floor
 * record (lib/format/floor.ts) is kept, how the copies are reconciled at open, and how a setting is checked
 * against it, raised, or lowered with break-glass.
 *
 * The catalog's record (meta item `security.floor`, written with its audit record) is the commit point; then
 * the same bytes are written as pool record `floor` to every usable member. At a read-write open every copy
 * is read and verified: a copy that does not verify refuses the open (a tampered floor must never pass for a
 * lower one); a member holding a newer record than the catalog also refuses it (the catalog was restored or
 * replaced by an older one, which would lower the floor); members with no or an older record are brought up to
 * date (a crash after the catalog commit, or a disk added later). A catalog without a record takes the newest
 * one its members hold (after `rebuildCatalog`), and a pool without any record (made by an older release) gets
 * one equal to its current settings (`floor.init`).
 */
import { ErrorCode, ShardVaultError } from '../errors.js';
import {
  FLOOR_FORMAT, FLOOR_RECORD, FLOOR_SETTING_NAMES, HASH_ALGORITHMS, SIGNATURE_ALGORITHMS, REASON_BYTES_MAX, describeWeakenings, floorStatus, openFloor, signFloor, strongest, weakerThan, weakest,
  type FloorRecord, type FloorSettings, type FloorStatus,
} from '../format/floor.js';
import { hex } from '../format/ids.js';
import { MANIFEST_VERSIONS_READ } from '../format/manifest.js';
import type { Engine } from '../engine/context.js';
import type { PoolConfig } from '../engine/pool-setup.js';
import { boolean, integer, oneOf, optionsObject } from '../validate.js';

/** The signer key id (hex) of floor record bytes that openFloor verified. */
function signerOf(bytes: Uint8Array): string {
  return (JSON.parse(Buffer.from(bytes).toString('utf8')) as { signerKeyId: string }).signerKeyId;
}

/** The catalog meta item holding the signed floor record (hex of its bytes). */
export const FLOOR_META = 'security.floor';

/** A deliberate, audited acceptance of something weaker than the floor (CLI `--break-glass --reason TEXT`). */
export interface BreakGlass {
  reason: string;
  /** Who accepts it (the audit records' principal; default `local`). */
  principal?: string;
}

/**
 * The settings a pool runs with, in the floor's terms. k, m and the write quorum are the pool's configuration;
 * the hash is BLAKE3 and signatures are of the active key's type (Ed25519), the only ones this release has.
 * fsync and verify-on-read have no switch in this release (every seal is fsync-durable, every read is
 * verified), so they are on; manifests are accepted from the oldest format this release reads.
 */
export function currentSettings(ctx: Engine, config: PoolConfig = ctx.config): FloorSettings {
  const keyType = ctx.keys.signer().privateKey.asymmetricKeyType;
  if (keyType !== 'ed25519') throw new ShardVaultError(ErrorCode.FLOOR, `signature ${String(keyType)} is not one this release signs with (ed25519)`);
  return {
    k: config.k, m: config.m, hash: 'blake3', signature: keyType, fsync: true, verifyOnRead: true,
    manifestFormat: MANIFEST_VERSIONS_READ[0], writeQuorumAboveK: config.writeQuorum - config.k,
  };
}

/** Checks a break-glass argument (an object with a non-empty, bounded reason without control characters). */
export function checkBreakGlass(value: unknown): BreakGlass | undefined {
  if (value === undefined) return undefined;
  const { reason, principal } = (value ?? {}) as { reason?: unknown; principal?: unknown };
  if (value === null || typeof value !== 'object' || Object.keys(value).some((k) => k !== 'reason' && k !== 'principal') || typeof reason !== 'string' || (principal !== undefined && typeof principal !== 'string')) {
    throw new ShardVaultError(ErrorCode.INVALID_ARG_TYPE, 'breakGlass must be { reason: string, principal?: string }');
  }
  if (reason.trim() === '' || Buffer.byteLength(reason, 'utf8') > REASON_BYTES_MAX || /[\x00-\x1f\x7f]/.test(reason)) {
    throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `breakGlass.reason must be 1..${REASON_BYTES_MAX} UTF-8 bytes of text without control characters`);
  }
  return { reason, ...(principal !== undefined ? { principal } : {}) };
}

/** Checks the settings given to raiseFloor/lowerFloor: known names, each of its type and bound. */
export function floorSettingsInput(value: unknown): Partial<FloorSettings> {
  const o = optionsObject<FloorSettings>('settings', value, FLOOR_SETTING_NAMES);
  if (Object.keys(o).length === 0) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `settings: name at least one of ${FLOOR_SETTING_NAMES.join(', ')}`);
  return {
    ...(o.k !== undefined ? { k: integer('k', o.k, 1, 255) } : {}),
    ...(o.m !== undefined ? { m: integer('m', o.m, 1, 255) } : {}),
    ...(o.hash !== undefined ? { hash: oneOf('hash', o.hash, HASH_ALGORITHMS) } : {}),
    ...(o.signature !== undefined ? { signature: oneOf('signature', o.signature, SIGNATURE_ALGORITHMS) } : {}),
    ...(o.fsync !== undefined ? { fsync: boolean('fsync', o.fsync) } : {}),
    ...(o.verifyOnRead !== undefined ? { verifyOnRead: boolean('verifyOnRead', o.verifyOnRead) } : {}),
    ...(o.manifestFormat !== undefined ? { manifestFormat: integer('manifestFormat', o.manifestFormat, 1, 65535) } : {}),
    ...(o.writeQuorumAboveK !== undefined ? { writeQuorumAboveK: integer('writeQuorumAboveK', o.writeQuorumAboveK, 1, 255) } : {}),
  };
}

export class SecurityFloor {
  #record: FloorRecord | undefined;
  /** Hex id of the key that signed #record's bytes. */
  #signer: string | undefined;

  constructor(private readonly ctx: Engine) {}

  /** The floor in force (undefined only on a read-only open of a pool that never recorded one). */
  get record(): FloorRecord | undefined {
    return this.#record;
  }

  status(): FloorStatus | undefined {
    return this.#record === undefined ? undefined : floorStatus(this.#record);
  }

  /**
   * Verifies a floor record by any key of the ring, revoked ones included, and says whether its signer is
   * still trusted: a key ring change (rotate, revoke) re-signs the floor under the new active key, but a crash
   * between the ring's commit and the floor's, or members not written yet, can leave a record signed by a key
   * revoked since. The catalog's copy is then still the floor (the catalog's chained record vouches for it, as
   * it does for manifests `repair --resign` re-signs) and is re-signed at open; a member's such copy is only
   * stale: never adopted, never compared, overwritten.
   */
  #open(bytes: Uint8Array, where: string): { record: FloorRecord; trusted: boolean } {
    const record = openFloor(bytes, this.ctx.config.poolId, (id) => this.ctx.keys.known(id), where);
    return { record, trusted: this.ctx.keys.trusted(Buffer.from(signerOf(bytes), 'hex')) !== null };
  }

  async #fromCatalog(): Promise<{ record: FloorRecord; bytes: Uint8Array; trusted: boolean } | undefined> {
    const stored = await this.ctx.catalog.getMeta<unknown>(FLOOR_META);
    if (stored === undefined) return undefined;
    if (typeof stored !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(stored)) {
      throw new ShardVaultError(ErrorCode.FLOOR, 'the security floor record in the catalog is refused: not the hex of a record (it was damaged or tampered with; the floor is not lowered by it)');
    }
    const bytes = new Uint8Array(Buffer.from(stored, 'hex'));
    return { ...this.#open(bytes, 'the catalog'), bytes };
  }

  /** Read-only open: the catalog's record, verified; nothing is reconciled or written. */
  async loadReadOnly(): Promise<void> {
    const found = await this.#fromCatalog();
    this.#record = found?.record;
    this.#signer = found === undefined ? undefined : signerOf(found.bytes);
  }

  /** Read-write open: reconciles the catalog's record with the members' (see the header). */
  async load(principal: string): Promise<void> {
    const ctx = this.ctx;
    const found = await this.#fromCatalog();
    const members: Array<{ id: string; record?: FloorRecord; bytes?: Uint8Array }> = [];
    for (const d of ctx.config.disks) {
      if (d.state === 'removed' || !ctx.health.usable(d)) continue;
      let bytes: Uint8Array | undefined;
      try {
        bytes = await ctx.storeOf(d).readRecord(FLOOR_RECORD);
      } catch (err) {
        if (err instanceof ShardVaultError && err.code === ErrorCode.OUT_OF_RANGE) throw this.#refuseMember(d.id, d.path, err.message);
        ctx.health.countError(d.id, 'read'); // an unreadable member is brought up to date when it is readable again
        continue;
      }
      if (bytes === undefined) {
        members.push({ id: d.id });
        continue;
      }
      const opened = this.#open(bytes, `disk ${d.id} (${d.path})`);
      members.push(opened.trusted ? { id: d.id, record: opened.record, bytes } : { id: d.id }); // a revoked signer's copy is stale
    }
    let current: { record: FloorRecord; bytes: Uint8Array } | undefined = found;
    if (found !== undefined && !found.trusted) {
      current = await this.#commit({ ...found.record, serial: found.record.serial + 1, timeMs: Date.now() }, 'floor.resign', principal, 'the floor record was signed by a key revoked since: re-signed by the active key', false);
    }
    if (current !== undefined) {
      for (const m of members) {
        if (m.record === undefined || m.bytes === undefined) continue;
        const newer = m.record.serial > current.record.serial;
        const forked = m.record.serial === current.record.serial && Buffer.compare(m.bytes, current.bytes) !== 0;
        if (newer || forked) {
          throw new ShardVaultError(ErrorCode.FLOOR, `the catalog's security floor (serial ${current.record.serial}) is ${newer ? 'older than' : 'not the same as'} the one on disk ${m.id} (serial ${m.record.serial}): the catalog was restored or replaced; refusing to open with a floor that may be lower (docs/security-floor.md says how to check and recover)`);
        }
      }
    } else {
      const newest = members.reduce<{ record?: FloorRecord; bytes?: Uint8Array } | undefined>((best, m) => (m.record !== undefined && (best?.record === undefined || m.record.serial > best.record.serial) ? m : best), undefined);
      if (newest?.record !== undefined && newest.bytes !== undefined) {
        // The catalog lost its record (rebuilt from the disks): the members' newest floor is the floor.
        await ctx.catalog.setMeta(FLOOR_META, hex(newest.bytes), { action: 'floor.restore', principal, timeMs: Date.now(), detail: `serial=${newest.record.serial} from the disks` });
        current = { record: newest.record, bytes: newest.bytes };
      } else {
        const record: FloorRecord = { format: FLOOR_FORMAT, poolId: ctx.config.poolId, serial: 1, timeMs: Date.now(), settings: currentSettings(ctx) };
        current = await this.#commit(record, 'floor.init', principal, `the pool's current settings: ${settingsText(record.settings)}`, false);
      }
    }
    this.#record = current.record;
    this.#signer = signerOf(current.bytes);
    const behind = members.filter((m) => m.bytes === undefined || Buffer.compare(m.bytes, current.bytes) !== 0).map((m) => m.id);
    await this.#spread(current.bytes, behind);
  }

  #refuseMember(id: string, path: string, why: string): ShardVaultError {
    return new ShardVaultError(ErrorCode.FLOOR, `the security floor record on disk ${id} (${path}) is refused: ${why}`);
  }

  /**
   * Checks `asked` against the floor. Weaker without break-glass: ERR_SV_FLOOR naming each setting, the value
   * asked for and the floor (`writeQuorum k+1 is below the floor k+2`). With break-glass the floor is lowered to
   * what was asked (`floor.lower`, audited with the reason) and stays overridden until raised back.
   */
  async require(asked: FloorSettings, what: string, principal: string, breakGlass?: BreakGlass): Promise<void> {
    const record = this.#need();
    const weak = weakerThan(asked, record.settings);
    if (weak.length === 0) return;
    if (breakGlass === undefined) {
      throw new ShardVaultError(ErrorCode.FLOOR, `${what} refused: ${describeWeakenings(weak)} (the pool's security floor; accepting it needs break-glass with a reason)`);
    }
    await this.#lower(weakest(record.settings, asked), breakGlass, principal, `${what}: ${describeWeakenings(weak)}`);
  }

  /**
   * Raises the floor to `asked` (each setting at least the floor's). The pool must already meet the new floor
   * (raise the setting first). Ends the override once the floor is back at or above the floor before it.
   */
  async raise(asked: Partial<FloorSettings>, principal: string): Promise<FloorStatus> {
    const record = this.#need();
    const next: FloorSettings = { ...record.settings, ...asked };
    const lower = weakerThan(next, record.settings);
    if (lower.length > 0) throw new ShardVaultError(ErrorCode.FLOOR, `raising the floor refused: ${describeWeakenings(lower)} (lowering it needs break-glass with a reason)`);
    const unmet = weakerThan(currentSettings(this.ctx), next);
    if (unmet.length > 0) throw new ShardVaultError(ErrorCode.FLOOR, `raising the floor refused: the pool runs below it: ${describeWeakenings(unmet)} (raise the setting first, e.g. \`shardvault config set write-quorum N\`)`);
    const cleared = record.override !== undefined && weakerThan(next, record.override.previous).length === 0;
    if (!cleared && weakerThan(record.settings, next).length === 0) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `nothing to raise: the floor is ${settingsText(record.settings)} already`);
    const updated: FloorRecord = {
      format: FLOOR_FORMAT, poolId: record.poolId, serial: record.serial + 1, timeMs: Date.now(), settings: next,
      ...(record.override !== undefined && !cleared ? { override: record.override } : {}),
    };
    await this.#commit(updated, 'floor.raise', principal, `${settingsText(next)}${cleared ? '; override ended' : record.override !== undefined ? '; still below the floor before the override' : ''}`);
    return floorStatus(updated);
  }

  /** Lowers the floor to `asked` where it is lower; needs break-glass (audited `floor.lower` with the reason). */
  async lowerTo(asked: Partial<FloorSettings>, principal: string, breakGlass: BreakGlass | undefined): Promise<FloorStatus> {
    const record = this.#need();
    const next: FloorSettings = { ...record.settings, ...asked };
    const weak = weakerThan(next, record.settings);
    if (weak.length === 0) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'nothing to lower: every setting asked for is at or above the floor (use raise)');
    if (breakGlass === undefined) throw new ShardVaultError(ErrorCode.FLOOR, `lowering the floor refused: ${describeWeakenings(weak)} (needs break-glass with a reason)`);
    await this.#lower(weakest(record.settings, next), breakGlass, principal, `floor lowered: ${describeWeakenings(weak)}`);
    return floorStatus(this.#record!);
  }

  async #lower(settings: FloorSettings, breakGlass: BreakGlass, principal: string, what: string): Promise<void> {
    const record = this.#need();
    const now = Date.now();
    // The override remembers the highest floor before any lowering, and since when the pool is below it.
    const previous = strongest(record.override?.previous ?? record.settings, record.settings);
    const updated: FloorRecord = {
      format: FLOOR_FORMAT, poolId: record.poolId, serial: record.serial + 1, timeMs: now, settings,
      override: { reason: breakGlass.reason, sinceMs: record.override?.sinceMs ?? now, previous },
    };
    await this.#commit(updated, 'floor.lower', principal, `reason=${JSON.stringify(breakGlass.reason)} ${what}`);
  }

  /**
   * After a key ring change: the floor record again, unchanged but for its serial, signed by the active key
   * (`floor.resign`), so revoking the key that signed it leaves a floor that verifies. Nothing when the record
   * is already signed by the active key.
   */
  async resign(principal: string): Promise<void> {
    const record = this.#need();
    if (this.#signer === hex(this.ctx.keys.signer().id)) return;
    await this.#commit({ ...record, serial: record.serial + 1, timeMs: Date.now() }, 'floor.resign', principal, 'the key ring changed: re-signed by the active key');
  }

  #need(): FloorRecord {
    if (this.#record === undefined) throw new ShardVaultError(ErrorCode.READ_ONLY, 'the pool has no security floor record yet: open it read-write once');
    return this.#record;
  }

  /** The catalog commit (with its audit record), then the members. */
  async #commit(record: FloorRecord, action: string, principal: string, detail: string, spread = true): Promise<{ record: FloorRecord; bytes: Uint8Array }> {
    // The key ring's active key (a floor signed after a rotation is verified by the new key).
    const { id, privateKey } = this.ctx.keys.signer();
    const bytes = signFloor(record, { keyId: id, privateKey });
    await this.ctx.catalog.setMeta(FLOOR_META, hex(bytes), { action, principal, timeMs: record.timeMs, detail: detail.slice(0, 1000) });
    this.#record = record;
    this.#signer = hex(id);
    if (spread) await this.#spread(bytes, this.ctx.config.disks.filter((d) => d.state !== 'removed').map((d) => d.id));
    return { record, bytes };
  }

  /**
   * Gives a member added to the pool its copy of the floor: the catalog's bytes, not a new signature (after a key
   * rotation that would be a different record with the same serial, which the next open refuses).
   */
  async copyTo(id: string): Promise<void> {
    const found = await this.#fromCatalog();
    if (found !== undefined) await this.#spread(found.bytes, [id]);
  }

  /**
   * Writes the record to members (`ids`). A member that fails keeps its older copy (counted as a write error);
   * the catalog is the commit point and the next open brings the member up to date.
   */
  async #spread(bytes: Uint8Array, ids: string[]): Promise<void> {
    await Promise.all(ids.map(async (id) => {
      const d = this.ctx.member(id);
      if (d === undefined || !this.ctx.health.usable(d)) return;
      await this.ctx.storeOf(d).writeRecord(FLOOR_RECORD, bytes).catch(() => this.ctx.health.countError(id, 'write'));
    }));
  }
}

/** `k>=4 m>=2 writeQuorum>=k+2 hash=blake3 signature=ed25519 fsync=on verifyOnRead=on manifestFormat>=1` */
export function settingsText(s: FloorSettings): string {
  return `k>=${s.k} m>=${s.m} writeQuorum>=k+${s.writeQuorumAboveK} hash=${s.hash} signature=${s.signature} fsync=${s.fsync ? 'on' : 'off'} verifyOnRead=${s.verifyOnRead ? 'on' : 'off'} manifestFormat>=${s.manifestFormat}`;
}
