/**
 * Test harness for adapter-level TimescaleDB tests: one embedded TimescaleDB per test file (started in
 * beforeAll, removed in afterAll), a `pg` client for setting up and inspecting tables, and adapters on it that
 * are closed after each test (the embedded server accepts only a few connections, and every adapter holds one).
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

export interface EmbeddedTimescaleHarness {
  /** The server's directory (`embedded:<dir>`). */
  readonly dir: string;
  /** A client of its own, for DDL and checks. */
  readonly sql: pg.Client;
  /** A client-load config for `table` on this server, source `s3://<bucket>/<keyPattern>`. */
  config(table: string, targetOptions?: Record<string, unknown>, source?: string): BackfillConfig;
  /** An adapter for `config`, closed after the current test. */
  adapter(config: BackfillConfig): TargetAdapter;
}

export function useEmbeddedTimescale(
  prefix: string,
  options: { utcSession?: boolean } = {},
): EmbeddedTimescaleHarness {
  let dir = '';
  let lease: EmbeddedTimescaleLease | undefined;
  let sql: pg.Client | undefined;
  const adapters: TargetAdapter[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    lease = await acquireEmbeddedTimescale({ directory: dir });
    sql = new pg.Client({
      host: lease.server.host,
      port: lease.server.port,
      user: 'postgres',
      database: 'postgres',
    });
    await sql.connect();
    if (options.utcSession) await sql.query("SET TimeZone = 'UTC'");
  });

  afterEach(async () => {
    for (const adapter of adapters.splice(0)) await adapter.close().catch(() => undefined);
  });

  afterAll(async () => {
    await sql?.end().catch(() => undefined);
    await lease?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return {
    get dir() {
      return dir;
    },
    get sql() {
      if (!sql) throw new Error('the embedded TimescaleDB is not started yet (use it inside tests)');
      return sql;
    },
    config: (table, targetOptions = {}, source = 's3://bucket/backfill/*.parquet') =>
      defineConfig({
        target: { kind: 'timescaledb', url: `embedded:${dir}`, table },
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
