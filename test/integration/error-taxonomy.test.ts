/**
 * Database failures mapped to the engine's taxonomy (src/errors.ts) from real engines: PostgreSQL (SQLSTATE,
 * through the TimescaleDB adapter's connection) and embedded ClickHouse (error codes, through chDB), each with
 * its `retryable` verdict — what the runner's retry decision rests on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { ClickHouseError } from '../../adapters/clickhouse/driver.ts';
import { toTargetError as clickHouseTargetError } from '../../adapters/clickhouse/errors.ts';
import { openConnection, type PgConnection } from '../../adapters/timescaledb/connection.ts';
import type { TargetConfig } from '../../src/config/types.ts';
import { isRetryable, ShadowfillError, TargetError } from '../../src/errors.ts';
import { freePort } from '../support/ports.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres-server.ts';

function target(url: string, user?: string): TargetConfig {
  return { kind: 'timescaledb', url, database: 'public', table: 't', user, password: undefined };
}

async function failure(run: () => Promise<unknown>): Promise<TargetError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TargetError);
  expect((error as Error).message).not.toContain('\n');
  return error as TargetError;
}

describe('PostgreSQL SQLSTATE → failure', () => {
  let server: TestPostgres;
  let db: PgConnection;

  beforeAll(async () => {
    server = await startTestPostgres();
    db = openConnection(target(server.url));
    await db.query('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)');
    await db.query('INSERT INTO t VALUES (1, 1)');
    await db.query('CREATE ROLE reader LOGIN');
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await server?.stop();
  });

  it.each([
    ['INSERT INTO t VALUES (1, 2)', 'unique-violation', '23505', 'TARGET_QUERY_FAILED'],
    ['INSERT INTO t VALUES (2, NULL)', 'constraint', '23502', 'TARGET_QUERY_FAILED'],
    ['SELEC 1', 'syntax', '42601', 'TARGET_QUERY_FAILED'],
    ['SELECT nope FROM t', 'unknown-identifier', '42703', 'TARGET_MISSING'],
    ['SELECT no_such_function()', 'unknown-identifier', '42883', 'TARGET_MISSING'],
    ['SELECT * FROM nope', 'missing-object', '42P01', 'TARGET_MISSING'],
    ["SELECT 'x'::int", 'invalid-data', '22P02', 'TARGET_QUERY_FAILED'],
  ] as const)('%s → %s (not retried)', async (sql, kind, sqlstate, code) => {
    const error = await failure(() => db.query(sql));
    expect([error.failure, error.nativeCode, error.code, error.retryable]).toEqual([
      kind,
      sqlstate,
      code,
      false,
    ]);
    expect(isRetryable(error)).toBe(false);
  });

  it('a statement timeout is retryable; a cancel by someone else is not', async () => {
    await db.query('SET statement_timeout = 50');
    const timeout = await failure(() => db.query('SELECT pg_sleep(2)'));
    await db.query('RESET statement_timeout');
    expect([timeout.failure, timeout.nativeCode, timeout.retryable]).toEqual(['timeout', '57014', true]);

    const other = new pg.Client({ connectionString: server.url });
    await other.connect();
    try {
      const sleeping = failure(() => db.query("SELECT pg_sleep(5), 'cancel me'"));
      await waitFor(other, 'cancel me');
      await other.query(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%cancel me%' AND pid <> pg_backend_pid()",
      );
      const cancelled = await sleeping;
      expect([cancelled.failure, cancelled.retryable]).toEqual(['cancelled', false]);
    } finally {
      await other.end();
    }
  });

  it('a connection cut off mid-statement is connection-lost, retryable, and the next query reconnects', async () => {
    const other = new pg.Client({ connectionString: server.url });
    await other.connect();
    try {
      const sleeping = failure(() => db.query("SELECT pg_sleep(5), 'terminate me'"));
      await waitFor(other, 'terminate me');
      await other.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%terminate me%' AND pid <> pg_backend_pid()",
      );
      const lost = await sleeping;
      expect([lost.failure, lost.code, lost.retryable]).toEqual([
        'connection-lost',
        'TARGET_UNREACHABLE',
        true,
      ]);
      expect(lost.message).toMatch(/lost the connection to .*run the same command again to resume/);
    } finally {
      await other.end();
    }
    expect(await db.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);
  });

  it('permission, authentication and an unreachable server', async () => {
    const reader = openConnection(target(server.url, 'reader'));
    try {
      const denied = await failure(() => reader.query('SELECT * FROM t'));
      expect([denied.failure, denied.nativeCode, denied.code, denied.retryable]).toEqual([
        'permission',
        '42501',
        'TARGET_ACCESS_DENIED',
        false,
      ]);
    } finally {
      await reader.close();
    }
    const nobody = openConnection(target(server.url, 'nobody'));
    try {
      const refused = await failure(() => nobody.query('SELECT 1'));
      expect([refused.failure, refused.code, refused.retryable]).toEqual([
        'authentication',
        'TARGET_ACCESS_DENIED',
        false,
      ]);
    } finally {
      await nobody.close();
    }
    const closed = openConnection(target(`postgres://127.0.0.1:${await freePort()}/db`));
    try {
      const unreachable = await failure(() => closed.query('SELECT 1'));
      expect([unreachable.failure, unreachable.code, unreachable.retryable]).toEqual([
        'unreachable',
        'TARGET_UNREACHABLE',
        true,
      ]);
    } finally {
      await closed.close();
    }
  });
});

async function waitFor(client: pg.Client, marker: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    const r = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()',
      [`%${marker}%`],
    );
    if (Number(r.rows[0]?.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no backend runs the statement marked ${marker}`);
}

describe('ClickHouse error codes → failure', () => {
  let root: string;
  let driver: ChdbDriver;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'shadowfill-taxonomy-'));
    driver = new ChdbDriver(join(root, 'ch'));
    await driver.command('CREATE TABLE default.t (id UInt32) ENGINE = MergeTree ORDER BY id');
  });

  afterAll(async () => {
    await driver?.close();
    if (root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it.each([
    ['SELEC 1', 'syntax', '62', 'TARGET_QUERY_FAILED'],
    ['SELECT nope FROM default.t', 'unknown-identifier', '47', 'TARGET_MISSING'],
    ['SELECT no_such_function(1)', 'unknown-identifier', '46', 'TARGET_MISSING'],
    ['SELECT * FROM default.nope', 'missing-object', '60', 'TARGET_MISSING'],
    ['SELECT * FROM nowhere.t', 'missing-object', '81', 'TARGET_MISSING'],
    ['SELECT 1 SETTINGS no_such_setting = 1', 'unknown-identifier', '115', 'TARGET_MISSING'],
    ["SELECT toUInt32('x')", 'invalid-data', '6', 'TARGET_QUERY_FAILED'],
    ['SELECT throwIf(1)', 'invalid-data', '395', 'TARGET_QUERY_FAILED'],
  ] as const)('%s → %s (not retried)', async (sql, kind, code, category) => {
    const native = await driver.query(sql).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(native).toBeInstanceOf(ClickHouseError);
    const error = clickHouseTargetError(native as ClickHouseError, driver.description);
    expect([error.failure, error.nativeCode, error.code, error.retryable]).toEqual([
      kind,
      code,
      category,
      false,
    ]);
  });

  it('timeouts, memory limits and unknown codes are retryable', () => {
    for (const [code, type, kind] of [
      [159, 'TIMEOUT_EXCEEDED', 'timeout'],
      [241, 'MEMORY_LIMIT_EXCEEDED', 'resources'],
      [210, 'NETWORK_ERROR', 'connection-lost'],
      [999_999, '', 'other'],
    ] as const) {
      const error = clickHouseTargetError(new ClickHouseError('x', code, type), 'embedded:/x');
      expect([error.failure, error.retryable]).toEqual([kind, true]);
    }
  });

  it('errors outside the taxonomy: codes decide, unknown exceptions are given another attempt', () => {
    expect(new ShadowfillError('SOURCE_CORRUPT', 'x').retryable).toBe(false);
    expect(new ShadowfillError('SOURCE_UNREACHABLE', 'x').retryable).toBe(true);
    expect(new ShadowfillError('INTERRUPTED', 'x').retryable).toBe(false);
    expect(isRetryable(new Error('simulated transient fault'))).toBe(true);
  });
});
