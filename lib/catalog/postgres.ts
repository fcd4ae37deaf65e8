/**
 * The catalog on PostgreSQL (issue 16): the same Catalog as lib/catalog/lmdb.ts, in a database several gateways
 * can share. Every mutation is one transaction (READ COMMITTED, row locks where it reads what it then changes)
 * that has committed when its promise resolves; the server's `synchronous_commit` and `fsync` are checked on
 * every new connection, so "committed" means flushed to its WAL (I1, I5; see #checkDurability).
 *
 * - Heads carry the head sequence in a `generation` column: a commit locks the head row, compares the sequence
 *   the writer read, and writes the new head with `where generation = expected` (a key without a head is
 *   created with `on conflict do nothing`: of two first writers one wins, the other gets ERR_SV_CONFLICT).
 * - The audit chain is one chain per schema, whoever writes: its head (the last record) is a row of its own,
 *   `audit_head`, locked `for update` by every append in the same transaction as the change. The lock is taken
 *   last in every transaction, after the rows the change itself locks, so that appends never deadlock; it
 *   serializes the appends of all connections and all gateways, and a waiter reads the head its predecessor
 *   committed (READ COMMITTED re-reads a row it waited for). The records are the ones audit-chain.ts computes.
 * - Keys are `text COLLATE "C"` in a UTF8 database (checked at connect): the C collation compares the UTF-8
 *   bytes (memcmp), which is S3's order and LMDB's, and the names stay readable in psql. NUL, which text cannot
 *   hold, is refused by the same guard as in LMDB (keys.ts). A prefix is the range [prefix, successor(prefix)),
 *   so every scan is an index range.
 * - Values (heads, parts, uploads, pool metadata) are JSON in `json` columns (not `jsonb`: it would reorder
 *   object keys, and the copy references are compared as JSON text), through a codec that keeps bigints and
 *   byte arrays exact (toStored/fromStored). Sequences are numeric(20,0): every u64, no float rounding.
 * - The schema is versioned (table `schema_version`; MIGRATIONS): open() applies what is missing under an
 *   advisory lock, and refuses a schema newer than this release knows (ERR_SV_FORMAT_VERSION).
 *
 * Failures: a transaction that fails before its COMMIT is sent rolled back (the server aborts a transaction
 * whose connection is gone): ERR_SV_CATALOG_FAILED, nothing written, and the next request tries again. A COMMIT
 * that gets no answer (the connection or the server died meanwhile) may or may not have committed: that is the
 * one unknown outcome, reported with `syscall: 'commit'` (so the engine keeps the version's files,
 * lib/engine/context.ts isUnknownCommit) and fencing this catalog (`failure`) as LMDB's failed commit does: it
 * takes no more writes until it is reopened, when the caller's open-time checks see what the server has.
 */
import { DatabaseError, Pool, escapeIdentifier, type PoolClient, type PoolConfig, type QueryResult } from 'pg';

import { nextRecord, verifyChain } from './audit-chain.js';
import type { AuditRecord, Catalog, CommitRequest, Head, ListEntry, ListPageOptions, PartRecord, RepairItem, UploadRecord, VersionOwner } from './catalog.js';
import { BUCKET_BYTES_MAX, KEY_BYTES_MAX, WALK_PAGE, catalogName as name, PageBuilder, repairSlot } from './keys.js';
import { ErrorCode, ShardVaultError, rangeError, typeError } from '../errors.js';

/** The newest schema version this release creates and reads (MIGRATIONS has one entry per version). */
export const CATALOG_SCHEMA_VERSION = 1;
/** Head sequences are u64 in manifests; numeric(20,0) holds every one of them. */
const SEQUENCE_MAX = 2n ** 64n - 1n;
/** Rows per multi-row INSERT (PostgreSQL takes at most 65535 parameters per statement). */
const ROWS_PER_INSERT = 1000;
/** The casts of a repair row's values (#repairRows). */
const REPAIR_CASTS = ['', '', '', '', '', '::integer', '', '::integer'];

type AuditFields = Omit<AuditRecord, 'hash' | 'index' | 'prevHash'>;
type Tx = <R = Record<string, unknown>>(text: string, values?: unknown[]) => Promise<QueryResult<R>>;
/** Tables whose rows are written as LMDB's put writes: inserted, or replacing the row with the same key. */
type UpsertKind = 'garbage' | 'version' | 'repair';

/**
 * The schema, one migration per version; migration i (0-based) takes the schema from version i to i + 1 and
 * runs in the same transaction as the `schema_version` row that records it. Never edit a released migration:
 * add the next one.
 */
const MIGRATIONS: ReadonlyArray<(s: string) => string[]> = [
  (s) => [
    `CREATE TABLE ${s}.bucket (bucket text COLLATE "C" PRIMARY KEY, created_ms bigint NOT NULL)`,
    `CREATE TABLE ${s}.head (bucket text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, generation numeric(20,0) NOT NULL,
       tombstone boolean NOT NULL, value json NOT NULL, PRIMARY KEY (bucket, key))`,
    // Version ids and part ids of committed versions and of parts of uploads in progress (VersionOwner).
    `CREATE TABLE ${s}.version (version_id text COLLATE "C" PRIMARY KEY, value json NOT NULL)`,
    `CREATE TABLE ${s}.garbage (version_id text COLLATE "C" PRIMARY KEY, value json NOT NULL)`,
    `CREATE TABLE ${s}.repair (bucket text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, version_id text COLLATE "C" NOT NULL,
       slot text COLLATE "C" NOT NULL, disk text NOT NULL, shard integer NOT NULL, dest text, part integer,
       PRIMARY KEY (bucket, key, version_id, slot))`,
    `CREATE TABLE ${s}.upload (bucket text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL, upload_id text COLLATE "C" NOT NULL,
       value json NOT NULL, PRIMARY KEY (bucket, key, upload_id))`,
    `CREATE TABLE ${s}.part (upload_id text COLLATE "C" NOT NULL, part_number integer NOT NULL, value json NOT NULL,
       PRIMARY KEY (upload_id, part_number))`,
    `CREATE TABLE ${s}.meta (item text COLLATE "C" PRIMARY KEY, value json NOT NULL)`,
    `CREATE TABLE ${s}.audit (idx bigint PRIMARY KEY, hash text NOT NULL, record json NOT NULL)`,
    // The chain head: exactly one row, the last record (null before the first). See the header.
    `CREATE TABLE ${s}.audit_head (one boolean PRIMARY KEY DEFAULT true CHECK (one), last json)`,
    `INSERT INTO ${s}.audit_head (last) VALUES (NULL)`,
  ],
];

// ------------------------------------------------------------ values

/**
 * A value as JSON that comes back exactly (fromStored): a bigint becomes {"$n": "<decimal>"}, a byte array
 * {"$b": "<base64>"}, and an object key that starts with `$` gets one more `$`, so a one-key object named `$n` or
 * `$b` is always a tag. Undefined properties are left out (as JSON does). Anything else that JSON would change
 * silently (a Date, a Map, a class instance, a non-finite number) is refused.
 */
function toStored(v: unknown): unknown {
  if (typeof v === 'bigint') return { $n: v.toString() };
  if (v instanceof Uint8Array) return { $b: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : toStored(x)));
  if (typeof v === 'number' && !Number.isFinite(v)) throw typeError('catalog value', 'finite numbers', v);
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'function' || typeof v === 'symbol') throw typeError('catalog value', 'plain data', v);
    return v;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw typeError('catalog value', 'plain objects, arrays, bigints and byte arrays', v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x !== undefined) define(out, k.startsWith('$') ? `$${k}` : k, toStored(x));
  }
  return out;
}

function fromStored(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromStored);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === '$n') return BigInt(o.$n as string);
  if (keys.length === 1 && keys[0] === '$b') return Buffer.from(o.$b as string, 'base64');
  const out: Record<string, unknown> = {};
  for (const k of keys) define(out, k.startsWith('$') ? k.slice(1) : k, fromStored(o[k]));
  return out;
}

