/**
 * Row-slice decoding of the Parquet reader (rows.ts + column-pages.ts): a row group is handed out in chunks of
 * at most `maxRowsPerChunk` rows (65,536 by default) decoded page by page, and those chunks, concatenated,
 * equal a whole-group read and the values the file was written with — for flat, nullable, dictionary, LIST,
 * struct, MAP, DECIMAL and timestamp columns, written by ClickHouse's own Parquet encoder and by its Arrow
 * encoder, with data pages small enough that slices start and end inside pages.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import { asyncBufferFromFile, parquetMetadata, parquetSchema } from 'hyparquet';
import type { SchemaTree } from 'hyparquet';
import { DEFAULT_PARSERS, getTreePath, parquetHeader } from '../../src/parquet/hyparquet-internals.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowChunk } from '../../src/adapter/contract.ts';
import { LeafPageReader } from '../../src/parquet/column-pages.ts';
import { DEFAULT_MAX_ROWS_PER_CHUNK, readRowChunks } from '../../src/parquet/rows.ts';
import type { ReadRowChunksOptions } from '../../src/parquet/rows.ts';
import type { SourceObject } from '../../src/source/types.ts';

const ROWS = 150_000;
const WHOLE_GROUP = Number.MAX_SAFE_INTEGER;

/** The value of each column in row `n`, as the reader represents it. */
const expected: Record<string, (n: number) => unknown> = {
  n: (n) => BigInt(n),
  s: (n) => `s${n % 97}`,
  maybe: (n) => (n % 5 === 0 ? null : BigInt(n - 1000)),
  tags: (n) => Array.from({ length: n % 7 }, (_, x) => `t${n + x}`),
  pair: (n) => ({ a: BigInt(n), b: `b${n}` }),
  m: (n) => ({ k: BigInt(n), j: BigInt(2 * n) }),
  price: (n) => `${n}.${String(n % 100).padStart(2, '0')}`,
  ts: (n) => 1_700_000_000_000 + n * 1000,
};

const comparable = (value: unknown): unknown => (value instanceof Date ? value.getTime() : value);

let dir: string;
const ENCODERS = ['custom', 'arrow'] as const;
type Encoder = (typeof ENCODERS)[number];
const files: Record<Encoder, string> = { custom: '', arrow: '' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shadowfill-rows-'));
  const session = new Session();
  try {
    for (const encoder of ENCODERS) {
      files[encoder] = join(dir, `${encoder}.parquet`);
      await session.queryAsync(`
        INSERT INTO FUNCTION file('${files[encoder]}', 'Parquet')
        SELECT
          number AS n,
          toLowCardinality(concat('s', toString(number % 97))) AS s,
          if(number % 5 = 0, NULL, toInt64(number) - 1000) AS maybe,
          arrayMap(x -> concat('t', toString(number + x)), range(number % 7)) AS tags,
          CAST(tuple(number, concat('b', toString(number))), 'Tuple(a UInt64, b String)') AS pair,
          map('k', number, 'j', number * 2) AS m,
          toDecimal64(concat(toString(number), '.', leftPad(toString(number % 100), 2, '0')), 2) AS price,
          toDateTime64(1700000000 + number, 3, 'UTC') AS ts
        FROM numbers(${ROWS})
        SETTINGS output_format_parquet_row_group_size = 100000,
                 output_format_parquet_data_page_size = 4096,
                 output_format_parquet_use_custom_encoder = ${encoder === 'custom' ? 1 : 0}`);
    }
  } finally {
    session.cleanup();
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function read(path: string, options: ReadRowChunksOptions): Promise<RowChunk[]> {
  const buffer = await asyncBufferFromFile(path);
  const key = path.split('/').pop() ?? path;
  const object: SourceObject = {
    key,
    size: buffer.byteLength,
    uri: `s3://bucket/${key}`,
    httpUrl: `http://127.0.0.1:1/bucket/${key}`,
  };
  const chunks: RowChunk[] = [];
  for await (const chunk of readRowChunks(buffer, object, options)) chunks.push(chunk);
  return chunks;
}

function groupRowsOf(path: string): number[] {
  const bytes = readFileSync(path);
  const footer = bytes.subarray(bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8));
  return parquetMetadata(footer).row_groups.map((group) => Number(group.num_rows));
}

/** Data pages of one column's chunks, over all row groups. */
function dataPagesOf(path: string, column: string): number {
  const bytes = readFileSync(path);
  const footer = bytes.subarray(bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8));
  let pages = 0;
  for (const group of parquetMetadata(footer).row_groups) {
    const meta = group.columns.find((c) => c.meta_data?.path_in_schema.join('.') === column)?.meta_data;
    if (!meta) throw new Error(`no column ${column}`);
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const end = start + Number(meta.total_compressed_size);
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset + start, end - start), offset: 0 };
    while (reader.offset < end - start - 1) {
      const header = parquetHeader(reader);
      if (header.type !== 'DICTIONARY_PAGE') pages += 1;
      reader.offset += header.compressed_page_size;
    }
  }
  return pages;
}

