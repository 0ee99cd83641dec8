/**
 * One object → encoded pieces, as a decode worker (decode-worker.ts) or the main thread (stream.ts, no pool)
 * produces them: the object's row groups decoded the way the adapter's encoder takes them (`rows`:
 * readRowChunks; `columnar`: readColumnarChunks with the encoder's raw columns), the run's row filter applied, and
 * pieces of at most `pieceRows` rows encoded. The row filter has the engine's one meaning
 * (src/runner/row-filter.ts): for columnar chunks it is evaluated on the filter column's values alone and handed to
 * the encoder as a mask of the rows to keep.
 */
import type { AsyncBuffer } from 'hyparquet';
import type { RowChunk, RowFilter } from '../adapter/contract.ts';
import type { BufferPool } from '../parquet/buffer-pool.ts';
import { materialize, readColumnarChunks, type ColumnarChunk } from '../parquet/columnar.ts';
import { readRowChunks } from '../parquet/rows.ts';
import { filterRowChunks } from '../runner/row-filter.ts';
import type { SourceObject } from '../source/types.ts';
import type { ChunkEncoder, EncoderModule, EncoderSpec } from './encoder.ts';

const modules = new Map<string, Promise<EncoderModule>>();

/** The encoder a spec names (its module imported once per thread). */
export async function loadEncoder(spec: EncoderSpec): Promise<ChunkEncoder> {
  let module = modules.get(spec.module);
  if (!module) {
    module = import(spec.module) as Promise<EncoderModule>;
    modules.set(spec.module, module);
  }
  return (await module).createEncoder(spec.options);
}

export interface EncodedRows {
  readonly rowGroup: number;
  readonly rows: number;
  readonly bytes: Uint8Array;
  /** The encoder's `takeSummary()` for these rows, when it gives one. */
  readonly summary?: unknown;
}

/** A piece as encoded, with the encoder's summary of its rows where it gives one. */
function piece(rowGroup: number, rows: number, bytes: Uint8Array, encoder: ChunkEncoder): EncodedRows {
  const summary = encoder.takeSummary?.();
  return summary === undefined ? { rowGroup, rows, bytes } : { rowGroup, rows, bytes, summary };
}

/** The row positions' column in the RowChunk handed to filterRowChunks (never a source column name). */
const ROW = '\u0000shadowfill_row';

/**
 * Which rows of a columnar chunk pass the filter (mask undefined = all). Runs filterRowChunks over a RowChunk of
 * the filter column's values and the row positions, so the comparison is the engine's own.
 */
async function keepMask(
  chunk: ColumnarChunk,
  filter: RowFilter,
): Promise<{ mask: Uint8Array | undefined; kept: number }> {
  const vector = chunk.columns.get(filter.column);
  const positions = new Int32Array(chunk.numRows);
  for (let i = 0; i < positions.length; i++) positions[i] = i;
  const columns = new Map<string, ArrayLike<unknown>>([[ROW, positions]]);
  // Without the column, filterRowChunks refuses the chunk with the engine's message.
  if (vector) columns.set(filter.column, materialize(chunk, vector));
  const single: RowChunk = {
    object: chunk.object,
    rowGroup: chunk.rowGroup,
    numRows: chunk.numRows,
    columns,
  };
  const mask = new Uint8Array(chunk.numRows);
  let kept = 0;
  for await (const passed of filterRowChunks(once(single), filter)) {
    if (passed === single) return { mask: undefined, kept: chunk.numRows };
    const rows = passed.columns.get(ROW)!;
    for (let i = 0; i < rows.length; i++) mask[rows[i] as number] = 1;
    kept += passed.numRows;
  }
  return { mask, kept };
}

async function* once<T>(item: T): AsyncIterable<T> {
  yield item;
}

/** Encoded pieces of one object, in row order. */
export async function* encodeObject(args: {
  readonly buffer: AsyncBuffer;
  readonly object: SourceObject;
  readonly columns: readonly string[];
  readonly filter: RowFilter | undefined;
  readonly encoder: ChunkEncoder;
  readonly pieceRows: number;
  /** Supplies pieces' bytes from reused buffers (piece-buffers.ts); fresh ones when absent. */
  readonly alloc?: (size: number) => Uint8Array;
  /** Row groups are downloaded into these reused buffers (columnar input: each chunk is encoded before the next). */
  readonly rowGroupBuffers?: BufferPool;
}): AsyncIterable<EncodedRows> {
  const { buffer, object, filter, encoder, pieceRows, alloc } = args;
  if (encoder.input === 'columnar') {
    const chunks = readColumnarChunks(buffer, object, {
      columns: [...args.columns],
      raw: encoder.raw ?? [],
      ...(args.rowGroupBuffers ? { buffers: args.rowGroupBuffers } : {}),
    });
    for await (const chunk of chunks) {
      let mask: Uint8Array | undefined;
      if (filter) {
        const selected = await keepMask(chunk, filter);
        if (selected.kept === 0) continue;
        mask = selected.mask;
      }
      for (let start = 0; start < chunk.numRows; start += pieceRows) {
        const stop = Math.min(chunk.numRows, start + pieceRows);
        let rows = stop - start;
        if (mask) {
          rows = 0;
          for (let i = start; i < stop; i++) rows += mask[i]!;
          if (rows === 0) continue;
        }
        yield piece(chunk.rowGroup, rows, encoder.encode(chunk, start, stop, mask, alloc), encoder);
      }
    }
    return;
  }
  const chunks = readRowChunks(buffer, object, { columns: [...args.columns] });
  for await (const chunk of filterRowChunks(chunks, filter)) {
    for (let start = 0; start < chunk.numRows; start += pieceRows) {
      const stop = Math.min(chunk.numRows, start + pieceRows);
      yield piece(
        chunk.rowGroup,
        stop - start,
        encoder.encode(chunk, start, stop, undefined, alloc),
        encoder,
      );
    }
  }
}
