/**
 * What a random-access reader of one object is, without any object store client: hyparquet's AsyncBuffer, and a
 * RangeReader that can also read a range into memory the caller owns. Decode threads import only this (their
 * reads go through the main thread's S3 client, src/workers/remote-reader.ts); range-reader.ts implements it over
 * S3 GetObject.
 */
import type { AsyncBuffer } from 'hyparquet';

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