/** Column name → every value of that column, over the chunks in order. */
function concatenated(chunks: readonly RowChunk[]): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const chunk of chunks) {
    for (const [name, values] of chunk.columns) {
      const all = out.get(name) ?? [];
      for (let i = 0; i < values.length; i++) all.push(values[i]);
      out.set(name, all);
    }
  }
  return out;
}

describe.each(ENCODERS)('row slices of a multi-row-group file from the %s encoder', (encoder) => {
  it('has more than one row group, one of them larger than the default slice', () => {
    const groups = groupRowsOf(files[encoder]);
    expect(groups.length).toBeGreaterThan(1);
    expect(Math.max(...groups)).toBeGreaterThan(DEFAULT_MAX_ROWS_PER_CHUNK);
    expect(groups.reduce((sum, rows) => sum + rows, 0)).toBe(ROWS);
    // Pages hold far fewer rows than a slice of 777, so slices begin and end inside pages.
    expect(dataPagesOf(files[encoder], 'n')).toBeGreaterThan(groups.length * 20);
  });

  it('small slices concatenate to the whole-group read and to the values written', async () => {
    const path = files[encoder];
    const groups = groupRowsOf(path);
    const whole = await read(path, { maxRowsPerChunk: WHOLE_GROUP });
    expect(whole.map((chunk) => chunk.numRows)).toEqual(groups);

    const max = 777;
    const sliced = await read(path, { maxRowsPerChunk: max });
    for (const chunk of sliced) {
      expect(chunk.numRows).toBeGreaterThan(0);
      expect(chunk.numRows).toBeLessThanOrEqual(max);
      for (const values of chunk.columns.values()) expect(values.length).toBe(chunk.numRows);
    }
    // Per row group: ceil(rows / max) chunks, all full but the last, in row-group order.
    const expectedSizes = groups.flatMap((rows, group) =>
      Array.from({ length: Math.ceil(rows / max) }, (_, i) => [group, Math.min(max, rows - i * max)]),
    );
    expect(sliced.map((chunk) => [chunk.rowGroup, chunk.numRows])).toEqual(expectedSizes);

    const wholeValues = concatenated(whole);
    const slicedValues = concatenated(sliced);
    expect([...slicedValues.keys()]).toEqual(Object.keys(expected));
    const mismatches: string[] = [];
    for (const [name, want] of Object.entries(expected)) {
      const a = slicedValues.get(name) ?? [];
      const b = wholeValues.get(name) ?? [];
      expect(a.length, name).toBe(ROWS);
      expect(b.length, name).toBe(ROWS);
      for (let n = 0; n < ROWS && mismatches.length < 10; n++) {
        const got = comparable(a[n]);
        if (!same(got, comparable(b[n])))
          mismatches.push(`row ${n} ${name}: sliced ${show(got)} ≠ whole-group ${show(comparable(b[n]))}`);
        if (!same(got, want(n))) mismatches.push(`row ${n} ${name}: got ${show(got)}, want ${show(want(n))}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('splits a row group larger than the default into chunks of at most 65,536 rows', async () => {
    const path = files[encoder];
    const groups = groupRowsOf(path);
    const chunks = await read(path, { columns: ['tags', 'n'] });
    expect(chunks.every((chunk) => chunk.numRows <= DEFAULT_MAX_ROWS_PER_CHUNK)).toBe(true);
    expect(chunks.length).toBeGreaterThan(groups.length);
    const values = concatenated(chunks);
    expect([...values.keys()]).toEqual(['tags', 'n']);
    expect(values.get('n')).toEqual(Array.from({ length: ROWS }, (_, n) => BigInt(n)));
    expect(values.get('tags')?.[ROWS - 1]).toEqual(expected.tags?.(ROWS - 1));
  });
});

/** Deep equality of decoded values (primitives, bigints, arrays, plain objects). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((value, i) => same(value, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = Object.keys(a);
    const record = b as Record<string, unknown>;
    return (
      keys.length === Object.keys(b).length &&
      keys.every((key) => same((a as Record<string, unknown>)[key], record[key]))
    );
  }
  return false;
}

const show = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

describe('LeafPageReader on a LIST column whose rows cross page boundaries (v1 pages may split a row)', () => {
  /** Thrift compact encoding of the few PageHeader fields a v1 data page needs (all i32 or struct). */
  const varint = (n: number): number[] => {
    const out: number[] = [];
    let z = (n << 1) ^ (n >> 31); // zigzag
    while (z > 0x7f) {
      out.push((z & 0x7f) | 0x80);
      z >>>= 7;
    }
    out.push(z);
    return out;
  };
  const i32Field = (delta: number, value: number): number[] => [(delta << 4) | 5, ...varint(value)];
  /** RLE/bit-packed hybrid levels of bit width 1 as RLE runs, with the v1 4-byte length prefix. */
  const levels = (values: number[]): number[] => {
    const runs: number[] = [];
    for (let i = 0; i < values.length;) {
      let j = i;
      while (j < values.length && values[j] === values[i]) j++;
      runs.push((j - i) << 1, values[i] as number);
      i = j;
    }
    return [runs.length & 0xff, (runs.length >> 8) & 0xff, 0, 0, ...runs];
  };
  const dataPage = (repetition: number[], values: number[]): number[] => {
    const body = [...levels(repetition), ...levels(values.map(() => 1))];
    for (const value of values) body.push(value & 0xff, (value >> 8) & 0xff, 0, 0); // PLAIN INT32
    const header = [
      ...i32Field(1, 0), // type DATA_PAGE
      ...i32Field(1, body.length), // uncompressed_page_size
      ...i32Field(1, body.length), // compressed_page_size
      (2 << 4) | 12, // field 5: data_page_header (struct)
      ...i32Field(1, values.length), // num_values
      ...i32Field(1, 0), // encoding PLAIN
      ...i32Field(1, 3), // definition_level_encoding RLE
      ...i32Field(1, 3), // repetition_level_encoding RLE
      0, // end of data_page_header
      0, // end of PageHeader
    ];
    return [...header, ...body];
  };

  it('holds a row back until the next page shows whether it continues', () => {
    const tree = parquetSchema({
      schema: [
        { name: 'root', num_children: 1 },
        { name: 'tags', repetition_type: 'REQUIRED', num_children: 1, converted_type: 'LIST' },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: 'REQUIRED', type: 'INT32' },
      ],
    });
    const schemaPath = getTreePath(tree, ['tags', 'list', 'element']);
    // Rows [1, 2, 3], [4, 5], [6]: the second row starts on page 1 and ends on page 2.
    const bytes = Uint8Array.from([...dataPage([0, 1, 1, 0], [1, 2, 3, 4]), ...dataPage([1, 0], [5, 6])]);
    const reader = new LeafPageReader(bytes, {
      pathInSchema: ['tags', 'list', 'element'],
      element: (schemaPath[schemaPath.length - 1] as SchemaTree).element,
      schemaPath,
      type: 'INT32',
      codec: 'UNCOMPRESSED',
      parsers: DEFAULT_PARSERS,
    });
    expect(reader.take(1)).toEqual([[1, 2, 3]]);
    expect(reader.take(1)).toEqual([[4, 5]]);
    expect(reader.take(1)).toEqual([[6]]);
    expect(reader.remainingRows()).toBe(0);
    expect(() => reader.take(1)).toThrow(/ends 1 rows short/);
  });
});
