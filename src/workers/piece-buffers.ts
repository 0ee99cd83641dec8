/**
 * Reusable buffers for encoded pieces. A decode worker encodes about as many bytes of pieces as the load sends
 * (≈ 100 bytes per PyPI row in binary COPY); allocating each piece afresh made every decode thread's malloc arena
 * hold tens of MiB of freed pieces (ArrayBuffers are freed only at a garbage collection of the isolate that holds
 * them last — for a transferred piece, the main thread's). With these buffers a piece's memory goes back to the
 * worker once the consumer has written it (`EncodedPiece.release`, pool.ts) and is encoded into again, so the
 * bytes a lane keeps in flight are a handful of buffers, allocated once.
 *
 * Terminology:
 * - **pooled**   A buffer `take` gave out that `give` takes back: at least `minBytes` long (smaller pieces are
 *                allocated exactly and never pooled: a consumer may still hold a small write in a socket queue
 *                when its write callback fires; see EncodedPiece.release).
 */
import { dropSmallestBeyond } from '../parquet/buffer-pool.ts';

export interface PieceBufferOptions {
  /** Pieces smaller than this are allocated exactly and not pooled. Default 256 KiB. */
  readonly minBytes?: number;
  /** Free buffers kept for reuse (beyond them, returned buffers are dropped). Default 8. */
  readonly keep?: number;
}

export interface PieceBufferStats {
  /** Pooled buffers allocated. */
  readonly allocated: number;
  /** Pieces encoded into a buffer given back. */
  readonly reused: number;
  /** Pieces too small to pool. */
  readonly unpooled: number;
}

const DEFAULT_MIN_BYTES = 256 * 1024;
const DEFAULT_KEEP = 8;
/** Capacity headroom of a new pooled buffer (pieces of one table vary a little in size) and its rounding. */
const HEADROOM = 1.25;
const GRANULE = 64 * 1024;

export class PieceBuffers {
  readonly minBytes: number;
  private readonly keep: number;
  private readonly free: ArrayBuffer[] = [];
  private readonly pooled = new WeakSet<ArrayBuffer>();
  private counts = { allocated: 0, reused: 0, unpooled: 0 };

  constructor(options: PieceBufferOptions = {}) {
    this.minBytes = options.minBytes ?? DEFAULT_MIN_BYTES;
    this.keep = options.keep ?? DEFAULT_KEEP;
  }

  /** `size` bytes at offset 0 of a buffer (contents undefined: the caller writes every byte it hands on). */
  take(size: number): Uint8Array<ArrayBuffer> {
    if (size < this.minBytes) {
      this.counts.unpooled += 1;
      return new Uint8Array(size);
    }
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const capacity = this.free[i]!.byteLength;
      if (capacity >= size && (best < 0 || capacity < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) {
      const buffer = this.free.splice(best, 1)[0]!;
      this.counts.reused += 1;
      return new Uint8Array(buffer, 0, size);
    }
    const buffer = new ArrayBuffer(Math.ceil((size * HEADROOM) / GRANULE) * GRANULE);
    this.pooled.add(buffer);
    this.counts.allocated += 1;
    return new Uint8Array(buffer, 0, size);
  }

  /** True for a buffer `take` gave out pooled (one the consumer may give back). */
  isPooled(buffer: ArrayBufferLike): boolean {
    return buffer instanceof ArrayBuffer && this.pooled.has(buffer);
  }

  /**
   * Takes back a buffer of a pooled piece whose bytes nobody reads any more (transferred back from the main thread
   * it is a new ArrayBuffer object over the same memory); the smallest is dropped beyond `keep`.
   */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength < this.minBytes || this.free.includes(buffer)) return;
    this.pooled.add(buffer);
    this.free.push(buffer);
    dropSmallestBeyond(this.free, this.keep);
  }

  stats(): PieceBufferStats {
    return { ...this.counts };
  }
}
