/**
 * The resolved configuration of a backfill: what `loadConfig` and `defineConfig` return after the configuration
 * schema (src/config/schema.ts) has checked every field and filled every default. Field names in YAML/JSON files
 * are snake_case versions of these (e.g. `source.access_key_id`, `filter.before`); see README "Configuration" or
 * `shadowfill config schema`.
 */
import type { z } from 'zod';
import type { ObjectStoreCredentials } from '../source/types.ts';
import type { batchSection } from './schema.ts';

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

/** `files`: at most this many objects per batch; `bytes`: at most this many bytes (a larger object still forms its own batch). */
/**
 * `batch`: the limits per batch and the least number of batches. A configuration file or the CLI always gives
 * `count` (schema default `auto`); a BatchConfig built by hand without it is cut by `files` and `bytes` alone.
 */
export type BatchConfig = Readonly<
  Omit<z.output<typeof batchSection>, 'count'> & { count?: BatchCountSetting | undefined }
>;

/** `batch.count`: `auto` = 2 batches per worker (src/planner/batches.ts); a number: at least that many batches. */
export type BatchCountSetting = 'auto' | number;

/** `server`: the database reads the objects itself (ClickHouse `s3()`); `client`: the engine streams them. */
export type LoadMode = 'server' | 'client';

/** `auto`: what the target and this machine can use (src/runner/workers.ts); a number: that many lanes. */
export type WorkersSetting = 'auto' | number;

/**
 * `historical`: slices behind the watermark are swapped in while later batches load; `catchup`: nothing until
 * every batch is loaded and verified, then everything at once (see docs/SCHEDULER.md).
 */
export type RunMode = 'historical' | 'catchup';

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
  /**
   * Batches loaded at once (lanes). Not part of the run's identity: every invocation may use its own. Always set
   * by the schema; a config built by hand without it gets DEFAULT_WORKERS.
   */
  readonly workers?: WorkersSetting;
  /** How the swap meets the loads; fixed when the run starts (journaled). Unset by hand: DEFAULT_MODE. */
  readonly mode?: RunMode;
  /**
   * The option section of the target's adapter (e.g. TimescaleDB `strategy`, `on_conflict`) as written,
   * checked against the adapter's schema; the adapter reads it with its own parser (defaults filled there).
   */
  readonly targetOptions: Readonly<Record<string, unknown>>;
}

/** Defaults of the engine's sections, for programs that build a BackfillConfig by hand (written in the schema). */
export { DEFAULT_ATTEMPTS, DEFAULT_BATCH, DEFAULT_MODE, DEFAULT_WORKERS } from './defaults.ts';
