/**
 * The TimescaleDB adapter driven by the real engine (runBackfill) on the embedded TimescaleDB, with PyPI-shaped
 * Parquet files served by a local S3: a process killed (SIGKILL) in the middle of the swap leaves the policy
 * paused; the next run recovers it, completes the swap exactly once and resumes the policy. A schema mismatch
 * and a corrupt object fail before any chunk is decompressed.
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
  if (root) rmSync(root, { recursive: true, force: true });
});

function config(
  dbDir: string,
  table: string,
  bucket: string,
  options: Record<string, unknown> = {},
): BackfillConfig {
  return defineConfig({
    target: { kind: 'timescaledb', url: `embedded:${dbDir}`, table },
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
async function withDb<T>(dbDir: string, fn: (sql: pg.Client) => Promise<T>): Promise<T> {
  const lease = await acquireEmbeddedTimescale({ directory: dbDir });
  const sql = new pg.Client({
    host: lease.server.host,
    port: lease.server.port,
    user: 'postgres',
    database: 'postgres',
  });
  await sql.connect();
  try {
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
    `SELECT c.table_name AS name, c.status, c.compressed_chunk_id AS cid FROM _timescaledb_catalog.chunk c
       JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id WHERE h.table_name = $1 AND NOT c.dropped ORDER BY 1`,
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

describe('TimescaleDB through the engine', () => {
  it('a run killed mid-swap is recovered by the next run: policy restored, swap completed exactly once', async () => {
    const dbDir = join(root, 'db-kill');
    await withDb(dbDir, (sql) => createPypi(sql, 'pypi'));
    const first = await run(config(dbDir, 'pypi', 'live'));
    expect(first.rowsLoaded).toBe(total(live));
    await withDb(dbDir, async (sql) => {
      await sql.query(`SELECT compress_chunk(c) FROM show_chunks('pypi') c`);
      await sql.query(`SELECT add_compression_policy('pypi', INTERVAL '7 days')`);
      await sql.query(
        `CREATE MATERIALIZED VIEW pypi_hourly WITH (timescaledb.continuous) AS
           SELECT time_bucket('1 hour', timestamp) AS hour, project, count(*) AS downloads FROM pypi GROUP BY 1, 2 WITH NO DATA`,
      );
      await sql.query(`CALL refresh_continuous_aggregate('pypi_hourly', NULL, NULL)`);
    });

    // The engine in another process (node itself, not the tsx CLI, which would relay), killed as soon as the swap
    // has begun.
    // filter.before: auto keeps rows older than the live table's oldest: days 0, 1 and the first half of day 2
    // (into its compressed chunk); the first half of day 3 (file 6) is filtered out.
    const c: BackfillConfig = {
      ...config(dbDir, 'pypi', 'back', { strategy: 'decompress' }),
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
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killedAt = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const event = JSON.parse(line) as { type: string };
        if (event.type === 'swap-started') {
          child.kill('SIGKILL');
          resolve(event.type);
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`engine child exited (${code}) before the swap: ${stderr}`)),
      );
    });
    expect(killedAt).toBe('swap-started');
    await new Promise((resolve) =>
      child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('exit', resolve),
    );
    // Its embedded server notices the parent is gone and closes the database.
    for (let i = 0; i < 300 && existsSync(join(dbDir, 'server.json')); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(join(dbDir, 'server.json'))).toBe(false);

    const mid = await withDb(dbDir, (sql) => state(sql, 'pypi'));
    expect(mid.scheduled).toBe(false); // paused by the killed run
    expect(mid.staging).toBe(2); // staging + swap-state tables survived

    const events: RunEvent[] = [];
    const resumed = await run(c, events);
    expect(resumed.resumed).toBe(true);
    // The adapter reports its own steps: chunks compressed again and the policy resumed, in that order.
    const types = events.map((e) => e.type);
    expect(types).toContain('chunk-compressed');
    expect(types.indexOf('policy-resumed')).toBeGreaterThan(types.lastIndexOf('chunk-compressed'));
    expect(types.at(-1)).toBe('run-finished');
    await withDb(dbDir, async (sql) => {
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
  });

  it('a schema mismatch and a corrupt object fail before any chunk is touched', async () => {
    const dbDir = join(root, 'db-fail');
    const before = await withDb(dbDir, async (sql) => {
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
        await sql.query(`SELECT add_compression_policy('${t}', INTERVAL '7 days')`);
      }
      return { typed: await state(sql, 'typed'), plain: await state(sql, 'plain') };
    });
    const mismatch = await run(config(dbDir, 'typed', 'back')).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(SchemaMismatchError);
    expect((mismatch as Error).message).toMatch(
      /column "project" of s3:\/\/back\/.* is BYTE_ARRAY .* but public\.typed\."project" is integer/,
    );
    const corrupt = await run(config(dbDir, 'plain', 'bad')).catch((e: unknown) => e);
    expect(corrupt).toBeInstanceOf(SourceError);
    expect((corrupt as SourceError).code).toBe('SOURCE_CORRUPT');
    expect((corrupt as Error).message).toContain('s3://bad/pypi/2024-12-17/zz-corrupt.parquet');
    await withDb(dbDir, async (sql) => {
      expect(await state(sql, 'typed')).toEqual(before.typed);
      expect(await state(sql, 'plain')).toEqual(before.plain);
    });
  });
});
