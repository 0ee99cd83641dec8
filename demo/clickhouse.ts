/**
 * `shadowfill demo` on the embedded default: the ClickHouse guide's scenario end to end.
 * Starts a local S3 server (child process) and embedded ClickHouse (chDB) under `.data/demo`, writes
 * PyPI-shaped Parquet files 000..200, loads 000..100 as "live" data into the guide's `pypi` table (whose
 * materialized view `pypi_downloads_mv` feeds `pypi_downloads`), then backfills 101..200 through the engine
 * and checks that `count()` of pypi and `sum(count)` of pypi_downloads both equal the rows of all files.
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ChdbDriver } from '../adapters/clickhouse/drivers/chdb.ts';
import { quoteString } from '../adapters/clickhouse/sql/quote.ts';
import { generatePypiParquet, PYPI_STRUCTURE } from './data/pypi.ts';
import { uploadDirectory } from './data/upload.ts';
import { loadConfig } from '../src/config/load.ts';
import { startLocalS3 } from '../src/local/s3-server.ts';
import { runBackfill, type RunReport } from '../src/runner/run.ts';
import type { EventSink } from '../src/runner/events.ts';
import { createAdapter } from '../src/adapter/registry.ts';

export interface DemoOptions {
  readonly dir: string;
  readonly rowsPerFile: number;
  readonly onEvent?: EventSink;
  readonly log: (line: string) => void;
  /** Aborting stops the backfill after the step in progress (the CLI's first Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface DemoResult {
  readonly report: RunReport;
  readonly totalRows: number;
  readonly pypiRows: number;
  readonly downloadsSum: number;
  readonly ok: boolean;
}

const BUCKET = 'datasets-documentation';

/** The guide's live setup: `pypi`, its `pypi_downloads` SummingMergeTree and `pypi_downloads_mv`. */
export async function createGuideTables(driver: Pick<ChdbDriver, 'command'>): Promise<void> {
  await driver.command(
    `CREATE TABLE pypi (${PYPI_STRUCTURE}) ENGINE = MergeTree ORDER BY (project, timestamp)`,
  );
  await driver.command(
    'CREATE TABLE pypi_downloads (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project',
  );
  await driver.command(
    'CREATE MATERIALIZED VIEW pypi_downloads_mv TO pypi_downloads AS SELECT project, count() AS count FROM pypi GROUP BY project',
  );
}
const PREFIX = 'pypi/2024-12-17/1734393600-000000000';

export async function clickhouseDemo(options: DemoOptions): Promise<DemoResult> {
  const root = resolve(options.dir);
  await rm(root, { recursive: true, force: true });
  const log = options.log;
  const s3 = await startLocalS3({ directory: join(root, 's3'), buckets: [BUCKET] });
  const chDir = join(root, 'clickhouse');
  const driver = new ChdbDriver(chDir);
  try {
    log(`local S3 at ${s3.endpoint}, embedded ClickHouse in ${chDir}`);
    const t0 = Date.now();
    const files = Array.from({ length: 201 }, (_, i) => i);
    const generated = await generatePypiParquet({
      dir: join(root, 'parquet'),
      files,
      rowsPerFile: options.rowsPerFile,
      runner: { queryAsync: (sql: string) => driver.command(sql) },
    });
    await uploadDirectory(s3.endpoint, BUCKET, join(root, 'parquet'), {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    log(
      `wrote ${generated.files.length} Parquet files (${generated.totalRows} rows) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );

    await createGuideTables(driver);
    const liveUrl = `${s3.endpoint}/${BUCKET}/${PREFIX}{000..100}.parquet`;
    await driver.command(
      `INSERT INTO pypi SELECT * FROM s3(${quoteString(liveUrl)}, ${quoteString(s3.accessKeyId)}, ${quoteString(s3.secretAccessKey)}, 'Parquet')`,
    );
    const [live] = await driver.query<{ n: string }>('SELECT count() AS n FROM pypi');
    log(
      `live data: files {000..100} → pypi has ${live?.n} rows; backfilling {101..200} through shadow tables`,
    );

    const config = loadConfig({
      flags: {
        'target.kind': 'clickhouse',
        'target.url': `embedded:${chDir}`,
        'target.table': 'pypi',
        'source.url': `s3://${BUCKET}/${PREFIX}{101..200}.parquet`,
        'source.endpoint': s3.endpoint,
        'source.access_key_id': s3.accessKeyId,
        'source.secret_access_key': s3.secretAccessKey,
        'batch.files': '25',
      },
      env: {},
    });
    const adapter = await createAdapter(config);
    await adapter.connect();
    let report: RunReport;
    try {
      report = await runBackfill(config, adapter, {
        onEvent: options.onEvent,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } finally {
      await adapter.close();
    }
    const [count] = await driver.query<{ n: string }>('SELECT count() AS n FROM pypi');
    const [sum] = await driver.query<{ s: string }>('SELECT sum(count) AS s FROM pypi_downloads');
    const pypiRows = Number(count?.n ?? 0);
    const downloadsSum = Number(sum?.s ?? 0);
    return {
      report,
      totalRows: generated.totalRows,
      pypiRows,
      downloadsSum,
      ok: pypiRows === generated.totalRows && downloadsSum === generated.totalRows,
    };
  } finally {
    await driver.close();
    await s3.stop();
  }
}
