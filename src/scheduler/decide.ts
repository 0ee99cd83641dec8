/**
 * The scheduler's core: from the state of a run (derived from the journal, the claims and what this process has
 * in flight), the steps to start now. A pure function — no database, no clock, no I/O — so every ordering
 * question (gaps, out-of-order completion, a late batch 0, a resumed run, catchup) is a unit test in
 * milliseconds. The executor calls it again whenever a step ends, starts what it returns, and stops when the
 * decision is `idle`.
 *
 * Words are those of watermark.ts (batch range, finished, watermark, prefix, slice, chunk) plus:
 *
 * - **swap policy**   When swap units may run. `progressive` (TimescaleDB, historical mode): a slice is swapped,
 *                     and the chunks it touched are compressed, as soon as the watermark has passed it, while
 *                     later batches still load. `after-all` (ClickHouse partitions): units run one by one once
 *                     every batch is committed. `one-transaction` (TimescaleDB, catchup mode): once every batch
 *                     is committed, all slices move in one transaction (readers see all or nothing), then the
 *                     touched chunks are compressed. A progressive run whose batches have no known range never
 *                     sees its watermark move before the end, so it behaves as `after-all`.
 * - **lane**          Loads run on up to `workers` lanes (each its own connection and landing). Swap-side steps
 *                     (begin-swap, swap-slice, commit-all, compress-chunk, final-pass) run on `finishers` lanes
 *                     (default 1) of the one process holding the swap: begin-swap, commit-all and final-pass
 *                     run alone.
 * - **in flight**     `loading`/`committing` batches and `running` slices, chunks and phases are this process's
 *                     own steps; `claimed` batches are held by another process whose claim is still live. A
 *                     claim whose holder died is reported `pending` again by whoever builds the state.
 */
import {
  computeWatermark,
  isFinal,
  type BatchRange,
  type KeyInterval,
  type WatermarkView,
} from './watermark.ts';

export type Mode = 'historical' | 'catchup';

export type SwapPolicy = 'progressive' | 'after-all' | 'one-transaction';

/**
 * The policy for a run: catchup always moves everything in one transaction; historical mode is progressive
 * where the target can swap slices while loads continue (a capability of the adapter), else after-all.
 */
export function swapPolicy(mode: Mode, targetSwapsWhileLoading: boolean): SwapPolicy {
  if (mode === 'catchup') return 'one-transaction';
  return targetSwapsWhileLoading ? 'progressive' : 'after-all';
}

export type BatchStatus =
  /** Not started, or a previous attempt failed and may be retried, or its claim's holder died. */
  | 'pending'
  /** A worker of this process is loading (and verifying) it. */
  | 'loading'
  /** Another live process holds the claim on it. */
  | 'claimed'
  /** Loaded and verified (journal `batch-loaded`), not yet committed. */
  | 'loaded'
  /** This process is committing it. */
  | 'committing'
  /** Part of the shadow (journal `batch-committed`): finished. */
  | 'committed'
  /** Failed for good (a permanent error, or its attempts are used up): the run stops. */
  | 'failed';

export interface BatchView {
  readonly index: number;
  readonly status: BatchStatus;
  /** From the footers' statistics; undefined when unknown (batches planned in object order). */
  readonly range: BatchRange | undefined;
}

export type UnitStatus = 'pending' | 'running' | 'done';

/** A swap unit of the time dimension still holding shadow rows (`done` ones may be left out). */
export interface SliceView extends KeyInterval {
  readonly id: string;
  readonly status: UnitStatus;
}

/** A chunk of the live table that a swap decompressed or wrote into; `pending` = must be compressed again. */
export interface ChunkView extends KeyInterval {
  readonly id: string;
  readonly status: UnitStatus;
}

export interface SchedulerState {
  readonly batches: readonly BatchView[];
  readonly slices: readonly SliceView[];
  readonly chunks: readonly ChunkView[];
  /** beginSwap (verify the shadow, pause the policy, index the staging): journal `swap-began` = done. */
  readonly beginSwap: UnitStatus;
  /** Catchup only: every slice in one transaction. */
  readonly commitAll: UnitStatus;
  /** finishSwap (compress what is left, resume the policy, refresh aggregates): journal `swap-finished`. */
  readonly finalPass: UnitStatus;
}

export interface SchedulerOptions {
  readonly policy: SwapPolicy;
  /** Load lanes of this process (≥ 1). */
  readonly workers: number;
  /** Swap-side lanes (default 1). */
  readonly finishers?: number;
  /** This process holds the swap (one process per run performs it). Default true. */
  readonly swapper?: boolean;
}

export type Step =
  | { readonly kind: 'load-batch'; readonly batch: number }
  | { readonly kind: 'commit-batch'; readonly batch: number }
  | { readonly kind: 'begin-swap' }
  | { readonly kind: 'swap-slice'; readonly slice: string }
  | { readonly kind: 'commit-all'; readonly slices: readonly string[] }
  | { readonly kind: 'compress-chunk'; readonly chunk: string }
  | { readonly kind: 'final-pass' };

export interface Decision extends WatermarkView {
  /** Steps to start now, in this order. */
  readonly start: readonly Step[];
  /** Every batch committed and the final pass done: the run can drop its shadows and finish. */
  readonly done: boolean;
  /** Batches that failed for good: nothing new starts, and the run stops once its steps in flight end. */
  readonly failed: readonly number[];
  /** Nothing is in flight and nothing can start: the executor stops (`done`, `failed`, or waiting on others). */
  readonly idle: boolean;
  /** Why the swap side waits, for progress (`waiting for batch 1`, `waiting for the last batch`, …). */
  readonly waiting: string | undefined;
}

