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
 * The adapter contract (src/adapter/contract.ts): capability `streamInput: 'encoded'`, method
 * `encoderFor(run, batch): Promise<EncoderSpec | undefined>`; the engine hands `loadBatchFromStream` the
 * `AsyncIterable<EncodedPiece>` of `encodedBatch` (stream.ts), which the adapter writes as it is.
 */
import type { EncodedPiece, EncoderSpec, RowChunk } from '../adapter/contract.ts';
import type { ColumnarChunk } from '../parquet/columnar.ts';

/**
 * Encodes rows [start, end) of a decoded chunk — of those rows, the ones `keep` marks (indexed by row of the
 * chunk; all when absent). Throws a ShadowfillError naming object, column and row group.
 */
export interface ChunkEncoder {
  /**
   * What `encode` takes: `rows` (default) = RowChunks of readRowChunks; `columnar` = ColumnarChunks of
   * readColumnarChunks with the columns in `raw` kept raw (src/parquet/columnar.ts).
   */
  readonly input?: 'rows' | 'columnar';
  readonly raw?: readonly string[];
  /**
   * `alloc(size)`, when given, supplies the output: `size` bytes at offset 0 of a reused buffer whose contents are
   * undefined (an encoder that takes it writes every byte it returns). Encoders may ignore it.
   */
  encode(
    chunk: RowChunk | ColumnarChunk,
    start: number,
    end: number,
    keep?: Uint8Array,
    alloc?: (size: number) => Uint8Array,
  ): Uint8Array;
  /**
   * What the encoder noted about the rows of its last `encode` (plain data: it crosses threads), taken once; the
   * engine hands it to the adapter's load with the piece (`EncodedPiece.summary`) and never reads it.
   */
  takeSummary?(): unknown;
}

/** What an encoder module exports. */
export interface EncoderModule {
  createEncoder(options: unknown): ChunkEncoder;
}

export type { EncodedPiece, EncoderSpec };