/** Sets an own property, also one named `__proto__` (a user's metadata key), without touching the prototype. */
function define(o: Record<string, unknown>, k: string, value: unknown): void {
  Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
}

function stored(v: unknown): string {
  return JSON.stringify(toStored(v));
}

/** A count that becomes a LIMIT or a bound of a statement: a bad one is refused here, not by the server as a
 *  failed read. */
function count(kind: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw rangeError(kind, 'an integer >= 0', v);
  return v;
}

function sequence(kind: string, v: unknown): string {
  if (typeof v !== 'bigint') throw typeError(kind, 'a bigint', v);
  if (v < 0n || v > SEQUENCE_MAX) throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, `${kind} must be 0..2^64-1, not ${v}`);
  return v.toString();
}

// ------------------------------------------------------------ key ranges

/**
 * The least string above every string that starts with `s`, in code point order (which is UTF-8 byte order):
 * the last code point below U+10FFFF, plus one (skipping the surrogates, which UTF-8 cannot hold), with what
 * followed it dropped; undefined when there is none (`s` empty or all U+10FFFF). Lone surrogates are first
 * replaced by U+FFFD, as their UTF-8 encoding (and so the database) does.
 */
export function successor(s: string): string | undefined {
  const cps = Array.from(Buffer.from(s, 'utf8').toString('utf8'));
  while (cps.length > 0) {
    const c = cps.pop()!.codePointAt(0)!;
    if (c < 0x10ffff) return cps.join('') + String.fromCodePoint(c + 1 === 0xd800 ? 0xe000 : c + 1);
  }
  return undefined;
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** `($1, $2, ...), (...)` for `rows` rows of the given column casts, parameters numbered from `offset` + 1. */
function valuesList(rows: number, casts: readonly string[], offset = 0): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) out.push(`(${casts.map((c, i) => `$${offset + r * casts.length + i + 1}${c}`).join(', ')})`);
  return out.join(', ');
}

/** The rows with distinct keys, the last of each key kept (what a sequence of LMDB puts leaves). */
function lastByKey<T>(rows: T[], key: (row: T) => string): T[] {
  const m = new Map<string, T>();
  for (const r of rows) {
    const k = key(r);
    m.delete(k);
    m.set(k, r);
  }
  return [...m.values()];
}

// ------------------------------------------------------------ errors

/** Whether a failed COMMIT is known to have rolled back: the server answered it with a transaction-rollback
 *  (class 40) or integrity (class 23) error. Anything else, the connection lost above all, leaves it unknown. */
function rolledBack(err: unknown): boolean {
  return err instanceof DatabaseError && typeof err.code === 'string' && (err.code.startsWith('40') || err.code.startsWith('23'));
}

function causeText(err: unknown): string {
  const e = err as { message?: string; code?: unknown };
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  return err instanceof DatabaseError && err.code !== undefined ? `${message} (SQLSTATE ${err.code})` : typeof e?.code === 'string' ? `${message} (${e.code})` : message;
}

function errnoOf(err: unknown): number | undefined {
  const errno = (err as { errno?: unknown })?.errno;
  return typeof errno === 'number' ? Math.abs(errno) : undefined;
}

function ours(err: unknown): boolean {
  return err instanceof ShardVaultError || err instanceof TypeError || err instanceof RangeError;
}

/** The database a target names, without its password, for messages. */
function describeTarget(target: string | PoolConfig, schema: string): string {
  if (typeof target === 'string') {
    try {
      const u = new URL(target);
      u.password = '';
      return `${u.toString()} (schema ${schema})`;
    } catch {
      return `a PostgreSQL database (schema ${schema})`; // not a URL: pg reads it as a connection string
    }
  }
  const url = typeof target.connectionString === 'string' ? describeTarget(target.connectionString, schema) : undefined;
  return url ?? `postgresql://${target.user ?? ''}@${target.host ?? 'localhost'}:${target.port ?? 5432}/${target.database ?? ''} (schema ${schema})`;
}

// ------------------------------------------------------------ the catalog

export class PostgresCatalog implements Catalog {
  readonly #pool: Pool;
  /** The schema, quoted for SQL. */
  readonly #s: string;
  readonly #where: string;
  /** INSERT ... VALUES, the casts of the value columns and the ON CONFLICT clause of each UpsertKind. */
  readonly #upserts: Record<UpsertKind, { head: string; casts: readonly string[]; tail: string }>;
  /** Connections whose durability settings were checked (#connect): pg keeps one Client object per connection. */
  readonly #checked = new WeakSet<PoolClient>();
  /** Set by a COMMIT whose outcome is unknown: from then on every write is refused with it (see #write). */
  #failed: ShardVaultError | undefined;
  #closed = false;

