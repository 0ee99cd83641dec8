/**
 * Decodes a Parquet object into RowChunks: one row group at a time, and inside a row group in row slices of at
 * most `maxRowsPerChunk` rows (default 65,536), column-wise.
 *
 * For each row group only the selected columns' chunk byte ranges are fetched and their page CRCs verified
 * before anything of the group is decoded. The group's pages are then decoded slice by slice (column-pages.ts):
 * only the values of the current slice exist at a time, plus per column the rest of a partly taken page — as
 * compact dictionary indices when the page is dictionary-encoded (dictionary-page.ts), since such a page can
 * hold a whole row group. Memory is thus the group's compressed bytes plus about one slice of values,
 * whatever the row-group or object size. The
 * next row group's bytes are prefetched while the current one is decoded when they are at most
 * PREFETCH_LIMIT_BYTES (a bigger group is fetched when its turn comes, to keep memory bounded).
 * Values follow the representation documented in values.ts (timestamps → Date / PreciseDate, DECIMAL → exact
 * strings, INT64 → bigint, LIST → arrays, nulls → null).
 *
 * Failures: a non-Parquet or damaged object, a bad page checksum or an undecodable page → SourceError
 * (SOURCE_CORRUPT) naming the object, column and row group (a bad checksum before any row of that group is
 * handed out; an undecodable page after the slices before it); a value that cannot be represented →
 * SourceError naming the same; a requested column that is missing or of an unsupported type →
 * SchemaMismatchError.
 */
import * as zlib from 'node:zlib';
import { parquetSchema } from 'hyparquet';
import type { AsyncBuffer, Compressors, FileMetaData, SchemaTree } from 'hyparquet';
import {
  assembleNested,
  DEFAULT_PARSERS,
  getTreePath,
  parquetPlanGroup,
  type ColumnDecoder,
  type DecodedArray,
  type GroupPlan,
  type ParquetParsers,
} from './hyparquet-internals.ts';
import type { RowChunk } from '../adapter/contract.ts';
import { SchemaMismatchError } from '../errors.ts';
import type { SourceColumn, SourceObject } from '../source/types.ts';
import { verifyPageChecksums } from './checksum.ts';
import { LeafPageReader } from './column-pages.ts';
import { decodeMetadata } from './decode-metadata.ts';
import { reasonOf, undecodableColumn, unrepresentableValue } from './errors.ts';
import { readFooter } from './footer.ts';
import type { BufferPool } from './buffer-pool.ts';
import { bytesOf, fetchRanges, giveBack } from './row-group-bytes.ts';
import { chunkPadding, paddedRanges } from './chunk-range.ts';
import type { FetchedRange } from './row-group-bytes.ts';
import { describeSchema, unsupportedDetail } from './schema.ts';
import { isFinalAsDecoded, normalizeValue, UnrepresentableValueError, valueParsers } from './values.ts';
import { jsCompressors } from './js-compressors.ts';
import { decompressZstd, zstdReady } from './zstd.ts';

export interface ReadRowChunksOptions {
  /** Top-level columns to decode, in this order; all columns when omitted. */
  readonly columns?: readonly string[];
  /** Split a row group into chunks of at most this many rows (default DEFAULT_MAX_ROWS_PER_CHUNK). */
  readonly maxRowsPerChunk?: number;
}

/** Rows per RowChunk when not set: small enough that one slice of decoded values stays in the tens of MB. */
export const DEFAULT_MAX_ROWS_PER_CHUNK = 65_536;

/** The next row group's selected bytes are fetched ahead only up to this size. */
export const PREFETCH_LIMIT_BYTES = 64 * 1024 * 1024;

/** Native zlib for GZIP/BROTLI, the fastest ZSTD available (zstd.ts). */
const native: Compressors = {
  GZIP: (input: Uint8Array) => zlib.gunzipSync(input),
  BROTLI: (input: Uint8Array) => zlib.brotliDecompressSync(input),
  ZSTD: decompressZstd,
};
/** What every decoder of this thread uses: `native`, and hyparquet-compressors for the rest once a file needs them. */
const compressors: Compressors = { ...native };

