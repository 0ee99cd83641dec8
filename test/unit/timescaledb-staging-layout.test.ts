import { describe, expect, it } from 'vitest';
import {
  BRIN_PAGES_PER_RANGE,
  MAX_BRIN_SPREAD,
  batchBlocks,
  spreadOf,
  timeIndexDecision,
} from '../../adapters/timescaledb/staging-layout.ts';

const R = BRIN_PAGES_PER_RANGE;
const row = (slice: number, first: number, last: number) => ({
  slice: String(slice),
  n: '100',
  first_block: String(first),
  last_block: String(last),
});

describe('how a batch lies in the staging table', () => {
  it('rows in time order: each slice spans its own ranges, the spread is about 1', () => {
    // Three slices one after the other over 3 × 10 ranges.
    const blocks = batchBlocks([
      row(1, 0, 10 * R - 1),
      row(2, 10 * R, 20 * R - 1),
      row(3, 20 * R, 30 * R - 1),
    ]);
    expect(blocks).toEqual({ sliceBlocks: 30 * R, batchBlocks: 30 * R });
    expect(spreadOf({ unknown: 0, ...blocks! })).toBe(1);
  });

  it('slices sharing a boundary range count it for both (what a BRIN scan of each reads)', () => {
    const blocks = batchBlocks([row(1, 0, R + 3), row(2, R + 4, 2 * R - 1)]);
    expect(blocks).toEqual({ sliceBlocks: 3 * R, batchBlocks: 2 * R });
  });

  it('rows shuffled in time: every slice spans the whole batch, the spread is the slices per batch', () => {
    const blocks = batchBlocks([1, 2, 3, 4, 5, 6].map((s) => row(s, s - 1, 40 * R - s)));
    expect(spreadOf({ unknown: 0, ...blocks! })).toBe(6);
    expect(timeIndexDecision({ unknown: 0, ...blocks! })).toMatchObject({ build: true });
  });

  it('blocks not recorded (an older server): no figure, and the swap builds the b-tree', () => {
    expect(batchBlocks([{ slice: '1', n: '5' }])).toBeUndefined();
    expect(batchBlocks([])).toEqual({ sliceBlocks: 0, batchBlocks: 0 });
    expect(spreadOf({ unknown: 1, sliceBlocks: 10, batchBlocks: 10 })).toBeUndefined();
    expect(timeIndexDecision({ unknown: 2, sliceBlocks: 0, batchBlocks: 0 })).toEqual({
      build: true,
      why: expect.stringContaining('2 committed batch(es) recorded no heap blocks'),
    });
  });

  it('the b-tree only above the limit', () => {
    const at = { unknown: 0, sliceBlocks: MAX_BRIN_SPREAD * 10 * R, batchBlocks: 10 * R };
    expect(timeIndexDecision(at)).toMatchObject({ build: false });
    expect(timeIndexDecision(at).why).toContain('no b-tree');
    expect(timeIndexDecision({ ...at, sliceBlocks: at.sliceBlocks + R })).toMatchObject({ build: true });
    expect(timeIndexDecision({ unknown: 0, sliceBlocks: 0, batchBlocks: 0 })).toMatchObject({ build: false });
  });
});