  private constructor(pool: Pool, schema: string, where: string) {
    this.#pool = pool;
    const s = escapeIdentifier(schema);
    this.#s = s;
    this.#where = where;
    this.#upserts = {
      garbage: { head: `INSERT INTO ${s}.garbage (version_id, value) VALUES`, casts: ['', '::json'], tail: 'ON CONFLICT (version_id) DO UPDATE SET value = EXCLUDED.value' },
      version: { head: `INSERT INTO ${s}.version (version_id, value) VALUES`, casts: ['', '::json'], tail: 'ON CONFLICT (version_id) DO UPDATE SET value = EXCLUDED.value' },
      repair: {
        head: `INSERT INTO ${s}.repair (bucket, key, version_id, slot, disk, shard, dest, part) VALUES`, casts: REPAIR_CASTS,
        tail: 'ON CONFLICT (bucket, key, version_id, slot) DO UPDATE SET disk = EXCLUDED.disk, shard = EXCLUDED.shard, dest = EXCLUDED.dest, part = EXCLUDED.part',
      },
    };
  }

  /**
   * Connects to a database (a URL or a pg PoolConfig) and opens the catalog in `schema` (default `shardvault`),
   * creating or migrating it. The connection pool is pg's, with a connect timeout of 10 s unless the config sets
   * one (pg's default waits forever, which would hang every request while the server is unreachable).
   */
  static async open(target: string | PoolConfig, options: { schema?: string } = {}): Promise<PostgresCatalog> {
    if (typeof target !== 'string' && (target === null || typeof target !== 'object')) throw typeError('target', 'a PostgreSQL URL or a pg PoolConfig', target);
    const schema = options.schema ?? 'shardvault';
    if (typeof schema !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'schema must be 1..63 letters, digits or _ (not starting with a digit)');
    }
    const config: PoolConfig = typeof target === 'string' ? { connectionString: target } : { ...target };
    config.connectionTimeoutMillis ??= 10_000;
    config.keepAlive ??= true;
    const pool = new Pool(config);
    // An idle connection that the server closes (a restart, an administrator) is reported as an 'error' event
    // of the pool, which drops that connection; unhandled, the event would end the process. The next request
    // connects anew and reports its own failure, if any, so there is nothing to do here.
    pool.on('error', () => undefined);
    const catalog = new PostgresCatalog(pool, schema, describeTarget(target, schema));
    try {
      await catalog.#migrate(schema);
    } catch (err) {
      await catalog.close();
      throw err;
    }
    return catalog;
  }

  /** Creates the schema or brings it to CATALOG_SCHEMA_VERSION, one transaction, serialized by an advisory lock. */
  async #migrate(schema: string): Promise<void> {
    const s = this.#s;
    await this.#write('open', async (tx) => {
      // Gateways that open one new database at once would race on CREATE ... IF NOT EXISTS (which is not
      // atomic in PostgreSQL): the lock, named after the schema, makes them take turns.
      await tx('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`shardvault.catalog.migrate:${schema}`]);
      // DDL only when there is something to create: a gateway whose role may use the tables but not create
      // anything opens an existing catalog all the same.
      const exists = (await tx<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [`${s}.schema_version`])).rows[0].t !== null;
      if (!exists) {
        await tx(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await tx(`CREATE TABLE ${s}.schema_version (version integer PRIMARY KEY, applied_ms bigint NOT NULL)`);
      }
      const { rows } = await tx<{ v: number | null }>(`SELECT max(version) AS v FROM ${s}.schema_version`);
      const current = rows[0].v ?? 0;
      if (current > CATALOG_SCHEMA_VERSION) {
        throw new ShardVaultError(ErrorCode.FORMAT_VERSION, `the catalog at ${this.#where} is at schema version ${current}, newer than this release reads (up to ${CATALOG_SCHEMA_VERSION}): open it with the release that wrote it, or a newer one`);
      }
      for (let v = current; v < CATALOG_SCHEMA_VERSION; v++) {
        for (const statement of MIGRATIONS[v](s)) await tx(statement);
        await tx(`INSERT INTO ${s}.schema_version (version, applied_ms) VALUES ($1, $2)`, [v + 1, Date.now()]);
      }
    });
  }

  /** Why the catalog refuses writes (a commit's outcome is unknown since open), or undefined while it accepts them. */
  get failure(): ShardVaultError | undefined {
    return this.#failed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /**
   * A connection of the pool, its durability settings checked when it is new (I1, I5): `synchronous_commit`
   * must make a COMMIT wait for the local WAL flush, and `fsync` must be on, or a resolved commit could be lost
   * by a crash of the server or its machine. Accepted: `on`, and `remote_write` / `remote_apply`, which wait
   * for the same local flush and, with synchronous standbys configured, for a standby too. Refused with
   * ERR_SV_FLOOR: `off` (no wait at all) and `local` (a setting whose only point is to not wait for the
   * standbys the administrator configured). A UTF8 server encoding is required for the key order (see the
   * header). Checked per connection, not once, because a role or database setting (ALTER ROLE ... SET) changed
   * later applies to new connections only.
   */
  async #connect(what: string): Promise<PoolClient> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what}: cannot connect to the catalog at ${this.#where}: ${causeText(err)}`, {
        ...(errnoOf(err) !== undefined ? { errno: errnoOf(err) } : {}), syscall: 'connect', cause: err,
      });
    }
    if (this.#checked.has(client)) return client;
    // pg emits 'error' on a checked-out client whose connection ends (a server restart), besides failing its
    // query; unhandled, that event would end the process. The query's own failure is what reports it.
    client.on('error', () => undefined);
    try {
      const { rows } = await client.query<{ sc: string; fsync: string; enc: string }>(
        "SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync, current_setting('server_encoding') AS enc",
      );
      const { sc, fsync, enc } = rows[0];
      if (sc !== 'on' && sc !== 'remote_write' && sc !== 'remote_apply') {
        throw new ShardVaultError(ErrorCode.FLOOR, `the catalog at ${this.#where} has synchronous_commit = ${sc}: a commit could resolve before it is durable; set synchronous_commit to on (or remote_write / remote_apply with synchronous standbys)`);
      }
      if (fsync !== 'on') throw new ShardVaultError(ErrorCode.FLOOR, `the catalog at ${this.#where} has fsync = ${fsync}: its commits would not survive a crash; set fsync = on`);
      if (enc !== 'UTF8') throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `the catalog at ${this.#where} is in a database with encoding ${enc}: it needs UTF8 (keys are UTF-8 and sorted by their bytes)`, { syscall: 'connect' });
    } catch (err) {
      client.release(true);
      if (ours(err)) throw err;
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what}: cannot check the catalog's settings at ${this.#where}: ${causeText(err)}`, {
        ...(errnoOf(err) !== undefined ? { errno: errnoOf(err) } : {}), syscall: 'connect', cause: err,
      });
    }
    this.#checked.add(client);
    return client;
  }

  /** One read statement on its own connection; a failure is ERR_SV_CATALOG_FAILED (nothing is fenced by a read). */
  async #read<R>(what: string, text: string, values: unknown[] = []): Promise<R[]> {
    const client = await this.#connect(what);
    let result: QueryResult<R>;
    try {
      result = await client.query<R>(text, values);
    } catch (err) {
      client.release(true);
      const why = this.#failed !== undefined ? ` (after ${this.#failed.message})` : '';
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `catalog read (${what}) at ${this.#where} failed: ${causeText(err)}${why}`, {
        ...(errnoOf(err) !== undefined ? { errno: errnoOf(err) } : {}), syscall: 'read', cause: err,
      });
    }
    client.release();
    return result.rows;
  }

  /**
   * Every write transaction goes through here: BEGIN, `fn`, COMMIT on one connection. Errors our own code
   * throws (CONFLICT, NO_SUCH_BUCKET, ...) roll back and pass through untouched. A statement the server refuses,
   * or a connection lost before the COMMIT is sent, rolls back too: ERR_SV_CATALOG_FAILED, nothing written. A
   * COMMIT without an answer has an unknown outcome: ERR_SV_CATALOG_FAILED with syscall 'commit', and the
   * catalog is fenced (see the header).
   */
  async #write<T>(what: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.#failed !== undefined) {
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what} refused: ${this.#failed.message}`, {
        ...(this.#failed.errno !== undefined ? { errno: this.#failed.errno } : {}), cause: this.#failed,
      });
    }
    const client = await this.#connect(what);
    const tx: Tx = (text, values) => client.query(text, values);
    let result: T;
    try {
      await client.query('BEGIN');
      result = await fn(tx);
    } catch (err) {
      // Nothing was committed. The connection is reused only if it is known to be clean (a server-side error, or
      // one of ours, and a ROLLBACK that went through).
      let clean = ours(err) || err instanceof DatabaseError;
      if (clean) clean = await client.query('ROLLBACK').then(() => true, () => false);
      client.release(!clean);
      if (ours(err)) throw err;
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what} not stored (rolled back) at ${this.#where}: ${causeText(err)}`, {
        ...(errnoOf(err) !== undefined ? { errno: errnoOf(err) } : {}), syscall: 'transaction', cause: err,
      });
    }
    let done: QueryResult<unknown>;
    try {
      done = await client.query('COMMIT');
    } catch (err) {
      client.release(true);
      if (rolledBack(err)) {
        throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what} not stored (its COMMIT was refused) at ${this.#where}: ${causeText(err)}`, { syscall: 'transaction', cause: err });
      }
      this.#failed = new ShardVaultError(
        ErrorCode.CATALOG_FAILED,
        `the catalog at ${this.#where} got no answer to a COMMIT (${causeText(err)}): whether it committed is unknown, so it takes no more writes until it is reopened`,
        { ...(errnoOf(err) !== undefined ? { errno: errnoOf(err) } : {}), syscall: 'commit', cause: err },
      );
      throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what} outcome unknown: ${this.#failed.message}`, {
        ...(errnoOf(err) !== undefined ? { errno: errnoOf(err) } : {}), syscall: 'commit', cause: err,
      });
    }
    client.release();
    // A COMMIT of a transaction the server had already aborted answers ROLLBACK, not an error.
    if (done.command !== 'COMMIT') throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `${what} not stored at ${this.#where}: the server rolled the transaction back (${done.command})`, { syscall: 'transaction' });
    return result;
  }

  /** Inserts rows in statements of at most ROWS_PER_INSERT rows: `head` is `INSERT INTO t (cols) VALUES`, `tail`
   *  what follows the values (ON CONFLICT ..., RETURNING ...). The result rows of every statement, in order. */
  async #insert<R>(tx: Tx, head: string, casts: readonly string[], rows: unknown[][], tail = ''): Promise<R[]> {
    const out: R[] = [];
    for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
      const chunk = rows.slice(i, i + ROWS_PER_INSERT);
      const r = await tx<R>(`${head} ${valuesList(chunk.length, casts)} ${tail}`, chunk.flat());
      out.push(...r.rows);
    }
    return out;
  }

  /** Appends a record to the audit chain inside a write transaction: locks the chain head (see the header). */
  async #appendAudit(tx: Tx, r: AuditFields): Promise<AuditRecord> {
    const s = this.#s;
    const { rows } = await tx<{ last: AuditRecord | null }>(`SELECT last FROM ${s}.audit_head FOR UPDATE`);
    if (rows.length !== 1) throw new ShardVaultError(ErrorCode.CATALOG_FAILED, `the catalog at ${this.#where} has no audit chain head (${rows.length} rows in audit_head)`);
    const record = nextRecord(rows[0].last === null ? undefined : (fromStored(rows[0].last) as AuditRecord), r);
    const text = stored(record);
    await tx(`WITH a AS (INSERT INTO ${s}.audit (idx, hash, record) VALUES ($1, $2, $3::json)) UPDATE ${s}.audit_head SET last = $3::json`, [record.index, record.hash, text]);
    return record;
  }

  // ------------------------------------------------------------ heads and commits

  async getHead(bucket: string, key: string): Promise<Head | undefined> {
    const rows = await this.#read<{ value: unknown }>('getHead', `SELECT value FROM ${this.#s}.head WHERE bucket = $1 AND key = $2`, [name('bucket', bucket, BUCKET_BYTES_MAX), name('key', key, KEY_BYTES_MAX)]);
    return rows.length === 0 ? undefined : (fromStored(rows[0].value) as Head);
  }

  /**
   * Makes a new head visible: compare-and-set on the head sequence (the generation column), the version
   * index entry, the superseded version's garbage entry, repair work and the audit record, in one committed
   * transaction. A head whose sequence moved since the writer read it is refused (ERR_SV_CONFLICT).
   */
  async commit(req: CommitRequest): Promise<AuditRecord> {
    this.#checkCommit(req);
    return this.#write('commit', (tx) => this.#commitIn(tx, req));
  }

  #checkCommit(req: CommitRequest): void {
    name('bucket', req.bucket, BUCKET_BYTES_MAX);
    name('key', req.key, KEY_BYTES_MAX);
    sequence('expectedSequence', req.expectedSequence);
    sequence('head.sequence', req.head.sequence);
    if (req.head.sequence <= req.expectedSequence) {
      throw new ShardVaultError(ErrorCode.OUT_OF_RANGE, 'the new head sequence must exceed the expected one');
    }
  }

  async #commitIn(tx: Tx, req: CommitRequest): Promise<AuditRecord> {
    const s = this.#s;
    // Every round trip adds to a commit what a fraction of its WAL flush costs (more once the database is on
    // another host), so the change takes two statements before the audit append: the locks and the reads, then
    // every write. The first takes a share lock on the bucket row (deleteBucket, which locks it for update,
    // waits for this commit and then sees its head) and the head row's lock for the compare-and-set.
    const { rows } = await tx<{ bucket: number | null; generation: string | null; value: unknown }>(
      `SELECT b.one AS bucket, h.generation, h.value FROM (SELECT 1) x
         LEFT JOIN (SELECT 1 AS one FROM ${s}.bucket WHERE bucket = $1 FOR SHARE) b ON true
         LEFT JOIN (SELECT generation, value FROM ${s}.head WHERE bucket = $1 AND key = $2 FOR UPDATE) h ON true`, [req.bucket, req.key]);
    if (rows[0].bucket === null) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${req.bucket}`);
    const conflict = (at: bigint) => new ShardVaultError(ErrorCode.CONFLICT, `head of ${req.bucket}/${req.key} is at sequence ${at}, expected ${req.expectedSequence}`);
    const current = rows[0].generation === null ? undefined : { sequence: BigInt(rows[0].generation), head: fromStored(rows[0].value) as Head };
    if ((current?.sequence ?? 0n) !== req.expectedSequence) throw conflict(current?.sequence ?? 0n);

    // The writes, as one statement of data-modifying WITH queries; `h` says whether the head was written. When
    // it was not, the transaction is rolled back by the CONFLICT thrown below, with everything else written here.
    const values: unknown[] = [];
    const p = (v: unknown, cast = '') => `$${values.push(v)}${cast}`;
    const head = [p(req.head.sequence.toString()), p(req.head.tombstone === true), p(stored(req.head), '::json')];
    const writes = [current === undefined
      // A key without a head had no row to lock: of two first writers, the one that inserts second gets nothing.
      ? `h AS (INSERT INTO ${s}.head (bucket, key, generation, tombstone, value) VALUES (${p(req.bucket)}, ${p(req.key)}, ${head.join(', ')}) ON CONFLICT (bucket, key) DO NOTHING RETURNING 1)`
      // The row is locked, so the generation cannot have moved since the SELECT; the condition is the
      // compare-and-set all the same, the one statement that decides.
      : `h AS (UPDATE ${s}.head SET generation = ${head[0]}, tombstone = ${head[1]}, value = ${head[2]} WHERE bucket = ${p(req.bucket)} AND key = ${p(req.key)} AND generation = ${p(req.expectedSequence.toString())} RETURNING 1)`];
    if (current !== undefined) {
      // The version this head replaces is garbage once readers that started on it are done (gc's grace period).
      const entry = { bucket: req.bucket, key: req.key, head: current.head, supersededMs: req.head.committedMs ?? req.audit.timeMs };
      writes.push(`g AS (${this.#upserts.garbage.head} (${p(current.head.versionId)}, ${p(stored(entry), '::json')}) ${this.#upserts.garbage.tail})`);
    }
    const owners: Array<[string, VersionOwner]> = [[req.head.versionId, { bucket: req.bucket, key: req.key, sequence: req.head.sequence }]];
    for (const part of req.head.parts ?? []) owners.push([part.partId, { bucket: req.bucket, key: req.key, sequence: req.head.sequence, partOf: req.head.versionId }]);
    const versionRows = this.#versionRows(owners);
    const repairRows = this.#repairRows((req.repair ?? []).map((r) => ({ bucket: req.bucket, key: req.key, versionId: req.head.versionId, ...r })));
    // A multipart object of many parts would exceed a statement's parameters: its rows go in statements of
    // their own (#insert), after this one.
    const inline = versionRows.length <= ROWS_PER_INSERT && repairRows.length <= ROWS_PER_INSERT;
    if (inline) {
      writes.push(this.#upsertCte('v', 'version', versionRows, values));
      if (repairRows.length > 0) writes.push(this.#upsertCte('r', 'repair', repairRows, values));
    }
    const written = await tx<{ n: string }>(`WITH ${writes.join(', ')} SELECT count(*) AS n FROM h`, values);
    if (written.rows[0].n !== '1') {
      // Only a first writer can get here: another one committed the key meanwhile.
      const now = await tx<{ generation: string }>(`SELECT generation FROM ${s}.head WHERE bucket = $1 AND key = $2`, [req.bucket, req.key]);
      throw conflict(now.rows.length === 0 ? 0n : BigInt(now.rows[0].generation));
    }
    if (!inline) {
      await this.#upsert(tx, 'version', versionRows);
      await this.#upsert(tx, 'repair', repairRows);
    }
    return this.#appendAudit(tx, {
      action: req.audit.action, principal: req.audit.principal, timeMs: req.audit.timeMs, bucket: req.bucket,
      key: req.key, versionId: req.head.versionId, detail: req.audit.detail,
    });
  }

  /** A WITH query `name AS (INSERT ... ON CONFLICT ...)` of the rows of table `kind`, its values appended to `values`. */
  #upsertCte(name: string, kind: UpsertKind, rows: unknown[][], values: unknown[]): string {
    const u = this.#upserts[kind];
    const sql = `${name} AS (${u.head} ${valuesList(rows.length, u.casts, values.length)} ${u.tail})`;
    values.push(...rows.flat());
    return sql;
  }

  /** Writes rows of table `kind`, replacing those with the same key (what LMDB's put does). */
  async #upsert(tx: Tx, kind: UpsertKind, rows: unknown[][]): Promise<void> {
    const u = this.#upserts[kind];
    await this.#insert(tx, u.head, u.casts, rows, u.tail);
  }

  async #putGarbage(tx: Tx, versionId: string, entry: { bucket: string; key: string; head: Head; supersededMs: number }): Promise<void> {
    await this.#upsert(tx, 'garbage', [[versionId, stored(entry)]]);
  }

  async #putVersions(tx: Tx, owners: Array<[string, VersionOwner]>): Promise<void> {
    await this.#upsert(tx, 'version', this.#versionRows(owners));
  }

  #versionRows(owners: Array<[string, VersionOwner]>): unknown[][] {
    return lastByKey(owners, ([id]) => id).map(([id, owner]) => [id, stored(owner)]);
  }

  #repairRows(items: RepairItem[]): unknown[][] {
    return lastByKey(items, (r) => JSON.stringify([r.bucket, r.key, r.versionId, repairSlot(r)]))
      .map((r) => [r.bucket, r.key, r.versionId, repairSlot(r), r.disk, r.shard, r.to ?? null, r.part ?? null]);
  }

  /**
   * Re-points the current head at a re-signed manifest of the same version (repair, compaction): compare-and-set
   * on version id, manifest hash and (when given) the copy references, the completed repair items removed and
   * an audit record written, in one transaction.
   */
  async replaceManifest(
    bucket: string,
    key: string,
    expected: { versionId: string; manifestHash: string; copies?: Head['copies'] | null },
    head: Head,
    done: Array<{ shard: number; part?: number }>,
    audit: { action: string; principal: string; timeMs: number; detail?: string },
  ): Promise<void> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    name('key', key, KEY_BYTES_MAX);
    const s = this.#s;
    await this.#write('replaceManifest', async (tx) => {
      const { rows } = await tx<{ value: unknown }>(`SELECT value FROM ${s}.head WHERE bucket = $1 AND key = $2 FOR UPDATE`, [bucket, key]);
      const current = rows.length === 0 ? undefined : (fromStored(rows[0].value) as Head);
      if (current === undefined || current.versionId !== expected.versionId || current.manifestHash !== expected.manifestHash || head.versionId !== current.versionId || head.sequence !== current.sequence ||
        (expected.copies !== undefined && JSON.stringify(current.copies ?? null) !== JSON.stringify(expected.copies ?? null))) {
        throw new ShardVaultError(ErrorCode.CONFLICT, `head of ${bucket}/${key} moved while its shards were being repaired`);
      }
      await tx(`UPDATE ${s}.head SET tombstone = $3, value = $4::json WHERE bucket = $1 AND key = $2`, [bucket, key, head.tombstone === true, stored(head)]);
      if (done.length > 0) {
        await tx(`DELETE FROM ${s}.repair WHERE bucket = $1 AND key = $2 AND version_id = $3 AND slot = ANY($4::text[])`, [bucket, key, head.versionId, done.map(repairSlot)]);
      }
      await this.#appendAudit(tx, { ...audit, bucket, key, versionId: head.versionId });
    });
  }

  /** Every head, bucket by bucket in key order (live ones only unless `tombstones`), after `after`. */
  heads(options: { after?: { bucket: string; key: string }; tombstones?: boolean } = {}): AsyncIterable<{ bucket: string; key: string; head: Head }> {
    const live = options.tombstones === true ? '' : 'AND NOT tombstone';
    type Row = { bucket: string; key: string; value: unknown };
    return this.#paged<Row, { bucket: string; key: string; head: Head }>('heads', (after) => {
      const from = after ?? options.after;
      return from === undefined
        ? { text: `SELECT bucket, key, value FROM ${this.#s}.head WHERE true ${live} ORDER BY bucket, key LIMIT ${WALK_PAGE}`, values: [] }
        : { text: `SELECT bucket, key, value FROM ${this.#s}.head WHERE (bucket, key) > ($1, $2) ${live} ORDER BY bucket, key LIMIT ${WALK_PAGE}`, values: [from.bucket, from.key] };
    }, (row) => ({ bucket: row.bucket, key: row.key, head: fromStored(row.value) as Head }));
  }

  /**
   * One page of a listing, with exactly LMDB's semantics (lmdb.ts listPage: S3 ListObjectsV2 order and roll-up,
   * tombstones stepped over, at most `scanMax` keys looked at): live heads of `bucket` under `prefix`, in UTF-8
   * byte order, after `after`; a common prefix makes the scan seek past its keys. Keys are read in index
   * range queries of a bounded number of rows.
   */
  async listPage(bucket: string, options: ListPageOptions): Promise<{ entries: ListEntry[]; truncated: boolean; next?: { value: string; isPrefix: boolean } }> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    const prefix = options.prefix ?? '';
    const { maxKeys } = options;
    count('maxKeys', maxKeys);
    if (options.scanMax !== undefined) count('scanMax', options.scanMax);
    const upper = successor(prefix);
    let lower: { value: string; inclusive: boolean } | undefined = { value: prefix, inclusive: true };
    if (options.after !== undefined) {
      const a = options.after.value;
      if (options.after.isPrefix) {
        const past = successor(a);
        if (past === undefined) lower = undefined; // nothing sorts after every key under `a`
        else if (byteCompare(past, prefix) > 0) lower = { value: past, inclusive: true };
      } else if (byteCompare(a, prefix) >= 0) {
        lower = { value: a, inclusive: false };
      }
    }
    const page = new PageBuilder(options);
    while (lower !== undefined) {
      const want = Math.min(page.budget + 1, Math.max(WALK_PAGE, maxKeys + 1));
      const values: unknown[] = [bucket, lower.value];
      if (upper !== undefined) values.push(upper);
      const rows = await this.#read<{ key: string; tombstone: boolean; value: unknown }>('listPage',
        `SELECT key, tombstone, CASE WHEN tombstone THEN NULL ELSE value END AS value FROM ${this.#s}.head
         WHERE bucket = $1 AND key ${lower.inclusive ? '>=' : '>'} $2 ${upper !== undefined ? 'AND key < $3' : ''} ORDER BY key LIMIT ${want}`, values);
      let seek: { to: string | undefined } | undefined;
      for (const row of rows) {
        const step = page.take(row.key, row.tombstone, () => fromStored(row.value) as Head);
        if (step === undefined) continue;
        if ('done' in step) return step.done;
        seek = { to: successor(step.seek) };
        break; // seek past every key under the common prefix
      }
      if (seek !== undefined) lower = seek.to === undefined ? undefined : { value: seek.to, inclusive: true };
      else if (rows.length < want) break;
      else lower = { value: rows[rows.length - 1].key, inclusive: false };
    }
    return page.page();
  }

  /** Fills an empty catalog from what the disks hold (catalog rebuild), in one transaction. */
  async restore(
    entries: Array<{ bucket: string; key: string; head: Head; older: Head[] }>,
    buckets: string[],
    audit: { action: string; principal: string; timeMs: number; detail?: string },
  ): Promise<void> {
    const s = this.#s;
    for (const { bucket, key } of entries) {
      name('bucket', bucket, BUCKET_BYTES_MAX);
      name('key', key, KEY_BYTES_MAX);
    }
    for (const bucket of buckets) name('bucket', bucket, BUCKET_BYTES_MAX);
    await this.#write('restore', async (tx) => {
      // No commit may slip in between the emptiness check and the rebuild.
      await tx(`LOCK TABLE ${s}.head IN EXCLUSIVE MODE`);
      if (((await tx(`SELECT 1 FROM ${s}.head LIMIT 1`)).rowCount ?? 0) > 0) throw new ShardVaultError(ErrorCode.CONFLICT, 'restore needs an empty catalog');
      const allBuckets = [...new Set([...entries.map((e) => e.bucket), ...buckets])];
      await this.#insert(tx, `INSERT INTO ${s}.bucket (bucket, created_ms) VALUES`, ['', '::bigint'], allBuckets.map((b) => [b, audit.timeMs]), 'ON CONFLICT (bucket) DO NOTHING');
      const heads = lastByKey(entries, (e) => JSON.stringify([e.bucket, e.key]));
      await this.#insert(tx, `INSERT INTO ${s}.head (bucket, key, generation, tombstone, value) VALUES`, ['', '', '::numeric', '::boolean', '::json'],
        heads.map((e) => [e.bucket, e.key, sequence('head.sequence', e.head.sequence), e.head.tombstone === true, stored(e.head)]));
      const owners: Array<[string, VersionOwner]> = [];
      for (const { bucket, key, head, older } of entries) {
        for (const v of [...older, head]) {
          owners.push([v.versionId, { bucket, key, sequence: v.sequence }]);
          for (const p of v.parts ?? []) owners.push([p.partId, { bucket, key, sequence: v.sequence, partOf: v.versionId }]);
        }
      }
      await this.#putVersions(tx, owners);
      await this.#appendAudit(tx, audit);
    });
  }

  // ------------------------------------------------------------ buckets

  async createBucket(bucket: string, principal: string, timeMs: number): Promise<void> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    await this.#write('createBucket', async (tx) => {
      const ins = await tx(`INSERT INTO ${this.#s}.bucket (bucket, created_ms) VALUES ($1, $2) ON CONFLICT (bucket) DO NOTHING`, [bucket, timeMs]);
      if (ins.rowCount !== 1) throw new ShardVaultError(ErrorCode.BUCKET_EXISTS, `bucket ${bucket} already exists`);
      await this.#appendAudit(tx, { action: 'bucket.create', principal, timeMs, bucket });
    });
  }

  async deleteBucket(bucket: string, principal: string, timeMs: number): Promise<void> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    const s = this.#s;
    await this.#write('deleteBucket', async (tx) => {
      // Locked first: commits into the bucket (which share-lock it) finish before the emptiness check.
      if ((await tx(`SELECT 1 FROM ${s}.bucket WHERE bucket = $1 FOR UPDATE`, [bucket])).rowCount === 0) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
      if (((await tx(`SELECT 1 FROM ${s}.head WHERE bucket = $1 AND NOT tombstone LIMIT 1`, [bucket])).rowCount ?? 0) > 0) {
        throw new ShardVaultError(ErrorCode.BUCKET_NOT_EMPTY, `bucket ${bucket} is not empty`);
      }
      // Uploads in progress end with the bucket (as aborted: their parts' files go to gc).
      const uploads = await tx<{ key: string; upload_id: string }>(`SELECT key, upload_id FROM ${s}.upload WHERE bucket = $1 ORDER BY key, upload_id FOR UPDATE`, [bucket]);
      for (const u of uploads.rows) {
        await this.#dropParts(tx, bucket, u.key, u.upload_id, new Set());
        await tx(`DELETE FROM ${s}.upload WHERE bucket = $1 AND key = $2 AND upload_id = $3`, [bucket, u.key, u.upload_id]);
      }
      await tx(`DELETE FROM ${s}.bucket WHERE bucket = $1`, [bucket]);
      await this.#appendAudit(tx, { action: 'bucket.delete', principal, timeMs, bucket });
    });
  }

  async hasBucket(bucket: string): Promise<boolean> {
    return (await this.#read('hasBucket', `SELECT 1 FROM ${this.#s}.bucket WHERE bucket = $1`, [name('bucket', bucket, BUCKET_BYTES_MAX)])).length > 0;
  }

  async listBuckets(): Promise<string[]> {
    return (await this.#read<{ bucket: string }>('listBuckets', `SELECT bucket FROM ${this.#s}.bucket ORDER BY bucket`)).map((r) => r.bucket);
  }

  // ------------------------------------------------------------ versions

  async isCommittedVersion(versionId: string): Promise<boolean> {
    return (await this.versionOwner(versionId)) !== undefined;
  }

  async versionOwner(versionId: string): Promise<VersionOwner | undefined> {
    if (typeof versionId !== 'string') throw typeError('versionId', 'a string', versionId);
    const rows = await this.#read<{ value: unknown }>('versionOwner', `SELECT value FROM ${this.#s}.version WHERE version_id = $1`, [versionId]);
    return rows.length === 0 ? undefined : (fromStored(rows[0].value) as VersionOwner);
  }

  // ------------------------------------------------------------ multipart uploads

  async createUpload(bucket: string, key: string, uploadId: string, record: UploadRecord): Promise<void> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    name('key', key, KEY_BYTES_MAX);
    const s = this.#s;
    await this.#write('createUpload', async (tx) => {
      if ((await tx(`SELECT 1 FROM ${s}.bucket WHERE bucket = $1 FOR SHARE`, [bucket])).rowCount === 0) throw new ShardVaultError(ErrorCode.NO_SUCH_BUCKET, `no bucket ${bucket}`);
      const ins = await tx(`INSERT INTO ${s}.upload (bucket, key, upload_id, value) VALUES ($1, $2, $3, $4::json) ON CONFLICT DO NOTHING`, [bucket, key, uploadId, stored(record)]);
      if (ins.rowCount !== 1) throw new ShardVaultError(ErrorCode.CONFLICT, `upload ${uploadId} exists`);
      await this.#appendAudit(tx, { action: 'multipart.create', principal: record.principal, timeMs: record.initiatedMs, bucket, key, detail: `upload=${uploadId}` });
    });
  }

  async getUpload(bucket: string, key: string, uploadId: string): Promise<UploadRecord | undefined> {
    const rows = await this.#read<{ value: unknown }>('getUpload', `SELECT value FROM ${this.#s}.upload WHERE bucket = $1 AND key = $2 AND upload_id = $3`,
      [name('bucket', bucket, BUCKET_BYTES_MAX), name('key', key, KEY_BYTES_MAX), uploadId]);
    return rows.length === 0 ? undefined : (fromStored(rows[0].value) as UploadRecord);
  }

  /**
   * Records an uploaded part: replaces the part of the same number (whose files become garbage), registers the
   * part id, audited, one transaction. ERR_SV_NO_SUCH_UPLOAD when the upload is gone.
   */
  async commitPart(bucket: string, key: string, uploadId: string, partNumber: number, part: PartRecord, principal: string): Promise<void> {
    count('partNumber', partNumber);
    const s = this.#s;
    await this.#write('commitPart', async (tx) => {
      // A share lock: an abort or a Complete (which lock the upload for update) waits for this part, or wins.
      if ((await tx(`SELECT 1 FROM ${s}.upload WHERE bucket = $1 AND key = $2 AND upload_id = $3 FOR SHARE`, [bucket, key, uploadId])).rowCount === 0) {
        throw new ShardVaultError(ErrorCode.NO_SUCH_UPLOAD, `no upload ${uploadId} of ${bucket}/${key}`);
      }
      const old = await tx<{ value: unknown }>(`SELECT value FROM ${s}.part WHERE upload_id = $1 AND part_number = $2 FOR UPDATE`, [uploadId, partNumber]);
      if (old.rows.length > 0) await this.#partGarbage(tx, bucket, key, fromStored(old.rows[0].value) as PartRecord);
      await tx(`INSERT INTO ${s}.part (upload_id, part_number, value) VALUES ($1, $2, $3::json) ON CONFLICT (upload_id, part_number) DO UPDATE SET value = EXCLUDED.value`, [uploadId, partNumber, stored(part)]);
      await this.#putVersions(tx, [[part.partId, { bucket, key, sequence: 0n, uploadId, partNumber }]]);
      await this.#appendAudit(tx, { action: 'multipart.part', principal, timeMs: part.timeMs, bucket, key, versionId: part.partId, detail: `upload=${uploadId} part=${partNumber} size=${part.size}` });
    });
  }

  /** A part's files to gc at once (as LMDB's #partGarbage: no reader can be on them); its id forgotten. */
  async #partGarbage(tx: Tx, bucket: string, key: string, p: PartRecord): Promise<void> {
    await this.#putGarbage(tx, p.partId, { bucket, key, head: { versionId: p.partId, sequence: 0n, manifestHash: '', tombstone: false, placement: p.placement, striped: true }, supersededMs: 0 });
    await tx(`DELETE FROM ${this.#s}.version WHERE version_id = $1`, [p.partId]);
  }

  /** Removes an upload's part records, those not in `keep` (part ids) to gc. Returns how many parts it had. */
  async #dropParts(tx: Tx, bucket: string, key: string, uploadId: string, keep: Set<string>): Promise<number> {
    const { rows } = await tx<{ value: unknown }>(`SELECT value FROM ${this.#s}.part WHERE upload_id = $1 ORDER BY part_number FOR UPDATE`, [uploadId]);
    for (const row of rows) {
      const part = fromStored(row.value) as PartRecord;
      if (!keep.has(part.partId)) await this.#partGarbage(tx, bucket, key, part);
    }
    await tx(`DELETE FROM ${this.#s}.part WHERE upload_id = $1`, [uploadId]);
    return rows.length;
  }

  async getPart(uploadId: string, partNumber: number): Promise<PartRecord | undefined> {
    const rows = await this.#read<{ value: unknown }>('getPart', `SELECT value FROM ${this.#s}.part WHERE upload_id = $1 AND part_number = $2`, [uploadId, count('partNumber', partNumber)]);
    return rows.length === 0 ? undefined : (fromStored(rows[0].value) as PartRecord);
  }

  async listParts(uploadId: string, options: { after?: number; limit?: number } = {}): Promise<Array<{ partNumber: number; part: PartRecord }>> {
    const rows = await this.#read<{ part_number: number; value: unknown }>('listParts',
      `SELECT part_number, value FROM ${this.#s}.part WHERE upload_id = $1 AND part_number > $2 ORDER BY part_number ${options.limit !== undefined ? 'LIMIT $3' : ''}`,
      [uploadId, options.after === undefined ? -1 : count('after', options.after), ...(options.limit !== undefined ? [count('limit', options.limit)] : [])]);
    return rows.map((r) => ({ partNumber: r.part_number, part: fromStored(r.value) as PartRecord }));
  }

  /** Uploads in progress of `bucket` (key, then upload id order) under `prefix`, after `after`, at most `limit`. */
  async listUploads(bucket: string, options: { prefix?: string; after?: { key: string; uploadId?: string }; limit: number }): Promise<Array<{ key: string; uploadId: string; upload: UploadRecord }>> {
    name('bucket', bucket, BUCKET_BYTES_MAX);
    const prefix = options.prefix ?? '';
    const upper = successor(prefix);
    const values: unknown[] = [bucket, prefix, count('limit', options.limit)];
    let where = 'bucket = $1 AND key >= $2';
    if (upper !== undefined) where += ` AND key < $${values.push(upper)}`;
    if (options.after !== undefined) {
      // After every upload of the key (no upload id marker), or after that upload of the key.
      where += options.after.uploadId === undefined
        ? ` AND key > $${values.push(options.after.key)}`
        : ` AND (key, upload_id) > ($${values.push(options.after.key)}, $${values.push(options.after.uploadId)})`;
    }
    const rows = await this.#read<{ key: string; upload_id: string; value: unknown }>('listUploads',
      `SELECT key, upload_id, value FROM ${this.#s}.upload WHERE ${where} ORDER BY key, upload_id LIMIT $3`, values);
    return rows.map((r) => ({ key: r.key, uploadId: r.upload_id, upload: fromStored(r.value) as UploadRecord }));
  }

  allUploads(): AsyncIterable<{ bucket: string; key: string; uploadId: string; upload: UploadRecord }> {
    type Row = { bucket: string; key: string; upload_id: string; value: unknown };
    return this.#paged<Row, { bucket: string; key: string; uploadId: string; upload: UploadRecord }>('allUploads', (after) => (after === undefined
      ? { text: `SELECT bucket, key, upload_id, value FROM ${this.#s}.upload ORDER BY bucket, key, upload_id LIMIT ${WALK_PAGE}`, values: [] }
      : { text: `SELECT bucket, key, upload_id, value FROM ${this.#s}.upload WHERE (bucket, key, upload_id) > ($1, $2, $3) ORDER BY bucket, key, upload_id LIMIT ${WALK_PAGE}`, values: [after.bucket, after.key, after.upload_id] }),
    (row) => ({ bucket: row.bucket, key: row.key, uploadId: row.upload_id, upload: fromStored(row.value) as UploadRecord }));
  }

  async abortUpload(bucket: string, key: string, uploadId: string, action: string, principal: string, timeMs: number): Promise<void> {
    const s = this.#s;
    await this.#write('abortUpload', async (tx) => {
      if ((await tx(`SELECT 1 FROM ${s}.upload WHERE bucket = $1 AND key = $2 AND upload_id = $3 FOR UPDATE`, [bucket, key, uploadId])).rowCount === 0) {
        throw new ShardVaultError(ErrorCode.NO_SUCH_UPLOAD, `no upload ${uploadId} of ${bucket}/${key}`);
      }
      const n = await this.#dropParts(tx, bucket, key, uploadId, new Set());
      await tx(`DELETE FROM ${s}.upload WHERE bucket = $1 AND key = $2 AND upload_id = $3`, [bucket, key, uploadId]);
      await this.#appendAudit(tx, { action, principal, timeMs, bucket, key, detail: `upload=${uploadId} parts=${n}` });
    });
  }

  /**
   * Completes an upload: the commit of the multipart object (exactly as commit()) and the end of the upload, in
   * one transaction (I2). The parts used must still be the uploaded ones (else ERR_SV_CONFLICT).
   */
  async completeUpload(req: CommitRequest, uploadId: string, used: Array<{ partNumber: number; partId: string }>): Promise<AuditRecord> {
    this.#checkCommit(req);
    const s = this.#s;
    return this.#write('completeUpload', async (tx) => {
      // The bucket row first, as every transaction that locks both (deleteBucket) does: no lock-order deadlock.
      await tx(`SELECT 1 FROM ${s}.bucket WHERE bucket = $1 FOR SHARE`, [req.bucket]);
      if ((await tx(`SELECT 1 FROM ${s}.upload WHERE bucket = $1 AND key = $2 AND upload_id = $3 FOR UPDATE`, [req.bucket, req.key, uploadId])).rowCount === 0) {
        throw new ShardVaultError(ErrorCode.NO_SUCH_UPLOAD, `no upload ${uploadId} of ${req.bucket}/${req.key}`);
      }
      const { rows } = await tx<{ part_number: number; value: unknown }>(`SELECT part_number, value FROM ${s}.part WHERE upload_id = $1`, [uploadId]);
      const parts = new Map(rows.map((r) => [r.part_number, fromStored(r.value) as PartRecord]));
      for (const u of used) {
        if (parts.get(u.partNumber)?.partId !== u.partId) throw new ShardVaultError(ErrorCode.CONFLICT, `part ${u.partNumber} of upload ${uploadId} changed while it was being completed`);
      }
      await this.#dropParts(tx, req.bucket, req.key, uploadId, new Set(used.map((u) => u.partId)));
      await tx(`DELETE FROM ${s}.upload WHERE bucket = $1 AND key = $2 AND upload_id = $3`, [req.bucket, req.key, uploadId]);
      return this.#commitIn(tx, req);
    });
  }

  // ------------------------------------------------------------ repair and garbage queues

  /** Queues shards for repair with an audit record, in one transaction; resolves with the items not queued before. */
  async queueRepair(items: RepairItem[], principal: string, timeMs: number): Promise<RepairItem[]> {
    if (items.length === 0) return [];
    const s = this.#s;
    return this.#write('queueRepair', async (tx) => {
      // Already queued work is not queued (or audited) again; an item that now names a destination (a
      // replacement disk) updates the queued one. The upsert's RETURNING names exactly the rows it wrote.
      const written = await this.#insert<{ bucket: string; key: string; version_id: string; slot: string }>(tx,
        `INSERT INTO ${s}.repair AS r (bucket, key, version_id, slot, disk, shard, dest, part) VALUES`, REPAIR_CASTS, this.#repairRows(items),
        'ON CONFLICT (bucket, key, version_id, slot) DO UPDATE SET disk = EXCLUDED.disk, shard = EXCLUDED.shard, dest = EXCLUDED.dest, part = EXCLUDED.part WHERE EXCLUDED.dest IS NOT NULL AND EXCLUDED.dest IS DISTINCT FROM r.dest RETURNING bucket, key, version_id, slot');
      const ids = new Set(written.map((w) => JSON.stringify([w.bucket, w.key, w.version_id, w.slot])));
      const queued = items.filter((r) => ids.has(JSON.stringify([r.bucket, r.key, r.versionId, repairSlot(r)])));
      if (queued.length > 0) {
        await this.#appendAudit(tx, { action: 'repair.queue', principal, timeMs, bucket: queued[0].bucket, key: queued[0].key, versionId: queued[0].versionId, detail: queued.map(repairSlot).join(',') });
      }
      return queued;
    });
  }

  async completeRepair(items: Array<{ bucket: string; key: string; versionId: string; shard: number; part?: number }>, action: string, principal: string, timeMs: number): Promise<void> {
    if (items.length === 0) return;
    await this.#write('completeRepair', async (tx) => {
      await tx(`DELETE FROM ${this.#s}.repair WHERE (bucket, key, version_id, slot) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]))`,
        [items.map((r) => r.bucket), items.map((r) => r.key), items.map((r) => r.versionId), items.map(repairSlot)]);
      await this.#appendAudit(tx, { action, principal, timeMs, bucket: items[0].bucket, key: items[0].key, versionId: items[0].versionId, detail: items.map(repairSlot).join(',') });
    });
  }

  repairQueue(): AsyncIterable<RepairItem> {
    type Row = { bucket: string; key: string; version_id: string; slot: string; disk: string; shard: number; dest: string | null; part: number | null };
    const cols = 'bucket, key, version_id, slot, disk, shard, dest, part';
    return this.#paged<Row, RepairItem>('repairQueue', (after) => (after === undefined
      ? { text: `SELECT ${cols} FROM ${this.#s}.repair ORDER BY bucket, key, version_id, slot LIMIT ${WALK_PAGE}`, values: [] }
      : { text: `SELECT ${cols} FROM ${this.#s}.repair WHERE (bucket, key, version_id, slot) > ($1, $2, $3, $4) ORDER BY bucket, key, version_id, slot LIMIT ${WALK_PAGE}`, values: [after.bucket, after.key, after.version_id, after.slot] }),
    (r) => ({ bucket: r.bucket, key: r.key, versionId: r.version_id, disk: r.disk, shard: r.shard, ...(r.dest !== null ? { to: r.dest } : {}), ...(r.part !== null ? { part: r.part } : {}) }));
  }

  garbageQueue(): AsyncIterable<{ bucket: string; key: string; head: Head; supersededMs: number }> {
    type Row = { version_id: string; value: unknown };
    return this.#paged<Row, { bucket: string; key: string; head: Head; supersededMs: number }>('garbageQueue', (after) => (after === undefined
      ? { text: `SELECT version_id, value FROM ${this.#s}.garbage ORDER BY version_id LIMIT ${WALK_PAGE}`, values: [] }
      : { text: `SELECT version_id, value FROM ${this.#s}.garbage WHERE version_id > $1 ORDER BY version_id LIMIT ${WALK_PAGE}`, values: [after.version_id] }),
    (r) => fromStored(r.value) as { bucket: string; key: string; head: Head; supersededMs: number });
  }

  /** Queues the files of a version that was never committed for gc; refused for a committed version. */
  async queueGarbage(entry: { bucket: string; key: string; head: Head; supersededMs: number }): Promise<void> {
    await this.#write('queueGarbage', async (tx) => {
      // Only the failed put that made this random version id queues it, after its commit failed: no commit of
      // the same id can race with the check.
      if ((await tx(`SELECT 1 FROM ${this.#s}.version WHERE version_id = $1`, [entry.head.versionId])).rowCount !== 0) {
        throw new ShardVaultError(ErrorCode.CONFLICT, `version ${entry.head.versionId} is committed`);
      }
      await this.#putGarbage(tx, entry.head.versionId, entry);
    });
  }

  async completeGarbage(versionIds: string[]): Promise<void> {
    if (versionIds.length === 0) return;
    await this.#write('completeGarbage', async (tx) => {
      await tx(`DELETE FROM ${this.#s}.garbage WHERE version_id = ANY($1::text[])`, [versionIds]);
    });
  }

  // ------------------------------------------------------------ metadata and audit

  async getMeta<T>(item: string): Promise<T | undefined> {
    if (typeof item !== 'string') throw typeError('item', 'a string', item);
    const rows = await this.#read<{ value: unknown }>('getMeta', `SELECT value FROM ${this.#s}.meta WHERE item = $1`, [item]);
    return rows.length === 0 ? undefined : (fromStored(rows[0].value) as T);
  }

  /** Sets (or with `undefined` removes) a named value; with `audit`, the audit record is in the same transaction. */
  async setMeta(item: string, value: unknown, audit?: { action: string; principal: string; timeMs: number; detail?: string }): Promise<void> {
    if (typeof item !== 'string') throw typeError('item', 'a string', item);
    const text = value === undefined ? undefined : stored(value);
    const s = this.#s;
    await this.#write('setMeta', async (tx) => {
      if (text === undefined) await tx(`DELETE FROM ${s}.meta WHERE item = $1`, [item]);
      else await tx(`INSERT INTO ${s}.meta (item, value) VALUES ($1, $2::json) ON CONFLICT (item) DO UPDATE SET value = EXCLUDED.value`, [item, text]);
      if (audit !== undefined) await this.#appendAudit(tx, audit);
    });
  }

  /** Appends one evidence record (fields validated and bounded by Vault.appendAudit) in its own transaction. */
  async appendAudit(r: { action: string; principal: string; timeMs: number; target?: string; result: string; requestId?: string; source?: string; detail?: string }): Promise<AuditRecord> {
    return this.#write('appendAudit', (tx) => this.#appendAudit(tx, {
      action: r.action, principal: r.principal, timeMs: r.timeMs, result: r.result,
      ...(r.target !== undefined ? { target: r.target } : {}), ...(r.requestId !== undefined ? { requestId: r.requestId } : {}),
      ...(r.source !== undefined ? { source: r.source } : {}), ...(r.detail !== undefined ? { detail: r.detail } : {}),
    }));
  }

  auditLog(): AsyncIterable<AuditRecord> {
    type Row = { idx: string; record: unknown };
    return this.#paged<Row, AuditRecord>('auditLog', (after) => ({
      text: `SELECT idx, record FROM ${this.#s}.audit WHERE idx > $1 ORDER BY idx LIMIT ${WALK_PAGE}`, values: [after === undefined ? -1 : after.idx],
    }), (r) => fromStored(r.record) as AuditRecord);
  }

  async verifyAudit(): Promise<number> {
    return verifyChain(this.auditLog());
  }

  /** The newest audit record (the chain head's row), or undefined when there is none. */
  async auditHead(): Promise<AuditRecord | undefined> {
    const rows = await this.#read<{ last: unknown }>('auditHead', `SELECT last FROM ${this.#s}.audit_head`);
    return rows.length === 0 || rows[0].last === null ? undefined : (fromStored(rows[0].last) as AuditRecord);
  }

  /** The audit record at `index`, or undefined when the chain is shorter (or `index` is not one), as in LMDB. */
  async auditRecord(index: number): Promise<AuditRecord | undefined> {
    if (!Number.isSafeInteger(index) || index < 0) return undefined;
    const rows = await this.#read<{ record: unknown }>('auditRecord', `SELECT record FROM ${this.#s}.audit WHERE idx = $1`, [index]);
    return rows.length === 0 ? undefined : (fromStored(rows[0].record) as AuditRecord);
  }

  /**
   * A walk read one page (WALK_PAGE rows, one statement each) at a time, resuming after the last row: a long
   * walk holds no transaction across the awaits of its consumer and sees commits made meanwhile. `page` makes
   * the statement for the page after `after` (undefined: the first); `map` turns a row into an item, or
   * undefined to skip it.
   */
  #paged<R, T>(what: string, page: (after: R | undefined) => { text: string; values: unknown[] }, map: (row: R) => T | undefined): AsyncIterable<T> {
    const read = (text: string, values: unknown[]) => this.#read<R>(what, text, values);
    return {
      async *[Symbol.asyncIterator]() {
        let after: R | undefined;
        for (;;) {
          const { text, values } = page(after);
          const rows = await read(text, values);
          for (const row of rows) {
            const item = map(row);
            if (item !== undefined) yield item;
          }
          if (rows.length < WALK_PAGE) return;
          after = rows[rows.length - 1];
        }
      },
    };
  }
}
