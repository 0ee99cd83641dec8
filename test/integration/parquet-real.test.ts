/**
 * The Parquet reader against real files: every file of shared/parquet-real (written by parquet-mr, Impala,
 * Spark, HVR, Hadoop) decodes with the right values or is rejected with a clear error, and a multi-row-group
 * ZSTD file written by ClickHouse (chDB) with PyPI-like columns decodes row group by row group.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import { asyncBufferFromFile, parquetMetadata } from 'hyparquet';
import type { AsyncBuffer } from 'hyparquet';
import { parquetHeader } from '../../src/parquet/hyparquet-internals.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowChunk } from '../../src/adapter/contract.ts';
import { SchemaMismatchError, SourceError } from '../../src/errors.ts';
import { readRowChunks } from '../../src/parquet/rows.ts';
import { readSourceSchema } from '../../src/parquet/schema.ts';
import { epochMicros } from '../../src/parquet/values.ts';
import type { SourceObject } from '../../src/source/types.ts';

const REAL = '/work/shared/parquet-real';

function objectFor(path: string, size: number): SourceObject {
  const key = path.split('/').pop() ?? path;
  return { key, size, uri: `s3://bucket/${key}`, httpUrl: `http://127.0.0.1:1/bucket/${key}` };
}

async function open(path: string): Promise<{ buffer: AsyncBuffer; object: SourceObject }> {
  const buffer = await asyncBufferFromFile(path);
  return { buffer, object: objectFor(path, buffer.byteLength) };
}

function memory(bytes: Uint8Array): AsyncBuffer {
  return {
    byteLength: bytes.byteLength,
    slice: (start, end) => Uint8Array.from(bytes.subarray(start, end)).buffer,
  };
}

async function collect(buffer: AsyncBuffer, object: SourceObject, columns?: string[]): Promise<RowChunk[]> {
  const chunks: RowChunk[] = [];
  for await (const chunk of readRowChunks(buffer, object, { columns })) chunks.push(chunk);
  return chunks;
}

/** All values of every column, concatenated over chunks. */
async function readAll(path: string): Promise<Record<string, unknown[]>> {
  const { buffer, object } = await open(path);
  const out: Record<string, unknown[]> = {};
  for (const chunk of await collect(buffer, object)) {
    for (const [name, values] of chunk.columns) (out[name] ??= []).push(...Array.from(values));
  }
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(result).toBeInstanceOf(Error);
  return result as Error;
}

const text = (values: unknown[] | undefined): (string | null)[] =>
  (values ?? []).map((v) => (v === null ? null : Buffer.from(v as Uint8Array).toString('utf8')));

