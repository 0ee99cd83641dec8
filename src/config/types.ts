/**
 * The resolved configuration of a backfill: what `loadConfig` returns after merging the file, CLI flags and
 * environment variables and checking every field. Field names in YAML/JSON files are snake_case versions of
 * these (e.g. `source.access_key_id`, `filter.before`); see README "Configuration".
 */
import type { ObjectStoreCredentials } from '../source/types.ts';

export type TargetKind = 'clickhouse' | 'timescaledb';

export interface TargetConfig {
  readonly kind: TargetKind;
  /**
   * `http(s)://host:port` (ClickHouse HTTP), `postgres://…` (TimescaleDB), or `embedded:<dir>` for the
   * embedded engine with a persistent data directory.
   */
  readonly url: string;
  readonly database: string;
  readonly table: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
}

export interface SourceConfig {
  readonly url: string;
  readonly endpoint: string | undefined;
  /**
   * The endpoint the database uses when it reads the objects itself (`load: server`), when it differs from
   * the one this machine uses — e.g. `http://minio:9000` inside Docker. Default: `endpoint`.
   */
  readonly serverEndpoint?: string | undefined;
  readonly region: string;
  readonly credentials: ObjectStoreCredentials | undefined;
}

export interface FilterConfig {
  readonly column: string;
  /** Keep rows with `column < before`. `auto` = older than the oldest row already in the live table. */
  readonly before: string | 'auto' | undefined;
  /** Keep rows with `column >= after`. */
  readonly after: string | undefined;
}

export interface BatchConfig {
  /** At most this many objects per batch. */
  readonly files: number;
  /** At most this many bytes per batch (a single larger object still forms its own batch). */
  readonly bytes: number;
}

/** `server`: the database reads the objects itself (ClickHouse `s3()`); `client`: the engine streams them. */
export type LoadMode = 'server' | 'client';

export interface BackfillConfig {
  readonly target: TargetConfig;
  readonly source: SourceConfig;
  readonly filter: FilterConfig | undefined;
  readonly batch: BatchConfig;
  /** `auto`: every materialized view that reads from the table; or an explicit list of view names. */
  readonly views: 'auto' | readonly string[];
  /** Insert settings passed through to the target (ClickHouse: `max_insert_threads`, …). */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  readonly load: LoadMode;
  /** Attempts per batch before the run stops with an error (1 = no retry). */
  readonly attempts: number;
  /** Adapter-specific options (e.g. TimescaleDB `strategy`, `on_conflict`), validated by the adapter. */
  readonly targetOptions: Readonly<Record<string, unknown>>;
}

export const DEFAULT_BATCH: BatchConfig = { files: 100, bytes: 15 * 1024 ** 3 };
export const DEFAULT_ATTEMPTS = 3;
