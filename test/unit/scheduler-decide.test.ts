import { describe, expect, it } from 'vitest';
import { reduceRun, type RunStartedData } from '../../src/journal/state.ts';
import type { JournalEvent, JournalEventKind } from '../../src/journal/types.ts';
import {
  decideNextSteps,
  swapPolicy,
  type BatchStatus,
  type SchedulerOptions,
  type SchedulerState,
  type Step,
  type SwapPolicy,
} from '../../src/scheduler/decide.ts';
import { schedulerState } from '../../src/scheduler/state.ts';
import type { BatchRange } from '../../src/scheduler/watermark.ts';

/** Batch k covers [10k, 10k + 9]; slice j is [10j, 10j + 10); chunk j the same interval. */
const rangeOf = (k: number): BatchRange => ({ first: BigInt(10 * k), last: BigInt(10 * k + 9) });
const slice = (j: number, status: 'pending' | 'running' | 'done' = 'pending') => ({
  id: `slice:${j}`,
  lo: BigInt(10 * j),
  hi: BigInt(10 * j + 10),
  status,
});
const chunk = (j: number, status: 'pending' | 'running' | 'done' = 'pending') => ({
  id: `chunk_${j}`,
  lo: BigInt(10 * j),
  hi: BigInt(10 * j + 10),
  status,
});

function state(statuses: BatchStatus[], extra: Partial<SchedulerState> = {}): SchedulerState {
  return {
    batches: statuses.map((status, index) => ({ index, status, range: rangeOf(index) })),
    slices: [],
    chunks: [],
    beginSwap: 'done',
    commitAll: 'pending',
    finalPass: 'pending',
    ...extra,
  };
}

const progressive: SchedulerOptions = { policy: 'progressive', workers: 2 };
const kinds = (steps: readonly Step[]) =>
  steps.map((s) =>
    s.kind === 'load-batch' || s.kind === 'commit-batch'
      ? `${s.kind} ${s.batch}`
      : s.kind === 'swap-slice'
        ? `swap ${s.slice}`
        : s.kind === 'compress-chunk'
          ? `compress ${s.chunk}`
          : s.kind === 'commit-all'
            ? `commit-all ${s.slices.join(',')}`
            : s.kind,
  );

