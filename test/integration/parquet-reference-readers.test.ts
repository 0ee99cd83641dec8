/**
 * Files that real-world writers produce and the reference readers (Arrow/pyarrow, ClickHouse) read: the reader
 * must read them too, row for row as ClickHouse (chDB) reads the same bytes. Built byte by byte
 * (test/support/parquet-craft.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import { readRowChunks } from '../../src/parquet/rows.ts';
import type { SourceObject } from '../../src/source/types.ts';
import {
  emptyV2DictionaryPageFile,
  emptyV2PageFile,
  shortChunkFile,
  shortChunkLayout,
} from '../support/parquet-craft.ts';

let dir: string;
let chdb: ChdbDriver;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shadowfill-parquet-ref-'));
  chdb = new ChdbDriver(join(dir, 'ch'));
});

afterAll(async () => {
  await chdb?.close();
  if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

function save(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Every row as the shadowfill reader decodes it: `{ column: value }`, values as ClickHouse prints them. */
async function ours(path: string): Promise<Record<string, string>[]> {
  const object = { uri: `file://${path}`, key: path, size: 0 } as unknown as SourceObject;
  const rows: Record<string, string>[] = [];
  for await (const chunk of readRowChunks(await asyncBufferFromFile(path), object)) {
    for (let i = 0; i < chunk.numRows; i++) {
      const row: Record<string, string> = {};
      for (const [name, values] of chunk.columns) row[name] = String(values[i]);
      rows.push(row);
    }
  }
  return rows;
}

async function clickhouse(path: string): Promise<Record<string, string>[]> {
  const rows = await chdb.query<Record<string, unknown>>(
    `SELECT * FROM file(${quoteString(path)}, 'Parquet')`,
  );
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])));
}

describe('files the reference readers read', () => {
  it('a column chunk ending with an empty v2 data page (its body only snappy’s length header)', async () => {
    const path = save('empty-v2-dictionary.parquet', emptyV2DictionaryPageFile());
    const reference = await clickhouse(path);
    expect(reference.map((r) => r['word'])).toEqual(['word-3', 'word-0', 'word-7', 'word-0']);
    expect(await ours(path)).toEqual(reference);
  });

  it('an empty v2 data page between two others (ClickHouse refuses it; its values are still exact here)', async () => {
    const path = save('empty-v2-middle.parquet', emptyV2PageFile());
    await expect(clickhouse(path)).rejects.toThrow(/Unexpected uncompressed page size/);
    expect((await ours(path)).map((r) => r['n'])).toEqual(['1', '2', '3', '4', '5']);
  });

  it('a dictionary page whose declared size runs past its column chunk (parquet-mr, PARQUET-816)', async () => {
    const layout = shortChunkLayout();
    for (const short of [layout.chunk - layout.dictionaryPage + 14, 80]) {
      // The declared end falls inside the dictionary page.
      expect(layout.chunk - short).toBeLessThan(layout.dictionaryPage);
      const path = save(`short-${short}.parquet`, shortChunkFile(short, 'parquet-mr'));
      const reference = await clickhouse(path);
      expect(reference).toHaveLength(4);
      expect(await ours(path)).toEqual(reference);
    }
  });

  it('the same chunk from a writer that declares sizes right is refused, as ClickHouse refuses it', async () => {
    const path = save('short-cpp.parquet', shortChunkFile(40, 'parquet-cpp version 1.5.1'));
    await expect(clickhouse(path)).rejects.toThrow(/out of bounds/);
    await expect(ours(path)).rejects.toMatchObject({ code: 'SOURCE_CORRUPT' });
  });
});
