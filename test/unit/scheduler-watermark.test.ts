import { describe, expect, it } from 'vitest';
import {
  advanced,
  batchRange,
  computeWatermark,
  isFinal,
  orderForBatches,
  parseWatermark,
  watermarkText,
  type BatchRange,
  type WatermarkBatch,
} from '../../src/scheduler/watermark.ts';

/** Batch k covers [10k, 10k + 9] unless given. */
function batches(finished: readonly number[], count: number, ranges?: (BatchRange | undefined)[]) {
  return Array.from({ length: count }, (_, index): WatermarkBatch => ({
    index,
    finished: finished.includes(index),
    range: ranges ? ranges[index] : { first: BigInt(index * 10), last: BigInt(index * 10 + 9) },
  }));
}

describe('watermark', () => {
  it('stays at batch 0 until batch 0 finishes, however many later batches are done', () => {
    const view = computeWatermark(batches([1, 2, 3], 4));
    expect(view.watermark).toEqual({ kind: 'at', key: 0n });
    expect(view.prefix).toBe(0);
    expect(view.stalledBy).toBe(0);
    expect(isFinal({ lo: 0n, hi: 10n }, view.watermark)).toBe(false);
    expect(isFinal({ lo: 30n, hi: 40n }, view.watermark)).toBe(false);
  });

  it('a gap stalls it: 0 and 2 done, 1 running → only what ends before batch 1 is final', () => {
    const view = computeWatermark(batches([0, 2], 4));
    expect(view.watermark).toEqual({ kind: 'at', key: 10n });
    expect(view.prefix).toBe(1);
    expect(view.stalledBy).toBe(1);
    expect(isFinal({ lo: 0n, hi: 10n }, view.watermark)).toBe(true);
    expect(isFinal({ lo: 10n, hi: 20n }, view.watermark)).toBe(false);
    // batch 2's own slice is done but behind the gap
    expect(isFinal({ lo: 20n, hi: 30n }, view.watermark)).toBe(false);
  });

  it('jumps over batches that finished out of order once the gap closes', () => {
    const before = computeWatermark(batches([0, 2, 3], 5));
    const after = computeWatermark(batches([0, 1, 2, 3], 5));
    expect(before.watermark).toEqual({ kind: 'at', key: 10n });
    expect(after.watermark).toEqual({ kind: 'at', key: 40n });
    expect(after.prefix).toBe(4);
    expect(advanced(before.watermark, after.watermark)).toBe(true);
    expect(advanced(after.watermark, before.watermark)).toBe(false);
  });

  it('is `all` when every batch finished, and everything is final', () => {
    const view = computeWatermark(batches([0, 1, 2], 3));
    expect(view.watermark).toEqual({ kind: 'all' });
    expect(view.prefix).toBe(3);
    expect(view.stalledBy).toBeUndefined();
    expect(isFinal({ lo: 10_000n, hi: 20_000n }, view.watermark)).toBe(true);
  });

  it('follows time, not plan order, when ranges overlap (a later batch with late rows holds it back)', () => {
    const ranges: BatchRange[] = [
      { first: 0n, last: 9n },
      { first: 10n, last: 19n },
      // batch 2 carries late rows going back to 5
      { first: 5n, last: 29n },
    ];
    const view = computeWatermark(batches([0, 1], 3, ranges));
    expect(view.watermark).toEqual({ kind: 'at', key: 5n });
    expect(view.prefix).toBe(2);
    expect(view.stalledBy).toBe(2);
    expect(isFinal({ lo: 0n, hi: 5n }, view.watermark)).toBe(true);
    expect(isFinal({ lo: 0n, hi: 10n }, view.watermark)).toBe(false);
  });

  it('an unfinished batch of unknown range (no statistics) makes nothing final', () => {
    const view = computeWatermark(batches([0, 1], 3, [undefined, undefined, undefined]));
    expect(view.watermark).toEqual({ kind: 'none' });
    expect(view.stalledBy).toBe(2);
    expect(isFinal({ lo: -1000n, hi: -999n }, view.watermark)).toBe(false);
    expect(computeWatermark(batches([0, 1, 2], 3, [undefined, undefined, undefined])).watermark).toEqual({
      kind: 'all',
    });
  });

  it('an interval ending exactly at the watermark is final; one crossing it is not', () => {
    const w = { kind: 'at', key: 100n } as const;
    expect(isFinal({ lo: 90n, hi: 100n }, w)).toBe(true);
    expect(isFinal({ lo: 90n, hi: 101n }, w)).toBe(false);
  });

  it('round-trips through journal text', () => {
    for (const w of [{ kind: 'none' }, { kind: 'all' }, { kind: 'at', key: -42n }] as const) {
      expect(parseWatermark(watermarkText(w))).toEqual(w);
    }
    expect(() => parseWatermark('12.5')).toThrow(/not none, all or an integer/);
  });
});

describe('batch ranges and object order', () => {
  it('a batch range is the union of its objects, unknown if any object is', () => {
    expect(
      batchRange([
        { first: 5n, last: 9n },
        { first: 1n, last: 3n },
      ]),
    ).toEqual({ first: 1n, last: 9n });
    expect(batchRange([{ first: 5n, last: 9n }, undefined])).toBeUndefined();
    expect(batchRange([])).toBeUndefined();
  });

  it('orders by time when every object has statistics, else by key and names the ones without', () => {
    const objects = [
      { object: 'b', key: 'b', range: { first: 0n, last: 5n } },
      { object: 'a', key: 'a', range: { first: 10n, last: 15n } },
      { object: 'c', key: 'c', range: { first: 0n, last: 3n } },
    ];
    expect(orderForBatches(objects)).toEqual({
      objects: ['c', 'b', 'a'],
      order: 'time',
      withoutStatistics: [],
    });
    const missing = [...objects, { object: 'd', key: 'd', range: undefined }];
    expect(orderForBatches(missing)).toEqual({
      objects: ['a', 'b', 'c', 'd'],
      order: 'object',
      withoutStatistics: ['d'],
    });
  });
});