const overlaps = (a: KeyInterval, b: KeyInterval): boolean => a.lo < b.hi && b.lo < a.hi;
const byLo = <T extends KeyInterval & { readonly id: string }>(a: T, b: T): number =>
  a.lo !== b.lo ? (a.lo < b.lo ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

export function decideNextSteps(state: SchedulerState, options: SchedulerOptions): Decision {
  if (!(Number.isInteger(options.workers) && options.workers >= 1)) {
    throw new RangeError(`workers must be an integer ≥ 1, got ${options.workers}`);
  }
  const finishers = options.finishers ?? 1;
  if (!(Number.isInteger(finishers) && finishers >= 1)) {
    throw new RangeError(`finishers must be an integer ≥ 1, got ${finishers}`);
  }
  const swapper = options.swapper ?? true;
  const batches = [...state.batches].sort((a, b) => a.index - b.index);
  const view = computeWatermark(
    batches.map((b) => ({ index: b.index, finished: b.status === 'committed', range: b.range })),
  );
  const { watermark } = view;
  const failed = batches.filter((b) => b.status === 'failed').map((b) => b.index);

  const loadsInFlight = batches.filter((b) => b.status === 'loading' || b.status === 'committing').length;
  const slicesRunning = state.slices.filter((s) => s.status === 'running');
  const chunksRunning = state.chunks.filter((c) => c.status === 'running');
  const phases = [state.beginSwap, state.commitAll, state.finalPass];
  const exclusiveRunning = phases.includes('running');
  const finishersBusy = slicesRunning.length + chunksRunning.length + (exclusiveRunning ? finishers : 0);
  const inFlight = loadsInFlight + slicesRunning.length + chunksRunning.length + (exclusiveRunning ? 1 : 0);
  const allCommitted = batches.every((b) => b.status === 'committed');
  const done = allCommitted && state.finalPass === 'done';

  const start: Step[] = [];
  const decision = (waiting: string | undefined): Decision => ({
    ...view,
    start,
    done,
    failed,
    idle: inFlight === 0 && start.length === 0,
    waiting,
  });
  if (done) return decision(undefined);
  if (failed.length > 0) return decision(undefined);

  // ---- loads: commit what is verified at once (it is quick and advances the watermark), then fill the lanes
  // with pending batches in plan order, so that the earliest missing batch is always the next one loaded.
  for (const b of batches) if (b.status === 'loaded') start.push({ kind: 'commit-batch', batch: b.index });
  let free = options.workers - loadsInFlight;
  for (const b of batches) {
    if (free <= 0) break;
    if (b.status !== 'pending') continue;
    start.push({ kind: 'load-batch', batch: b.index });
    free -= 1;
  }

  if (!swapper) return decision(undefined);
  const stalled = view.stalledBy === undefined ? undefined : `waiting for batch ${view.stalledBy + 1}`;
  if (exclusiveRunning) return decision(undefined);
  let lanes = finishers - finishersBusy;
  if (lanes <= 0) return decision(undefined);

  const pendingSlices = state.slices.filter((s) => s.status === 'pending').sort(byLo);
  const unswapped = state.slices.filter((s) => s.status !== 'done');
  const compressible = state.chunks
    .filter((c) => c.status === 'pending')
    .filter((c) => isFinal(c, watermark) && !unswapped.some((s) => overlaps(s, c)))
    .sort(byLo);
  const nothingRunning = slicesRunning.length === 0 && chunksRunning.length === 0;

  if (options.policy === 'progressive' || options.policy === 'after-all') {
    const ready =
      options.policy === 'progressive'
        ? pendingSlices.filter((s) => isFinal(s, watermark))
        : allCommitted
          ? pendingSlices
          : [];
    if (state.beginSwap === 'pending') {
      // Begin once something can be swapped (or everything is committed, so the final pass has a swap to end).
      if ((ready.length > 0 || allCommitted) && nothingRunning) start.push({ kind: 'begin-swap' });
      return decision(ready.length > 0 || allCommitted ? undefined : stalled);
    }
    // Compress before swapping further: it bounds how much of the live table is decompressed at once.
    for (const c of compressible) {
      if (lanes <= 0) break;
      start.push({ kind: 'compress-chunk', chunk: c.id });
      lanes -= 1;
    }
    for (const s of ready) {
      if (lanes <= 0) break;
      start.push({ kind: 'swap-slice', slice: s.id });
      lanes -= 1;
    }
  } else {
    if (!allCommitted) return decision('waiting for every batch (catchup swaps all at once)');
    if (state.beginSwap === 'pending') {
      if (nothingRunning) start.push({ kind: 'begin-swap' });
      return decision(undefined);
    }
    if (pendingSlices.length > 0 || slicesRunning.length > 0) {
      if (nothingRunning && pendingSlices.length > 0) {
        start.push({ kind: 'commit-all', slices: pendingSlices.map((s) => s.id) });
      }
      return decision(undefined);
    }
    for (const c of compressible) {
      if (lanes <= 0) break;
      start.push({ kind: 'compress-chunk', chunk: c.id });
      lanes -= 1;
    }
  }

  const swapSideDone =
    allCommitted &&
    state.beginSwap === 'done' &&
    state.slices.every((s) => s.status === 'done') &&
    state.chunks.every((c) => c.status === 'done');
  if (swapSideDone && nothingRunning && start.length === 0 && state.finalPass === 'pending') {
    start.push({ kind: 'final-pass' });
  }
  return decision(allCommitted ? undefined : stalled);
}
