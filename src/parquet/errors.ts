/**
 * The SourceErrors the Parquet reader throws, with one-line messages that name the object (and the column and
 * row group when known) and say what to do.
 */
import { ShadowfillError, SourceError } from '../errors.ts';
import type { SourceObject } from '../source/types.ts';

/** First line of an underlying error's message, for use as a reason. */
export function reasonOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? text).trim() || 'unknown error';
}

/** The object is not a readable Parquet file (bad footer, truncated, bad page checksum, undecodable page). */
export function corruptObject(object: SourceObject, reason: string, cause?: unknown): SourceError {
  return new SourceError(
    'SOURCE_CORRUPT',
    `${object.uri} is not a readable Parquet file: ${reason} — replace or remove the object`,
    { cause },
  );
}

/** Decoding one column of one row group failed; the message names both. */
export function undecodableColumn(
  object: SourceObject,
  column: string,
  rowGroup: number,
  reason: string,
  cause?: unknown,
): SourceError {
  return corruptObject(object, `column "${column}" of row group ${rowGroup}: ${reason}`, cause);
}

/** A value that decodes but cannot be represented (e.g. a timestamp beyond the JS Date range). */
export function unrepresentableValue(
  object: SourceObject,
  column: string,
  rowGroup: number,
  reason: string,
  cause?: unknown,
): SourceError {
  return new SourceError(
    'SOURCE_CORRUPT',
    `${object.uri} column "${column}" row group ${rowGroup}: ${reason} — fix or remove those rows in the source object`,
    { cause },
  );
}

/** Reading bytes from the store failed with something other than a typed error of the object-store module. */
export function fetchFailed(object: SourceObject, what: string, error: unknown): ShadowfillError {
  if (error instanceof ShadowfillError) return error;
  return new SourceError(
    'SOURCE_UNREACHABLE',
    `${object.uri}: reading ${what} failed: ${reasonOf(error)} — check that the object store is reachable and retry`,
    { cause: error },
  );
}
