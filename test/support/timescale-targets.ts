/**
 * The TimescaleDB targets every TimescaleDB test runs against — one list, as kysely's tests loop over dialects:
 * - `embedded`: PGlite + TimescaleDB 2.23 (WASM) in a child process: one session, no COPY, no background jobs;
 * - `real`: TimescaleDB 2.28 on PostgreSQL 15 (`startTestPostgres({ timescaledb: true })`): COPY, many
 *   connections, the job scheduler running policies by itself.
 *
 * `useTimescale(kind, prefix)` registers, in the current `describe`, a server started in beforeAll and removed in
 * afterAll, a `pg` client for setting up and inspecting tables, and adapters closed after each test (the embedded
 * server accepts only a few connections, and every adapter holds one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import type { TargetAdapter } from '../../src/adapter/contract.ts';
import { defineConfig } from '../../src/config/define.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { acquireEmbeddedTimescale, type EmbeddedTimescaleLease } from '../../src/local/timescaledb-server.ts';
import { startTestPostgres, type TestPostgres } from './postgres-server.ts';

export type TimescaleTargetKind = 'embedded' | 'real';

/** Every TimescaleDB target, in the order tests run them. */
export const TIMESCALE_TARGETS: readonly TimescaleTargetKind[] = ['embedded', 'real'];

export const TIMESCALE_TARGET_TEXT: Readonly<Record<TimescaleTargetKind, string>> = {
  embedded: 'the embedded TimescaleDB 2.23',
  real: 'a real TimescaleDB 2.28 server',
};

/** A running TimescaleDB of either kind, without vitest hooks (for conformance harnesses and benches). */
export interface TimescaleServer {
  readonly kind: TimescaleTargetKind;
  /** `target.url` for it: `embedded:<dir>` or `postgres://…`. */
  readonly url: string;
  /** Connection settings for a `pg.Client` of its own. */
  readonly client: pg.ClientConfig;
  stop(): Promise<void>;
}

export async function startTimescale(kind: TimescaleTargetKind, prefix: string): Promise<TimescaleServer> {
  if (kind === 'real') {
    const server: TestPostgres = await startTestPostgres({ timescaledb: true });
    return {
      kind,
      url: server.url,
      client: { connectionString: server.url },
      stop: () => server.stop(),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let lease: EmbeddedTimescaleLease;
  try {
    lease = await acquireEmbeddedTimescale({ directory: dir });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    throw error;
  }
  return {
    kind,
    url: `embedded:${dir}`,
    client: { host: lease.server.host, port: lease.server.port, user: 'postgres', database: 'postgres' },
    stop: async () => {
      await lease.release();
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
}

export interface TimescaleHarness {
  readonly kind: TimescaleTargetKind;
  /** `target.url` of the server. */
  readonly url: string;
  /** A client of its own, for DDL and checks (session time zone UTC). */
  readonly sql: pg.Client;
  /** A client-load config for `table` on this server, source `s3://<bucket>/<keyPattern>`. */
  config(table: string, targetOptions?: Record<string, unknown>, source?: string): BackfillConfig;
  /** An adapter for `config`, closed after the current test. */
  adapter(config: BackfillConfig): TargetAdapter;
}

export function useTimescale(kind: TimescaleTargetKind, prefix: string): TimescaleHarness {
  let server: TimescaleServer | undefined;
  let sql: pg.Client | undefined;
  const adapters: TargetAdapter[] = [];

  beforeAll(async () => {
    server = await startTimescale(kind, prefix);
    sql = new pg.Client(server.client);
    await sql.connect();
    await sql.query("SET TimeZone = 'UTC'");
  });

  afterEach(async () => {
    for (const adapter of adapters.splice(0)) await adapter.close().catch(() => undefined);
  });

  afterAll(async () => {
    await sql?.end().catch(() => undefined);
    await server?.stop();
  });

  const started = (): TimescaleServer => {
    if (!server) throw new Error('the TimescaleDB server is not started yet (use it inside tests)');
    return server;
  };
  return {
    kind,
    get url() {
      return started().url;
    },
    get sql() {
      if (!sql) throw new Error('the TimescaleDB server is not started yet (use it inside tests)');
      return sql;
    },
    config: (table, targetOptions = {}, source = 's3://bucket/backfill/*.parquet') =>
      defineConfig({
        target: { kind: 'timescaledb', url: started().url, table },
        source: { url: source },
        attempts: 1,
        targetOptions,
      }),
    adapter: (config) => {
      const adapter = createTimescaleAdapter(config);
      adapters.push(adapter);
      return adapter;
    },
  };
}

/** Chunk facts for assertions, read the same way on 2.23 and 2.28 (the chunks view + two catalog columns). */
export interface ChunkState {
  readonly name: string;
  /** Start of the chunk's time range, ms since the epoch (time types) or the integer itself. */
  readonly start: number;
  readonly compressed: boolean;
  readonly partial: boolean;
  /** Compressed batches written out of order (status bit 2), as direct compress inserts leave a new chunk. */
  readonly unordered: boolean;
  /** Changes whenever the chunk is decompressed and compressed again. */
  readonly compressedChunkId: number | null;
}

export async function chunkStates(sql: pg.Client, table: string, schema = 'public'): Promise<ChunkState[]> {
  const r = await sql.query<{
    name: string;
    start: string;
    status: number;
    cid: number | null;
  }>(
    `SELECT v.chunk_name AS name,
            coalesce(v.range_start_integer::text, (extract(epoch FROM v.range_start) * 1000)::bigint::text) AS start,
            c.status, c.compressed_chunk_id AS cid
       FROM timescaledb_information.chunks v
       JOIN _timescaledb_catalog.chunk c ON c.schema_name = v.chunk_schema AND c.table_name = v.chunk_name
      WHERE v.hypertable_schema = $1 AND v.hypertable_name = $2
      ORDER BY v.range_start, v.range_start_integer, v.chunk_name`,
    [schema, table],
  );
  return r.rows.map((c) => ({
    name: c.name,
    start: Number(c.start),
    compressed: (c.status & 1) === 1,
    partial: (c.status & 8) === 8,
    unordered: (c.status & 2) === 2,
    compressedChunkId: c.cid,
  }));
}
