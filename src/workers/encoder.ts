/**
 * The contract between the engine's decode workers and an adapter's encoding.
 *
 * Terminology:
 * - **decode worker**  A worker thread of the engine (src/workers/decode-worker.ts) that reads one object's row
 *                      groups from the store, decodes them (src/parquet/rows.ts), applies the run's row filter,
 *                      and hands the rows to the adapter's encoder — all off the main thread.
 * - **encoder module** A module named by the adapter (by URL) whose `createEncoder(options)` turns decoded rows
 *                      into the bytes the adapter's loader sends as they are (TimescaleDB: COPY text with the
 *                      batch column). The engine never looks inside the bytes and never writes target SQL; the
 *                      adapter never decides which object is decoded where or when.
 * - **piece**          The encoded bytes of consecutive rows of one row group (at most `pieceRows` rows),
 *                      transferred from the worker to the main thread without a copy.
 *
 * Proposed adapter contract (for the scheduler wave; not in src/adapter/contract.ts yet): a capability
 * `streamInput: 'encoded'` and a method `encoderFor(run, batch): EncoderSpec`; the engine then hands
 * `loadBatchFromStream` an `AsyncIterable<EncodedPiece>`, which the adapter writes to its COPY stream.
 */
import type { RowChunk } from '../adapter/contract.ts';
import type { SourceObject } from '../source/types.ts';

/** Which encoder a worker runs: a module URL and its options (structured-cloneable: plain data only). */
export interface EncoderSpec {
  /** `file:` URL of a module exporting `createEncoder` (see EncoderModule). */
  readonly module: string;
  readonly options: unknown;
}

/** Encodes rows [start, end) of a decoded chunk. Throws a ShadowfillError naming object, column and row group. */
export interface ChunkEncoder {
  encode(chunk: RowChunk, start: number, end: number): Uint8Array;
}

/** What an encoder module exports. */
export interface EncoderModule {
  createEncoder(options: unknown): ChunkEncoder;
}

/** One piece handed to the adapter's loader, in object order. */
export interface EncodedPiece {
  readonly object: SourceObject;
  readonly rowGroup: number;
  readonly rows: number;
  readonly bytes: Uint8Array;
}
