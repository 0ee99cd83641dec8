/**
 * Reusable byte buffers for row-group reads (rows.ts `openedRowGroups` with `buffers`): the selected column chunks
 * of a row group are streamed into a buffer taken here, and the buffer is given back once the reader has moved past
 * the group, so a long load downloads into the same few buffers instead of allocating (and leaving to the garbage
 * collector) one per row group. Best fit; a new buffer gets some headroom so row groups of similar size share it.
 */

export interface BufferPoolStats {
  readonly allocated: number;
  readonly reused: number;
}

const HEADROOM = 1.125;
const GRANULE = 64 * 1024;

export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  private counts = { allocated: 0, reused: 0 };

  /** @param keep free buffers kept (beyond them the smallest is dropped) */
  constructor(private readonly keep = 4) {}

  /** `size` bytes at offset 0 of a buffer; their contents are undefined until written. */
  take(size: number): Uint8Array<ArrayBuffer> {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const capacity = this.free[i]!.byteLength;
      if (capacity >= size && (best < 0 || capacity < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) {
      this.counts.reused += 1;
      return new Uint8Array(this.free.splice(best, 1)[0]!, 0, size);
    }
    this.counts.allocated += 1;
    return new Uint8Array(new ArrayBuffer(Math.ceil((size * HEADROOM) / GRANULE) * GRANULE), 0, size);
  }

  /** Gives back a buffer `take` gave out, once nothing reads its bytes any more. */
  give(bytes: Uint8Array<ArrayBuffer>): void {
    const buffer = bytes.buffer;
    if (buffer.byteLength === 0 || this.free.includes(buffer)) return;
    this.free.push(buffer);
    dropSmallestBeyond(this.free, this.keep);
  }

  stats(): BufferPoolStats {
    return { ...this.counts };
  }
}

/** Drops the smallest of `free` while it holds more than `keep` buffers (the pools keep their largest). */
export function dropSmallestBeyond(free: ArrayBuffer[], keep: number): void {
  while (free.length > keep) {
    let smallest = 0;
    for (let i = 1; i < free.length; i++) {
      if (free[i]!.byteLength < free[smallest]!.byteLength) smallest = i;
    }
    free.splice(smallest, 1);
  }
}
