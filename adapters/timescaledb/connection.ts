/**
 * The adapter's one road to the database: a `pg` pool of ONE connection, either to a real PostgreSQL/TimescaleDB
 * (`postgres://…`) or to the embedded TimescaleDB (`embedded:<dir>`, started in a child process). Maps driver and
 * server failures onto TargetError. Knows nothing about backfills.
 *
 * Every session is set to `TimeZone = UTC` and `DateStyle = ISO`, so timestamps read as text are unambiguous and
 * parse back. Dates, timestamps and bigints are returned as text (never converted to JS numbers or Dates).
 *
 * On a real server both ends keep the connection alive with TCP keepalives (the server's `tcp_keepalives_*` are
 * set for the session): a process whose machine vanished mid-load loses its session — and the batch claim its
 * load transaction holds — within about a minute, not after the operating system's two hours.
 */
import pg from 'pg';
import { ShadowfillError, TargetError, targetErrorCode, type TargetFailure } from '../../src/errors.ts';
import type { TargetConfig } from '../../src/config/types.ts';
import { acquireEmbeddedTimescale, type EmbeddedTimescaleLease } from '../../src/local/timescaledb-server.ts';

/** What can run a query: the pool or a client inside a transaction. */
export interface Queryable {
  /** `what` names the step for error messages (`decompressing chunk _hyper_1_2_chunk`). */
  query<R extends object>(sql: string, params?: readonly unknown[], what?: string): Promise<R[]>;
  /** The rows an INSERT, UPDATE or DELETE wrote (the command tag's count). */
  execute(sql: string, params?: readonly unknown[], what?: string): Promise<number>;
}

