/**
 * A decode thread's reader of one object: every range is read by the pool on the main thread (pool.ts answers
 * the `read` messages with its S3 client), so a decode thread loads no object store client — the AWS SDK costs
 * a thread about 0.2 s of start and 12 MiB. `sliceInto` sends the caller's buffer along (transferred to the main
 * thread and back), so row groups still land in the thread's reusable buffers without a copy.
 */
import type { RangeReader } from '../source/range-access.ts';
import type { SourceObject } from '../source/types.ts';

/** Asks the main thread for bytes [start, end), into `buffer` when given; resolves with the buffer holding them. */
export type ReadRequest = (start: number, end: number, buffer?: ArrayBuffer) => Promise<ArrayBuffer>;

export function remoteRangeReader(object: SourceObject, request: ReadRequest): RangeReader {
  const byteLength = object.size;
  return {
    byteLength,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const from = clamp(start, byteLength);
      const to = end === undefined ? byteLength : clamp(end, byteLength);
      if (to <= from) return new ArrayBuffer(0);
      return request(from, to);
    },
    async sliceInto(start: number, target: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
      const length = target.length; // read before the transfer empties `target`
      if (length === 0) return target;
      const from = clamp(start, byteLength);
      if (target.byteOffset === 0) {
        // The target's buffer travels to the main thread and back: the returned view replaces `target`.
        const buffer = await request(from, from + length, target.buffer);
        return new Uint8Array(buffer, 0, length);
      }
      target.set(new Uint8Array(await request(from, from + length)));
      return target;
    },
  };
}

function clamp(offset: number, length: number): number {
  const relative = offset < 0 ? length + offset : offset;
  return Math.min(Math.max(0, Math.floor(relative)), length);
}
