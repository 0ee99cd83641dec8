/**
 * What only a real TimescaleDB server has: its job scheduler running policies by itself while a backfill goes on
 * (TimescaleDB 2.28 on PostgreSQL 15, `startTestPostgres({ timescaledb: true })`, with job execution logging on so
 * that `timescaledb_information.job_history` records every run with its start and finish).
 *
 * - A compression policy with a 1-second schedule_interval compresses the live chunks by itself; a backfill through
 *   the engine into those compressed chunks runs while it is scheduled: no run of the policy overlaps the swap (it
 *   is paused and any run under way has stopped before the first slice), and afterwards it is scheduled again with
 *   its 1-second interval and runs again. A refresh policy on the continuous aggregate keeps running meanwhile and
 *   the aggregate ends up equal to a recomputation.
 * - Pausing a job that is running: the scheduler cancels the run and the adapter waits until it is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import type { Hypertable } from '../../adapters/timescaledb/introspect.ts';
import { openConnection } from '../../adapters/timescaledb/connection.ts';
import { waitUntilJobIdle } from '../../adapters/timescaledb/policy.ts';
import { generatePypiParquet, PYPI_PG_COLUMNS, type GeneratedFile } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { defineConfig } from '../../src/config/define.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import { runBackfill } from '../../src/runner/run.ts';
import { pgTarget, startTestPostgres, type TestPostgres } from '../support/postgres-server.ts';

let root: string;
let server: TestPostgres;
let s3: LocalS3Server;
let sql: pg.Client;
let live: GeneratedFile[];
let back: GeneratedFile[];

const DAYS = 5;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'shadowfill-tsdb-jobs-'));
  // 5 old days (December 2024, far past compress_after) × 2 files: the live table has every day's second half,
  // the backfill brings the first halves — into compressed chunks.
  const common = { rowsPerFile: 4000, days: DAYS, filesPerDay: 2, rowGroupRows: 2000 };
  const odd = Array.from({ length: DAYS }, (_, d) => 2 * d + 1);
  live = (await generatePypiParquet({ dir: join(root, 'live'), files: odd, ...common })).files;
  back = (await generatePypiParquet({ dir: join(root, 'back'), files: odd.map((n) => n - 1), ...common }))
    .files;
  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['live', 'back'] });
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  await uploadDirectory(s3.endpoint, 'live', join(root, 'live'), credentials);
  await uploadDirectory(s3.endpoint, 'back', join(root, 'back'), credentials);
  server = await startTestPostgres({
    timescaledb: true,
    settings: { 'timescaledb.enable_job_execution_logging': 'on' },
  });
  sql = new pg.Client({ connectionString: server.url });
  await sql.connect();
  await sql.query("SET TimeZone = 'UTC'");
}, 300_000);

afterAll(async () => {
  await sql?.end().catch(() => undefined);
  await server?.stop();
  await s3?.stop();
  if (root) rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

function config(table: string, bucket: string, options: Record<string, unknown> = {}): BackfillConfig {
  return defineConfig({
    target: { kind: 'timescaledb', url: server.url, table },
    source: {
      url: `s3://${bucket}/pypi/*/*.parquet`,
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    },
    batch: { files: 2, bytes: 1e12 },
    attempts: 1,
    targetOptions: options,
  });
}

async function run(c: BackfillConfig, onEvent?: (e: RunEvent) => void) {
  const adapter = createTimescaleAdapter(c);
  await adapter.connect();
  try {
    return await runBackfill(c, adapter, { onEvent });
  } finally {
    await adapter.close();
  }
}

const total = (files: readonly GeneratedFile[]) => files.reduce((n, f) => n + f.rows, 0);

/** Blocks this process for `ms` (the database and its scheduler go on): widens the swap for the scheduler. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function job(table: string, proc: string) {
  const r = await sql.query<{
    job_id: number;
    scheduled: boolean;
    schedule_interval: string;
    total_runs: string | null;
    total_failures: string | null;
  }>(
    `SELECT j.job_id, j.scheduled, j.schedule_interval::text, s.total_runs::text, s.total_failures::text
       FROM timescaledb_information.jobs j LEFT JOIN timescaledb_information.job_stats s USING (job_id)
      WHERE j.hypertable_name = $1 AND j.proc_name = $2`,
    [table, proc],
  );
  return r.rows[0]!;
}

describe('TimescaleDB background jobs during a backfill (real server only)', () => {
  it('a 1-second compression policy the scheduler really runs never runs during the swap, and is scheduled again after', async () => {
    await sql.query(`CREATE TABLE pypi (${PYPI_PG_COLUMNS})`);
    await sql.query(`SELECT create_hypertable('pypi', by_range('timestamp', INTERVAL '1 day'))`);
    await sql.query(
      `ALTER TABLE pypi SET (timescaledb.compress, timescaledb.compress_segmentby = 'project', timescaledb.compress_orderby = 'timestamp DESC')`,
    );
    expect((await run(config('pypi', 'live'))).rowsLoaded).toBe(total(live));
    await sql.query(
      `CREATE MATERIALIZED VIEW pypi_hourly WITH (timescaledb.continuous) AS
         SELECT time_bucket('1 hour', timestamp) AS hour, project, count(*) AS downloads FROM pypi GROUP BY 1, 2 WITH NO DATA`,
    );
    await sql.query(
      `SELECT add_continuous_aggregate_policy('pypi_hourly', start_offset => NULL, end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 second')`,
    );
    await sql.query(
      `SELECT add_compression_policy('pypi', INTERVAL '7 days', schedule_interval => INTERVAL '1 second')`,
    );
    // The scheduler compresses every (old) live chunk by itself, and refreshes the aggregate.
    await until('the compression policy to compress every chunk', async () => {
      const r = await sql.query<{ open: string }>(
        `SELECT count(*) FILTER (WHERE NOT is_compressed)::text AS open, count(*) AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'pypi'`,
      );
      return r.rows[0]!.open === '0' ? true : undefined;
    });
    await until('the refresh policy to fill the aggregate', async () => {
      const r = await sql.query<{ n: string }>(
        `SELECT coalesce(sum(downloads), 0)::text AS n FROM pypi_hourly`,
      );
      return Number(r.rows[0]!.n) === total(live) ? true : undefined;
    });
    const compression = await job('pypi', 'policy_compression');
    expect(compression).toMatchObject({ scheduled: true, schedule_interval: '00:00:01' });
    expect(Number(compression.total_runs)).toBeGreaterThan(0);

    // The backfill, widened: this process sleeps 1.5 s after each swap unit (the scheduler would run the
    // 1-second policy several times in between if it were not paused).
    let pausedAt: Date | undefined;
    let lastUnitAt: Date | undefined;
    const events: RunEvent[] = [];
    const report = await run(config('pypi', 'back', { strategy: 'decompress' }), (e) => {
      events.push(e);
      if (e.type === 'policy-paused') pausedAt = new Date();
      if (e.type === 'swap-unit-done') {
        sleepSync(1500);
        lastUnitAt = new Date();
      }
    });
    expect(report.rowsLoaded).toBe(total(back));
    expect(events.filter((e) => e.type === 'swap-unit-done')).toHaveLength(DAYS);
    expect(events.filter((e) => e.type === 'chunk-decompressed')).toHaveLength(DAYS);
    expect(pausedAt).toBeDefined();
    expect(lastUnitAt!.getTime() - pausedAt!.getTime()).toBeGreaterThan(DAYS * 1500);

    // No run of the policy overlapped the swap: from the pause (a run under way had stopped by then) to the
    // last slice.
    const overlapping = await sql.query<{ start_time: Date; finish_time: Date | null }>(
      `SELECT start_time, finish_time FROM timescaledb_information.job_history
        WHERE job_id = $1 AND start_time < $3 AND coalesce(finish_time, 'infinity') > $2`,
      [compression.job_id, pausedAt, lastUnitAt],
    );
    expect(overlapping.rows).toEqual([]);
    const runsBefore = await sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM timescaledb_information.job_history WHERE job_id = $1 AND start_time < $2`,
      [compression.job_id, pausedAt],
    );
    expect(Number(runsBefore.rows[0]!.n)).toBeGreaterThan(0); // job history does record its runs

    // Its schedule is restored, and the scheduler runs it again.
    const after = await job('pypi', 'policy_compression');
    expect(after).toMatchObject({ scheduled: true, schedule_interval: '00:00:01' });
    const finishedAt = new Date();
    await until('the compression policy to run again after the backfill', async () => {
      const r = await sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM timescaledb_information.job_history WHERE job_id = $1 AND start_time > $2 AND succeeded`,
        [compression.job_id, finishedAt],
      );
      return Number(r.rows[0]!.n) > 0 ? true : undefined;
    });

    // Every row once, every chunk compressed (none partial), the aggregate right, the refresh policy never failed.
    const rows = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM pypi`);
    expect(Number(rows.rows[0]!.n)).toBe(total(live) + total(back));
    const chunks = await sql.query<{ status: number }>(
      `SELECT c.status FROM timescaledb_information.chunks v
         JOIN _timescaledb_catalog.chunk c ON c.schema_name = v.chunk_schema AND c.table_name = v.chunk_name
        WHERE v.hypertable_name = 'pypi'`,
    );
    expect(chunks.rows).toHaveLength(DAYS);
    expect(chunks.rows.every((c) => c.status === 1)).toBe(true);
    const diff = await sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM (
         (SELECT time_bucket('1 hour', timestamp), project, count(*) FROM pypi GROUP BY 1, 2 EXCEPT ALL SELECT hour, project, downloads FROM pypi_hourly)
         UNION ALL
         (SELECT hour, project, downloads FROM pypi_hourly EXCEPT ALL SELECT time_bucket('1 hour', timestamp), project, count(*) FROM pypi GROUP BY 1, 2)) d`,
    );
    expect(diff.rows[0]!.n).toBe('0');
    const refresh = await job('pypi_hourly', 'policy_refresh_continuous_aggregate');
    expect(refresh.scheduled).toBe(true);
    expect(Number(refresh.total_runs)).toBeGreaterThan(1);
    expect(refresh.total_failures).toBe('0');
  });

  it('pausing a job that is running: the scheduler cancels the run and the adapter waits until it is gone', async () => {
    await sql.query(
      `CREATE PROCEDURE slow_job(job_id int, config jsonb) LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); END $$`,
    );
    const added = await sql.query<{ id: number }>(
      `SELECT add_job('slow_job', INTERVAL '1 second', initial_start => now()) AS id`,
    );
    const id = added.rows[0]!.id;
    const running = `SELECT count(*)::text AS n FROM pg_stat_activity a JOIN timescaledb_information.jobs j ON j.application_name = a.application_name WHERE j.job_id = $1`;
    await until('the job to start', async () =>
      (await sql.query<{ n: string }>(running, [id])).rows[0]!.n === '1' ? true : undefined,
    );
    await sql.query('SELECT alter_job($1, scheduled => false)', [id]);
    const db = openConnection(pgTarget(server.url));
    try {
      const started = Date.now();
      await waitUntilJobIdle(db, { schema: 'public', name: 'pypi' } as Hypertable, id);
      expect(Date.now() - started).toBeLessThan(30_000); // cancelled, not finished (it sleeps 60 s)
      expect((await sql.query<{ n: string }>(running, [id])).rows[0]!.n).toBe('0');
      // A job that stays under way past the timeout is reported, naming it.
      await sql.query('SELECT alter_job($1, scheduled => true)', [id]);
      await until('the job to start again', async () =>
        (await sql.query<{ n: string }>(running, [id])).rows[0]!.n === '1' ? true : undefined,
      );
      await expect(
        waitUntilJobIdle(db, { schema: 'public', name: 'pypi' } as Hypertable, id, 500),
      ).rejects.toThrow(`compression policy job ${id} of public.pypi is still running 1 s after`);
    } finally {
      await sql.query('SELECT delete_job($1)', [id]).catch(() => undefined);
      await db.close();
    }
  });
});
