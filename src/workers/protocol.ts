/**
 * Messages between the decode pool (main thread) and its decode workers. One task = one object. Flow control is
 * by credits: a worker sends a piece only while it holds a credit for the task, and the pool returns a credit
 * each time its consumer takes a piece, so at most `window` pieces per task wait in memory. A pooled piece's buffer
 * goes back to its worker (`recycle`) once the consumer released it.
 */
import type { RowFilter } from '../adapter/contract.ts';
import {
  ConfigError,
  SchemaMismatchError,
  ShadowfillError,
  SourceError,
  type ShadowfillErrorCode,
} from '../errors.ts';
import type { S3ErrorContext } from '../source/s3-errors.ts';
import type { SourceObject } from '../source/types.ts';
import type { EncoderSpec } from './encoder.ts';
import type { PieceBufferStats } from './piece-buffers.ts';

export interface DecodeTask {
  readonly id: number;
  /** The object; the worker reads it with URLs the pool presigns on the main thread (`sign`). */
  readonly object: SourceObject;
  /** The store's endpoint, region and bucket, for messages (no credentials). */
  readonly store: S3ErrorContext;
  /** Top-level columns to decode, in order. */
  readonly columns: readonly string[];
  readonly filter: RowFilter | undefined;
  readonly encoder: EncoderSpec;
  /** Rows per piece (≥ 1). */
  readonly pieceRows: number;
  /** Pieces the worker may send before the first credit comes back (≥ 1). */
  readonly window: number;
}

export type ToWorker =
  | { readonly type: 'task'; readonly task: DecodeTask }
  | { readonly type: 'credit'; readonly id: number }
  | { readonly type: 'cancel'; readonly id: number }
  /** A pooled piece's buffer, transferred back once its consumer released it (piece-buffers.ts). */
  | { readonly type: 'recycle'; readonly buffer: ArrayBuffer }
  /** The presigned URL a `sign` asked for (remote-reader.ts). */
  | { readonly type: 'signed'; readonly sign: number; readonly url: string }
  | { readonly type: 'sign-error'; readonly sign: number; readonly error: SerializedError };

export type FromWorker =
  | {
      readonly type: 'piece';
      readonly id: number;
      readonly rowGroup: number;
      readonly rows: number;
      readonly bytes: Uint8Array;
      /** The bytes' buffer is the worker's to reuse once the consumer releases the piece. */
      readonly pooled: boolean;
      /** The encoder's summary of the piece's rows (`EncodedPiece.summary`). */
      readonly summary?: unknown;
    }
  | {
      readonly type: 'done';
      readonly id: number;
      readonly rows: number;
      /** The thread's piece buffers so far. */
      readonly buffers: PieceBufferStats;
    }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError }
  /**
   * A presigned GET URL of task `id`'s object, made by the pool with the main thread's S3 client (the threads
   * load no object store client: 0.2 s of start and ~12 MiB each, and hold no credentials).
   */
  | { readonly type: 'sign'; readonly id: number; readonly sign: number };

/**
 * An error crossing the thread boundary: typed errors keep their code and retryability (retries depend on them)
 * and come back as the same class for the source, schema and configuration errors a decode worker raises.
 */
export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code: ShadowfillErrorCode | undefined;
  readonly exitCode: number | undefined;
  readonly retryable?: boolean | undefined;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof ShadowfillError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      exitCode: error.exitCode,
      retryable: error.retryable,
    };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, code: undefined, exitCode: undefined };
}

export function deserializeError(error: SerializedError): Error {
  const { code, message } = error;
  if (code) {
    if (error.name === 'SchemaMismatchError' && code === 'SCHEMA_MISMATCH')
      return new SchemaMismatchError(message);
    if (error.name === 'ConfigError' && code === 'CONFIG_INVALID') return new ConfigError(message);
    if (error.name === 'SourceError' && code.startsWith('SOURCE_')) {
      return new SourceError(code as ConstructorParameters<typeof SourceError>[0], message);
    }
    const e = new ShadowfillError(code, message, {
      exitCode: error.exitCode,
      ...(error.retryable === undefined ? {} : { retryable: error.retryable }),
    });
    e.name = error.name;
    return e;
  }
  const e = new Error(error.message);
  e.name = error.name;
  return e;
}
