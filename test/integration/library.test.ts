/**
 * shadowfill used as a library through its entry point (src/index.ts): defineConfig → createAdapter →
 * planRun / runBackfill, on embedded ClickHouse and a local S3.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { generatePypiParquet, PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import {
  createAdapter,
  defineConfig,
  planRun,
  runBackfill,
  ShadowfillError,
  type RunEvent,
} from '../../src/index.ts';

let root: string;
let s3: LocalS3Server;
let driver: ChdbDriver;
let rows: number;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shadowfill-lib-'));
  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['lib'] });
  driver = new ChdbDriver(join(root, 'ch'));
  const generated = await generatePypiParquet({
    dir: join(root, 'parquet'),
    files: [0, 1, 2],
    rowsPerFile: 500,
    runner: { queryAsync: (sql: string) => driver.command(sql) },
  });
  rows = generated.totalRows;
  await uploadDirectory(s3.endpoint, 'lib', join(root, 'parquet'), {
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  await driver.command(
    `CREATE TABLE default.pypi (${PYPI_STRUCTURE}) ENGINE = MergeTree ORDER BY (project, timestamp)`,
  );
}, 120_000);

afterAll(async () => {
  await driver?.close();
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

it('plans and runs a backfill from code, with defaults filled in', async () => {
  const config = defineConfig({
    target: { kind: 'clickhouse', url: `embedded:${join(root, 'ch')}`, table: 'pypi' },
    source: {
      url: 's3://lib/pypi/**.parquet',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    },
  });
  expect(config).toMatchObject({
    load: 'server',
    views: 'auto',
    attempts: 3,
    batch: { files: 100, count: 'auto' },
    target: { database: 'default' },
  });
  const adapter = await createAdapter(config);
  await adapter.connect();
  try {
    const plan = await planRun(config, adapter);
    // batch.count auto: at least 2 batches per worker, so the 3 objects are 3 batches of one.
    expect(plan.batches.map((b) => b.objects.length)).toEqual([1, 1, 1]);
    expect(plan.sourceRows).toBe(rows);
    const events: RunEvent[] = [];
    const report = await runBackfill(config, adapter, { onEvent: (e) => events.push(e) });
    expect(report.rowsLoaded).toBe(rows);
    expect(report.after[0]).toMatchObject({ table: 'default.pypi', rows });
    expect(events[0]?.type).toBe('run-started');
    await expect(runBackfill(config, adapter)).rejects.toBeInstanceOf(ShadowfillError);
  } finally {
    await adapter.close();
  }
});
