/**
 * Types of the part of npm `pg` 8.x that lib/catalog/postgres.ts uses (pg ships no declarations; @types/pg is
 * not a dependency of this project). Declared from pg's own documentation and sources (lib/index.js,
 * pg-pool/index.js), only as far as the catalog and its tests call it.
 */
declare module 'pg' {
  import type { EventEmitter } from 'node:events';

  export interface PoolConfig {
    connectionString?: string;
    host?: string;
    port?: number;
    user?: string;
    password?: string | (() => string | Promise<string>);
    database?: string;
    /** Server settings for every connection, e.g. `-c search_path=x`. */
    options?: string;
    ssl?: unknown;
    keepAlive?: boolean;
    application_name?: string;
    /** Connections in the pool (pg's default 10). */
    max?: number;
    /** How long a connect may take before it fails (pg's default 0: forever). */
    connectionTimeoutMillis?: number;
    idleTimeoutMillis?: number;
    statement_timeout?: number;
    query_timeout?: number;
    [other: string]: unknown;
  }

  export interface QueryResult<R> {
    rows: R[];
    rowCount: number | null;
    /** The command tag's verb: 'COMMIT', or 'ROLLBACK' when a COMMIT found the transaction aborted. */
    command: string;
  }

  export interface PoolClient {
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    /** A checked-out client emits 'error' when its connection ends unexpectedly (its query, if any, fails too). */
    on(event: 'error', listener: (err: Error) => void): this;
    /** Back to the pool; with an error (or true) the connection is closed instead. */
    release(destroy?: Error | boolean): void;
  }

  export class Pool extends EventEmitter {
    constructor(config?: PoolConfig);
    connect(): Promise<PoolClient>;
    /** One statement on a pooled connection (the tests' administrator connection; the catalog uses connect()). */
    query<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
    end(): Promise<void>;
  }

  /** An error the server reported (an ErrorResponse): `code` is its SQLSTATE. */
  export class DatabaseError extends Error {
    code: string | undefined;
    severity: string | undefined;
    detail: string | undefined;
  }

  export function escapeIdentifier(name: string): string;
}
