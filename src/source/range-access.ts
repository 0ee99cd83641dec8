/**
 * What a random-access reader of one object is, without any object store client: hyparquet's AsyncBuffer, and a
 * RangeReader that can also read a range into memory the caller owns, and the rules every implementation shares.
 * range-reader.ts implements it over S3 GetObject; decode threads, which load no SDK, over presigned URLs
 * (src/workers/remote-reader.ts).
 */
import type { AsyncBuffer } from 'hyparquet';
import { SourceError } from '../errors.ts';

export type { AsyncBuffer };

/**
 * An AsyncBuffer that can also read a range into memory the caller owns (no buffer per read, no concatenation of
 * the response's chunks): `sliceInto(start, target)` fills bytes [start, start + target.length) and returns them —
 * `target` itself, or the same bytes in the same buffer handed back from another thread (the caller then uses the
 * returned view: `target` was transferred away and is empty).
 */
export interface RangeReader extends AsyncBuffer {
  sliceInto(start: number, target: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
}

/** True when `buffer` can read ranges into the caller's memory. */
export function isRangeReader(buffer: AsyncBuffer): buffer is RangeReader {
  return typeof (buffer as Partial<RangeReader>).sliceInto === 'function';
}

/** An offset as hyparquet passes it (negative: from the end) clamped into [0, length]. */
export function clampOffset(offset: number, length: number): number {
  const relative = offset < 0 ? length + offset : offset;
  return Math.min(Math.max(0, Math.floor(relative)), length);
}

/** A read of `what` that got `got` bytes instead of `wanted` from an object listed with `size` bytes. */
export function shortRead(what: string, got: number, wanted: number, size: number): SourceError {
  return new SourceError(
    'SOURCE_CORRUPT',
    `cannot ${what}: got ${got} bytes instead of ${wanted} — the object changed since it was listed (size ${size})`,
  );
}
