/**
 * Decodes a Parquet object into RowChunks, one row group at a time and column-wise.
 *
 * For each row group only the selected columns' chunk byte ranges are fetched (the next row group's bytes are
 * prefetched while the current one is consumed), their page CRCs are verified, and hyparquet decodes them.
 * Peak memory is about two row groups' compressed bytes plus one row group's decoded values, whatever the
 * size of the object. Values follow the representation documented in values.ts (timestamps → Date /
 * PreciseDate, DECIMAL → exact strings, INT64 → bigint, LIST → arrays, nulls → null).
 *
 * Failures: a non-Parquet or damaged object, a bad page checksum or an undecodable page → SourceError
 * (SOURCE_CORRUPT) naming the object, column and row group; a value that cannot be represented → SourceError
 * naming the same; a requested column that is missing or of an unsupported type → SchemaMismatchError.
 */
import * as zlib from 'node:zlib';
import { parquetSchema } from 'hyparquet';
import type { AsyncBuffer, Compressors, FileMetaData, SchemaTree } from 'hyparquet';
import { compressors as jsCompressors } from 'hyparquet-compressors';
import { parquetPlanGroup } from 'hyparquet/src/plan.js';
import { assembleAsync, readRowGroup } from 'hyparquet/src/rowgroup.js';
import type { DecodedArray, GroupPlan, QueryPlan } from 'hyparquet/src/types.js';
import type { RowChunk } from '../adapter/contract.ts';
import { SchemaMismatchError } from '../errors.ts';
import type { SourceColumn, SourceObject } from '../source/types.ts';
import { verifyPageChecksums } from './checksum.ts';
import { decodeMetadata } from './decode-metadata.ts';
import { reasonOf, undecodableColumn, unrepresentableValue } from './errors.ts';
import { readFooter } from './footer.ts';
import { bytesOf, fetchRanges, memoryBuffer } from './row-group-bytes.ts';
import type { FetchedRange } from './row-group-bytes.ts';
import { describeSchema, unsupportedDetail } from './schema.ts';
import { isFinalAsDecoded, normalizeValue, UnrepresentableValueError, valueParsers } from './values.ts';

export interface ReadRowChunksOptions {
  /** Top-level columns to decode, in this order; all columns when omitted. */
  readonly columns?: readonly string[];
  /** Split a row group into chunks of at most this many rows (default: one chunk per row group). */
  readonly maxRowsPerChunk?: number;
}

/** node:zlib's zstd decoder (Node ≥ 22.15); undefined on older Node, where fzstd (pure JS) is used. */
const nativeZstd = (zlib as { zstdDecompressSync?: (input: Uint8Array) => Uint8Array }).zstdDecompressSync;

/** Native zlib for GZIP/BROTLI (and ZSTD when available), faster than JS; hyparquet-compressors for the rest. */
const compressors: Compressors = {
  ...jsCompressors,
  GZIP: (input: Uint8Array) => zlib.gunzipSync(input),
  BROTLI: (input: Uint8Array) => zlib.brotliDecompressSync(input),
  ...(nativeZstd ? { ZSTD: (input: Uint8Array) => nativeZstd(input) } : {}),
};

interface RowGroupWork {
  readonly index: number;
  readonly groupStart: number;
  readonly groupRows: number;
  readonly plan: GroupPlan;
  readonly fetches: readonly { startByte: number; endByte: number }[];
}

/** Decoded row groups of `object`, split into chunks of at most `maxRowsPerChunk` rows. */
export async function* readRowChunks(
  buffer: AsyncBuffer,
  object: SourceObject,
  options: ReadRowChunksOptions = {},
): AsyncIterable<RowChunk> {
  const maxRows = options.maxRowsPerChunk ?? Number.POSITIVE_INFINITY;
  if (!(maxRows >= 1)) throw new RangeError(`maxRowsPerChunk must be at least 1, got ${maxRows}`);
  const footer = await readFooter(buffer, object);
  const columns = selectColumns(describeSchema(footer, object).columns, object, options.columns);
  const names = columns.map((column) => column.name);
  const metadata = decodeMetadata(footer);
  const schemaTree = parquetSchema(metadata);
  const work = planRowGroups(metadata, names);

  let pending = work[0] && fetchRanges(buffer, object, work[0].fetches, work[0].index);
  for (let i = 0; i < work.length; i++) {
    const group = work[i] as RowGroupWork;
    const ranges = await (pending as Promise<FetchedRange[]>);
    const next = work[i + 1];
    pending = next && fetchRanges(buffer, object, next.fetches, next.index);
    pending?.catch(() => undefined); // observed when awaited; avoids an unhandled rejection if we stop early
    const values = await decodeRowGroup(
      object,
      buffer.byteLength,
      metadata,
      schemaTree,
      group,
      ranges,
      columns,
    );
    for (let start = 0; start < group.groupRows; start += maxRows) {
      const end = Math.min(group.groupRows, start + maxRows);
      const sliced = new Map<string, ArrayLike<unknown>>();
      for (const [name, data] of values)
        sliced.set(name, start === 0 && end === data.length ? data : slice(data, start, end));
      yield { object, rowGroup: group.index, numRows: end - start, columns: sliced };
    }
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

function planRowGroups(metadata: FileMetaData, names: string[]): RowGroupWork[] {
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
      if (plan) work.push({ index, groupStart, groupRows, plan, fetches: planned.fetches });
    }
    groupStart += groupRows;
  });
  return work;
}

