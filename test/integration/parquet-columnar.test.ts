/**
 * The columnar reader (src/parquet/columnar.ts, raw-pages.ts) against the row reader (rows.ts): for every file of
 * shared/parquet-real and for chDB-written files with every flat type, nulls, dictionary pages that fall back to
 * plain ones, small pages, Arrow's and ClickHouse's writers, v2 data pages and each codec, readColumnarChunks with every column raw gives the
 * same chunks as readRowChunks — `materialize` yields the same values, and a file readRowChunks rejects is
 * rejected with the same error code.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import { asyncBufferFromFile } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShadowfillError } from '../../src/errors.ts';
import { materialize, readColumnarChunks, type ColumnarChunk } from '../../src/parquet/columnar.ts';
import { readRowChunks } from '../../src/parquet/rows.ts';
import type { RowChunk } from '../../src/adapter/contract.ts';
import type { SourceObject } from '../../src/source/types.ts';
import { v2PagesFile } from '../support/parquet-craft.ts';

const REAL = '/work/shared/parquet-real';

let dir: string;
let session: Session;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shadowfill-columnar-'));
  session = new Session(join(dir, 'chdb'));
});

afterAll(() => {
  session?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function open(path: string) {
  const buffer = await asyncBufferFromFile(path);
  const key = path.split('/').pop()!;
  const object: SourceObject = {
    key,
    size: buffer.byteLength,
    uri: `s3://b/${key}`,
    httpUrl: `http://x/${key}`,
  };
  return { buffer, object };
}

async function all<T>(items: AsyncIterable<T>): Promise<T[] | ShadowfillError> {
  const out: T[] = [];
  try {
    for await (const item of items) out.push(item);
  } catch (error) {
    if (error instanceof ShadowfillError) return error;
    throw error;
  }
  return out;
}

const plain = (values: ArrayLike<unknown>): unknown[] => Array.from(values);

/** Both readers over one file with every column raw, chunk by chunk. */
async function compare(path: string, maxRowsPerChunk: number): Promise<{ rows: number; rawColumns: number }> {
  const { buffer, object } = await open(path);
  const rows = await all<RowChunk>(readRowChunks(buffer, object, { maxRowsPerChunk }));
  const names = rows instanceof ShadowfillError ? undefined : [...(rows[0]?.columns.keys() ?? [])];
  const columnar = await all<ColumnarChunk>(
    readColumnarChunks(buffer, object, { maxRowsPerChunk, raw: names ?? [] }),
  );
  if (rows instanceof ShadowfillError) {
    expect(columnar, path).toBeInstanceOf(ShadowfillError);
    expect((columnar as ShadowfillError).code, path).toBe(rows.code);
    return { rows: 0, rawColumns: 0 };
  }
  expect(columnar, path).not.toBeInstanceOf(ShadowfillError);
  const chunks = columnar as ColumnarChunk[];
  expect(chunks.map((c) => [c.rowGroup, c.numRows])).toEqual(rows.map((c) => [c.rowGroup, c.numRows]));
  let raw = 0;
  let total = 0;
  chunks.forEach((chunk, i) => {
    const reference = rows[i]!;
    total += chunk.numRows;
    for (const [name, values] of reference.columns) {
      const vector = chunk.columns.get(name)!;
      if (vector.kind === 'raw') raw += i === 0 ? 1 : 0;
      expect(plain(materialize(chunk, vector)), `${path} ${name} chunk ${i}`).toEqual(plain(values));
    }
  });
  return { rows: total, rawColumns: raw };
}

describe('readColumnarChunks + materialize = readRowChunks', () => {
  it('every file of shared/parquet-real, in chunks of 1, 3 and the default', async () => {
    const files = readdirSync(REAL).filter((f) => f.endsWith('.parquet'));
    expect(files.length).toBeGreaterThan(8);
    let raw = 0;
    for (const file of files) {
      for (const size of [1, 3, 65_536]) raw += (await compare(join(REAL, file), size)).rawColumns;
    }
    expect(raw, 'flat columns were decoded raw').toBeGreaterThan(20);
  });

  const select = `
    SELECT number AS id,
      toInt8(number % 256 - 128) AS i8, toInt16(number * 7 % 65536 - 32768) AS i16,
      toInt32(number * 2654435761 % 4294967296 - 2147483648) AS i32, toInt64(number * 2862933555777941757) AS i64,
      toUInt8(number % 256) AS u8, toUInt16(number * 7 % 65536) AS u16,
      toUInt32(number * 2654435761 % 4294967296) AS u32, toUInt64(number * 11400714819323198485) AS u64,
      toFloat32(number / 7) AS f32, toFloat64(number / 3 - 1000) AS f64,
      if(number % 5 = 0, NULL, toString(number % 13)) AS s_small,
      concat('value-', toString(cityHash64(number)), if(number % 11 = 0, 'é', '')) AS s_plain,
      if(number % 3 = 0, NULL, concat('v', toString(number % 5000))) AS s_big_dictionary,
      toDate('2024-01-01') + number % 400 AS d,
      if(number % 4 = 0, NULL, toDate32('1900-01-01') + number % 90000) AS d32,
      toDateTime64('2024-12-17 00:00:00', 3, 'UTC') + toIntervalMillisecond(number * 37) AS ts3,
      toDateTime64('1969-12-31 23:00:00', 6, 'UTC') + toIntervalMicrosecond(number * 123457) AS ts6,
      if(number % 6 = 0, NULL, toDateTime64('2024-12-17 00:00:00', 9, 'UTC') + toIntervalNanosecond(number * 1001)) AS ts9,
      toDecimal64(number / 100, 2) AS dec64, toDecimal128(number / 1000, 3) AS dec128,
      number % 2 = 0 AS b, if(number % 7 = 0, NULL, number % 3 = 0) AS b_null,
      if(number % 7 = 0, NULL, number) AS n_null,
      toFixedString(toString(number % 100), 2) AS fixed,
      [number, number + 1] AS arr
    FROM numbers(30000)`;

  for (const [label, settings] of [
    [
      'zstd, v1 pages of 1 KB',
      "output_format_parquet_compression_method = 'zstd', output_format_parquet_data_page_size = 1024",
    ],
    [
      "snappy, Arrow's writer",
      "output_format_parquet_compression_method = 'snappy', output_format_parquet_use_custom_encoder = 0",
    ],
    [
      'uncompressed, plain pages only',
      "output_format_parquet_compression_method = 'none', output_format_parquet_max_dictionary_size = 1",
    ],
  ] as const) {
    it(`a chDB file with every flat type and nulls (${label})`, async () => {
      const path = join(dir, `${label.replace(/[^a-z0-9]+/g, '-')}.parquet`);
      await session.queryAsync(
        `INSERT INTO FUNCTION file('${path}', 'Parquet') ${select}
         SETTINGS ${settings}, output_format_parquet_row_group_size = 10000, engine_file_truncate_on_insert = 1`,
        { format: 'TSV' },
      );
      const seen = await compare(path, 777);
      expect(seen.rows).toBe(30_000);
      expect(seen.rawColumns).toBe(25); // every column but the list
    });
  }

  it('v2 data pages, compressed and not', async () => {
    for (const codec of [0, 1] as const) {
      const path = join(dir, `v2-${codec}.parquet`);
      writeFileSync(path, v2PagesFile([[1n, -2n, 3n], [], [2n ** 62n, -(2n ** 63n)], [7n]], codec));
      for (const size of [1, 2, 100]) expect((await compare(path, size)).rows).toBe(6);
    }
  });
});
