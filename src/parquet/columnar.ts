/**
 * Decodes a Parquet object into ColumnarChunks: the same row groups, slices, checks and errors as readRowChunks
 * (rows.ts), but the columns named in `raw` that are flat (neither nested nor repeated, not INT96) keep their
 * Parquet physical representation (raw-pages.ts: typed arrays, strings as bytes in their page, dictionary pages
 * as dictionary + indices) instead of becoming one JS value per row. A consumer that writes bytes — the binary
 * COPY encoder of the TimescaleDB adapter — thus never creates a Date, string or bigint per value. Every other
 * column comes as values in the representation of values.ts, exactly as readRowChunks gives them.
 *
 * `materialize` turns a raw column back into those values (the row filter and tests use it): readRowChunks and
 * readColumnarChunks + materialize give the same values for every column.
 */
import type { AsyncBuffer } from 'hyparquet';
import type { SourceColumn, SourceObject } from '../source/types.ts';
import type { BufferPool } from './buffer-pool.ts';
import { convert, type ColumnDecoder, type DecodedArray } from './hyparquet-internals.ts';
import { undecodableColumn } from './errors.ts';
import { isRawDecodable, RawLeafReader, type RawSegment, type RawValues } from './raw-pages.ts';
import {
  checkExhausted,
  decodeFailure,
  maxRowsOf,
  openedRowGroups,
  pageSlicer,
  takeRows,
  type ColumnSlicer,
  type OpenedColumn,
  type ReadRowChunksOptions,
} from './rows.ts';
import { isFinalAsDecoded, normalizeValue } from './values.ts';

/** One column of a ColumnarChunk. */
export type ColumnVector =
  | {
      readonly kind: 'raw';
      /** Consecutive runs of rows (one per page touched), covering the chunk's rows in order. */
      readonly segments: readonly RawSegment[];
      /** How the leaf was decoded (physical type, logical annotation): what `materialize` converts with. */
      readonly decoder: ColumnDecoder;
      readonly column: SourceColumn;
    }
  | { readonly kind: 'values'; readonly values: ArrayLike<unknown> };

/** A decoded slice of an object, column-wise; see the file header. */
export interface ColumnarChunk {
  readonly object: SourceObject;
  readonly rowGroup: number;
  readonly numRows: number;
  readonly columns: ReadonlyMap<string, ColumnVector>;
}

export interface ReadColumnarChunksOptions extends ReadRowChunksOptions {
  /** Columns to keep raw where they are flat; all others come as values. Default: none. */
  readonly raw?: readonly string[];
  /**
   * Download row groups into reused buffers (rows.ts `openedRowGroups`), and reuse the arrays of dictionary
   * indices and levels from chunk to chunk. Only for a consumer that is done with a chunk — its raw segments point
   * into those buffers and arrays — when it asks for the next one.
   */
  readonly buffers?: BufferPool;
}

interface RawSlicer {
  readonly kind: 'raw';
  readonly column: SourceColumn;
  readonly decoder: ColumnDecoder;
  readonly leaves: readonly { readonly reader: RawLeafReader }[];
}

type Slicer = RawSlicer | (ColumnSlicer & { readonly kind: 'values' });

/** Decoded row groups of `object`, split into chunks of at most `maxRowsPerChunk` rows. */
export async function* readColumnarChunks(
  buffer: AsyncBuffer,
  object: SourceObject,
  options: ReadColumnarChunksOptions = {},
): AsyncIterable<ColumnarChunk> {
  const maxRows = maxRowsOf(options);
  const raw = new Set(options.raw ?? []);
  for await (const opened of openedRowGroups(buffer, object, options.columns, options.buffers)) {
    const group = opened.group;
    const reuse = options.buffers !== undefined;
    const slicers = opened.columns.map((column): Slicer =>
      slicerFor(column, raw.has(column.column.name), reuse),
    );
    for (let start = 0; start < group.groupRows; start += maxRows) {
      const rows = Math.min(maxRows, group.groupRows - start);
      const columns = new Map<string, ColumnVector>();
      for (const slicer of slicers) {
        if (slicer.kind === 'values') {
          columns.set(slicer.column.name, {
            kind: 'values',
            values: takeRows(object, group, slicer, start, rows),
          });
          continue;
        }
        let segments: RawSegment[];
        try {
          segments = slicer.leaves[0]!.reader.take(rows);
        } catch (error) {
          throw decodeFailure(object, slicer.column.name, group.index, error);
        }
        columns.set(slicer.column.name, {
          kind: 'raw',
          segments,
          decoder: slicer.decoder,
          column: slicer.column,
        });
      }
      yield { object, rowGroup: group.index, numRows: rows, columns };
    }
    for (const slicer of slicers) checkExhausted(object, group, slicer);
  }
}