/** Adds hyparquet-compressors (SNAPPY, LZ4, …) when a column chunk of `metadata` uses a codec `native` lacks. */
async function compressorsReady(metadata: FileMetaData): Promise<void> {
  if (compressors.SNAPPY) return;
  const needs = metadata.row_groups.some((g) =>
    g.columns.some((c) => {
      const codec = c.meta_data?.codec;
      return codec !== undefined && codec !== 'UNCOMPRESSED' && !(codec in native);
    }),
  );
  if (needs) Object.assign(compressors, await jsCompressors(), native);
}

const parsers: ParquetParsers = { ...DEFAULT_PARSERS, ...valueParsers };

export interface RowGroupWork {
  readonly index: number;
  readonly groupRows: number;
  readonly plan: GroupPlan;
  /** How far past each chunk's declared end its pages may run, and the byte they may never reach. */
  readonly padding: number;
  readonly limit: number;
  readonly fetches: readonly { startByte: number; endByte: number }[];
  readonly fetchBytes: number;
}

/** One selected top-level column of one row group: its leaf readers and how to assemble them. */
export interface ColumnSlicer {
  readonly column: SourceColumn;
  readonly node: SchemaTree;
  readonly leaves: readonly { readonly path: string; readonly reader: LeafPageReader }[];
}

/** Page readers (values in the representation of values.ts) for one opened column. */
export function pageSlicer(opened: OpenedColumn): ColumnSlicer {
  return {
    column: opened.column,
    node: opened.node,
    leaves: opened.leaves.map((leaf) => ({
      path: leaf.path,
      reader: new LeafPageReader(leaf.bytes, leaf.decoder, leaf.numValues),
    })),
  };
}

/** Decoded row groups of `object`, split into chunks of at most `maxRowsPerChunk` rows. */
export async function* readRowChunks(
  buffer: AsyncBuffer,
  object: SourceObject,
  options: ReadRowChunksOptions = {},
): AsyncIterable<RowChunk> {
  const maxRows = maxRowsOf(options);
  for await (const opened of openedRowGroups(buffer, object, options.columns)) {
    const group = opened.group;
    const slicers = opened.columns.map((column) => pageSlicer(column));
    for (let start = 0; start < group.groupRows; start += maxRows) {
      const rows = Math.min(maxRows, group.groupRows - start);
      const sliced = new Map<string, ArrayLike<unknown>>();
      for (const slicer of slicers)
        sliced.set(slicer.column.name, takeRows(object, group, slicer, start, rows));
      yield { object, rowGroup: group.index, numRows: rows, columns: sliced };
    }
    for (const slicer of slicers) checkExhausted(object, group, slicer);
  }
}

export function maxRowsOf(options: ReadRowChunksOptions): number {
  const maxRows = options.maxRowsPerChunk ?? DEFAULT_MAX_ROWS_PER_CHUNK;
  if (!(maxRows >= 1)) throw new RangeError(`maxRowsPerChunk must be at least 1, got ${maxRows}`);
  return maxRows;
}

/** One leaf of a selected column in an opened row group: its verified bytes and how to decode them. */
export interface OpenedLeaf {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly decoder: ColumnDecoder;
  readonly numValues: number;
}

/** A selected top-level column of an opened row group. */
export interface OpenedColumn {
  readonly column: SourceColumn;
  readonly node: SchemaTree;
  readonly leaves: readonly OpenedLeaf[];
}

/** A row group whose selected column chunks are fetched and whose page checksums are verified. */
export interface OpenedRowGroup {
  readonly group: RowGroupWork;
  readonly columns: readonly OpenedColumn[];
}

/**
 * The row groups of `object` with the selected columns' bytes fetched (the next group's prefetched while this
 * one is decoded, when at most PREFETCH_LIMIT_BYTES) and every page checksum verified: what readRowChunks and
 * readColumnarChunks (columnar.ts) decode.
 */
