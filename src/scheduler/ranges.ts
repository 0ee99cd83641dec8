/**
 * Batch ranges in time keys (watermark.ts) from the footer statistics the engine already read during validation
 * (src/parquet/schema.ts `columnRanges`, the one reader of footer statistics): an object's range of the target's
 * time column, converted into the time dimension's keys, and the order batches are planned in.
 *
 * - `time` dimensions (TimescaleDB timestamptz, timestamp read as UTC, date): keys are microseconds since the Unix
 *   epoch. Column ranges of time columns are ISO instants with six fractional digits, already widened outward
 *   where hyparquet lost sub-millisecond digits, so the conversion is exact.
 * - `number` dimensions (integer time): keys are the values themselves; a fractional bound (a float column) is
 *   rounded outward by `columnRanges` already.
 * A column range of the other kind (a timestamp column loaded into an integer dimension) gives no range: the plan
 * falls back to object order.
 */
import type { BatchSpec, TimeDimension } from '../adapter/contract.ts';
import type { ColumnRange, SourceObject } from '../source/types.ts';
import { batchRange, orderForBatches, type BatchRange, type ObjectOrder } from './watermark.ts';

const ISO_MICROS = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})(\d{3})Z$/;

/** `2024-12-17T00:00:00.000123Z` → epoch microseconds; undefined for text of another shape. */
export function isoToMicros(text: string): bigint | undefined {
  const match = ISO_MICROS.exec(text);
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}Z`);
  if (!Number.isFinite(ms)) return undefined;
  return BigInt(ms) * 1000n + BigInt(match[2]!);
}

/** Epoch microseconds → `2024-12-17 09:00:00` (UTC; fractions only when present), for progress and the plan. */
export function microsToText(micros: bigint): string {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const rest = micros - ms * 1000n;
  const date = new Date(Number(ms));
  if (!Number.isFinite(date.getTime())) return `${micros} µs`;
  const iso = date.toISOString();
  const fraction = `${iso.slice(20, 23)}${String(rest).padStart(3, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction ? `.${fraction}` : ''}`;
}

/** A column range as time keys of `dimension`, or undefined when the kinds do not match. */
export function timeKeyRange(
  range: ColumnRange | undefined,
  dimension: Pick<TimeDimension, 'kind'>,
): BatchRange | undefined {
  if (!range || range.kind !== dimension.kind) return undefined;
  if (range.kind === 'time') {
    const first = isoToMicros(range.min);
    const last = isoToMicros(range.max);
    return first === undefined || last === undefined ? undefined : { first, last };
  }
  const exact = /^-?\d+$/;
  if (!exact.test(range.min) || !exact.test(range.max)) return undefined;
  return { first: BigInt(range.min), last: BigInt(range.max) };
}

/** A time key as text for people: a UTC time for time dimensions, the number for integer ones. */
export function timeKeyText(key: bigint, dimension: Pick<TimeDimension, 'kind'> | undefined): string {
  return dimension?.kind === 'time' ? microsToText(key) : String(key);
}

/** Each object's range of the dimension's column (undefined: no statistics, or no dimension). */
export function objectRanges(
  objects: readonly SourceObject[],
  ranges: Readonly<Record<string, Readonly<Record<string, ColumnRange>> | undefined>>,
  dimension: TimeDimension | undefined,
): Map<string, BatchRange | undefined> {
  const out = new Map<string, BatchRange | undefined>();
  for (const object of objects) {
    out.set(
      object.key,
      dimension ? timeKeyRange(ranges[object.key]?.[dimension.column], dimension) : undefined,
    );
  }
  return out;
}

/** The objects in planning order (time when every object has a range), and why. */
export function orderObjects(
  objects: readonly SourceObject[],
  ranges: ReadonlyMap<string, BatchRange | undefined>,
): ObjectOrder<SourceObject> {
  return orderForBatches(
    objects.map((object) => ({ object, key: object.key, range: ranges.get(object.key) })),
  );
}

/** Every batch's range: the union of its objects' ranges (undefined when one of them has none). */
export function rangesOfBatches(
  batches: readonly BatchSpec[],
  ranges: ReadonlyMap<string, BatchRange | undefined>,
): (BatchRange | undefined)[] {
  return batches.map((b) => batchRange(b.objects.map((o) => ranges.get(o.key))));
}

/** Batch ranges as JSON-safe text for the journal (`run-started`), and back. */
export type RangeText = readonly [string, string] | null;

export function rangeToText(range: BatchRange | undefined): RangeText {
  return range ? [String(range.first), String(range.last)] : null;
}

export function rangeFromText(text: RangeText | undefined): BatchRange | undefined {
  if (!text) return undefined;
  return { first: BigInt(text[0]), last: BigInt(text[1]) };
}