function slicerFor(opened: OpenedColumn, wantRaw: boolean, reuse: boolean): Slicer {
  const leaf = opened.leaves[0];
  if (wantRaw && opened.node.children.length === 0 && leaf && isRawDecodable(leaf.decoder)) {
    return {
      kind: 'raw',
      column: opened.column,
      decoder: leaf.decoder,
      leaves: [{ reader: new RawLeafReader(leaf.bytes, leaf.decoder, leaf.numValues, reuse) }],
    };
  }
  return { kind: 'values', ...pageSlicer(opened) };
}

/**
 * The values of a column in the representation of values.ts (what readRowChunks gives for it). Throws a
 * SourceError naming the object, column and row group for a value that cannot be represented.
 */
export function materialize(chunk: ColumnarChunk, vector: ColumnVector): ArrayLike<unknown> {
  if (vector.kind === 'values') return vector.values;
  const column = vector.column;
  const out = new Array<unknown>(chunk.numRows);
  let row = 0;
  try {
    for (const segment of vector.segments) {
      const dense = physicalValues(segment);
      const logical = convert(dense, vector.decoder) as ArrayLike<unknown>;
      let next = 0;
      for (let i = 0; i < segment.rows; i++) {
        out[row++] = segment.defined && !segment.defined[i] ? null : (logical[next++] ?? null);
      }
    }
  } catch (error) {
    throw decodeFailure(chunk.object, column.name, chunk.rowGroup, error);
  }
  if (row !== chunk.numRows) {
    throw undecodableColumn(chunk.object, column.name, chunk.rowGroup, 'raw segments do not cover the chunk');
  }
  if (isFinalAsDecoded(column.type, column.parquetType)) return out;
  row = 0;
  try {
    for (; row < out.length; row++) out[row] = normalizeValue(column.type, out[row]);
  } catch (error) {
    throw decodeFailure(chunk.object, column.name, chunk.rowGroup, error, row);
  }
  return out;
}

/** The segment's present values, dense, as hyparquet's unconverted arrays (what `convert` takes). */
function physicalValues(segment: RawSegment): DecodedArray {
  let present = segment.rows;
  if (segment.defined) {
    present = 0;
    for (let i = 0; i < segment.rows; i++) present += segment.defined[i]!;
  }
  const at = (k: number): number =>
    segment.indices ? (segment.indices[segment.first + k] as number) : segment.first + k;
  const v: RawValues = segment.values;
  switch (v.type) {
    case 'bytes':
      return Array.from({ length: present }, (_, k) => {
        const i = at(k);
        return v.buffer.subarray(v.starts[i], v.starts[i]! + v.lengths[i]!);
      });
    case 'boolean':
      return Array.from({ length: present }, (_, k) => v.data[at(k)] === 1);
    case 'int32': {
      const out = new Int32Array(present);
      for (let k = 0; k < present; k++) out[k] = v.data[at(k)]!;
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(present);
      for (let k = 0; k < present; k++) out[k] = v.data[at(k)]!;
      return out;
    }
    case 'float': {
      const out = new Float32Array(present);
      for (let k = 0; k < present; k++) out[k] = v.data[at(k)]!;
      return out;
    }
    case 'double': {
      const out = new Float64Array(present);
      for (let k = 0; k < present; k++) out[k] = v.data[at(k)]!;
      return out;
    }
  }
}