export async function* openedRowGroups(
  buffer: AsyncBuffer,
  object: SourceObject,
  requested: readonly string[] | undefined,
  /**
   * Download row groups into buffers of this pool, and give each group's back when the iteration moves past it:
   * only for a consumer that no longer uses a group (its chunks, their values or raw segments) once it asks for
   * the next group.
   */
  pool?: BufferPool,
): AsyncIterable<OpenedRowGroup> {
  const footer = await readFooter(buffer, object);
  await zstdReady();
  await compressorsReady(footer);
  const columns = selectColumns(describeSchema(footer, object).columns, object, requested);
  const metadata = decodeMetadata(footer);
  const schemaTree = parquetSchema(metadata);
  // Chunks are read up to `padding` bytes past their declared end (never into the footer): chunk-range.ts.
  const padding = chunkPadding(footer);
  const limit = buffer.byteLength - (footer.metadata_length ?? 0) - 8;
  const work = planRowGroups(
    metadata,
    columns.map((column) => column.name),
    padding,
    limit,
  );

  const fetch = (group: RowGroupWork): Promise<FetchedRange[]> => {
    const promise = fetchRanges(buffer, object, group.fetches, group.index, pool);
    promise.catch(() => undefined); // observed when awaited; avoids an unhandled rejection if we stop early
    return promise;
  };
  let prefetched: Promise<FetchedRange[]> | undefined;
  for (let i = 0; i < work.length; i++) {
    const group = work[i] as RowGroupWork;
    let ranges: FetchedRange[] | undefined = await (prefetched ?? fetch(group));
    const next = work[i + 1];
    prefetched = next && next.fetchBytes <= PREFETCH_LIMIT_BYTES ? fetch(next) : undefined;
    const opened = openRowGroup(object, schemaTree, group, ranges, columns);
    if (!pool) ranges = undefined; // the leaves hold the bytes they need
    yield { group, columns: opened };
    // The consumer asked for the next group (a pool's consumer no longer reads this one): its buffers are free.
    // Not on an early exit: a prefetch may still be writing into buffers of the pool.
    if (pool && ranges) giveBack(pool, ranges);
    ranges = undefined;
  }
}

/** The requested columns (all by default); missing or unsupported ones are refused before any data is read. */
function selectColumns(
  available: readonly SourceColumn[],
  object: SourceObject,
  requested: readonly string[] | undefined,
): SourceColumn[] {
  const byName = new Map(available.map((column) => [column.name, column]));
  const selected = requested
    ? requested.map((name) => {
        const column = byName.get(name);
        if (!column) {
          throw new SchemaMismatchError(
            `${object.uri} has no column "${name}" (it has ${available.map((c) => `"${c.name}"`).join(', ')}) — remove the column from the load or fix the object`,
          );
        }
        return column;
      })
    : [...available];
  for (const column of selected) {
    const detail = unsupportedDetail(column.type);
    if (detail) {
      throw new SchemaMismatchError(
        `${object.uri} column "${column.name}" has Parquet type ${column.parquetType}, which shadowfill cannot decode (${detail}) — leave the column out of the load`,
      );
    }
  }
  return selected;
}

function planRowGroups(
  metadata: FileMetaData,
  names: string[],
  padding: number,
  limit: number,
): RowGroupWork[] {
  const work: RowGroupWork[] = [];
  let groupStart = 0;
  metadata.row_groups.forEach((rowGroup, index) => {
    const groupRows = Number(rowGroup.num_rows);
    if (groupRows > 0) {
      const planned = parquetPlanGroup({
        rowGroup,
        groupStart,
        groupRows,
        ranges: [[0, groupRows]],
        columns: names,
      });
      const plan = planned.groups[0];
      const fetches = padding > 0 ? paddedRanges(planned.fetches, padding, limit) : planned.fetches;
      const fetchBytes = fetches.reduce((sum, f) => sum + (f.endByte - f.startByte), 0);
      if (plan) work.push({ index, groupRows, plan, padding, limit, fetches, fetchBytes });
    }
    groupStart += groupRows;
  });
  return work;
}

