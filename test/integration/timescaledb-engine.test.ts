/**
 * The TimescaleDB adapter driven by the real engine (runBackfill) on every TimescaleDB target (the embedded 2.23 and
 * a real 2.28 server), with PyPI-shaped Parquet files served by a local S3: a process killed (SIGKILL) in the middle
 * of the swap — after its first slice — leaves the policy paused; the next run recovers it, completes the swap
 * exactly once and resumes the policy; the report counts only the backfilled range. A schema mismatch and a corrupt
 * object fail before any chunk is decompressed.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { SchemaMismatchError, SourceError } from '../../src/errors.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { acquireEmbeddedTimescale } from '../../src/local/timescaledb-server.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres-server.ts';
import {
  TIMESCALE_TARGET_TEXT,
  TIMESCALE_TARGETS,
  type TimescaleTargetKind,
} from '../support/timescale-targets.ts';
import { runBackfill } from '../../src/runner/run.ts';
import { defineConfig } from '../../src/config/define.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import { generatePypiParquet, type GeneratedFile } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';

const require = createRequire(import.meta.url);
const repo = fileURLToPath(new URL('../../', import.meta.url));

let root: string;
let s3: LocalS3Server;
let live: GeneratedFile[];
let back: GeneratedFile[];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'shadowfill-tsdb-engine-'));
  // 4 days × 2 files: the live table gets the second half of days 2 and 3; the backfill brings days 0 and 1
  // (new chunks) and the first halves of days 2 and 3 (into compressed chunks).
  const common = { rowsPerFile: 3000, days: 4, filesPerDay: 2, rowGroupRows: 1000 };
  live = (await generatePypiParquet({ dir: join(root, 'live'), files: [5, 7], ...common })).files;
  back = (await generatePypiParquet({ dir: join(root, 'back'), files: [0, 1, 2, 3, 4, 6], ...common })).files;
  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['live', 'back', 'bad'] });
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  await uploadDirectory(s3.endpoint, 'live', join(root, 'live'), credentials);
  await uploadDirectory(s3.endpoint, 'back', join(root, 'back'), credentials);
  await uploadDirectory(s3.endpoint, 'bad', join(root, 'back'), credentials);
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  await client.send(
    new PutObjectCommand({
      Bucket: 'bad',
      Key: 'pypi/2024-12-17/zz-corrupt.parquet',
      Body: Buffer.from('PAR1 not really parquet'),
    }),
  );
  client.destroy();
});

afterAll(async () => {
  await s3?.stop();
  if (root) rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

/**
 * One database per test on a target: its own data directory on the embedded server (which one process at a time
 * opens), its own database on the real server (shared by the test's processes).
 */
interface Databases {
  url(name: string): Promise<string>;
  /** Runs `fn` with a client of the database (on the embedded server: opened for `fn` only). */
  withDb<T>(name: string, fn: (sql: pg.Client) => Promise<T>): Promise<T>;
  /** After a killed engine process: waits until the database is free for the next one. */
  settle(name: string): Promise<void>;
  stop(): Promise<void>;
}

function embeddedDatabases(): Databases {
  const dir = (name: string) => join(root, `db-${name}`);
  return {
    url: async (name) => `embedded:${dir(name)}`,
    withDb: (name, fn) => withEmbedded(dir(name), fn),
    settle: async (name) => {
      // Its embedded server notices the parent is gone and closes the database.
      for (let i = 0; i < 300 && existsSync(join(dir(name), 'server.json')); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(join(dir(name), 'server.json'))).toBe(false);
    },
    stop: async () => undefined,
  };
}

