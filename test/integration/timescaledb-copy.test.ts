/**
 * The TimescaleDB adapter's real-server paths, on a real TimescaleDB 2.28 server (the embedded one has no COPY):
 * the COPY load (and the INSERT … unnest load, which must store identical values), value encoding of every
 * kind, errors naming object/column/row group, aborting a COPY when the source fails, the slice move into a
 * hypertable with on_conflict, a whole run through the engine loading by COPY from Parquet on S3, and
 * describe()/connect() failures (a database without the extension, an unreachable server).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnection, type PgConnection } from '../../adapters/timescaledb/connection.ts';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import { readColumns, type Hypertable } from '../../adapters/timescaledb/introspect.ts';
import { loadBatch } from '../../adapters/timescaledb/load.ts';
import { runNames } from '../../adapters/timescaledb/names.ts';
import { parseTimescaleOptions } from '../../adapters/timescaledb/options.ts';
import { mapColumns, Statements } from '../../adapters/timescaledb/statements.ts';
import type { RowChunk } from '../../src/adapter/contract.ts';
import { DEFAULT_BATCH, type BackfillConfig, type TargetConfig } from '../../src/config/types.ts';
import { SchemaMismatchError, SourceError } from '../../src/errors.ts';
import { PreciseDate } from '../../src/parquet/values.ts';
import type { SourceColumn, SourceObject } from '../../src/source/types.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres-server.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePypiParquet, PYPI_COLUMNS, PYPI_PG_COLUMNS } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { defineConfig } from '../../src/config/define.ts';
import { startLocalS3 } from '../../src/local/s3-server.ts';
import { runBackfill } from '../../src/runner/run.ts';

let server: TestPostgres;
let db: PgConnection;
let sql: pg.Client;

const target = (url: string): TargetConfig => ({
  kind: 'timescaledb',
  url,
  database: 'public',
  table: 'metrics',
  user: undefined,
  password: undefined,
});

beforeAll(async () => {
  server = await startTestPostgres({ timescaledb: true });
  db = openConnection(target(server.url));
  sql = new pg.Client({ connectionString: server.url });
  await sql.connect();
  await sql.query(`SET TimeZone = 'UTC'`);
  await sql.query(`
    CREATE TABLE metrics (
      t timestamptz NOT NULL, device integer NOT NULL, v double precision, note text, amount numeric(20, 6),
      big bigint, tags text[], payload jsonb, blob bytea, day date, id uuid, flag boolean, local timestamp,
      PRIMARY KEY (device, t))`);
  await sql.query(`SELECT create_hypertable('metrics', by_range('t', INTERVAL '1 day'))`);
});

afterAll(async () => {
  await sql?.end().catch(() => undefined);
  await db?.close();
  await server?.stop();
});

const S = (name: string, type: SourceColumn['type'], parquetType: string): SourceColumn => ({
  name,
  type,
  nullable: true,
  parquetType,
});

const SOURCE: SourceColumn[] = [
  S('t', { kind: 'timestamp', unit: 'nanos', utc: true }, 'INT64 TIMESTAMP(NANOS,true)'),
  S('device', { kind: 'int', bits: 32, signed: true }, 'INT32'),
  S('v', { kind: 'float', bits: 64 }, 'DOUBLE'),
  S('note', { kind: 'string' }, 'BYTE_ARRAY STRING'),
  S('amount', { kind: 'decimal', precision: 20, scale: 6 }, 'FIXED_LEN_BYTE_ARRAY DECIMAL(20,6)'),
  S('big', { kind: 'int', bits: 64, signed: true }, 'INT64'),
  S('tags', { kind: 'list', element: { kind: 'string' } }, 'LIST<STRING>'),
  S('payload', { kind: 'struct', fields: [] }, 'STRUCT'),
  S('blob', { kind: 'binary' }, 'BYTE_ARRAY'),
  S('day', { kind: 'date' }, 'INT32 DATE'),
  S('id', { kind: 'uuid' }, 'FIXED_LEN_BYTE_ARRAY UUID'),
  S('flag', { kind: 'boolean' }, 'BOOLEAN'),
  S('local', { kind: 'timestamp', unit: 'millis', utc: false }, 'INT64 TIMESTAMP(MILLIS,false)'),
];

const object = (key: string): SourceObject => ({
  key,
  size: 10,
  uri: `s3://bucket/${key}`,
  httpUrl: `http://x/bucket/${key}`,
});

function chunk(key: string, rowGroup: number, rows: Record<string, unknown>[]): RowChunk {
  return {
    object: object(key),
    rowGroup,
    numRows: rows.length,
    columns: new Map(SOURCE.map((c) => [c.name, rows.map((r) => (c.name in r ? r[c.name] : null))])),
  };
}

const ROWS: Record<string, unknown>[] = [
  {
    t: new PreciseDate(1_700_000_000_123_456_789n),
    device: 1,
    v: 1.5,
    note: 'tab\there, newline\nthere, backslash \\ and "quotes" and ünïcödé \\N',
    amount: '-12345678901234.123456',
    big: 2n ** 62n,
    tags: ['a', 'b,c', '{d}', 'e"f', 'g\\h', null, ''],
    payload: { nested: { n: 2n ** 60n, s: 'x\ty' }, list: [1, 2] },
    blob: Uint8Array.from([0, 1, 0xfe, 0xff, 0x5c]),
    day: new Date(Date.UTC(2024, 1, 29)),
    id: '0f8fad5b-d9cb-469f-a165-70867728950e',
    flag: true,
    local: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)),
  },
  { t: new Date(Date.UTC(2024, 0, 1)), device: 2, v: Number.NaN, tags: [], flag: false, big: -(2n ** 63n) },
  { t: new Date(Date.UTC(2024, 0, 1, 12)), device: 3, v: -Infinity, amount: '0.000001' },
];

function statementsFor(columns: Hypertable['columns'], runId: string): Statements {
  const ht: Hypertable = {
    schema: 'public',
    name: 'metrics',
    columns,
    time: {
      column: 't',
      type: 'timestamp with time zone',
      kind: 'timestamptz',
      interval: 86_400_000_000n,
      integerNow: undefined,
    },
    space: [],
    compressionEnabled: false,
    segmentBy: [],
    orderBy: '',
    policy: undefined,
    aggregates: [],
    uniqueIndexes: [{ name: 'metrics_pkey', columns: ['device', 't'], primary: true }],
    timescaleVersion: '0',
    postgresVersion: '15',
  };
  return new Statements(
    ht,
    runNames('metrics', runId),
    parseTimescaleOptions({ on_conflict: 'update', update_columns: ['v'] }),
  );
}

/** Rows input of a batch load. */
const rows = (chunks: AsyncIterable<RowChunk>) => ({ kind: 'rows' as const, chunks });