describe('decideNextSteps', () => {
  it('fills the worker lanes with pending batches in plan order and commits verified ones at once', () => {
    const d = decideNextSteps(state(['committed', 'loaded', 'pending', 'pending', 'pending']), {
      policy: 'progressive',
      workers: 2,
    });
    expect(kinds(d.start)).toEqual(['commit-batch 1', 'load-batch 2', 'load-batch 3']);
    const busy = decideNextSteps(state(['loading', 'loading', 'pending']), progressive);
    expect(kinds(busy.start)).toEqual([]);
    expect(busy.idle).toBe(false);
  });

  it('gap: batches 0 and 2 committed, 1 loading → slice 0 swaps, slice 2 waits for batch 1', () => {
    const d = decideNextSteps(
      state(['committed', 'loading', 'committed', 'pending'], { slices: [slice(0), slice(2)] }),
      progressive,
    );
    expect(kinds(d.start)).toEqual(['load-batch 3', 'swap slice:0']);
    expect(d.watermark).toEqual({ kind: 'at', key: 10n });
    expect(d.prefix).toBe(1);
    const afterSwap = decideNextSteps(
      state(['committed', 'loading', 'committed', 'loading'], {
        slices: [slice(2)],
        chunks: [chunk(0)],
      }),
      progressive,
    );
    // slice 0's chunk is compressed; slice 2 stays behind the gap
    expect(kinds(afterSwap.start)).toEqual(['compress chunk_0']);
    expect(afterSwap.waiting).toBe('waiting for batch 2');
  });

  it('out-of-order completion: when batch 1 finally commits, slices 1 and 2 both become final', () => {
    const d = decideNextSteps(
      state(['committed', 'committed', 'committed', 'loading'], { slices: [slice(2), slice(1)] }),
      { policy: 'progressive', workers: 2, finishers: 2 },
    );
    expect(kinds(d.start)).toEqual(['swap slice:1', 'swap slice:2']);
    expect(d.watermark).toEqual({ kind: 'at', key: 30n });
    expect(d.prefix).toBe(3);
  });

  it('batch 0 late: nothing is swapped or compressed while batch 0 is unfinished', () => {
    const s = state(['loading', 'committed', 'committed', 'committed'], {
      slices: [slice(1), slice(2), slice(3)],
      chunks: [chunk(1)],
      beginSwap: 'pending',
    });
    const d = decideNextSteps(s, progressive);
    expect(kinds(d.start)).toEqual([]);
    expect(d.watermark).toEqual({ kind: 'at', key: 0n });
    expect(d.waiting).toBe('waiting for batch 1');
    expect(d.idle).toBe(false);
    // even with the swap begun (e.g. a resumed run), a chunk beyond the watermark is not compressed
    expect(kinds(decideNextSteps({ ...s, beginSwap: 'done' }, progressive).start)).toEqual([]);
  });

  it('begins the swap only once a slice is final, and alone', () => {
    const waiting = decideNextSteps(
      state(['loading', 'pending'], { slices: [slice(0)], beginSwap: 'pending' }),
      progressive,
    );
    expect(kinds(waiting.start)).toEqual(['load-batch 1']);
    const ready = decideNextSteps(
      state(['committed', 'loading'], { slices: [slice(0)], beginSwap: 'pending' }),
      progressive,
    );
    expect(kinds(ready.start)).toEqual(['begin-swap']);
    const beginning = decideNextSteps(
      state(['committed', 'loading'], { slices: [slice(0)], beginSwap: 'running' }),
      progressive,
    );
    expect(kinds(beginning.start)).toEqual([]);
  });

  it('compresses a chunk only when every slice overlapping it is swapped', () => {
    const wide = { id: 'wide', lo: 0n, hi: 20n, status: 'pending' as const };
    const d = decideNextSteps(
      state(['committed', 'committed', 'loading'], { slices: [slice(1)], chunks: [wide] }),
      progressive,
    );
    expect(kinds(d.start)).toEqual(['swap slice:1']);
    const after = decideNextSteps(
      state(['committed', 'committed', 'loading'], { slices: [], chunks: [wide] }),
      progressive,
    );
    expect(kinds(after.start)).toEqual(['compress wide']);
  });

  it('final pass: once everything is committed, swapped and compressed, then done', () => {
    const tail = decideNextSteps(
      state(['committed', 'committed'], { slices: [slice(1)], chunks: [chunk(0), chunk(1)] }),
      progressive,
    );
    // one swap-side lane: compress first (bounds what is decompressed); chunk 1 waits for its slice
    expect(kinds(tail.start)).toEqual(['compress chunk_0']);
    const twoLanes = decideNextSteps(
      state(['committed', 'committed'], { slices: [slice(1)], chunks: [chunk(0), chunk(1)] }),
      { ...progressive, finishers: 2 },
    );
    expect(kinds(twoLanes.start)).toEqual(['compress chunk_0', 'swap slice:1']);
    const both = decideNextSteps(state(['committed', 'committed'], { chunks: [chunk(1)] }), progressive);
    expect(kinds(both.start)).toEqual(['compress chunk_1']);
    const last = decideNextSteps(state(['committed', 'committed']), progressive);
    expect(kinds(last.start)).toEqual(['final-pass']);
    expect(last.watermark).toEqual({ kind: 'all' });
    const running = decideNextSteps(state(['committed', 'committed'], { finalPass: 'running' }), progressive);
    expect(running.start).toEqual([]);
    expect(running.idle).toBe(false);
    const done = decideNextSteps(state(['committed', 'committed'], { finalPass: 'done' }), progressive);
    expect(done.done).toBe(true);
    expect(done.idle).toBe(true);
  });

  it('catchup: nothing is swapped until every batch is committed, then one commit-all, compression, final pass', () => {
    const catchup: SchedulerOptions = { policy: swapPolicy('catchup', true), workers: 2 };
    const loading = decideNextSteps(
      state(['committed', 'committed', 'loading'], {
        slices: [slice(0), slice(1)],
        beginSwap: 'pending',
      }),
      catchup,
    );
    expect(kinds(loading.start)).toEqual([]);
    expect(loading.waiting).toMatch(/every batch/);
    const begin = decideNextSteps(
      state(['committed', 'committed', 'committed'], {
        slices: [slice(0), slice(1), slice(2)],
        beginSwap: 'pending',
      }),
      catchup,
    );
    expect(kinds(begin.start)).toEqual(['begin-swap']);
    const all = decideNextSteps(
      state(['committed', 'committed', 'committed'], { slices: [slice(2), slice(0), slice(1)] }),
      catchup,
    );
    expect(kinds(all.start)).toEqual(['commit-all slice:0,slice:1,slice:2']);
    const compress = decideNextSteps(
      state(['committed', 'committed', 'committed'], { chunks: [chunk(0), chunk(1)] }),
      { ...catchup, finishers: 2 },
    );
    expect(kinds(compress.start)).toEqual(['compress chunk_0', 'compress chunk_1']);
    expect(kinds(decideNextSteps(state(['committed', 'committed', 'committed']), catchup).start)).toEqual([
      'final-pass',
    ]);
  });

  it('after-all (ClickHouse partitions): units run one by one once every batch is committed', () => {
    const policy = swapPolicy('historical', false);
    expect(policy).toBe('after-all');
    const during = decideNextSteps(state(['committed', 'loading'], { slices: [slice(0)] }), {
      policy,
      workers: 1,
    });
    expect(kinds(during.start)).toEqual([]);
    const after = decideNextSteps(state(['committed', 'committed'], { slices: [slice(1), slice(0)] }), {
      policy,
      workers: 1,
    });
    expect(kinds(after.start)).toEqual(['swap slice:0']);
  });

  it('a batch failed for good: nothing new starts; idle (stop) once the steps in flight end', () => {
    const inFlight = decideNextSteps(state(['committed', 'failed', 'loading', 'pending']), progressive);
    expect(inFlight.start).toEqual([]);
    expect(inFlight.failed).toEqual([1]);
    expect(inFlight.idle).toBe(false);
    const stopped = decideNextSteps(state(['committed', 'failed', 'committed', 'pending']), progressive);
    expect(stopped.idle).toBe(true);
    expect(stopped.done).toBe(false);
  });

  it('a process that does not hold the swap only loads; batches claimed elsewhere are not started', () => {
    const d = decideNextSteps(state(['claimed', 'committed', 'pending', 'pending'], { slices: [slice(1)] }), {
      policy: 'progressive',
      workers: 4,
      swapper: false,
    });
    expect(kinds(d.start)).toEqual(['load-batch 2', 'load-batch 3']);
  });

  it('refuses nonsense lane counts', () => {
    expect(() => decideNextSteps(state(['pending']), { policy: 'progressive', workers: 0 })).toThrow(
      /workers must be an integer ≥ 1/,
    );
  });
});

