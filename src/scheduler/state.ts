/**
 * Builds the scheduler's state (decide.ts) from what survives a process: the run's journal (reduced by
 * src/journal/state.ts), the adapter's listings (swap units still holding shadow rows, chunks still to compress)
 * and the live claims of other processes — plus what this process has in flight. A killed process leaves no
 * in-flight steps behind: its claims expire, its half-done transactions were rolled back by the database, and
 * the same function gives the resumed run exactly the steps that are still missing.
 */
import type { RunState } from '../journal/state.ts';
import type { BatchStatus, ChunkView, SchedulerState, SliceView, UnitStatus } from './decide.ts';
import type { BatchRange, KeyInterval } from './watermark.ts';

/** What this process is doing right now (empty for a process that just started or resumed). */
export interface InFlight {
  readonly loading?: ReadonlySet<number>;
  readonly committing?: ReadonlySet<number>;
  /**
   * Slices and chunks whose step is running, with their intervals where known. A unit stays running here until
   * its step settles, even after the adapter's listing has dropped it (its transaction committed): it still holds
   * a finisher lane, and an interval it may still write into. Without an interval it counts as covering everything.
   */
  readonly slices?: ReadonlySet<string> | ReadonlyMap<string, KeyInterval | undefined>;
  readonly chunks?: ReadonlySet<string> | ReadonlyMap<string, KeyInterval | undefined>;
  readonly phase?: 'begin-swap' | 'commit-all' | 'final-pass';
}

export interface StateSources {
  /** The journal's view of the run (batch states, whether the swap began and finished). */
  readonly run: Pick<RunState, 'batches' | 'swapState' | 'swapFinished'>;
  /** Batch ranges by batch index (undefined entries: unknown). */
  readonly ranges: readonly (BatchRange | undefined)[];
  /** Swap units still holding shadow rows (the adapter's listing); units not listed are done. */
  readonly slices: readonly (KeyInterval & { readonly id: string })[];
  /** Chunks this run decompressed or wrote into and has not compressed again (the adapter's record). */
  readonly chunks: readonly (KeyInterval & { readonly id: string })[];
  /** Batches another process holds a live claim on (lease not expired). */
  readonly claimedElsewhere?: ReadonlySet<number>;
  /** Batches that failed for good in this run (permanent error, or attempts used up). */
  readonly failed?: ReadonlySet<number>;
  readonly inFlight?: InFlight;
}

export function schedulerState(sources: StateSources): SchedulerState {
  const flight = sources.inFlight ?? {};
  const batches = sources.run.batches.map((journaled, index) => {
    let status: BatchStatus = journaled;
    if (journaled !== 'committed') {
      if (flight.committing?.has(index)) status = 'committing';
      else if (journaled === 'pending') {
        if (sources.failed?.has(index)) status = 'failed';
        else if (flight.loading?.has(index)) status = 'loading';
        else if (sources.claimedElsewhere?.has(index)) status = 'claimed';
      }
    }
    return { index, status, range: sources.ranges[index] };
  });
  const slices: SliceView[] = unitViews(sources.slices, flight.slices);
  const chunks: ChunkView[] = unitViews(sources.chunks, flight.chunks);
  const phase = (name: InFlight['phase'], finished: boolean): UnitStatus =>
    flight.phase === name ? 'running' : finished ? 'done' : 'pending';
  const began = sources.run.swapState !== undefined;
  return {
    batches,
    slices,
    chunks,
    beginSwap: phase('begin-swap', began),
    commitAll: phase('commit-all', began && sources.slices.length === 0),
    finalPass: phase('final-pass', sources.run.swapFinished),
  };
}

/** Covers every key: the interval of a running unit whose own interval is not known. */
const EVERYTHING: KeyInterval = { lo: -(2n ** 63n), hi: 2n ** 63n };

type Running = ReadonlySet<string> | ReadonlyMap<string, KeyInterval | undefined> | undefined;

/**
 * The listed units (slices or chunks), running where a step of this process runs them, then the running units the
 * listing no longer shows (see `InFlight.slices`).
 */
function unitViews(
  listed: readonly (KeyInterval & { readonly id: string })[],
  running: Running,
): (KeyInterval & { id: string; status: UnitStatus })[] {
  const views: (KeyInterval & { id: string; status: UnitStatus })[] = listed.map((u) => ({
    id: u.id,
    lo: u.lo,
    hi: u.hi,
    status: running?.has(u.id) ? 'running' : 'pending',
  }));
  if (!running || running.size === 0) return views;
  const ids = new Set(listed.map((u) => u.id));
  for (const id of running.keys()) {
    if (ids.has(id)) continue;
    const interval = running instanceof Map ? running.get(id) : undefined;
    views.push({ id, ...(interval ?? EVERYTHING), status: 'running' });
  }
  return views;
}