export interface PgConnection extends Queryable {
  /** Where, for messages; never contains credentials. */
  readonly description: string;
  readonly embedded: boolean;
  /** `COPY … FROM STDIN` works (false on the embedded server: its socket breaks on COPY). */
  readonly supportsCopy: boolean;
  connect(): Promise<void>;
  /** Runs `fn` on the pool's client inside BEGIN … COMMIT (ROLLBACK when it throws). */
  transaction<T>(fn: (client: Queryable & { readonly raw: pg.PoolClient }) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const TEXT_TYPES = [
  1082 /* date */, 1114 /* timestamp */, 1184 /* timestamptz */, 1083 /* time */, 1266 /* timetz */,
];

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    TEXT_TYPES.includes(oid)
      ? (value: string) => value
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** `postgres://user:secret@host:5432/db?x` → `postgres://host:5432/db`. */
export function describeUrl(url: string): string {
  if (url.startsWith('embedded:')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Node's codes for a server that cannot be reached at all, and for a connection cut off during a statement. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
const CONNECTION_LOST = new Set(['ECONNRESET', 'EPIPE']);

/**
 * SQLSTATE → the engine's failure taxonomy (src/errors.ts): exact codes first, then by class (the first two
 * characters). PostgreSQL's appendix "PostgreSQL Error Codes" lists them.
 */
const SQLSTATE_FAILURES: Readonly<Record<string, TargetFailure>> = {
  '08001': 'unreachable', // sqlclient_unable_to_establish_sqlconnection
  '08004': 'unreachable', // sqlserver_rejected_establishment_of_sqlconnection
  '57P03': 'unreachable', // cannot_connect_now (starting up, shutting down)
  '57P01': 'connection-lost', // admin_shutdown (also pg_terminate_backend)
  '57P02': 'connection-lost', // crash_shutdown
  '42501': 'permission', // insufficient_privilege
  '42P01': 'missing-object', // undefined_table
  '3F000': 'missing-object', // invalid_schema_name
  '3D000': 'missing-object', // invalid_catalog_name (database)
  '42703': 'unknown-identifier', // undefined_column
  '42883': 'unknown-identifier', // undefined_function
  '42704': 'unknown-identifier', // undefined_object
  '42602': 'syntax', // invalid_name
  '23505': 'unique-violation',
  '40001': 'conflict', // serialization_failure
  '40P01': 'conflict', // deadlock_detected
  '55P03': 'conflict', // lock_not_available (lock_timeout, NOWAIT)
  '0A000': 'unsupported', // feature_not_supported
};
const SQLSTATE_CLASS_FAILURES: Readonly<Record<string, TargetFailure>> = {
  '08': 'connection-lost', // connection exception
  '22': 'invalid-data', // data exception
  '23': 'constraint', // integrity constraint violation
  '28': 'authentication', // invalid authorization specification
  '42': 'syntax', // syntax error or access rule violation
  '53': 'resources', // insufficient resources (disk full, out of memory, too many connections)
  '54': 'resources', // program limit exceeded
};

/** The failure of a `pg` or network error. */
export function pgFailure(error: unknown): TargetFailure {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const text = typeof e.message === 'string' ? e.message : String(error);
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (code === '57014') return /statement timeout|lock timeout/i.test(text) ? 'timeout' : 'cancelled';
    return SQLSTATE_FAILURES[code] ?? SQLSTATE_CLASS_FAILURES[code.slice(0, 2)] ?? 'other';
  }
  if (UNREACHABLE.has(code) || /connect ECONN|timeout expired/i.test(text)) return 'unreachable';
  if (CONNECTION_LOST.has(code) || /Connection terminated|connection is closed/i.test(text))
    return 'connection-lost';
  return 'other';
}

/** Maps a `pg` or network failure onto a TargetError whose one-line message names `what` and `where`. */
export function toTargetError(error: unknown, what: string, where: string, hint?: string): TargetError {
  if (error instanceof TargetError) return error;
  const e = error as { code?: string; message?: string; detail?: string; where?: string };
  const code = typeof e.code === 'string' ? e.code : '';
  const text = (e.message ?? String(error)).split('\n')[0]?.trim() ?? '';
  const detail = e.detail ? ` (${e.detail.split('\n')[0]})` : '';
  const tail = hint ? `; ${hint}` : '';
  const failure = pgFailure(error);
  const options = { cause: error, failure, ...(/^[0-9A-Z]{5}$/.test(code) ? { nativeCode: code } : {}) };
  const make = (message: string) => new TargetError(targetErrorCode(failure), message, options);
  switch (failure) {
    case 'unreachable':
      return make(`${what}: cannot reach ${where}: ${text}; check target.url and that the server is running`);
    case 'connection-lost':
      return make(
        `${what}: lost the connection to ${where}: ${text}; check that the server is running, then run the same command again to resume`,
      );
    case 'authentication':
    case 'permission':
      return make(
        `${what} was refused on ${where}: ${text}; check target.user/target.password and the role's privileges`,
      );
    case 'unsupported':
      return make(`${what} is not supported by ${where}: ${text}${detail}${tail}`);
    case 'timeout':
      return make(`${what} timed out on ${where}: ${text}${tail}`);
    default:
      return make(`${what} failed on ${where}: ${text}${detail}${tail}`);
  }
}

/** Physical connections whose session settings are applied. */
const initialized = new WeakSet<pg.PoolClient>();

class PoolConnection implements PgConnection {
  readonly description: string;
  readonly embedded: boolean;
  readonly supportsCopy: boolean;
  private pool: pg.Pool | undefined;
  private lease: EmbeddedTimescaleLease | undefined;
  private connecting: Promise<pg.Pool> | undefined;

  constructor(private readonly target: TargetConfig) {
    this.embedded = target.url.startsWith('embedded:');
    this.supportsCopy = !this.embedded;
    this.description = describeUrl(target.url);
  }

  async connect(): Promise<void> {
    await this.query('SELECT 1', [], 'connecting');
  }

  private ensurePool(): Promise<pg.Pool> {
    if (this.pool) return Promise.resolve(this.pool);
    this.connecting ??= this.openPool().then(
      (pool) => {
        this.pool = pool;
        return pool;
      },
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  private async openPool(): Promise<pg.Pool> {
    let config: pg.PoolConfig;
    if (this.embedded) {
      const directory = this.target.url.slice('embedded:'.length);
      if (directory.length === 0) {
        throw new TargetError(
          'TARGET_UNREACHABLE',
          'target.url "embedded:" names no directory: use embedded:<dir>',
        );
      }
      try {
        this.lease = await acquireEmbeddedTimescale({ directory });
      } catch (error) {
        throw new TargetError(
          'TARGET_UNREACHABLE',
          `cannot start the embedded TimescaleDB for ${this.description}: ${(error as Error).message.split('\n')[0]}`,
          { cause: error },
        );
      }
      config = {
        host: this.lease.server.host,
        port: this.lease.server.port,
        user: 'postgres',
        database: 'postgres',
      };
    } else {
      config = {
        connectionString: serverConnectionString(this.target),
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      };
    }
    const pool = new pg.Pool({ ...config, max: 1, idleTimeoutMillis: 30_000, types: typeParsers });
    // An idle client that breaks (server gone) must not crash the process; the next query reports it.
    pool.on('error', () => undefined);
    return pool;
  }

  private async run<R extends object>(
    target: pg.Pool | pg.PoolClient,
    sql: string,
    params: readonly unknown[],
    what: string,
  ): Promise<pg.QueryResult<R>> {
    try {
      return await target.query<R>(sql, params as unknown[]);
    } catch (error) {
      throw toTargetError(error, what, this.description);
    }
  }

  /** A client of the pool with the session settings applied (once per physical connection). */
  private async checkout(): Promise<pg.PoolClient> {
    const pool = await this.ensurePool();
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw toTargetError(error, 'connecting', this.description);
    }
    if (!initialized.has(client)) {
      try {
        await client.query(
          "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'" +
            (this.embedded
              ? ''
              : '; SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3'),
        );
      } catch (error) {
        client.release(true);
        throw toTargetError(error, 'setting up the session', this.description);
      }
      initialized.add(client);
    }
    return client;
  }

  async query<R extends object>(sql: string, params: readonly unknown[] = [], what?: string): Promise<R[]> {
    return (await this.onClient<R>(sql, params, what)).rows;
  }

  async execute(sql: string, params: readonly unknown[] = [], what?: string): Promise<number> {
    return (await this.onClient(sql, params, what)).rowCount ?? 0;
  }

  private async onClient<R extends object>(
    sql: string,
    params: readonly unknown[],
    what: string | undefined,
  ): Promise<pg.QueryResult<R>> {
    const client = await this.checkout();
    let broken = false;
    try {
      return await this.run<R>(client, sql, params, what ?? firstWords(sql));
    } catch (error) {
      broken = (error as TargetError).code === 'TARGET_UNREACHABLE';
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async transaction<T>(fn: (client: Queryable & { readonly raw: pg.PoolClient }) => Promise<T>): Promise<T> {
    const client = await this.checkout();
    let broken = false;
    try {
      await client.query('BEGIN');
      const scoped = {
        raw: client,
        query: async <R extends object>(sql: string, params: readonly unknown[] = [], what?: string) =>
          (await this.run<R>(client, sql, params, what ?? firstWords(sql))).rows,
        execute: async (sql: string, params: readonly unknown[] = [], what?: string) =>
          (await this.run(client, sql, params, what ?? firstWords(sql))).rowCount ?? 0,
      };
      const result = await fn(scoped);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error instanceof ShadowfillError ? error : toTargetError(error, 'transaction', this.description);
    } finally {
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool ?? (await this.connecting?.catch(() => undefined));
    this.pool = undefined;
    this.connecting = undefined;
    await pool?.end().catch(() => undefined);
    const lease = this.lease;
    this.lease = undefined;
    await lease?.release();
  }
}

/** `SELECT count(*) FROM …` → `SELECT count(*) FROM` (for messages when a statement has no better name). */
function firstWords(sql: string): string {
  const words = sql.trim().replace(/\s+/g, ' ').split(' ').slice(0, 4).join(' ');
  return `query "${words.length > 60 ? words.slice(0, 60) + '…' : words}"`;
}

/**
 * The connection string for a `postgres://` target with `target.user`/`target.password` written into it: `pg`
 * lets a connection string's own user and password win over separate options, so they must go in the URL.
 */
export function serverConnectionString(target: Pick<TargetConfig, 'url' | 'user' | 'password'>): string {
  const url = new URL(target.url);
  if (target.user !== undefined) url.username = encodeURIComponent(target.user);
  if (target.password !== undefined) url.password = encodeURIComponent(target.password);
  return url.toString();
}

export function openConnection(target: TargetConfig): PgConnection {
  return new PoolConnection(target);
}