// ---- resume after kill, from the real journal reducer ----

const started: RunStartedData = {
  table: 'public.m',
  sourceUrl: 's3://b/*.parquet',
  filter: undefined,
  sourceColumns: [],
  batches: Array.from({ length: 5 }, (_, index) => ({ index, objects: [] })),
  objectRows: {},
  before: [],
};

function journal(list: [JournalEventKind, Partial<JournalEvent>?][]): JournalEvent[] {
  return list.map(([kind, extra], i) => ({
    runId: 'r1',
    fingerprint: 'f',
    seq: i + 1,
    at: '2026-01-01T00:00:00Z',
    kind,
    batch: -1,
    unit: '',
    data: kind === 'run-started' ? JSON.stringify(started) : '',
    ...extra,
  }));
}

describe('resume after kill -9', () => {
  it('the resumed run commits the verified batch, reloads the one in flight, finishes the slice and compresses', () => {
    // Killed while: batch 2 was verified but not committed, batch 3 was loading, slice 1 was mid-swap (its
    // transaction rolled back, so the adapter still lists it), chunk 0 was swapped but not compressed again.
    const run = reduceRun(
      journal([
        ['run-started'],
        ['batch-loaded', { batch: 0, data: '{"rows":10}' }],
        ['batch-committed', { batch: 0 }],
        ['batch-loaded', { batch: 1, data: '{"rows":10}' }],
        ['batch-committed', { batch: 1 }],
        ['swap-began', { data: '{"adapter":"timescaledb"}' }],
        ['swap-unit-done', { unit: 'slice:0' }],
        ['batch-loaded', { batch: 2, data: '{"rows":10}' }],
      ]),
    )!;
    const resumed = schedulerState({
      run,
      ranges: started.batches.map((b) => rangeOf(b.index)),
      slices: [slice(1), slice(2)],
      chunks: [chunk(0)],
    });
    expect(resumed.batches.map((b) => b.status)).toEqual([
      'committed',
      'committed',
      'loaded',
      'pending',
      'pending',
    ]);
    expect(resumed.beginSwap).toBe('done');
    const d = decideNextSteps(resumed, { policy: 'progressive', workers: 2, finishers: 2 });
    expect(kinds(d.start)).toEqual([
      'commit-batch 2',
      'load-batch 3',
      'load-batch 4',
      'compress chunk_0',
      'swap slice:1',
    ]);
  });

  it('a resumed run whose loads were all done finishes the swap and compresses the rest', () => {
    const run = reduceRun(
      journal([
        ['run-started'],
        ...[0, 1, 2, 3, 4].flatMap((batch): [JournalEventKind, Partial<JournalEvent>][] => [
          ['batch-loaded', { batch, data: '{"rows":1}' }],
          ['batch-committed', { batch }],
        ]),
        ['swap-began', { data: '{}' }],
        ['swap-unit-done', { unit: 'slice:0' }],
        ['swap-unit-done', { unit: 'slice:1' }],
      ]),
    )!;
    const s = schedulerState({
      run,
      ranges: started.batches.map((b) => rangeOf(b.index)),
      slices: [slice(2), slice(3), slice(4)],
      chunks: [chunk(1)],
    });
    expect(kinds(decideNextSteps(s, progressive).start)).toEqual(['compress chunk_1']);
    const finished = schedulerState({
      run,
      ranges: started.batches.map((b) => rangeOf(b.index)),
      slices: [],
      chunks: [],
    });
    expect(kinds(decideNextSteps(finished, progressive).start)).toEqual(['final-pass']);
  });

  it('a running slice the listing no longer shows still holds its finisher lane and blocks its chunk', () => {
    const run = reduceRun(
      journal([
        ['run-started'],
        ...[0, 1, 2, 3, 4].flatMap((batch): [JournalEventKind, Partial<JournalEvent>][] => [
          ['batch-loaded', { batch, data: '{"rows":1}' }],
          ['batch-committed', { batch }],
        ]),
        ['swap-began', { data: '{}' }],
      ]),
    )!;
    // slice:0 committed its transaction (the adapter no longer lists it) but its step has not settled yet.
    const sources = {
      run,
      ranges: started.batches.map((b) => rangeOf(b.index)),
      slices: [slice(1), slice(2), slice(3)],
      chunks: [chunk(0)],
    };
    const s0 = slice(0);
    const withInterval = schedulerState({
      ...sources,
      inFlight: { slices: new Map([[s0.id, { lo: s0.lo, hi: s0.hi }]]) },
    });
    // Two finisher lanes, one busy: one more slice starts; chunk_0 waits for slice:0 to settle.
    expect(kinds(decideNextSteps(withInterval, { ...progressive, finishers: 2 }).start)).toEqual([
      'swap slice:1',
    ]);
    // Without its interval the unit counts as covering everything: still one lane busy, still no compression.
    const withoutInterval = schedulerState({ ...sources, inFlight: { slices: new Set([s0.id]) } });
    expect(kinds(decideNextSteps(withoutInterval, { ...progressive, finishers: 2 }).start)).toEqual([
      'swap slice:1',
    ]);
    // Settled: both lanes free, chunk_0 is compressed first.
    const settled = schedulerState(sources);
    expect(kinds(decideNextSteps(settled, { ...progressive, finishers: 2 }).start)).toEqual([
      'compress chunk_0',
      'swap slice:1',
    ]);
  });
});

