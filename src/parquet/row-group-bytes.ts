/**
 * Fetches the bytes of one row group's selected column chunks (ranged reads, adjacent chunks coalesced as
 * hyparquet plans them) and finds a column chunk's bytes among them without copying. Nothing outside those
 * ranges is read, so memory is bounded by the largest row group, not by the object.
 */
import type { AsyncBuffer } from 'hyparquet';
import { isRangeReader } from '../source/range-access.ts';
import type { SourceObject } from '../source/types.ts';
import type { BufferPool } from './buffer-pool.ts';
import { corruptObject, fetchFailed } from './errors.ts';

export interface ByteRange {
  readonly startByte: number;
  readonly endByte: number;
}

export interface FetchedRange extends ByteRange {
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/**
 * Reads every range in parallel; a short read is reported as a truncated object. With `pool` and a buffer that
 * streams ranges (range-reader.ts), each range is read into a buffer taken from the pool (give them back with
 * `giveBack` once nothing reads them).
 */
export async function fetchRanges(
  buffer: AsyncBuffer,
  object: SourceObject,
  ranges: readonly ByteRange[],
  rowGroup: number,
  pool?: BufferPool,
): Promise<FetchedRange[]> {
  const into = pool && isRangeReader(buffer) ? buffer : undefined;
  return Promise.all(
    ranges.map(async ({ startByte, endByte }) => {
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        if (into && pool) {
          bytes = await into.sliceInto(startByte, pool.take(endByte - startByte));
        } else bytes = new Uint8Array(await buffer.slice(startByte, endByte));
      } catch (error) {
        throw fetchFailed(object, `row group ${rowGroup} (bytes ${startByte}–${endByte})`, error);
      }
      if (bytes.byteLength !== endByte - startByte) {
        throw corruptObject(
          object,
          `row group ${rowGroup}: reading bytes ${startByte}–${endByte} returned ${bytes.byteLength} bytes (truncated object?)`,
        );
      }
      return { startByte, endByte, bytes };
    }),
  );
}

/** The fetched bytes of [startByte, endByte), which must lie inside one fetched range. */
export function bytesOf(
  ranges: readonly FetchedRange[],
  startByte: number,
  endByte: number,
): Uint8Array<ArrayBuffer> {
  const range = ranges.find((r) => r.startByte <= startByte && endByte <= r.endByte);
  if (!range) throw new Error(`bytes ${startByte}–${endByte} were not fetched`);
  return range.bytes.subarray(startByte - range.startByte, endByte - range.startByte);
}

/** Gives the ranges' buffers back to `pool` (only buffers it gave out: a pool ignores nothing, so pass the same one). */
export function giveBack(pool: BufferPool, ranges: readonly FetchedRange[]): void {
  for (const range of ranges) pool.give(range.bytes);
}
