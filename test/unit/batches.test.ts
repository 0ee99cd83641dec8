import { describe, expect, it } from 'vitest';
import { planBatches } from '../../src/planner/batches.ts';
import type { SourceObject } from '../../src/source/types.ts';

const obj = (i: number, size: number): SourceObject => ({
  key: `k/${String(i).padStart(3, '0')}.parquet`,
  size,
  uri: `s3://b/k/${i}`,
  httpUrl: `http://h/b/k/${i}`,
});

describe('planBatches', () => {
  it('splits by file count, keeping key order and consecutive indexes', () => {
    const objects = Array.from({ length: 10 }, (_, i) => obj(i, 10));
    const batches = planBatches(objects, { files: 4, bytes: 1e12 });
    expect(batches.map((b) => b.objects.length)).toEqual([4, 4, 2]);
    expect(batches.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(batches.flatMap((b) => b.objects)).toEqual(objects);
  });

  it('splits by bytes; an object larger than the limit forms its own batch', () => {
    const objects = [obj(0, 40), obj(1, 40), obj(2, 300), obj(3, 10), obj(4, 50)];
    const batches = planBatches(objects, { files: 100, bytes: 100 });
    expect(batches.map((b) => b.objects.map((o) => o.size))).toEqual([[40, 40], [300], [10, 50]]);
  });

  it('returns no batch for no objects', () => {
    expect(planBatches([], { files: 1, bytes: 1 })).toEqual([]);
  });
});