// ---- a simulated executor: random completion order, random kills, invariants checked at every step ----

interface World {
  /** Durable: the journal and the database. */
  readonly batch: ('pending' | 'loaded' | 'committed')[];
  readonly staged: Set<number>;
  readonly swapped: Set<number>;
  /** Chunks decompressed by a swap and not compressed again. */
  readonly open: Set<number>;
  readonly compressed: number[];
  began: boolean;
  finished: boolean;
  /** Volatile: this process's steps in flight. */
  inFlight: Step[];
}

function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Batch k puts rows into slice k, and (every third batch) late rows into slice k - 1. */
function slicesOf(k: number): number[] {
  return k % 3 === 2 ? [k - 1, k] : [k];
}

function simulate(policy: SwapPolicy, batches: number, workers: number, seed: number): { kills: number } {
  const rnd = random(seed);
  const ranges = Array.from({ length: batches }, (_, k) => ({
    first: BigInt(10 * Math.min(...slicesOf(k))),
    last: BigInt(10 * k + 9),
  }));
  const w: World = {
    batch: Array.from({ length: batches }, () => 'pending' as const),
    staged: new Set(),
    swapped: new Set(),
    open: new Set(),
    compressed: [],
    began: false,
    finished: false,
    inFlight: [],
  };
  let kills = 0;
  const committedAll = () => w.batch.every((b) => b === 'committed');
  const sliceIsSettled = (j: number) =>
    Array.from({ length: batches }, (_, k) => k)
      .filter((k) => slicesOf(k).includes(j))
      .every((k) => w.batch[k] === 'committed');

  for (let round = 0; round < 10_000; round++) {
    const flying = (kind: Step['kind']) => w.inFlight.filter((s) => s.kind === kind);
    const state = schedulerState({
      run: {
        batches: w.batch,
        swapState: w.began ? {} : undefined,
        swapFinished: w.finished,
      },
      ranges,
      // the adapter lists slices that hold staged rows
      slices: [...w.staged].map((j) => ({ id: `slice:${j}`, lo: BigInt(10 * j), hi: BigInt(10 * j + 10) })),
      chunks: [...w.open].map((j) => ({ id: `chunk_${j}`, lo: BigInt(10 * j), hi: BigInt(10 * j + 10) })),
      inFlight: {
        loading: new Set(flying('load-batch').map((s) => (s as { batch: number }).batch)),
        committing: new Set(flying('commit-batch').map((s) => (s as { batch: number }).batch)),
        slices: new Set(flying('swap-slice').map((s) => (s as { slice: string }).slice)),
        chunks: new Set(flying('compress-chunk').map((s) => (s as { chunk: string }).chunk)),
        phase: (['begin-swap', 'commit-all', 'final-pass'] as const).find((p) => flying(p).length > 0),
      },
    });
    const d = decideNextSteps(state, { policy, workers, finishers: 1 + Math.floor(rnd() * 2) });
    if (d.done) {
      expect(committedAll()).toBe(true);
      expect(w.staged.size).toBe(0);
      expect(w.open.size).toBe(0);
      return { kills };
    }
    expect(d.idle, `stuck in round ${round}`).toBe(false);
    for (const step of d.start) {
      expect(
        w.inFlight.some((s) => JSON.stringify(s) === JSON.stringify(step)),
        `${step.kind} started twice`,
      ).toBe(false);
    }
    w.inFlight.push(...d.start);
    // one step in flight completes, chosen at random (out-of-order completion)
    const step = w.inFlight.splice(Math.floor(rnd() * w.inFlight.length), 1)[0]!;
    switch (step.kind) {
      case 'load-batch':
        expect(w.batch[step.batch]).toBe('pending');
        for (const j of slicesOf(step.batch)) {
          // rows must never land in a slice that was already swapped (they would be left behind)
          expect(w.swapped.has(j), `batch ${step.batch} loads into swapped slice ${j}`).toBe(false);
          w.staged.add(j);
        }
        w.batch[step.batch] = 'loaded';
        break;
      case 'commit-batch':
        w.batch[step.batch] = 'committed';
        break;
      case 'begin-swap':
        expect(w.began).toBe(false);
        if (policy !== 'progressive') expect(committedAll()).toBe(true);
        w.began = true;
        break;
      case 'swap-slice': {
        const j = Number(step.slice.slice('slice:'.length));
        expect(policy).not.toBe('one-transaction');
        expect(w.began).toBe(true);
        expect(sliceIsSettled(j), `slice ${j} swapped before its batches committed`).toBe(true);
        if (policy === 'after-all') expect(committedAll()).toBe(true);
        w.staged.delete(j);
        w.swapped.add(j);
        w.open.add(j);
        break;
      }
      case 'commit-all':
        expect(policy).toBe('one-transaction');
        expect(committedAll()).toBe(true);
        for (const id of step.slices) {
          const j = Number(id.slice('slice:'.length));
          w.staged.delete(j);
          w.swapped.add(j);
          w.open.add(j);
        }
        expect(w.staged.size).toBe(0);
        break;
      case 'compress-chunk': {
        const j = Number(step.chunk.slice('chunk_'.length));
        expect(w.swapped.has(j)).toBe(true);
        expect(sliceIsSettled(j)).toBe(true);
        w.open.delete(j);
        w.compressed.push(j);
        break;
      }
      case 'final-pass':
        expect(committedAll()).toBe(true);
        expect(w.open.size).toBe(0);
        expect(w.staged.size).toBe(0);
        w.finished = true;
        break;
    }
    // kill -9 now and then: every step in flight is lost (its transaction rolled back, its claim expires)
    if (rnd() < 0.05) {
      w.inFlight = [];
      kills += 1;
    }
  }
  throw new Error('the simulation did not finish');
}

