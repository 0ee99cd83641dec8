/** Reusable buffers of the load path: piece buffers of a decode thread and row-group download buffers. */
import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../src/parquet/buffer-pool.ts';
import { PieceBuffers } from '../../src/workers/piece-buffers.ts';

describe('PieceBuffers', () => {
  it('reuses a buffer given back for the next piece that fits, and pools nothing small', () => {
    const buffers = new PieceBuffers({ minBytes: 1000, keep: 2 });
    const first = buffers.take(5000);
    expect(first.byteLength).toBe(5000);
    expect(first.byteOffset).toBe(0);
    expect(buffers.isPooled(first.buffer)).toBe(true);
    buffers.give(first.buffer);
    const second = buffers.take(4000);
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteLength).toBe(4000);
    const small = buffers.take(10);
    expect(buffers.isPooled(small.buffer)).toBe(false);
    expect(buffers.stats()).toEqual({ allocated: 1, reused: 1, unpooled: 1 });
  });

  it('a buffer transferred back (a new ArrayBuffer object) is pooled; at most `keep` are kept', () => {
    const buffers = new PieceBuffers({ minBytes: 1000, keep: 2 });
    for (const size of [2000, 3000, 4000]) buffers.give(new ArrayBuffer(size));
    buffers.give(new ArrayBuffer(10)); // too small: ignored
    // The smallest (2000) was dropped: a piece of 1500 bytes gets the 3000-byte buffer.
    expect(buffers.take(1500).buffer.byteLength).toBe(3000);
    expect(buffers.take(1500).buffer.byteLength).toBe(4000);
    expect(buffers.stats().reused).toBe(2);
    expect(buffers.take(1500).buffer.byteLength).toBeGreaterThanOrEqual(1500);
    expect(buffers.stats().allocated).toBe(1);
  });
});

describe('BufferPool', () => {
  it('best fit, then a new buffer with headroom; the same buffer is not kept twice', () => {
    const pool = new BufferPool(4);
    const a = pool.take(100_000);
    const b = pool.take(200_000);
    expect(a.buffer.byteLength).toBeGreaterThanOrEqual(100_000);
    pool.give(a);
    pool.give(a);
    pool.give(b);
    expect(pool.take(150_000).buffer).toBe(b.buffer);
    expect(pool.take(90_000).buffer).toBe(a.buffer);
    expect(pool.take(90_000).buffer).not.toBe(a.buffer);
    expect(pool.stats()).toEqual({ allocated: 3, reused: 2 });
  });
});