/** Verifies every page checksum of the group's selected column chunks and prepares a decoder per leaf. */
function openRowGroup(
  object: SourceObject,
  schemaTree: SchemaTree,
  group: RowGroupWork,
  ranges: readonly FetchedRange[],
  columns: readonly SourceColumn[],
): OpenedColumn[] {
  const leavesByColumn = new Map<string, OpenedLeaf[]>();
  for (const chunk of group.plan.chunks) {
    const meta = chunk.columnMetadata;
    const path = meta.path_in_schema.join('.');
    const end = Math.max(chunk.range.endByte, Math.min(chunk.range.endByte + group.padding, group.limit));
    const bytes = bytesOf(ranges, chunk.range.startByte, end);
    const numValues = Number(meta.num_values);
    verifyPageChecksums(object, {
      column: path,
      rowGroup: group.index,
      bytes,
      fileOffset: chunk.range.startByte,
      numValues,
    });
    const top = meta.path_in_schema[0] ?? '';
    let schemaPath: SchemaTree[];
    try {
      schemaPath = getTreePath(schemaTree, meta.path_in_schema);
    } catch (error) {
      throw undecodableColumn(object, top, group.index, reasonOf(error), error);
    }
    const decoder: ColumnDecoder = {
      pathInSchema: meta.path_in_schema,
      element: (schemaPath[schemaPath.length - 1] as SchemaTree).element,
      schemaPath,
      type: meta.type,
      codec: meta.codec,
      parsers,
      compressors,
      utf8: false,
    };
    const leaves = leavesByColumn.get(top) ?? [];
    leaves.push({ path, bytes, decoder, numValues });
    leavesByColumn.set(top, leaves);
  }
  return columns.map((column) => {
    const leaves = leavesByColumn.get(column.name);
    const node = schemaTree.children.find((child) => child.element.name === column.name);
    if (!leaves || !node) {
      throw undecodableColumn(object, column.name, group.index, 'the column chunk is missing');
    }
    return { column, node, leaves };
  });
}

/** Rows [start, start + rows) of the group for one top-level column, assembled and normalized. */
export function takeRows(
  object: SourceObject,
  group: RowGroupWork,
  slicer: ColumnSlicer,
  start: number,
  rows: number,
): ArrayLike<unknown> {
  const { column, node, leaves } = slicer;
  let data: DecodedArray;
  try {
    if (node.children.length === 0) {
      data = (leaves[0] as { reader: LeafPageReader }).reader.take(rows);
    } else {
      const subcolumns = new Map<string, DecodedArray>();
      for (const leaf of leaves) subcolumns.set(leaf.path, leaf.reader.take(rows));
      assembleNested(subcolumns, node, parsers);
      const assembled = subcolumns.get(column.name);
      if (!assembled) throw new Error('parquet column data not assembled');
      data = assembled;
    }
  } catch (error) {
    throw decodeFailure(object, column.name, group.index, error);
  }
  if (data.length !== rows) {
    throw undecodableColumn(
      object,
      column.name,
      group.index,
      `decoded ${data.length} values for rows ${start}–${start + rows} of the row group`,
    );
  }
  if (isFinalAsDecoded(column.type, column.parquetType)) return data;
  const normalized: unknown[] = ArrayBuffer.isView(data) ? Array.from(data as ArrayLike<unknown>) : data;
  let row = 0;
  try {
    for (; row < normalized.length; row++) normalized[row] = normalizeValue(column.type, normalized[row]);
  } catch (error) {
    throw decodeFailure(object, column.name, group.index, error, start + row);
  }
  return normalized;
}

/** After the group's last slice: a column chunk with more rows than the row group is corrupt. */
export function checkExhausted(
  object: SourceObject,
  group: RowGroupWork,
  slicer: {
    readonly column: SourceColumn;
    readonly leaves: readonly { readonly reader: { remainingRows(): number } }[];
  },
): void {
  for (const leaf of slicer.leaves) {
    let extra: number;
    try {
      extra = leaf.reader.remainingRows();
    } catch (error) {
      throw decodeFailure(object, slicer.column.name, group.index, error);
    }
    if (extra !== 0) {
      throw undecodableColumn(
        object,
        slicer.column.name,
        group.index,
        `the column chunk has ${extra} more rows than the row group's ${group.groupRows}`,
      );
    }
  }
}

export function decodeFailure(
  object: SourceObject,
  column: string,
  rowGroup: number,
  error: unknown,
  row?: number,
): Error {
  if (error instanceof UnrepresentableValueError) {
    const where = row === undefined ? '' : `row ${row} of the row group: `;
    return unrepresentableValue(object, column, rowGroup, `${where}${error.message}`, error);
  }
  return undecodableColumn(object, column, rowGroup, reasonOf(error), error);
}