describe('simulated runs (random completion order and kills)', () => {
  for (const policy of ['progressive', 'after-all', 'one-transaction'] as const) {
    it(`${policy}: every batch committed once, every slice swapped only when settled, chunks compressed after`, () => {
      let kills = 0;
      for (let seed = 1; seed <= 150; seed++) {
        kills += simulate(policy, 3 + (seed % 9), 1 + (seed % 4), seed).kills;
      }
      expect(kills).toBeGreaterThan(0);
    });
  }

  it('progressive compresses chunks while later batches are still loading', () => {
    // batches commit in order; swaps and compressions run as soon as they are offered
    const batches: BatchStatus[] = Array.from({ length: 12 }, () => 'loading');
    const swapped = new Set<number>();
    const open = new Set<number>();
    const compressedWhileLoading: number[] = [];
    for (let k = 0; k < 12; k++) {
      batches[k] = 'committed';
      for (let pass = 0; pass < 3; pass++) {
        const d = decideNextSteps(
          {
            batches: batches.map((status, index) => ({ index, status, range: rangeOf(index) })),
            slices: Array.from({ length: k + 1 }, (_, j) => j)
              .filter((j) => !swapped.has(j))
              .map((j) => slice(j)),
            chunks: [...open].map((j) => chunk(j)),
            beginSwap: 'done',
            commitAll: 'pending',
            finalPass: 'pending',
          },
          { policy: 'progressive', workers: 2, finishers: 4 },
        );
        for (const s of d.start) {
          if (s.kind === 'swap-slice') {
            const j = Number(s.slice.slice('slice:'.length));
            swapped.add(j);
            open.add(j);
          }
          if (s.kind === 'compress-chunk') {
            const j = Number(s.chunk.slice('chunk_'.length));
            open.delete(j);
            if (k < 11) compressedWhileLoading.push(j);
          }
        }
      }
    }
    // every chunk but the last is compressed before the last batch commits
    expect(compressedWhileLoading).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});