describe('shared/parquet-real', () => {
  it('alltypes_plain: plain encoding, INT96 timestamps, all primitive types', async () => {
    const columns = await readAll(`${REAL}/alltypes_plain.parquet`);
    expect(columns.id).toEqual([4, 5, 6, 7, 2, 3, 0, 1]);
    expect(columns.bool_col).toEqual([true, false, true, false, true, false, true, false]);
    expect(columns.tinyint_col).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    expect(columns.bigint_col).toEqual([0n, 10n, 0n, 10n, 0n, 10n, 0n, 10n]);
    expect(columns.float_col).toEqual([0, 1, 0, 1, 0, 1, 0, 1].map((v) => Math.fround(v * 1.1)));
    expect(columns.double_col).toEqual([0, 10.1, 0, 10.1, 0, 10.1, 0, 10.1]);
    expect(text(columns.date_string_col)).toEqual([
      '03/01/09',
      '03/01/09',
      '04/01/09',
      '04/01/09',
      '02/01/09',
      '02/01/09',
      '01/01/09',
      '01/01/09',
    ]);
    expect(text(columns.string_col)).toEqual(['0', '1', '0', '1', '0', '1', '0', '1']);
    expect((columns.timestamp_col as Date[]).map((d) => d.toISOString())).toEqual([
      '2009-03-01T00:00:00.000Z',
      '2009-03-01T00:01:00.000Z',
      '2009-04-01T00:00:00.000Z',
      '2009-04-01T00:01:00.000Z',
      '2009-02-01T00:00:00.000Z',
      '2009-02-01T00:01:00.000Z',
      '2009-01-01T00:00:00.000Z',
      '2009-01-01T00:01:00.000Z',
    ]);
  });

  it('alltypes_plain.snappy: the same with SNAPPY', async () => {
    const columns = await readAll(`${REAL}/alltypes_plain.snappy.parquet`);
    expect(columns.id).toEqual([6, 7]);
    expect(columns.bool_col).toEqual([true, false]);
    expect((columns.timestamp_col as Date[]).map((d) => d.toISOString())).toEqual([
      '2009-04-01T00:00:00.000Z',
      '2009-04-01T00:01:00.000Z',
    ]);
  });

  it('alltypes_dictionary: dictionary pages', async () => {
    const columns = await readAll(`${REAL}/alltypes_dictionary.parquet`);
    expect(columns.id).toEqual([0, 1]);
    expect(columns.bigint_col).toEqual([0n, 10n]);
    expect(text(columns.string_col)).toEqual(['0', '1']);
    expect((columns.timestamp_col as Date[]).map((d) => d.toISOString())).toEqual([
      '2009-01-01T00:00:00.000Z',
      '2009-01-01T00:01:00.000Z',
    ]);
  });

  it('datapage_v2.snappy: v2 data pages, nulls, a LIST column', async () => {
    const columns = await readAll(`${REAL}/datapage_v2.snappy.parquet`);
    expect(columns.a).toEqual(['abc', 'abc', 'abc', null, 'abc']);
    expect(columns.b).toEqual([1, 2, 3, 4, 5]);
    expect(columns.c).toEqual([2, 3, 4, 5, 2]);
    expect(columns.d).toEqual([true, true, true, false, true]);
    expect(columns.e).toEqual([[1, 2, 3], null, null, [1, 2, 3], [1, 2]]);
  });

  it('nulls.snappy: a nullable struct whose field is null in every row', async () => {
    const { buffer, object } = await open(`${REAL}/nulls.snappy.parquet`);
    const schema = await readSourceSchema(buffer, object);
    expect(schema.columns[0]).toMatchObject({ name: 'b_struct', nullable: true, type: { kind: 'struct' } });
    const columns = await readAll(`${REAL}/nulls.snappy.parquet`);
    expect(columns.b_struct).toEqual(Array.from({ length: 8 }, () => ({ b_c_int: null })));
  });

  it('int64_decimal and byte_array_decimal: exact decimal strings', async () => {
    const expected = Array.from({ length: 24 }, (_, i) => `${i + 1}.00`);
    expect((await readAll(`${REAL}/int64_decimal.parquet`)).value).toEqual(expected);
    expect((await readAll(`${REAL}/byte_array_decimal.parquet`)).value).toEqual(expected);
  });

  it('delta_binary_packed: every value equals the expected CSV', async () => {
    const [header, ...lines] = readFileSync(`${REAL}/delta_binary_packed_expect.csv`, 'utf8')
      .trim()
      .split('\n');
    const names = (header ?? '').split(',');
    const columns = await readAll(`${REAL}/delta_binary_packed.parquet`);
    expect(Object.keys(columns)).toEqual(names);
    expect(lines).toHaveLength(200);
    names.forEach((name, c) => {
      const expected = lines.map((line) => {
        const cell = line.split(',')[c] ?? '';
        return name === 'int_value' ? Number(cell) : BigInt(cell);
      });
      expect(Array.from(columns[name] ?? []), name).toEqual(expected);
    });
  });

  it('hadoop_lz4_compressed: Hadoop-framed LZ4', async () => {
    const columns = await readAll(`${REAL}/hadoop_lz4_compressed.parquet`);
    expect(columns.c0).toEqual([1593604800n, 1593604800n, 1593604801n, 1593604801n]);
    expect(text(columns.c1)).toEqual(['abc', 'def', 'abc', 'def']);
    expect(columns.v11).toEqual([42, 7.7, 42.125, 7.7]);
  });

  it('datapage_v1-corrupt-checksum: rejected, naming the file, column and page', async () => {
    const { buffer, object } = await open(`${REAL}/datapage_v1-corrupt-checksum.parquet`);
    // The footer is fine, so the schema reads; the data must not load.
    expect((await readSourceSchema(buffer, object)).numRows).toBe(5120);
    const error = await rejection(collect(buffer, object));
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('SOURCE_CORRUPT');
    expect(error.message).toMatch(
      /^s3:\/\/bucket\/datapage_v1-corrupt-checksum\.parquet is not a readable Parquet file: page checksum mismatch in column "a" of row group 0 \(page at byte 4: /,
    );
    // Column b alone is rejected too (its second page is the bad one).
    const onlyB = await rejection(collect(buffer, object, ['b']));
    expect(onlyB.message).toMatch(/column "b" of row group 0 \(page at byte 30808/);
  });

  it('int96_from_spark: rejected because one timestamp (year 290000) is beyond what a Date can hold', async () => {
    const { buffer, object } = await open(`${REAL}/int96_from_spark.parquet`);
    const error = await rejection(collect(buffer, object));
    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toBe(
      's3://bucket/int96_from_spark.parquet column "a" row group 0: row 5 of the row group: timestamp ' +
        '9089380393200000000000 nanoseconds since 1970-01-01 (about year 290000) is outside the range of dates ' +
        'shadowfill can load (years -271821 to 275760) — fix or remove those rows in the source object',
    );
  });

  // The exact decoding of this file's other INT96 values (incl. 9999-12-31, beyond 64-bit nanoseconds) is
  // checked on its raw dictionary bytes in test/unit/parquet-values.test.ts.
});

describe('a multi-row-group ZSTD file written by ClickHouse (chDB)', () => {
  const ROWS = 100_000;
  let dir: string;
  let path: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shadowfill-parquet-'));
    path = join(dir, 'pypi.parquet');
    const session = new Session();
    try {
      await session.queryAsync(`
        INSERT INTO FUNCTION file('${path}', 'Parquet')
        SELECT
          toDateTime('2024-12-17 00:00:00', 'UTC') + number AS timestamp,
          toLowCardinality(['US', 'DE', 'FR', 'CN'][number % 4 + 1]) AS country_code,
          concat('project-', toString(number)) AS project,
          CAST(if(number % 10 = 0, NULL, toString(number % 7)), 'LowCardinality(Nullable(String))') AS version,
          if(number % 5 = 0, [], ['a', toString(number)]) AS tags,
          number * 1000 AS size,
          toDateTime64('2024-12-17 00:00:00', 6, 'UTC') + toIntervalMicrosecond(number * 7) AS uploaded,
          toDecimal64(concat(if(number % 2 = 1, '-', ''), toString(number), '.', leftPad(toString(number % 10000), 4, '0')), 4) AS price,
          if(number % 3 = 0, NULL, toInt32(toInt64(number) - 50000)) AS delta,
          number / 4 AS ratio,
          toBool(number % 2 = 0) AS even,
          toDate('2024-01-01') + (number % 365) AS day,
          toUUID(concat('00000000-0000-4000-8000-', leftPad(lower(hex(number)), 12, '0'))) AS id
        FROM numbers(${ROWS})
        SETTINGS output_format_parquet_row_group_size = 30000,
                 output_format_parquet_compression_method = 'zstd'`);
    } finally {
      session.cleanup();
    }
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it('has the expected schema and several ZSTD row groups', async () => {
    const { buffer, object } = await open(path);
    const schema = await readSourceSchema(buffer, object);
    expect(schema.numRows).toBe(ROWS);
    expect(schema.rowGroups).toBeGreaterThan(2);
    const byName = Object.fromEntries(schema.columns.map((c) => [c.name, c]));
    expect(byName.timestamp?.type).toEqual({ kind: 'timestamp', unit: 'millis', utc: true });
    expect(byName.timestamp?.parquetType).toBe('INT64 TIMESTAMP(MILLIS,utc)');
    expect(byName.country_code?.type).toEqual({ kind: 'string' });
    expect(byName.version).toMatchObject({ type: { kind: 'string' }, nullable: true });
    expect(byName.tags?.type).toEqual({ kind: 'list', element: { kind: 'string' } });
    expect(byName.size?.type).toEqual({ kind: 'int', bits: 64, signed: false });
    expect(byName.uploaded?.type).toEqual({ kind: 'timestamp', unit: 'micros', utc: true });
    expect(byName.price?.type).toEqual({ kind: 'decimal', precision: 18, scale: 4 });
    expect(byName.delta).toMatchObject({ type: { kind: 'int', bits: 32, signed: true }, nullable: true });
    expect(byName.even?.type).toEqual({ kind: 'boolean' });
    expect(byName.day?.type).toEqual({ kind: 'date' });
    expect(byName.id?.type).toEqual({ kind: 'uuid' });
    const footerBytes = readFileSync(path);
    const footerLength = footerBytes.readUInt32LE(footerBytes.length - 8);
    const metadata = parquetMetadata(footerBytes.subarray(footerBytes.length - 8 - footerLength));
    expect(metadata.row_groups[0]?.columns[0]?.meta_data?.codec).toBe('ZSTD');
  });

  it('decodes one chunk per row group with the right counts and every value right', async () => {
    const { buffer, object } = await open(path);
    const footer = readFileSync(path);
    const footerLength = footer.readUInt32LE(footer.length - 8);
    const groupRows = parquetMetadata(footer.subarray(footer.length - 8 - footerLength)).row_groups.map((g) =>
      Number(g.num_rows),
    );
    const chunks = await collect(buffer, object);
    expect(chunks.map((c) => c.numRows)).toEqual(groupRows);
    expect(chunks.map((c) => c.rowGroup)).toEqual(groupRows.map((_, i) => i));

    const base = Date.UTC(2024, 11, 17);
    const expected: Record<string, (n: number) => unknown> = {
      timestamp: (n) => base + n * 1000,
      country_code: (n) => ['US', 'DE', 'FR', 'CN'][n % 4],
      project: (n) => `project-${n}`,
      version: (n) => (n % 10 === 0 ? null : String(n % 7)),
      tags: (n) => (n % 5 === 0 ? '[]' : `["a","${n}"]`),
      size: (n) => BigInt(n) * 1000n,
      uploaded: (n) => BigInt(base) * 1000n + BigInt(n * 7),
      price: (n) => `${n % 2 === 1 ? '-' : ''}${n}.${String(n % 10000).padStart(4, '0')}`,
      delta: (n) => (n % 3 === 0 ? null : n - 50000),
      ratio: (n) => n / 4,
      even: (n) => n % 2 === 0,
      day: (n) => Date.UTC(2024, 0, 1) + (n % 365) * 86_400_000,
      id: (n) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
    };
    // Comparable form of a decoded value: micro-precision for `uploaded`, ms for other Dates, JSON for lists.
    const comparable = (name: string, value: unknown): unknown => {
      if (name === 'uploaded') return epochMicros(value as Date);
      if (value instanceof Date) return value.getTime();
      if (Array.isArray(value)) return JSON.stringify(value);
      return value;
    };
    const mismatches: string[] = [];
    let n = 0;
    for (const chunk of chunks) {
      expect([...chunk.columns.keys()]).toEqual(Object.keys(expected));
      for (const values of chunk.columns.values()) expect(values.length).toBe(chunk.numRows);
      for (let i = 0; i < chunk.numRows; i++, n++) {
        for (const [name, want] of Object.entries(expected)) {
          const got = comparable(name, chunk.columns.get(name)?.[i]);
          if (got !== want(n) && mismatches.length < 10) {
            mismatches.push(`row ${n} ${name}: got ${String(got)}, want ${String(want(n))}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    expect(n).toBe(ROWS);
  });

  it('splits row groups into chunks of at most maxRowsPerChunk rows', async () => {
    const { buffer, object } = await open(path);
    const chunks: RowChunk[] = [];
    for await (const chunk of readRowChunks(buffer, object, {
      columns: ['project'],
      maxRowsPerChunk: 7000,
    })) {
      chunks.push(chunk);
    }
    expect(chunks.every((c) => c.numRows <= 7000 && c.numRows > 0)).toBe(true);
    expect(chunks.reduce((sum, c) => sum + c.numRows, 0)).toBe(ROWS);
    const projects = chunks.flatMap((c) => Array.from(c.columns.get('project') ?? []));
    expect(projects[0]).toBe('project-0');
    expect(projects[ROWS - 1]).toBe(`project-${ROWS - 1}`);
    expect(new Set(chunks.map((c) => c.rowGroup)).size).toBeGreaterThan(2);
  });

  it('fetches only the selected columns of one row group at a time (one ahead at most)', async () => {
    const { buffer, object } = await open(path);
    const bytes = readFileSync(path);
    const footerLength = bytes.readUInt32LE(bytes.length - 8);
    const metadata = parquetMetadata(bytes.subarray(bytes.length - 8 - footerLength));
    const footerStart = bytes.length - 8 - footerLength;
    // Byte span of each row group's selected column chunks.
    const selected = ['timestamp', 'country_code'];
    const spans = metadata.row_groups.map((group) => {
      const ranges = group.columns
        .filter((c) => selected.includes(c.meta_data?.path_in_schema[0] ?? ''))
        .map((c) => {
          const m = c.meta_data!;
          const start = Number(m.dictionary_page_offset || m.data_page_offset);
          return [start, start + Number(m.total_compressed_size)] as const;
        });
      return ranges;
    });
    const events: string[] = [];
    let dataBytes = 0;
    const spy: AsyncBuffer = {
      byteLength: buffer.byteLength,
      slice(start, end = buffer.byteLength) {
        if (end > footerStart - 1) {
          events.push('footer');
        } else {
          const group = spans.findIndex(
            (ranges) =>
              ranges.some(([s, e]) => start <= s && e <= end) ||
              ranges.some(([s, e]) => s <= start && end <= e),
          );
          expect(group, `slice ${start}–${end} belongs to no selected column chunk`).toBeGreaterThanOrEqual(
            0,
          );
          dataBytes += end - start;
          events.push(`fetch ${group}`);
        }
        return buffer.slice(start, end);
      },
    };
    for await (const chunk of readRowChunks(spy, object, { columns: selected })) {
      events.push(`chunk ${chunk.rowGroup}`);
      expect([...chunk.columns.keys()]).toEqual(selected);
    }
    // Before the chunk of row group k is handed out, nothing beyond row group k+1 has been fetched.
    events.forEach((event, i) => {
      const match = /^chunk (\d+)$/.exec(event);
      if (!match) return;
      const k = Number(match[1]);
      const fetchedSoFar = events
        .slice(0, i)
        .filter((e) => e.startsWith('fetch '))
        .map((e) => Number(e.slice(6)));
      expect(Math.max(...fetchedSoFar)).toBeLessThanOrEqual(k + 1);
    });
    const selectedBytes = spans.flat().reduce((sum, [s, e]) => sum + (e - s), 0);
    expect(dataBytes).toBeLessThanOrEqual(selectedBytes + spans.length * 8192);
    expect(dataBytes).toBeLessThan(bytes.length / 2);
  });

  it('rejects a flipped bit in a data page of row group 1, naming the column and row group', async () => {
    const bytes = Uint8Array.from(readFileSync(path));
    const footerLength = new DataView(bytes.buffer).getUint32(bytes.length - 8, true);
    const metadata = parquetMetadata(bytes.subarray(bytes.length - 8 - footerLength));
    const meta = metadata.row_groups[1]?.columns.find(
      (c) => c.meta_data?.path_in_schema[0] === 'project',
    )?.meta_data;
    if (!meta) throw new Error('no project column in row group 1');
    const reader = { view: new DataView(bytes.buffer, Number(meta.data_page_offset)), offset: 0 };
    const header = parquetHeader(reader);
    expect(header.crc).toBeDefined();
    const target =
      Number(meta.data_page_offset) + reader.offset + Math.floor(header.compressed_page_size / 2);
    bytes[target] = (bytes[target] as number) ^ 0x10;
    const object = objectFor('pypi-damaged.parquet', bytes.length);
    const error = await rejection(collect(memory(bytes), object));
    expect(error).toBeInstanceOf(SourceError);
    expect(error.message).toMatch(
      /^s3:\/\/bucket\/pypi-damaged\.parquet is not a readable Parquet file: page checksum mismatch in column "project" of row group 1 /,
    );
    // Row group 0 was delivered before the damage was found; nothing of row group 1 was.
    const seen: number[] = [];
    await rejection(
      (async () => {
        for await (const chunk of readRowChunks(memory(bytes), object, { columns: ['project'] }))
          seen.push(chunk.rowGroup);
      })(),
    );
    expect(seen).toEqual([0]);
  });

  it('refuses a column the object does not have', async () => {
    const { buffer, object } = await open(path);
    const error = await rejection(collect(buffer, object, ['project', 'nope']));
    expect(error).toBeInstanceOf(SchemaMismatchError);
    expect(error.message).toMatch(
      /^s3:\/\/bucket\/pypi\.parquet has no column "nope" \(it has "timestamp", /,
    );
  });
});

describe('every compression codec ClickHouse writes', () => {
  const codecs = ['none', 'snappy', 'zstd', 'lz4', 'gzip', 'brotli'] as const;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shadowfill-parquet-'));
    const session = new Session();
    try {
      for (const codec of codecs) {
        await session.queryAsync(`
          INSERT INTO FUNCTION file('${join(dir, `${codec}.parquet`)}', 'Parquet')
          SELECT number AS n, concat('value-', toString(number % 100)) AS s
          FROM numbers(20000)
          SETTINGS output_format_parquet_compression_method = '${codec}'`);
      }
    } finally {
      session.cleanup();
    }
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  const codecNames = {
    none: 'UNCOMPRESSED',
    snappy: 'SNAPPY',
    zstd: 'ZSTD',
    lz4: 'LZ4_RAW',
    gzip: 'GZIP',
    brotli: 'BROTLI',
  };

  it.each(codecs)('%s', async (codec) => {
    const bytes = readFileSync(join(dir, `${codec}.parquet`));
    const footer = parquetMetadata(bytes.subarray(bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8)));
    expect(footer.row_groups[0]?.columns[0]?.meta_data?.codec).toBe(codecNames[codec]);
    const columns = await readAll(join(dir, `${codec}.parquet`));
    expect(columns.n).toEqual(Array.from({ length: 20000 }, (_, i) => BigInt(i)));
    expect(columns.s).toEqual(Array.from({ length: 20000 }, (_, i) => `value-${i % 100}`));
  });
});

describe('non-Parquet objects', () => {
  it('a CSV file is rejected with SOURCE_CORRUPT naming the object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowfill-parquet-'));
    try {
      const path = join(dir, 'data.parquet');
      writeFileSync(path, 'id,name\n1,a\n2,b\n');
      const { buffer, object } = await open(path);
      const error = await rejection(collect(buffer, object));
      expect(error).toBeInstanceOf(SourceError);
      expect((error as SourceError).code).toBe('SOURCE_CORRUPT');
      expect(error.message).toMatch(
        /^s3:\/\/bucket\/data\.parquet is not a readable Parquet file: .* — replace or remove the object$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  });
});
