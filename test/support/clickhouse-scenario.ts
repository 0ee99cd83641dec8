/**
 * Shared setup for ClickHouse end-to-end tests: one embedded ClickHouse (chDB binds one data directory per
 * process), one local S3 server in a child process, PyPI-shaped fixture files, and helpers to build configs
 * and run the engine. Each test uses its own database so tests do not see each other's tables.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { ClickHouseAdapter } from '../../adapters/clickhouse/adapter.ts';
import { quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { defineConfig } from '../../src/config/define.ts';
import { generatePypiParquet, PYPI_STRUCTURE, type GeneratedFile } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { runBackfill, type RunOptions, type RunReport } from '../../src/runner/run.ts';

export const BUCKET = 'datasets';
/** Fixture files spread over several days: `pypi/<day>/<epoch>-000000000NNN.parquet`. */
export const ANY_DAY = 'pypi/*/*-000000000';

export interface Scenario {
  readonly root: string;
  readonly s3: LocalS3Server;
  readonly driver: ChdbDriver;
  readonly chDir: string;
  readonly files: readonly GeneratedFile[];
  readonly parquetDir: string;
  /** The fixture file with this number. */
  file(n: number): GeneratedFile;
  /** Rows of the fixture files by number. */
  rowsOf(numbers: readonly number[]): number;
  config(database: string, overrides?: Partial<BackfillConfig> & { url?: string }): BackfillConfig;
  run(config: BackfillConfig, options?: RunOptions): Promise<RunReport>;
  put(key: string, body: Uint8Array | string): Promise<void>;
  scalar(sql: string): Promise<number>;
  /** Creates the guide's pypi table (optionally partitioned), pypi_downloads and pypi_downloads_mv in `database`. */
  createGuideTables(database: string, options?: { partitionBy?: string }): Promise<void>;
  /** Loads the given fixture files into `database`.pypi as live data through ClickHouse's own s3(). */
  loadLive(database: string, numbers: readonly number[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startScenario(options: {
  files: number;
  rowsPerFile: number;
  days: number;
}): Promise<Scenario> {
  const root = await mkdtemp(join(tmpdir(), 'shadowfill-ch-'));
  const s3 = await startLocalS3({ directory: join(root, 's3'), buckets: [BUCKET] });
  const chDir = join(root, 'clickhouse');
  const driver = new ChdbDriver(chDir);
  const parquetDir = join(root, 'parquet');
  const generated = await generatePypiParquet({
    dir: parquetDir,
    files: Array.from({ length: options.files }, (_, i) => i),
    rowsPerFile: options.rowsPerFile,
    days: options.days,
    rowGroupRows: Math.max(100, Math.floor(options.rowsPerFile / 3)),
    runner: { queryAsync: (sql: string) => driver.command(sql) },
  });
  const creds = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  await uploadDirectory(s3.endpoint, BUCKET, parquetDir, creds);
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: creds,
  });
  const byNumber = new Map<number, GeneratedFile>();
  for (const f of generated.files) byNumber.set(Number(/(\d{3})\.parquet$/.exec(f.key)![1]), f);

  const scenario: Scenario = {
    root,
    s3,
    driver,
    chDir,
    files: generated.files,
    parquetDir,
    file: (n) => {
      const f = byNumber.get(n);
      if (!f) throw new Error(`no fixture file ${n}`);
      return f;
    },
    rowsOf: (numbers) => numbers.reduce((n, i) => n + (byNumber.get(i)?.rows ?? 0), 0),
    config: (database, overrides = {}) => {
      const { url, ...rest } = overrides;
      return defineConfig({
        target: { kind: 'clickhouse', url: `embedded:${chDir}`, database, table: 'pypi' },
        source: {
          url: url ?? `s3://${BUCKET}/${ANY_DAY}{010..019}.parquet`,
          endpoint: s3.endpoint,
          credentials: creds,
        },
        batch: { files: 4, bytes: 15 * 1024 ** 3 },
        attempts: 2,
        ...rest,
      });
    },
    run: async (config, runOptions) => {
      const adapter = new ClickHouseAdapter(config, new ChdbDriver(chDir));
      await adapter.connect();
      try {
        return await runBackfill(config, adapter, runOptions);
      } finally {
        await adapter.close();
      }
    },
    put: async (key, body) => {
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    },
    scalar: async (sql) => {
      const [row] = await driver.query<{ v: string }>(`SELECT toString((${sql})) AS v`);
      return Number(row?.v);
    },
    createGuideTables: async (database, opts = {}) => {
      await driver.command(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
      await driver.command(
        `CREATE TABLE \`${database}\`.pypi (${PYPI_STRUCTURE}) ENGINE = MergeTree ` +
          `${opts.partitionBy ? `PARTITION BY ${opts.partitionBy} ` : ''}ORDER BY (project, timestamp)`,
      );
      await driver.command(
        `CREATE TABLE \`${database}\`.pypi_downloads (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project`,
      );
      await driver.command(
        `CREATE MATERIALIZED VIEW \`${database}\`.pypi_downloads_mv TO \`${database}\`.pypi_downloads ` +
          `AS SELECT project, count() AS count FROM \`${database}\`.pypi GROUP BY project`,
      );
    },
    loadLive: async (database, numbers) => {
      for (const n of numbers) {
        const f = byNumber.get(n);
        if (!f) throw new Error(`no fixture file ${n}`);
        await driver.command(
          `INSERT INTO \`${database}\`.pypi SELECT * FROM file(${quoteString(f.path)}, 'Parquet')`,
        );
      }
    },
    stop: async () => {
      client.destroy();
      await driver.close();
      await s3.stop();
      await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
  return scenario;
}

/** Reads a local fixture file's bytes (to re-upload a fixed object). */
export function fixtureBytes(file: GeneratedFile): Promise<Buffer> {
  return readFile(file.path);
}
