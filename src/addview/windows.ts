/**
 * The window planner: splits the history of a view into windows, oldest first. Windows of the source table are
 * ranges of the window column aligned to multiples of the window size (days start at midnight UTC, weeks on
 * Mondays as TimescaleDB's buckets do); the first window has no lower bound, so rows older than the oldest
 * row seen at planning (late arrivals) are still taken. History from object storage comes first, as batches
 * of objects below the split value.
 */
import type { BatchSpec } from '../adapter/contract.ts';
import type { Position, PositionKind, ViewWindow } from '../adapter/view-contract.ts';
import { ConfigError } from '../errors.ts';
import { floorTo, formatPosition, formatSize, MICROS_PER_SECOND } from './position.ts';

/** At most this many windows per run: beyond it the journal and the plan grow unwieldy. */
export const MAX_WINDOWS = 100_000;

/** Monday 2000-01-03 00:00:00 UTC, TimescaleDB's default bucket origin: weeks start on Mondays. */
const TIME_ORIGIN = 946_857_600n * MICROS_PER_SECOND;

export interface RangePlan {
  readonly kind: PositionKind;
  /** Oldest value in the source now (null: the source is empty). */
  readonly start: Position | null;
  /** Exclusive end of history: the cutoff (ClickHouse) or the last complete bucket (TimescaleDB). */
  readonly end: Position;
  /** Window size in the column's units. */
  readonly size: bigint;
  /** The first window starts here (history from object storage below it); undefined = no lower bound. */
  readonly from?: Position | undefined;
  /** Index of the first window (after object-store windows). */
  readonly firstIndex?: number;
}

/** Window edges strictly between the start and the end, aligned to multiples of the size. */
export function windowEdges(plan: RangePlan): Position[] {
  const origin = plan.kind === 'time' ? TIME_ORIGIN : 0n;
  const lowest = plan.from?.value ?? plan.start?.value;
  if (lowest === undefined || lowest >= plan.end.value) return [];
  const first = floorTo(lowest - origin, plan.size) + origin + plan.size;
  const count = first >= plan.end.value ? 0n : (plan.end.value - first - 1n) / plan.size + 1n;
  if (count + 1n > BigInt(MAX_WINDOWS)) {
    throw new ConfigError(
      `view.window ${formatSize(plan.kind, plan.size)} makes ${count + 1n} windows between ${formatPosition(
        plan.from ?? plan.start!,
      )} and ${formatPosition(plan.end)} — use a larger view.window (at most ${MAX_WINDOWS} windows)`,
    );
  }
  const edges: Position[] = [];
  for (let v = first; v < plan.end.value; v += plan.size) edges.push({ kind: plan.kind, value: v });
  return edges;
}

/** Windows from edges: `[from, e1), [e1, e2), …, [ek, end)`. */
export function windowsFromEdges(
  edges: readonly Position[],
  end: Position,
  from: Position | undefined,
  firstIndex = 0,
): ViewWindow[] {
  const bounds = [
    ...edges.filter((e) => e.value < end.value && (from === undefined || e.value > from.value)),
    end,
  ];
  const unique = bounds.filter((b, i) => i === 0 || b.value !== bounds[i - 1]!.value);
  return unique.map((hi, i) => ({ index: firstIndex + i, lo: i === 0 ? from : unique[i - 1], hi }));
}

/** The source table's windows for a range. */
export function planWindows(plan: RangePlan): ViewWindow[] {
  return windowsFromEdges(windowEdges(plan), plan.end, plan.from, plan.firstIndex ?? 0);
}

/** Object-store history: one window per batch of objects, all below `split`. */
export function objectWindows(batches: readonly BatchSpec[], split: Position): ViewWindow[] {
  return batches.map((b) => ({ index: b.index, lo: undefined, hi: split, objects: b.objects }));
}

/**
 * The windows verified against a full recomputation when only a sample is: the first, the last and `count - 2`
 * spread evenly between (all of them when there are no more than `count`).
 */
export function sampledWindows(total: number, count: number): Set<number> {
  if (count <= 0 || total === 0) return new Set();
  if (total <= count) return new Set(Array.from({ length: total }, (_, i) => i));
  const picked = new Set<number>([0, total - 1]);
  for (let k = 1; k <= count - 2; k += 1) picked.add(Math.round((k * (total - 1)) / (count - 1)));
  return picked;
}
