/**
 * Binary COPY (adapters/timescaledb/copy-binary.ts, from columnar Parquet) against today's text COPY (encode.ts,
 * from decoded rows) on a real TimescaleDB 2.28 server: chDB-written files with every type pair the binary path
 * writes — timestamps in ms/µs/ns (before 1970 too), dates, every integer width signed and unsigned with their
 * extremes, floats with NaN/±Infinity/-0/subnormals, booleans, text/varchar/char with escapes, invalid UTF-8 and
 * a byte-order mark, json/jsonb, bytea, uuid, NULLs — load into the staging table as the very same rows through
 * the rows path, the encoded path on this thread and the encoded path in decode workers. A value the column cannot
 * take is refused by both paths with an error naming object, column and row group; the row filter keeps the same
 * rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Session } from 'chdb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnection, type PgConnection } from '../../adapters/timescaledb/connection.ts';
import { copyEncoderOptions, copyEncoderSpec } from '../../adapters/timescaledb/copy-encoder.ts';
import { copyFormatOf, type StagingInput } from '../../adapters/timescaledb/load.ts';
import { BatchTallier, type BatchTally, type TallySpec } from '../../adapters/timescaledb/slice-tally.ts';
import { internalExpression, sliceExpression, timeKindOf } from '../../adapters/timescaledb/time.ts';
import { createPgStaging, type PgStaging } from '../../bench/support/pg-staging.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import type { RowChunk, RowFilter } from '../../src/adapter/contract.ts';
import { SchemaMismatchError } from '../../src/errors.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { readRowChunks } from '../../src/parquet/rows.ts';
import { readSourceSchema } from '../../src/parquet/schema.ts';
import { filterRowChunks } from '../../src/runner/row-filter.ts';
import { listObjects } from '../../src/source/list-objects.ts';
import { resolveLocation } from '../../src/source/location.ts';
import { s3AsyncBuffer } from '../../src/source/range-reader.ts';
import { createS3Client } from '../../src/source/s3-client.ts';
import type { ObjectStoreLocation, SourceColumn, SourceObject } from '../../src/source/types.ts';
import { DecodePool } from '../../src/workers/pool.ts';
import { encodedBatch } from '../../src/workers/stream.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres-server.ts';

const TABLE = `
  ts_ms timestamptz, ts_us timestamptz, ts_ns timestamptz, ts_local timestamp, d date, d32 date,
  i8 smallint, i16 smallint, i32 integer, i64 bigint, u8 smallint, u16 integer, u32 bigint, u64 bigint,
  i32_wide bigint, f32 real, f32_wide double precision, f64 double precision, i32_float double precision,
  b boolean, b_null boolean, s text, s_var varchar(80), s_char character(90), s_null text, s_bad text,
  s_bom text, s_plain text, j json, jb jsonb, s_jsonb jsonb, blob bytea, u uuid, n_null bigint`;

const SELECT = `
  SELECT
    toDateTime64('2024-12-17 00:00:00', 3, 'UTC') + toIntervalMillisecond(number * 7919) AS ts_ms,
    toDateTime64('1969-12-31 23:59:59', 6, 'UTC') + toIntervalMicrosecond(number * 104729 - 500000) AS ts_us,
    if(number % 9 = 0, NULL, toDateTime64('2024-12-17 00:00:00', 9, 'UTC') + toIntervalNanosecond(number * 1000003)) AS ts_ns,
    toDateTime64('2001-02-03 04:05:06', 6, 'UTC') + toIntervalMicrosecond(number * 3) AS ts_local,
    toDate('2024-01-01') + number % 1000 AS d,
    if(number % 4 = 0, NULL, toDate32('1900-01-01') + number % 100000) AS d32,
    toInt8(number % 256 - 128) AS i8,
    toInt16(multiIf(number = 1, -32768, number = 2, 32767, number * 7 % 65536 - 32768)) AS i16,
    toInt32(multiIf(number = 1, -2147483648, number = 2, 2147483647, number * 2654435761 % 4294967296 - 2147483648)) AS i32,
    toInt64(multiIf(number = 1, -9223372036854775808, number = 2, 9223372036854775807, number * 2862933555777941757)) AS i64,
    toUInt8(number % 256) AS u8, toUInt16(number * 7 % 65536) AS u16,
    toUInt32(if(number = 3, 4294967295, number * 2654435761 % 4294967296)) AS u32,
    toUInt64(if(number = 3, 9223372036854775807, number * 1000003)) AS u64,
    toInt32(number * 2654435761 % 4294967296 - 2147483648) AS i32_wide,
    toFloat32(multiIf(number = 1, nan, number = 2, inf, number = 3, -0., number = 4, -inf, number / 7)) AS f32,
    toFloat32(number / 3 - 100) AS f32_wide,
    multiIf(number = 1, nan, number = 2, -inf, number = 3, -0., number = 4, 1e-310, number = 5, 1.7976931348623157e308, number / 3 - 1000) AS f64,
    toInt32(number * 31 - 100000) AS i32_float,
    toBool(number % 2 = 0) AS b,
    if(number % 7 = 0, NULL, toBool(number % 3 = 0)) AS b_null,
    concat('row ', toString(number), if(number % 10 = 0, ' tab\there, newline\nthere, backslash \\\\ and \\\\N ünïcödé', '')) AS s,
    concat('v', toString(number % 97)) AS s_var,
    concat('c', toString(number % 13)) AS s_char,
    if(number % 3 = 0, NULL, toString(number % 50)) AS s_null,
    if(number % 100 = 0, concat('bad ', unhex('C328'), ' and ', unhex('FF'), ' end'), 'fine') AS s_bad,
    if(number % 50 = 0, concat(unhex('EFBBBF'), 'with a BOM'), 'plain') AS s_bom,
    concat('p', toString(cityHash64(number))) AS s_plain,
    CAST(concat('{"a": ', toString(number), ', "b": [1, 2.50], "c": "x\\\\ty"}') AS JSON) AS j,
    CAST(concat('{"n": ', toString(number % 5), '}') AS JSON) AS jb,
    concat('{"s": "', toString(number % 3), '", "big": 123456789012345678901234567890}') AS s_jsonb,
    toFixedString(concat(char(number % 256), char(0), char(92), char(255)), 4) AS blob,
    reinterpretAsUUID(reverse(unhex(lpad(hex(cityHash64(number)), 32, '0')))) AS u,
    if(number % 5 = 0, NULL, toInt64(number) - 5000) AS n_null
  FROM numbers(12000)`;

let server: TestPostgres;
let s3: LocalS3Server;
let dir: string;
let db: PgConnection;
let sql: pg.Client;
let client: S3Client;
let location: ObjectStoreLocation;
let objects: SourceObject[];
let source: SourceColumn[];
let staging: PgStaging;
const pool = new DecodePool({ threads: 2 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shadowfill-binary-'));
  const session = new Session(join(dir, 'chdb'));
  try {
    for (const [n, settings] of [
      [0, "output_format_parquet_compression_method = 'zstd', output_format_parquet_data_page_size = 4096"],
      [
        1,
        "output_format_parquet_compression_method = 'snappy', output_format_parquet_max_dictionary_size = 1",
      ],
    ] as const) {
      await session.queryAsync(
        `INSERT INTO FUNCTION file('${join(dir, 'parquet', 'mix', `part-${n}.parquet`)}', 'Parquet') ${SELECT}
         SETTINGS ${settings}, output_format_parquet_row_group_size = 5000, engine_file_truncate_on_insert = 1,
           allow_experimental_json_type = 1`,
        { format: 'TSV' },
      );
    }
    await session.queryAsync(
      `INSERT INTO FUNCTION file('${join(dir, 'parquet', 'narrow', 'part.parquet')}', 'Parquet')
       SELECT toInt32(number * 5000) AS v, concat('a', if(number = 7, char(0), ''), 'b') AS s FROM numbers(10)
       SETTINGS engine_file_truncate_on_insert = 1`,
      { format: 'TSV' },
    );
  } finally {
    session.cleanup();
  }
  s3 = await startLocalS3({ directory: join(dir, 's3'), buckets: ['data'] });
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  await uploadDirectory(s3.endpoint, 'data', join(dir, 'parquet'), credentials);
  location = resolveLocation({
    url: 's3://data/mix/*.parquet',
    endpoint: s3.endpoint,
    region: 'us-east-1',
    credentials,
  });
  client = createS3Client(location);
  objects = await listObjects(client, location);
  source = [...(await readSourceSchema(s3AsyncBuffer(client, objects[0]!), objects[0]!)).columns];
  server = await startTestPostgres({ timescaledb: true });
  sql = new pg.Client({ connectionString: server.url });
  await sql.connect();
  await sql.query(`SET TimeZone = 'UTC'`);
  await sql.query(`CREATE TABLE mix (${TABLE})`);
  await sql.query(`CREATE TABLE narrow (v smallint, s text)`);
  db = openConnection({
    kind: 'timescaledb',
    url: server.url,
    database: 'public',
    table: 'mix',
    user: undefined,
    password: undefined,
  });
  await db.connect();
  staging = await createPgStaging(db, 'public', 'mix', 'ts_ms', source, 'binary');
}, 180_000);

afterAll(async () => {
  await pool.close();
  client?.destroy();
  await sql?.end().catch(() => undefined);
  await db?.close();
  await server?.stop();
  await s3?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

const names = () => source.map((c) => c.name);

/** A row filter keeping eight hours of ts_ms. */
const FILTER: RowFilter = {
  column: 'ts_ms',
  after: '2024-12-17 01:00:00',
  before: '2024-12-17 09:00:00.250',
};