function realDatabases(): Databases {
  let server: TestPostgres | undefined;
  const created = new Set<string>();
  const urlOf = (name: string) => {
    const url = new URL(server!.url);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const ensure = async (name: string) => {
    server ??= await startTestPostgres({ timescaledb: true });
    if (created.has(name)) return;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const sql = new pg.Client({ connectionString: urlOf(name) });
    await sql.connect();
    try {
      await sql.query('CREATE EXTENSION timescaledb');
    } finally {
      await sql.end();
    }
    created.add(name);
  };
  return {
    url: async (name) => {
      await ensure(name);
      return urlOf(name);
    },
    withDb: async (name, fn) => {
      await ensure(name);
      const sql = new pg.Client({ connectionString: urlOf(name) });
      await sql.connect();
      try {
        await sql.query("SET TimeZone = 'UTC'");
        return await fn(sql);
      } finally {
        await sql.end();
      }
    },
    settle: async (name) => {
      // The killed process's backend ends (rolling back its open transaction) once it notices the client is gone.
      await ensure(name);
      const sql = new pg.Client({ connectionString: urlOf(name) });
      await sql.connect();
      try {
        for (let i = 0; i < 300; i++) {
          const r = await sql.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
          );
          if (r.rows[0]!.n === '0') return;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await sql.end();
      }
    },
    stop: async () => {
      await server?.stop();
    },
  };
}

function config(
  url: string,
  table: string,
  bucket: string,
  options: Record<string, unknown> = {},
): BackfillConfig {
  return defineConfig({
    target: { kind: 'timescaledb', url, table },
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

async function run(c: BackfillConfig, events: RunEvent[] = []) {
  const adapter = createTimescaleAdapter(c);
  await adapter.connect();
  try {
    return await runBackfill(c, adapter, { onEvent: (e) => events.push(e) });
  } finally {
    await adapter.close();
  }
}

/** Opens `dbDir`, runs `fn` with a client, and stops the server again (so another process can open it). */
async function withEmbedded<T>(dbDir: string, fn: (sql: pg.Client) => Promise<T>): Promise<T> {
  const lease = await acquireEmbeddedTimescale({ directory: dbDir });
  const sql = new pg.Client({
    host: lease.server.host,
    port: lease.server.port,
    user: 'postgres',
    database: 'postgres',
  });
  await sql.connect();
  try {
    await sql.query("SET TimeZone = 'UTC'");
    return await fn(sql);
  } finally {
    await sql.end();
    await lease.release();
  }
}

const TABLE_SQL = (table: string, projectType = 'text') =>
  `CREATE TABLE ${table} (timestamp timestamptz NOT NULL, country_code text, project ${projectType}, type text, installer text,
     python_minor text, system text, version text)`;

async function createPypi(sql: pg.Client, table: string, projectType = 'text') {
  await sql.query(TABLE_SQL(table, projectType));
  await sql.query(`SELECT create_hypertable('${table}', by_range('timestamp', INTERVAL '1 day'))`);
  await sql.query(
    `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'project', timescaledb.compress_orderby = 'timestamp DESC')`,
  );
}

async function state(sql: pg.Client, table: string) {
  const chunks = await sql.query<{ name: string; status: number; cid: number | null }>(
    `SELECT c.table_name AS name, c.status, c.compressed_chunk_id AS cid
       FROM timescaledb_information.chunks v
       JOIN _timescaledb_catalog.chunk c ON c.schema_name = v.chunk_schema AND c.table_name = v.chunk_name
      WHERE v.hypertable_name = $1 ORDER BY 1`,
    [table],
  );
  const scheduled = await sql.query<{ s: boolean }>(
    `SELECT scheduled AS s FROM timescaledb_information.jobs WHERE hypertable_name = $1 AND proc_name = 'policy_compression'`,
    [table],
  );
  const rows = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
  const staging = await sql.query(`SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE $1`, [
    `${table}_v2_%`,
  ]);
  return {
    chunks: chunks.rows,
    scheduled: scheduled.rows[0]?.s,
    rows: Number(rows.rows[0]!.n),
    staging: staging.rows.length,
  };
}

const total = (files: readonly GeneratedFile[]) => files.reduce((n, f) => n + f.rows, 0);

function engineTests(kind: TimescaleTargetKind): void {
  describe(`TimescaleDB through the engine, on ${TIMESCALE_TARGET_TEXT[kind]}`, () => {
    let dbs: Databases;
    beforeAll(() => {
      dbs = kind === 'embedded' ? embeddedDatabases() : realDatabases();
    });
    afterAll(async () => {
      await dbs?.stop();
    });

    it('a run killed (kill -9) mid-swap is recovered by the next run: policy restored, swap completed exactly once', async () => {
      const db = 'kill';
      const url = await dbs.url(db);
      await dbs.withDb(db, (sql) => createPypi(sql, 'pypi'));
      const first = await run(config(url, 'pypi', 'live'));
      expect(first.rowsLoaded).toBe(total(live));
      await dbs.withDb(db, async (sql) => {
        await sql.query(`SELECT compress_chunk(c) FROM show_chunks('pypi') c`);
        // The real server's scheduler must not run it during the test: its first start is a day away.
        await sql.query(
          `SELECT add_compression_policy('pypi', INTERVAL '7 days', initial_start => now() + INTERVAL '1 day')`,
        );
        await sql.query(
          `CREATE MATERIALIZED VIEW pypi_hourly WITH (timescaledb.continuous) AS
             SELECT time_bucket('1 hour', timestamp) AS hour, project, count(*) AS downloads FROM pypi GROUP BY 1, 2 WITH NO DATA`,
        );
        await sql.query(`CALL refresh_continuous_aggregate('pypi_hourly', NULL, NULL)`);
      });

      // The engine in another process (node itself, not the tsx CLI, which would relay), killed as soon as the
      // first slice of the swap is done.
      // filter.before: auto keeps rows older than the live table's oldest: days 0, 1 and the first half of day 2
      // (into its compressed chunk); the first half of day 3 (file 6) is filtered out.
      const c: BackfillConfig = {
        ...config(url, 'pypi', 'back', { strategy: 'decompress' }),
        filter: { column: 'timestamp', before: 'auto', after: undefined },
      };
      const kept = back.filter((f) => !f.key.endsWith('6.parquet'));
      expect(kept).toHaveLength(5);
      const script = join(root, 'engine-child.mts');
      writeFileSync(
        script,
        `import { runBackfill } from ${JSON.stringify(join(repo, 'src/runner/run.ts'))};
         import { createTimescaleAdapter } from ${JSON.stringify(join(repo, 'adapters/timescaledb/index.ts'))};
         const config = JSON.parse(process.argv[2]);
         const adapter = createTimescaleAdapter(config);
         await adapter.connect();
         await runBackfill(config, adapter, { onEvent: (e) => process.stdout.write(JSON.stringify(e) + '\\n') });
         await adapter.close();`,
      );
      const child = spawn(
        process.execPath,
        ['--import', pathToFileURL(require.resolve('tsx')).href, script, JSON.stringify(c)],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const killedAt = await new Promise<{ type: string; done?: number; total?: number }>(
        (resolve, reject) => {
          createInterface({ input: child.stdout }).on('line', (line) => {
            const event = JSON.parse(line) as { type: string; done?: number; total?: number };
            if (event.type === 'swap-unit-done') {
              child.kill('SIGKILL');
              resolve(event);
            }
          });
          child.once('exit', (code) =>
            reject(new Error(`engine child exited (${code}) before the swap: ${stderr}`)),
          );
        },
      );
      // The first of 3 slices (mode historical lists slices as the watermark passes them: `total` is what was
      // listed then, 1 to 3 depending on how far the loads were).
      expect(killedAt).toMatchObject({ type: 'swap-unit-done', done: 1 });
      await new Promise((resolve) =>
        child.exitCode !== null || child.signalCode !== null
          ? resolve(undefined)
          : child.once('exit', resolve),
      );
      await dbs.settle(db);

      const mid = await dbs.withDb(db, (sql) => state(sql, 'pypi'));
      expect(mid.scheduled).toBe(false); // paused by the killed run
      expect(mid.staging).toBe(3); // staging, swap-state and claims tables survived
      expect(mid.rows).toBeGreaterThan(total(live)); // the first slice is in
      expect(mid.rows).toBeLessThan(total(live) + total(kept));

      const events: RunEvent[] = [];
      const resumed = await run(c, events);
      expect(resumed.resumed).toBe(true);
      // The adapter reports its own steps: chunks compressed again and the policy resumed, in that order.
      const types = events.map((e) => e.type);
      expect(types).toContain('chunk-compressed');
      expect(types.indexOf('policy-resumed')).toBeGreaterThan(types.lastIndexOf('chunk-compressed'));
      expect(types.at(-1)).toBe('run-finished');
      // The report counts only the backfilled range (days 0–2 from the footers), not the whole table: day 3's
      // live rows are outside it.
      const day3Live = live.filter((f) => f.key.includes('/2024-12-20/')).reduce((n, f) => n + f.rows, 0);
      expect(day3Live).toBeGreaterThan(0);
      expect(resumed.before[0]).toMatchObject({
        table: 'public.pypi',
        scope: expect.stringMatching(
          /^timestamp in \[2024-12-17T00:00:00.000000Z, 2024-12-20T\d\d:\d\d:\d\d\.\d{6}Z\]$/,
        ),
        rows: total(live) - day3Live,
      });
      expect(resumed.after[0]).toMatchObject({ rows: total(live) - day3Live + total(kept) });
      expect(resumed.after[1]).toMatchObject({
        table: 'public.pypi_hourly',
        aggregates: { 'sum(downloads)': total(live) - day3Live + total(kept) },
      });
      await dbs.withDb(db, async (sql) => {
        const after = await state(sql, 'pypi');
        expect(after.rows).toBe(total(live) + total(kept));
        expect(after.scheduled).toBe(true);
        expect(after.staging).toBe(0);
        expect(after.chunks).toHaveLength(4); // days 0 and 1 new, 2 and 3 live
        expect(after.chunks.every((ch) => ch.status === 1)).toBe(true); // all compressed, none partial
        const diff = await sql.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM (
             (SELECT time_bucket('1 hour', timestamp), project, count(*) FROM pypi GROUP BY 1, 2 EXCEPT ALL SELECT hour, project, downloads FROM pypi_hourly)
             UNION ALL
             (SELECT hour, project, downloads FROM pypi_hourly EXCEPT ALL SELECT time_bucket('1 hour', timestamp), project, count(*) FROM pypi GROUP BY 1, 2)) d`,
        );
        expect(diff.rows[0]!.n).toBe('0');
      });
    }, 300_000); // The embedded server starts in each child (WASM): 51 s at load 3–5, over 120 s at load 10+.

    it('a schema mismatch and a corrupt object fail before any chunk is touched', async () => {
      const db = 'fail';
      const url = await dbs.url(db);
      const before = await dbs.withDb(db, async (sql) => {
        await createPypi(sql, 'typed', 'integer');
        await sql.query(
          `INSERT INTO typed (timestamp, project) SELECT g, 1 FROM generate_series('2024-12-19'::timestamptz, '2024-12-20', INTERVAL '1 hour') g`,
        );
        await createPypi(sql, 'plain');
        await sql.query(
          `INSERT INTO plain (timestamp, project) SELECT g, 'p' FROM generate_series('2024-12-19'::timestamptz, '2024-12-20', INTERVAL '1 hour') g`,
        );
        for (const t of ['typed', 'plain']) {
          await sql.query(`SELECT compress_chunk(c) FROM show_chunks('${t}') c`);
          await sql.query(
            `SELECT add_compression_policy('${t}', INTERVAL '7 days', initial_start => now() + INTERVAL '1 day')`,
          );
        }
        return { typed: await state(sql, 'typed'), plain: await state(sql, 'plain') };
      });
      const mismatch = await run(config(url, 'typed', 'back')).catch((e: unknown) => e);
      expect(mismatch).toBeInstanceOf(SchemaMismatchError);
      expect((mismatch as Error).message).toMatch(
        /column "project" of s3:\/\/back\/.* is BYTE_ARRAY .* but public\.typed\."project" is integer/,
      );
      const corrupt = await run(config(url, 'plain', 'bad')).catch((e: unknown) => e);
      expect(corrupt).toBeInstanceOf(SourceError);
      expect((corrupt as SourceError).code).toBe('SOURCE_CORRUPT');
      expect((corrupt as Error).message).toContain('s3://bad/pypi/2024-12-17/zz-corrupt.parquet');
      await dbs.withDb(db, async (sql) => {
        expect(await state(sql, 'typed')).toEqual(before.typed);
        expect(await state(sql, 'plain')).toEqual(before.plain);
      });
    });
  });
}

for (const kind of TIMESCALE_TARGETS) engineTests(kind);