/** Verifies page checksums and decodes the selected columns of one row group: column name → values. */
async function decodeRowGroup(
  object: SourceObject,
  byteLength: number,
  metadata: FileMetaData,
  schemaTree: SchemaTree,
  group: RowGroupWork,
  ranges: readonly FetchedRange[],
  columns: readonly SourceColumn[],
): Promise<Map<string, ArrayLike<unknown>>> {
  for (const chunk of group.plan.chunks) {
    const { startByte, endByte } = chunk.range;
    verifyPageChecksums(object, {
      column: chunk.columnMetadata.path_in_schema.join('.'),
      rowGroup: group.index,
      bytes: bytesOf(ranges, startByte, endByte),
      fileOffset: startByte,
    });
  }

  const names = columns.map((column) => column.name);
  const queryPlan: QueryPlan = {
    metadata,
    rowStart: group.groupStart,
    rowEnd: group.groupStart + group.groupRows,
    columns: names,
    fetches: [],
    groups: [group.plan],
  };
  const readOptions = {
    file: memoryBuffer(byteLength, ranges),
    metadata,
    columns: names,
    compressors,
    utf8: false,
    parsers: valueParsers,
  };
  let asyncColumns: { pathInSchema: string[]; data: Promise<{ data: DecodedArray[]; skipped: number }> }[];
  try {
    asyncColumns = assembleAsync(
      readRowGroup(readOptions, queryPlan, group.plan),
      schemaTree,
      valueParsers,
    ).asyncColumns;
  } catch (error) {
    throw undecodableColumn(object, names.join('", "'), group.index, reasonOf(error), error);
  }
  const settled = await Promise.allSettled(asyncColumns.map((column) => column.data));

  const decoded = new Map<string, { data: DecodedArray[]; skipped: number }>();
  settled.forEach((result, i) => {
    const name = asyncColumns[i]?.pathInSchema[0] ?? '?';
    if (result.status === 'rejected') throw decodeFailure(object, name, group.index, result.reason);
    decoded.set(name, result.value);
  });

  const values = new Map<string, ArrayLike<unknown>>();
  for (const column of columns) {
    const result = decoded.get(column.name);
    if (!result) throw undecodableColumn(object, column.name, group.index, 'the column chunk is missing');
    const data = concatChunks(result.data);
    if (result.skipped !== 0 || data.length !== group.groupRows) {
      throw undecodableColumn(
        object,
        column.name,
        group.index,
        `decoded ${data.length} values but the row group has ${group.groupRows} rows`,
      );
    }
    if (isFinalAsDecoded(column.type, column.parquetType)) {
      values.set(column.name, data);
      continue;
    }
    const normalized: unknown[] = ArrayBuffer.isView(data) ? Array.from(data as ArrayLike<unknown>) : data;
    let row = 0;
    try {
      for (; row < normalized.length; row++) normalized[row] = normalizeValue(column.type, normalized[row]);
    } catch (error) {
      throw decodeFailure(object, column.name, group.index, error, row);
    }
    values.set(column.name, normalized);
  }
  return values;
}

function decodeFailure(
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

type TypedArray = Exclude<DecodedArray, unknown[]>;

/** One array from hyparquet's per-page arrays; typed arrays stay typed when every page has the same type. */
function concatChunks(chunks: DecodedArray[]): DecodedArray {
  if (chunks.length === 1) return chunks[0] as DecodedArray;
  if (chunks.length === 0) return [];
  const first = chunks[0] as DecodedArray;
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  if (ArrayBuffer.isView(first) && chunks.every((chunk) => chunk.constructor === first.constructor)) {
    const Typed = first.constructor as new (length: number) => TypedArray;
    const out = new Typed(total);
    let offset = 0;
    for (const chunk of chunks) {
      (out as unknown as { set(source: ArrayLike<unknown>, offset: number): void }).set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
  const out: unknown[] = new Array<unknown>(total);
  let offset = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) out[offset++] = chunk[i];
  }
  return out;
}

function slice(data: ArrayLike<unknown>, start: number, end: number): ArrayLike<unknown> {
  if (ArrayBuffer.isView(data)) return (data as unknown as TypedArray).subarray(start, end);
  return (data as unknown[]).slice(start, end);
}