async function* rowChunks(filter?: RowFilter): AsyncIterable<RowChunk> {
  for (const object of objects) {
    const chunks = readRowChunks(s3AsyncBuffer(client, object), object, { columns: names() });
    yield* filterRowChunks(chunks, filter);
  }
}

const rows = (filter?: RowFilter): StagingInput => ({ kind: 'rows', chunks: rowChunks(filter) });

function encoded(
  batch: number,
  threads: boolean,
  filter?: RowFilter,
  counter?: { rows: number },
): StagingInput {
  const pieces = encodedBatch({
    pool: threads ? pool : undefined,
    client,
    location,
    objects,
    columns: names(),
    filter,
    encoder: copyEncoderSpec(copyEncoderOptions(staging.mapping, batch, 'public.mix')),
    pieceRows: 3000,
    counter,
  });
  return { kind: 'encoded', pieces };
}

/** The encoder's tally of every object's pieces for `spec` (in decode workers or on this thread). */
async function tallyOf(
  spec: TallySpec,
  threads: boolean,
  filter?: RowFilter,
): Promise<BatchTally | undefined> {
  const tallier = new BatchTallier();
  for await (const piece of encodedBatch({
    pool: threads ? pool : undefined,
    client,
    location,
    objects,
    columns: names(),
    filter,
    encoder: copyEncoderSpec(copyEncoderOptions(staging.mapping, 7, 'public.mix', undefined, spec)),
    pieceRows: 3000,
  })) {
    tallier.add(piece);
    piece.release?.();
  }
  return tallier.result();
}

