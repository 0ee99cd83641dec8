/**
 * The watermark of a run, as pure functions of its batches (no database, no clock).
 *
 * Terminology (used with these meanings in src/scheduler/, docs/SCHEDULER.md, progress and messages):
 *
 * - **time key**      A point of the live table's time dimension as a bigint in the dimension's internal unit
 *                     (TimescaleDB: microseconds since the Unix epoch for timestamp/timestamptz/date, the value
 *                     itself for integer time). Batch ranges, slices and chunks are all given in time keys.
 * - **batch range**   `[first, last]` (inclusive): the smallest and largest time key a batch can put into the
 *                     shadow, from the Parquet footers' min/max statistics of the time column over the batch's
 *                     objects. Unknown when one of its objects has no statistics for the column; the plan then
 *                     falls back to object order and says so.
 * - **finished batch** A batch committed into the shadow. Every other batch (pending, claimed by a worker,
 *                     loaded but not committed, failed) is **unfinished**: rows may still arrive from it.
 * - **watermark**     The end of the contiguous prefix of finished batches, in time: the smallest `first` of
 *                     any unfinished batch. Every slice (or chunk) that ends at or before it is **final**: no
 *                     unfinished batch can put a row into it, so it may be swapped and compressed while later
 *                     batches are still loading. An unfinished batch of unknown range holds the watermark at
 *                     `none` (nothing is final); once every batch is finished the watermark is `all`.
 * - **prefix**        How many batches, in plan order, are finished before the first unfinished one (the
 *                     "contiguous prefix" of the design note: batches 0 and 2 done, 1 running → prefix 1).
 *                     Progress shows it next to the watermark; with batches planned in time order they agree.
 * - **slice**         A swap unit of a time dimension: `[lo, hi)` in time keys (TimescaleDB: one chunk
 *                     interval). **Chunk**: a piece of the live table with its own `[lo, hi)` that a swap
 *                     decompressed or wrote into, and that must be compressed again.
 * - **stalled**       The watermark does not move because of one unfinished batch (the one whose `first` it
 *                     equals, or the first of unknown range): progress names it ("waiting for batch 2").
 */

/** `[first, last]` in time keys, both inclusive (Parquet statistics are inclusive min and max). */
export interface BatchRange {
  readonly first: bigint;
  readonly last: bigint;
}

/** `[lo, hi)` in time keys: a slice or a chunk. */
export interface KeyInterval {
  readonly lo: bigint;
  readonly hi: bigint;
}

export type Watermark =
  /** Nothing is final: an unfinished batch has no known range. */
  | { readonly kind: 'none' }
  /** Everything ending at or before `key` is final. */
  | { readonly kind: 'at'; readonly key: bigint }
  /** Every batch is finished: everything is final. */
  | { readonly kind: 'all' };

/** What the watermark needs to know about one batch. */
export interface WatermarkBatch {
  /** 0-based position in the plan. */
  readonly index: number;
  readonly finished: boolean;
  /** Undefined when unknown (an object without statistics). */
  readonly range: BatchRange | undefined;
}

export interface WatermarkView {
  readonly watermark: Watermark;
  /** Finished batches before the first unfinished one, in plan order. */
  readonly prefix: number;
  /** The unfinished batch holding the watermark where it is (undefined when every batch is finished). */
  readonly stalledBy: number | undefined;
}

/** The watermark, the contiguous prefix, and which batch holds the watermark back. */
export function computeWatermark(batches: readonly WatermarkBatch[]): WatermarkView {
  const ordered = [...batches].sort((a, b) => a.index - b.index);
  let prefix = 0;
  while (prefix < ordered.length && ordered[prefix]!.finished) prefix += 1;
  let lowest: WatermarkBatch | undefined;
  for (const batch of ordered) {
    if (batch.finished) continue;
    // The first unfinished batch of unknown range stops everything; among known ones the smallest start wins,
    // and on a tie the earlier batch is named.
    if (batch.range === undefined) return { watermark: { kind: 'none' }, prefix, stalledBy: batch.index };
    if (lowest === undefined || batch.range.first < lowest.range!.first) lowest = batch;
  }
  if (lowest === undefined) return { watermark: { kind: 'all' }, prefix, stalledBy: undefined };
  return { watermark: { kind: 'at', key: lowest.range!.first }, prefix, stalledBy: lowest.index };
}

/** True when no unfinished batch can put a row into `interval`. */
export function isFinal(interval: KeyInterval, watermark: Watermark): boolean {
  switch (watermark.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'at':
      return interval.hi <= watermark.key;
  }
}

/** True when `b` is strictly ahead of `a` (the watermark advanced). */
export function advanced(a: Watermark, b: Watermark): boolean {
  const rank = (w: Watermark) => (w.kind === 'none' ? 0 : w.kind === 'at' ? 1 : 2);
  if (rank(b) !== rank(a)) return rank(b) > rank(a);
  return a.kind === 'at' && b.kind === 'at' && b.key > a.key;
}

/** The watermark as JSON-safe text for the journal and `--json` (`none`, `all` or the key in decimal). */
export function watermarkText(watermark: Watermark): string {
  return watermark.kind === 'at' ? String(watermark.key) : watermark.kind;
}

export function parseWatermark(text: string): Watermark {
  if (text === 'none' || text === 'all') return { kind: text };
  if (!/^-?\d+$/.test(text))
    throw new Error(`watermark ${JSON.stringify(text)} is not none, all or an integer`);
  return { kind: 'at', key: BigInt(text) };
}

/** The range of a batch from its objects' ranges: the union, or undefined when any object's is unknown. */
export function batchRange(objectRanges: readonly (BatchRange | undefined)[]): BatchRange | undefined {
  let first: bigint | undefined;
  let last: bigint | undefined;
  for (const range of objectRanges) {
    if (range === undefined) return undefined;
    if (first === undefined || range.first < first) first = range.first;
    if (last === undefined || range.last > last) last = range.last;
  }
  return first === undefined || last === undefined ? undefined : { first, last };
}

/** An object to order before batching, with its range from the footer (undefined: no statistics). */
export interface RangedObject<T> {
  readonly object: T;
  readonly key: string;
  readonly range: BatchRange | undefined;
}

export interface ObjectOrder<T> {
  readonly objects: readonly T[];
  /** 'time' when every object had statistics; 'object' otherwise (the plan says which, and why). */
  readonly order: 'time' | 'object';
  /** Keys of the objects without statistics for the time column (empty when ordered by time). */
  readonly withoutStatistics: readonly string[];
}

/**
 * The order to plan batches in: by time (first, then last, then key) when every object has statistics, so that
 * batch k's rows come before batch k+1's and the watermark advances batch by batch; otherwise by key (the order
 * of today's planner), with the objects lacking statistics named.
 */
export function orderForBatches<T>(objects: readonly RangedObject<T>[]): ObjectOrder<T> {
  const byKey = [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const withoutStatistics = byKey.filter((o) => o.range === undefined).map((o) => o.key);
  if (withoutStatistics.length > 0 || objects.length === 0) {
    return { objects: byKey.map((o) => o.object), order: 'object', withoutStatistics };
  }
  const byTime = [...byKey].sort((a, b) => {
    const ra = a.range!;
    const rb = b.range!;
    if (ra.first !== rb.first) return ra.first < rb.first ? -1 : 1;
    if (ra.last !== rb.last) return ra.last < rb.last ? -1 : 1;
    return 0; // stable: key order
  });
  return { objects: byTime.map((o) => o.object), order: 'time', withoutStatistics: [] };
}
