/**
 * hyparquet's internals (`hyparquet/src/*`) that src/parquet/hyparquet-internals.ts re-exports are not its public
 * API: any release may change them. This test pins what the reader relies on — the exact version, and the shape
 * and behaviour of each internal — so that an upgrade fails here, with a message saying what changed, instead
 * of misreading Parquet somewhere else.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parquetMetadata, parquetSchema } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import * as internals from '../../src/parquet/hyparquet-internals.ts';
import { emptyV2PageFile, shortChunkFile } from '../support/parquet-craft.ts';

const require = createRequire(import.meta.url);
// hyparquet's exports map has no ./package.json: find it next to the resolved entry point.
const entry = require.resolve('hyparquet');
const installed = (
  JSON.parse(
    readFileSync(
      join(entry.slice(0, entry.lastIndexOf('/node_modules/hyparquet/') + 23), 'package.json'),
      'utf8',
    ),
  ) as {
    version: string;
  }
).version;
const pinned = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    dependencies: Record<string, string>;
  }
).dependencies['hyparquet'];

const upgrade = (what: string) =>
  `hyparquet ${installed} changed ${what}, an internal that src/parquet/hyparquet-internals.ts relies on ` +
  `(checked against ${internals.HYPARQUET_VERSION}): compare that module with hyparquet's src/, adapt it, then ` +
  `update HYPARQUET_VERSION and the exact pin in package.json`;

describe('hyparquet internals', () => {
  it('are those of the exact version pinned in package.json', () => {
    expect(pinned, `package.json must pin hyparquet exactly (no ^ or ~), got ${pinned}`).toMatch(
      /^\d+\.\d+\.\d+$/,
    );
    expect(installed, upgrade('its version')).toBe(internals.HYPARQUET_VERSION);
    expect(
      pinned,
      'package.json pins another hyparquet than hyparquet-internals.ts was checked against',
    ).toBe(internals.HYPARQUET_VERSION);
  });

  it('export the functions the reader calls, with the same parameters', () => {
    const arity: Record<string, number> = {
      assembleNested: 3,
      parquetHeader: 1,
      readPage: 6,
      convert: 2,
      decompressPage: 4,
      readDataPage: 3,
      readDataPageV2: 3,
      readPlain: 4,
      readRleBitPackedHybrid: 4,
      parquetPlanGroup: 1,
      getMaxDefinitionLevel: 1,
      getMaxRepetitionLevel: 1,
      getTreePath: 2,
    };
    for (const [name, params] of Object.entries(arity)) {
      const fn = (internals as Record<string, unknown>)[name];
      expect(typeof fn, upgrade(`${name} (no longer a function)`)).toBe('function');
      expect((fn as (...a: unknown[]) => unknown).length, upgrade(`the parameters of ${name}`)).toBe(params);
    }
    expect(Object.keys(internals.DEFAULT_PARSERS).sort(), upgrade('DEFAULT_PARSERS')).toEqual(
      expect.arrayContaining(['dateFromDays', 'timestampFromMilliseconds', 'timestampFromMicroseconds']),
    );
  });

  it('decode page headers, pages and levels as the reader expects', () => {
    const file = emptyV2PageFile();
    const metadata = parquetMetadata(file.buffer as ArrayBuffer);
    const chunk = metadata.row_groups[0]!.columns[0]!.meta_data!;
    const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const reader = { view, offset: Number(chunk.data_page_offset) };
    const header = internals.parquetHeader(reader);
    expect(header, upgrade('parquetHeader')).toMatchObject({
      type: 'DATA_PAGE_V2',
      uncompressed_page_size: 24,
      data_page_header_v2: { num_values: 3, num_rows: 3, encoding: 'PLAIN', is_compressed: true },
    });
    const tree = parquetSchema(metadata);
    const schemaPath = internals.getTreePath(tree, ['n']);
    expect(
      schemaPath.map((s) => s.element.name),
      upgrade('getTreePath'),
    ).toEqual(['schema', 'n']);
    expect(internals.getMaxDefinitionLevel(schemaPath), upgrade('getMaxDefinitionLevel')).toBe(0);
    expect(internals.getMaxRepetitionLevel(schemaPath), upgrade('getMaxRepetitionLevel')).toBe(0);
    const decoder: internals.ColumnDecoder = {
      pathInSchema: ['n'],
      element: schemaPath[1]!.element,
      schemaPath,
      type: chunk.type,
      codec: chunk.codec,
      parsers: internals.DEFAULT_PARSERS,
      compressors: {},
      utf8: false,
    };
    const page = internals.readPage(reader, header, decoder, undefined, undefined, 0);
    expect(Array.from(page.data ?? []).map(String), upgrade('readPage')).toEqual(['1', '2', '3']);
    expect(reader.offset, upgrade('readPage (it must leave the reader after the page)')).toBeGreaterThan(
      Number(chunk.data_page_offset),
    );
    const raw = new Uint8Array([7, 8, 9]);
    expect(internals.decompressPage(raw, 3, 'UNCOMPRESSED', undefined), upgrade('decompressPage')).toBe(raw);
    // An RLE run of 5 × the value 2 (bit width 2): header 5 << 1, then one byte.
    const levels = new Array<number>(5);
    internals.readRleBitPackedHybrid(
      { view: new DataView(new Uint8Array([10, 2]).buffer), offset: 0 },
      2,
      levels,
      2,
    );
    expect(levels, upgrade('readRleBitPackedHybrid')).toEqual([2, 2, 2, 2, 2]);
    const plan = internals.parquetPlanGroup({
      rowGroup: parquetMetadata(shortChunkFile(0).buffer as ArrayBuffer).row_groups[0]!,
      groupStart: 0,
      groupRows: 4,
      ranges: [[0, 4]],
      columns: ['word'],
    });
    expect(
      plan.groups[0]?.chunks.map((c) => c.columnMetadata.path_in_schema),
      upgrade('parquetPlanGroup'),
    ).toEqual([['word']]);
    expect(plan.fetches[0], upgrade('parquetPlanGroup (fetches)')).toMatchObject({ startByte: 4 });
  });
});