/** What the server counts per slice of `column` in batch 0 (the adapter's own slice expression). */
async function serverSlices(column: string, type: string, interval: bigint): Promise<Record<string, number>> {
  const kind = timeKindOf(type)!;
  const internal = internalExpression(kind, `"${column}"`, '2.28.3');
  const slice = sliceExpression('integer', 't', interval);
  const result = await sql.query<{ slice: string; n: string }>(
    `SELECT ${slice}::text AS slice, count(*) AS n FROM (SELECT ${internal} AS t FROM "${staging.staging}"
     WHERE _shadowfill_batch = 0) s GROUP BY 1`,
  );
  return Object.fromEntries(result.rows.map((r) => [r.slice, Number(r.n)]));
}

/** Rows of batch a that batch b lacks and the other way round, every column compared as text. */
async function difference(a: number, b: number): Promise<number> {
  const list = names()
    .map((n) => `"${n}"::text`)
    .join(', ');
  const t = `"${staging.staging}"`;
  const result = await sql.query<{ n: string }>(
    `SELECT count(*) AS n FROM (
       (SELECT ${list} FROM ${t} WHERE _shadowfill_batch = ${a} EXCEPT ALL SELECT ${list} FROM ${t} WHERE _shadowfill_batch = ${b})
       UNION ALL
       (SELECT ${list} FROM ${t} WHERE _shadowfill_batch = ${b} EXCEPT ALL SELECT ${list} FROM ${t} WHERE _shadowfill_batch = ${a})) d`,
  );
  return Number(result.rows[0]!.n);
}

