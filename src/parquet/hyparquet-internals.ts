/**
 * The one module that reaches into hyparquet's internals (`hyparquet/src/*`, not its public API): page headers,
 * page decoding, levels, schema paths, nested assembly and row-group planning, which the reader (rows.ts,
 * column-pages.ts, dictionary-page.ts, raw-pages.ts, checksum.ts, values.ts) needs to decode page by page. hyparquet is pinned
 * to an exact version in package.json; test/unit/hyparquet-internals.test.ts fails with a clear message when an
 * upgrade changes any of these.
 */
export { assembleNested } from 'hyparquet/src/assemble.js';
export { parquetHeader, readPage } from 'hyparquet/src/column.js';
export { convert, DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
export { decompressPage, readDataPage, readDataPageV2 } from 'hyparquet/src/datapage.js';
export { readPlain } from 'hyparquet/src/plain.js';
export { readRleBitPackedHybrid } from 'hyparquet/src/encoding.js';
export { parquetPlanGroup } from 'hyparquet/src/plan.js';
export { getMaxDefinitionLevel, getMaxRepetitionLevel, getTreePath } from 'hyparquet/src/schema.js';
export type {
  ColumnDecoder,
  DataPageHeader,
  DecodedArray,
  GroupPlan,
  PageHeader,
  ParquetParsers,
} from 'hyparquet/src/types.js';

/** The hyparquet version these internals were checked against (package.json pins exactly this one). */
export const HYPARQUET_VERSION = '1.31.5';
