import { describe, expect, it } from 'vitest';
import { DEFAULT_BATCH } from '../../src/config/defaults.ts';
import { defineConfig } from '../../src/config/define.ts';
import { AUTO_BATCHES_PER_WORKER, planRunBatches } from '../../src/planner/batches.ts';
import type { SourceObject } from '../../src/source/types.ts';

const obj = (i: number, size: number): SourceObject => ({
  key: `k/${String(i).padStart(3, '0')}.parquet`,
  size,
  uri: `s3://b/k/${i}`,
  httpUrl: `http://h/b/k/${i}`,
});
const objects = (n: number, size = 1000) => Array.from({ length: n }, (_, i) => obj(i, size));
const sizes = (b: ReturnType<typeof planRunBatches>) => b.batches.map((x) => x.objects.length);

describe('planRunBatches (batch.count)', () => {
  it('the default (count auto) cuts 40 objects into 2 batches per worker, not one batch of 100', () => {
    expect(DEFAULT_BATCH.count).toBe('auto');
    expect(AUTO_BATCHES_PER_WORKER).toBe(2);
    const two = planRunBatches(objects(40), DEFAULT_BATCH, 2);
    expect(sizes(two)).toEqual([10, 10, 10, 10]);
    expect(two.rule).toBe(
      '4 batches of about equal bytes (batch.count auto = at least 2 per worker × 2 workers), each within batch.files 100 / batch.bytes 15 GiB',
    );
    expect(sizes(planRunBatches(objects(40), DEFAULT_BATCH, 4))).toEqual([5, 5, 5, 5, 5, 5, 5, 5]);
    expect(sizes(planRunBatches(objects(40), DEFAULT_BATCH, 1))).toEqual([20, 20]);
  });

  it('keeps every object, in order, with consecutive indexes', () => {
    const list = objects(41);
    const plan = planRunBatches(list, DEFAULT_BATCH, 2);
    expect(plan.batches.flatMap((b) => b.objects)).toEqual(list);
    expect(plan.batches.map((b) => b.index)).toEqual(plan.batches.map((_, k) => k));
    expect(sizes(plan)).toEqual([10, 10, 11, 10]);
  });

  it('balances by bytes as well: a few big objects do not share one batch', () => {
    const list = [
      obj(0, 9000),
      obj(1, 9000),
      obj(2, 9000),
      obj(3, 9000),
      ...objects(8, 10).map((o, i) => obj(4 + i, o.size)),
    ];
    // 36,080 bytes in 4 shares: each big object on its own, the small ones with the last.
    expect(sizes(planRunBatches(list, { ...DEFAULT_BATCH, count: 4 }, 1))).toEqual([1, 1, 1, 9]);
    // Each group still within the limits.
    expect(sizes(planRunBatches(list, { files: 4, bytes: 1e12, count: 4 }, 1))).toEqual([1, 1, 1, 4, 4, 1]);
  });

  it('the limits still apply: a big listing gets as many batches as batch.files makes', () => {
    const plan = planRunBatches(objects(1000), DEFAULT_BATCH, 4);
    expect(sizes(plan)).toEqual(Array.from({ length: 10 }, () => 100));
    expect(plan.rule).toBe(
      'as few as batch.files 100 / batch.bytes 15 GiB allow, no fewer than batch.count auto = at least 2 per worker × 4 workers asks for',
    );
    expect(sizes(planRunBatches(objects(10), { files: 2, bytes: 1e12, count: 'auto' }, 2))).toEqual([
      2, 2, 2, 2, 2,
    ]);
  });

  it('count 1 (or a hand-built config without count) is the limits alone', () => {
    expect(sizes(planRunBatches(objects(40), { ...DEFAULT_BATCH, count: 1 }, 4))).toEqual([40]);
    expect(sizes(planRunBatches(objects(40), { files: 100, bytes: 15e9 }, 4))).toEqual([40]);
    expect(planRunBatches(objects(40), { ...DEFAULT_BATCH, count: 1 }, 4).rule).toBe(
      'as few as batch.files 100 / batch.bytes 15 GiB allow (batch.count 1)',
    );
  });

  it('fewer objects than batches asked for: one object per batch; none: no batch', () => {
    expect(sizes(planRunBatches(objects(3), DEFAULT_BATCH, 4))).toEqual([1, 1, 1]);
    expect(planRunBatches(objects(3), DEFAULT_BATCH, 4).rule).toBe(
      'one object per batch (batch.count auto = at least 2 per worker × 4 workers; 3 objects)',
    );
    expect(planRunBatches([], DEFAULT_BATCH, 4).batches).toEqual([]);
  });

  it('is a function of the listing, the limits and workers only (what a resumed run would derive again)', () => {
    const a = planRunBatches(objects(37, 777), DEFAULT_BATCH, 2);
    const b = planRunBatches(objects(37, 777), DEFAULT_BATCH, 2);
    expect(b).toEqual(a);
  });
});

describe('batch.count in the configuration', () => {
  const batchOf = (batch?: Record<string, unknown>) =>
    defineConfig({
      target: { kind: 'clickhouse', url: 'embedded:./.data/ch', table: 'pypi' },
      source: { url: 's3://bucket/pypi/*.parquet' },
      ...(batch ? { batch } : {}),
    } as Parameters<typeof defineConfig>[0]).batch;

  it('is auto when batch.files is not set, 1 when it is (a batch size written down is kept)', () => {
    expect(batchOf()).toEqual({ files: 100, bytes: 15 * 1024 ** 3, count: 'auto' });
    expect(batchOf({ bytes: '1GiB' })).toMatchObject({ files: 100, count: 'auto' });
    expect(batchOf({ files: 10 })).toMatchObject({ files: 10, count: 1 });
    expect(batchOf({ files: 10, count: 'auto' })).toMatchObject({ files: 10, count: 'auto' });
    expect(batchOf({ count: 3 })).toMatchObject({ files: 100, count: 3 });
    expect(() => batchOf({ count: 0 })).toThrow(/batch\.count/);
  });
});