async function* iterate(...chunks: RowChunk[]): AsyncIterable<RowChunk> {
  yield* chunks;
}

describe('TimescaleDB adapter load paths on a real TimescaleDB server', () => {
  it('COPY and INSERT … unnest store identical, exact values of every kind', async () => {
    const columns = await readColumns(db, 'public', 'metrics');
    const stmts = statementsFor(columns, 'copy1');
    for (const text of [stmts.createStaging(), stmts.createBatchIndex(), stmts.createStateTable()])
      await db.query(text);
    const mapping = mapColumns(columns, SOURCE);
    expect(mapping).toHaveLength(SOURCE.length);
    const plan = (batch: number, method: 'copy' | 'insert') => ({
      statements: stmts,
      mapping,
      batch,
      method,
      insertRows: 2,
      tableName: 'public.metrics',
    });
    const copied = await loadBatch(
      db,
      plan(0, 'copy'),
      rows(iterate(chunk('a.parquet', 0, ROWS.slice(0, 2)), chunk('a.parquet', 1, ROWS.slice(2)))),
    );
    const inserted = await loadBatch(db, plan(1, 'insert'), rows(iterate(chunk('a.parquet', 0, ROWS))));
    expect(copied).toEqual({ rowsWritten: 3, bytesRead: 10 });
    expect(inserted.rowsWritten).toBe(3);

    const list = SOURCE.map((c) => `"${c.name}"::text`).join(', ');
    const staging = `"public"."${stmts.names.staging}"`;
    const diff = await sql.query(
      `(SELECT ${list} FROM ${staging} WHERE _shadowfill_batch = 0 EXCEPT ALL SELECT ${list} FROM ${staging} WHERE _shadowfill_batch = 1)
       UNION ALL
       (SELECT ${list} FROM ${staging} WHERE _shadowfill_batch = 1 EXCEPT ALL SELECT ${list} FROM ${staging} WHERE _shadowfill_batch = 0)`,
    );
    expect(diff.rows).toEqual([]);
    const first = await sql.query(
      `SELECT ${SOURCE.map((c) => `"${c.name}"::text AS "${c.name}"`).join(', ')} FROM ${staging} WHERE _shadowfill_batch = 0 ORDER BY device`,
    );
    expect(first.rows[0]).toEqual({
      t: '2023-11-14 22:13:20.123456+00',
      device: '1',
      v: '1.5',
      note: 'tab\there, newline\nthere, backslash \\ and "quotes" and ünïcödé \\N',
      amount: '-12345678901234.123456',
      big: '4611686018427387904',
      tags: '{a,"b,c","{d}","e\\"f","g\\\\h",NULL,""}',
      payload: '{"list": [1, 2], "nested": {"n": 1152921504606846976, "s": "x\\ty"}}',
      blob: '\\x0001feff5c',
      day: '2024-02-29',
      id: '0f8fad5b-d9cb-469f-a165-70867728950e',
      flag: 'true',
      local: '2024-01-02 03:04:05.006',
    });
    expect(first.rows[1]).toMatchObject({
      device: '2',
      v: 'NaN',
      tags: '{}',
      flag: 'false',
      big: '-9223372036854775808',
      note: null,
    });
    expect(first.rows[2]).toMatchObject({ device: '3', v: '-Infinity', amount: '0.000001' });

    // The slice move (the swap's statement) on real PostgreSQL: batch 1 repeats batch 0's keys with other values;
    // on_conflict update keeps one row per key, the latest batch's.
    await sql.query(`UPDATE ${staging} SET v = 42 WHERE _shadowfill_batch = 1`);
    await db.query(
      stmts.moveSlice(1_700_000_000_000_000n - 86_400_000_000_000n * 400n, 1_800_000_000_000_000n),
    );
    const live = await sql.query<{ device: number; v: number }>(
      'SELECT device, v FROM metrics ORDER BY device',
    );
    expect(live.rows).toEqual([
      { device: 1, v: 42 },
      { device: 2, v: 42 },
      { device: 3, v: 42 },
    ]);
    // The rows stay staged (the swap records the slice's batches as moved; the staging table is dropped at the end).
    expect((await sql.query(`SELECT count(*)::int AS n FROM ${staging}`)).rows[0]).toEqual({ n: 6 });
    await db.query(stmts.dropStaging());
    await db.query(stmts.dropStateTable());
  });

  it('COPY names object, column and row group of a value the table refuses, and rolls the batch back', async () => {
    const columns = await readColumns(db, 'public', 'metrics');
    const stmts = statementsFor(columns, 'copy2');
    await db.query(stmts.createStaging());
    await db.query(stmts.createBatchIndex());
    const mapping = mapColumns(columns, SOURCE);
    const plan = {
      statements: stmts,
      mapping,
      batch: 0,
      method: 'copy' as const,
      insertRows: 100,
      tableName: 'public.metrics',
    };
    const bad = { t: new Date(Date.UTC(2024, 0, 1)), device: 9, amount: '12.5e' };
    const error = await loadBatch(
      db,
      plan,
      rows(iterate(chunk('ok.parquet', 0, ROWS), chunk('bad.parquet', 3, [ROWS[1]!, bad]))),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaMismatchError);
    expect((error as Error).message).toBe(
      's3://bucket/bad.parquet column "amount" row group 3: public.metrics refused a value: invalid input syntax for type numeric: "12.5e" — change the column type or fix those rows in the source',
    );
    const count = async () => Number((await db.query<{ n: string }>(stmts.countBatch(), [0]))[0]!.n);
    expect(await count()).toBe(0);

    async function* failing(): AsyncIterable<RowChunk> {
      yield chunk('ok.parquet', 0, ROWS);
      throw new SourceError(
        'SOURCE_CORRUPT',
        's3://bucket/next.parquet is not a readable Parquet file: truncated',
      );
    }
    await expect(loadBatch(db, plan, rows(failing()))).rejects.toBeInstanceOf(SourceError);
    expect(await count()).toBe(0); // the COPY was aborted and rolled back; the connection is still usable
    const ok = await loadBatch(db, plan, rows(iterate(chunk('ok.parquet', 0, ROWS))));
    expect(ok.rowsWritten).toBe(3);
    expect(await count()).toBe(3);
    await db.query(stmts.dropStaging());
  });

  it('a whole run through the engine loads by COPY from Parquet on S3, storing what the INSERT path stores', async () => {
    const root = mkdtempSync(join(tmpdir(), 'shadowfill-tsdb-copy-'));
    const s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['copy'] });
    try {
      const generated = await generatePypiParquet({
        dir: join(root, 'parquet'),
        files: [0, 1, 2, 3],
        rowsPerFile: 3000,
        days: 2,
        rowGroupRows: 1000,
      });
      await uploadDirectory(s3.endpoint, 'copy', join(root, 'parquet'), {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      });
      const results: Record<string, { notes: string[]; rows: number }> = {};
      for (const method of ['copy', 'insert'] as const) {
        const table = `pypi_${method}`;
        await sql.query(`CREATE TABLE ${table} (${PYPI_PG_COLUMNS})`);
        await sql.query(`SELECT create_hypertable('${table}', by_range('timestamp', INTERVAL '1 day'))`);
        await sql.query(
          `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'project')`,
        );
        const config = defineConfig({
          target: { kind: 'timescaledb', url: server.url, table },
          source: {
            url: 's3://copy/pypi/*/*.parquet',
            endpoint: s3.endpoint,
            credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
          },
          batch: { files: 2, bytes: 1e12 },
          attempts: 1,
          targetOptions: { load_method: method },
        });
        const adapter = createTimescaleAdapter(config);
        await adapter.connect();
        try {
          const notes = [...(await adapter.describe()).notes];
          const report = await runBackfill(config, adapter);
          results[method] = { notes, rows: report.rowsLoaded };
        } finally {
          await adapter.close();
        }
      }
      expect(results['copy']!.notes).toContain('load: COPY … FROM STDIN into the staging table');
      expect(results['insert']!.notes.find((n) => n.startsWith('load:'))).toMatch(
        /^load: INSERT … SELECT FROM unnest/,
      );
      expect(results['copy']!.rows).toBe(generated.totalRows);
      expect(results['insert']!.rows).toBe(generated.totalRows);
      const list = PYPI_COLUMNS.map((c) => `"${c}"`).join(', ');
      const diff = await sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM ((SELECT ${list} FROM pypi_copy EXCEPT ALL SELECT ${list} FROM pypi_insert)
           UNION ALL (SELECT ${list} FROM pypi_insert EXCEPT ALL SELECT ${list} FROM pypi_copy)) d`,
      );
      expect(diff.rows[0]!.n).toBe('0');
      const count = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM pypi_copy`);
      expect(Number(count.rows[0]!.n)).toBe(generated.totalRows);
    } finally {
      await s3.stop();
      rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  });

  it('describe() refuses a server without TimescaleDB; an unreachable server is TARGET_UNREACHABLE', async () => {
    const config = (url: string): BackfillConfig => ({
      target: target(url),
      source: { url: 's3://b/*.parquet', endpoint: undefined, region: 'us-east-1', credentials: undefined },
      filter: undefined,
      batch: DEFAULT_BATCH,
      views: 'auto',
      settings: {},
      load: 'client',
      attempts: 1,
      targetOptions: {},
    });
    await sql.query('CREATE DATABASE plain');
    const plain = new URL(server.url);
    plain.pathname = '/plain';
    const adapter = createTimescaleAdapter(config(plain.toString()));
    try {
      await adapter.connect();
      await expect(adapter.describe()).rejects.toMatchObject({
        code: 'TARGET_UNSUPPORTED',
        message: expect.stringMatching(
          /^the TimescaleDB extension is not installed in postgres:\/\/127\.0\.0\.1:\d+\/plain: run CREATE EXTENSION timescaledb/,
        ),
      });
    } finally {
      await adapter.close();
    }
    const gone = createTimescaleAdapter(
      config(`postgres://postgres:secret@127.0.0.1:${server.port + 1}/postgres`),
    );
    try {
      const error = await gone.connect().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TARGET_UNREACHABLE' });
      expect((error as Error).message).not.toContain('secret');
    } finally {
      await gone.close();
    }
  });
});
