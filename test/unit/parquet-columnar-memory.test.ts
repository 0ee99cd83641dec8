/**
 * Slice-wise decoding of large dictionary-encoded pages by the columnar reader (columnar.ts, raw-pages.ts,
 * dictionary-page.ts): ClickHouse writes a row group of 1.2M low-cardinality rows as ONE data page per column, and
 * the reader hands it out in chunks of 65,536 rows whose levels and dictionary indices are decoded for those rows
 * only — no array of the page's 1.2M rows ever exists — while the values equal the row reader's and the ones
 * written.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import { asyncBufferFromFile, parquetMetadata } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materialize, readColumnarChunks } from '../../src/parquet/columnar.ts';
import { parquetHeader } from '../../src/parquet/hyparquet-internals.ts';
import { DEFAULT_MAX_ROWS_PER_CHUNK, readRowChunks } from '../../src/parquet/rows.ts';
import type { SourceObject } from '../../src/source/types.ts';

const ROWS = 1_200_000;

let dir: string;
let file: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shadowfill-columnar-memory-'));
  file = join(dir, 'big-pages.parquet');
  const session = new Session();
  try {
    await session.queryAsync(`
      INSERT INTO FUNCTION file('${file}', 'Parquet')
      SELECT
        toLowCardinality(concat('p', toString(number % 300))) AS s,
        if(number % 7 = 0, NULL, toInt64(number % 50)) AS maybe
      FROM numbers(${ROWS})
      SETTINGS output_format_parquet_row_group_size = ${ROWS},
               output_format_parquet_data_page_size = 67108864,
               output_format_parquet_compression_method = 'zstd'`);
  } finally {
    session.cleanup();
  }
}, 120_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

/** Rows of each dictionary-encoded data page of `column`. */
function dictionaryPageRows(column: string): number[] {
  const bytes = readFileSync(file);
  const footer = bytes.subarray(bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8));
  const rows: number[] = [];
  for (const group of parquetMetadata(footer).row_groups) {
    const meta = group.columns.find((c) => c.meta_data?.path_in_schema[0] === column)!.meta_data!;
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const end = start + Number(meta.total_compressed_size);
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset), offset: start };
    while (reader.offset < end) {
      const header = parquetHeader(reader);
      const encoding = header.data_page_header?.encoding;
      if (encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') {
        rows.push(header.data_page_header!.num_values);
      }
      reader.offset += header.compressed_page_size;
    }
  }
  return rows;
}

describe('columnar reader over a 1.2M-row dictionary page', () => {
  it('the fixture has one dictionary-encoded data page per column holding the whole row group', () => {
    expect(dictionaryPageRows('s')).toEqual([ROWS]);
    expect(dictionaryPageRows('maybe')).toEqual([ROWS]);
  });

  it('holds at most one chunk of rows per column decoded, and gives the row reader’s values', async () => {
    const buffer = await asyncBufferFromFile(file);
    const object: SourceObject = {
      key: 'big-pages.parquet',
      size: buffer.byteLength,
      uri: 's3://b/k',
      httpUrl: 'http://x/k',
    };
    const rowChunks = readRowChunks(buffer, object)[Symbol.asyncIterator]();
    let row = 0;
    let chunks = 0;
    for await (const chunk of readColumnarChunks(buffer, object, { raw: ['s', 'maybe'] })) {
      expect(chunk.numRows).toBeLessThanOrEqual(DEFAULT_MAX_ROWS_PER_CHUNK);
      for (const name of ['s', 'maybe']) {
        const vector = chunk.columns.get(name)!;
        expect(vector.kind).toBe('raw');
        if (vector.kind !== 'raw') continue;
        // Every array decoded from the page covers this chunk's rows only (the page has 1.2M).
        for (const segment of vector.segments) {
          expect(segment.indices!.length).toBeLessThanOrEqual(chunk.numRows);
          expect(segment.defined?.length ?? 0).toBeLessThanOrEqual(chunk.numRows);
        }
      }
      const reference = (await rowChunks.next()).value!;
      expect(reference.numRows).toBe(chunk.numRows);
      const s = Array.from(materialize(chunk, chunk.columns.get('s')!));
      const maybe = Array.from(materialize(chunk, chunk.columns.get('maybe')!));
      expect(s).toEqual(Array.from(reference.columns.get('s')!));
      expect(maybe).toEqual(Array.from(reference.columns.get('maybe')!));
      for (let i = 0; i < chunk.numRows; i++) {
        const n = row + i;
        if (s[i] !== `p${n % 300}` || maybe[i] !== (n % 7 === 0 ? null : BigInt(n % 50))) {
          throw new Error(`row ${n}: got ${String(s[i])}, ${String(maybe[i])}`);
        }
      }
      row += chunk.numRows;
      chunks += 1;
    }
    expect(row).toBe(ROWS);
    expect(chunks).toBe(Math.ceil(ROWS / DEFAULT_MAX_ROWS_PER_CHUNK));
  });
});
