/**
 * The engine's side of `streamInput: 'encoded'`: a batch's objects as encoded pieces, for the adapter's
 * `loadBatchFromStream`. With a decode pool the objects are downloaded, decoded and encoded in worker threads
 * (the next object already decoding while the current one is sent; pool.ts); without one, the same code runs on
 * this thread (encode-object.ts), so a run with `workers: 1` and no threads gets the same bytes.
 *
 * The runner calls it where it streams a batch today (see docs/PERFORMANCE.md, "Integration"):
 *
 *   const spec =
 *     adapter.capabilities.streamInput === 'encoded' ? await adapter.encoderFor?.(run, batch) : undefined;
 *   if (spec) {
 *     const counter = { rows: 0 };
 *     const r = await adapter.loadBatchFromStream(run, batch, encodedBatch({
 *       pool, client, location: run.store, objects: batch.objects, columns, filter: run.filter,
 *       encoder: spec, counter }));
 *     return { landed: r.rowsWritten, streamedRows: counter.rows };
 *   }
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { EncodedPiece, EncoderSpec, RowFilter } from '../adapter/contract.ts';
import { BufferPool } from '../parquet/buffer-pool.ts';
import { s3AsyncBuffer } from '../source/range-reader.ts';
import type { ObjectStoreLocation, SourceObject } from '../source/types.ts';
import { encodeObject, loadEncoder } from './encode-object.ts';
import { PieceBuffers } from './piece-buffers.ts';
import type { DecodePool } from './pool.ts';

/** Rows per piece when not set (the pool's default too). */
export const DEFAULT_PIECE_ROWS = 16_384;

export interface EncodedBatchOptions {
  /** Decode threads; undefined = decode and encode on this thread with `client`. */
  readonly pool: DecodePool | undefined;
  /** This thread's S3 client (used without a pool). */
  readonly client: S3Client;
  readonly location: ObjectStoreLocation;
  readonly objects: readonly SourceObject[];
  /** Top-level columns to decode, in order. */
  readonly columns: readonly string[];
  readonly filter: RowFilter | undefined;
  readonly encoder: EncoderSpec;
  /** Rows that passed the filter are added here as pieces are handed over (the runner's streamed-row count). */
  readonly counter?: { rows: number };
  readonly pieceRows?: number;
  /** Objects decoding ahead of the one being sent (pool only). Default 1. */
  readonly lookahead?: number;
}

/** The batch's encoded pieces, in object order. */
export async function* encodedBatch(options: EncodedBatchOptions): AsyncIterable<EncodedPiece> {
  const pieceRows = options.pieceRows ?? DEFAULT_PIECE_ROWS;
  const counter = options.counter;
  if (options.pool) {
    const pieces = options.pool.decodeObjects(
      options.objects,
      {
        location: options.location,
        columns: options.columns,
        filter: options.filter,
        encoder: options.encoder,
        pieceRows,
      },
      options.lookahead ?? 1,
    );
    for await (const piece of pieces) {
      if (counter) counter.rows += piece.rows;
      yield piece;
    }
    return;
  }
  const encoder = await loadEncoder(options.encoder);
  // Pieces reuse buffers the consumer released, as in a decode worker (piece-buffers.ts).
  const buffers = new PieceBuffers();
  const alloc = (size: number): Uint8Array => buffers.take(size);
  const rowGroupBuffers = new BufferPool();
  for (const object of options.objects) {
    const pieces = encodeObject({
      buffer: s3AsyncBuffer(options.client, object),
      object,
      columns: options.columns,
      filter: options.filter,
      encoder,
      pieceRows,
      alloc,
      rowGroupBuffers,
    });
    for await (const piece of pieces) {
      if (counter) counter.rows += piece.rows;
      const buffer = piece.bytes.buffer;
      const release =
        buffer instanceof ArrayBuffer && buffers.isPooled(buffer)
          ? once(() => buffers.give(buffer))
          : undefined;
      yield {
        object,
        rowGroup: piece.rowGroup,
        rows: piece.rows,
        bytes: piece.bytes,
        ...(piece.summary !== undefined ? { summary: piece.summary } : {}),
        ...(release ? { release } : {}),
      };
    }
  }
}

function once(f: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    f();
  };
}