describe('binary COPY from columnar Parquet, on a real TimescaleDB server', () => {
  it('chooses binary for every column of the table, and stores exactly what the text path stores', async () => {
    expect(source.map((c) => c.name)).toEqual(TABLE.split(',').map((c) => c.trim().split(' ')[0]));
    expect(copyFormatOf(staging)).toBe('binary');
    await staging.truncate();
    const text = await staging.load(0, rows());
    const counter = { rows: 0 };
    const here = await staging.load(1, encoded(1, false, undefined, counter));
    const workers = await staging.load(2, encoded(2, true));
    expect([text.rowsWritten, here.rowsWritten, workers.rowsWritten, counter.rows]).toEqual([
      24_000, 24_000, 24_000, 24_000,
    ]);
    expect(here.bytesRead).toBe(text.bytesRead);
    expect(await difference(0, 1)).toBe(0);
    expect(await difference(0, 2)).toBe(0);

    const sample = await sql.query(
      `SELECT ts_us::text, ts_ns::text, f32::text, f64::text, s_bad, s_bom, j::text, s_jsonb::text, blob::text, u64::text
       FROM "${staging.staging}" WHERE _shadowfill_batch = 1 AND i16 = 32767 AND f32::text = 'Infinity' LIMIT 1`,
    );
    expect(sample.rows[0]).toMatchObject({
      ts_us: '1969-12-31 23:59:58.709458+00',
      f32: 'Infinity',
      f64: '-Infinity',
      s_bom: 'plain',
      u64: '2000006',
    });
    const special = await sql.query<{ s_bad: string; s_bom: string; j: string; f32: string; f64: string }>(
      `SELECT s_bad, s_bom, j::text, f32::text, f64::text FROM "${staging.staging}"
       WHERE _shadowfill_batch = 1 AND i8 = -128 AND s_bad <> 'fine' ORDER BY ts_ms LIMIT 1`,
    );
    expect(special.rows[0]?.s_bad).toBe('bad \uFFFD( and \uFFFD end');
    expect(special.rows[0]?.s_bom).toBe('\uFEFFwith a BOM');
    // json keeps the text as stored (ClickHouse's JSON type writes it compact)
    expect(special.rows[0]?.j).toBe('{"a":0,"b":[1,2.5],"c":"x\\ty"}');
    const zero = await sql.query(
      `SELECT f32::text, f64::text FROM "${staging.staging}" WHERE _shadowfill_batch IN (0, 1) AND u32 = 4294967295`,
    );
    expect(zero.rows).toEqual([
      { f32: '-0', f64: '-0' },
      { f32: '-0', f64: '-0' },
      { f32: '-0', f64: '-0' },
      { f32: '-0', f64: '-0' },
    ]);
  }, 120_000);

  it('refuses what the column cannot take, naming object, column and row group, as the text path does', async () => {
    const narrowLocation = resolveLocation({
      url: 's3://data/narrow/*.parquet',
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: location.credentials,
    });
    const [object] = await listObjects(client, narrowLocation);
    expect(object?.key).toBe('narrow/part.parquet');
    const columns = [...(await readSourceSchema(s3AsyncBuffer(client, object!), object!)).columns];
    const failure = async (keep: string, path: 'rows' | 'encoded'): Promise<Error> => {
      const wanted = columns.filter((c) => c.name === keep);
      const narrow = await createPgStaging(db, 'public', 'narrow', 'v', wanted, `narrow_${keep}_${path}`);
      const input: StagingInput =
        path === 'rows'
          ? {
              kind: 'rows',
              chunks: readRowChunks(s3AsyncBuffer(client, object!), object!, { columns: [keep] }),
            }
          : {
              kind: 'encoded',
              pieces: encodedBatch({
                pool,
                client,
                location: narrowLocation,
                objects: [object!],
                columns: [keep],
                filter: undefined,
                encoder: copyEncoderSpec(copyEncoderOptions(narrow.mapping, 0, 'public.narrow')),
              }),
            };
      const error = await narrow.load(0, input).then(
        () => new Error('loaded'),
        (e: unknown) => e as Error,
      );
      const left = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM "${narrow.staging}"`);
      expect(Number(left.rows[0]!.n), 'nothing of the failed batch stays').toBe(0);
      return error;
    };
    const textRange = await failure('v', 'rows');
    const binaryRange = await failure('v', 'encoded');
    expect(textRange).toBeInstanceOf(SchemaMismatchError);
    expect(binaryRange).toBeInstanceOf(SchemaMismatchError);
    expect(binaryRange.message).toBe(textRange.message);
    expect(binaryRange.message).toMatch(
      /narrow\/part\.parquet column "v" row group 0: value 35000 is out of range for smallint/,
    );
    const textNul = await failure('s', 'rows');
    const binaryNul = await failure('s', 'encoded');
    expect(textNul).toBeInstanceOf(SchemaMismatchError);
    expect(binaryNul).toBeInstanceOf(SchemaMismatchError);
    expect(textNul.message).toMatch(
      /narrow\/part\.parquet .*row group 0: public\.narrow refused a value: invalid byte sequence/,
    );
    expect(binaryNul.message).toMatch(
      /narrow\/part\.parquet column "s" row group 0: public\.narrow refused a value: invalid byte sequence/,
    );
  }, 120_000);

  it('tallies each piece’s rows per chunk-interval slice exactly as the server counts them', async () => {
    await staging.truncate();
    await staging.load(0, rows());
    const cases: { column: string; type: string; interval: bigint; threads: boolean }[] = [
      { column: 'ts_ms', type: 'timestamp with time zone', interval: 3_600_000_000n, threads: true },
      // around 1970-01-01: negative internal times, floor division
      { column: 'ts_us', type: 'timestamp with time zone', interval: 1_000_000n, threads: false },
      { column: 'ts_local', type: 'timestamp without time zone', interval: 1_000n, threads: true },
      { column: 'd', type: 'date', interval: 7n * 86_400_000_000n, threads: false },
      // ±2^31 and values between: negative slices of an integer time
      { column: 'i32', type: 'integer', interval: 100_000_000n, threads: true },
      { column: 'i16', type: 'smallint', interval: 1_000n, threads: false },
    ];
    for (const c of cases) {
      const tally = await tallyOf({ column: c.column, interval: String(c.interval) }, c.threads);
      const expected = await serverSlices(c.column, c.type, c.interval);
      expect(Object.keys(expected).length, c.column).toBeGreaterThan(2);
      expect(tally?.slices, c.column).toEqual(expected);
      expect(tally?.rows, c.column).toBe(24_000);
      expect(tally!.sliceSpan, c.column).toBeGreaterThanOrEqual(24_000);
    }
    // NULLs (ts_ns), and integers beyond ±2^52 (i64's extremes): no tally, the load counts on the server.
    expect(await tallyOf({ column: 'ts_ns', interval: '3600000000' }, true)).toBeUndefined();
    expect(await tallyOf({ column: 'i64', interval: '1000000' }, false)).toBeUndefined();
    // A column the COPY does not have, or an interval that is not an exact integer: no tally.
    expect(await tallyOf({ column: 'nope', interval: '3600000000' }, false)).toBeUndefined();
    expect(await tallyOf({ column: 'ts_ms', interval: '1e21' }, false)).toBeUndefined();
    // Under the row filter only the rows sent are tallied.
    const filter = FILTER;
    await staging.truncate();
    const kept = await staging.load(0, rows(filter));
    const filtered = await tallyOf({ column: 'ts_ms', interval: '3600000000' }, true, filter);
    expect(filtered?.rows).toBe(kept.rowsWritten);
    expect(filtered?.slices).toEqual(await serverSlices('ts_ms', 'timestamptz', 3_600_000_000n));
  }, 120_000);

  it('keeps the same rows under the run’s row filter', async () => {
    const filter = FILTER;
    await staging.truncate();
    const text = await staging.load(0, rows(filter));
    const counter = { rows: 0 };
    const binary = await staging.load(1, encoded(1, true, filter, counter));
    expect(text.rowsWritten).toBeGreaterThan(1000);
    expect(text.rowsWritten).toBeLessThan(24_000);
    expect(binary.rowsWritten).toBe(text.rowsWritten);
    expect(counter.rows).toBe(text.rowsWritten);
    expect(await difference(0, 1)).toBe(0);
  }, 120_000);
});
