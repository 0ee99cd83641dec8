/**
 * A what-if of the `postgres-load` benchmark: timestamps formatted the cheap way (a cached `YYYY-MM-DDT` per day
 * plus integer arithmetic for the time of day) instead of encode.ts's `timestampText` (BigInt microseconds,
 * `new Date(…).toISOString()`, string slicing). `preformatTimestamps` applies it to a RowChunk stream before the
 * adapter's loader sees it; the loader passes strings through unchanged, so the load measures exactly the
 * loader with that formatting, paid on the same thread.
 */
import type { RowChunk } from '../../src/adapter/contract.ts';
import { PreciseDate } from '../../src/parquet/values.ts';

const DAY_MS = 86_400_000;
/** 0001-01-01 and 9999-12-31T23:59:59.999Z: the years `toISOString` writes with four digits. */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const FRACTION = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '' : `.${String(i).padStart(3, '0')}`));

/** A formatter: ISO 8601 text of a millisecond-precision Date; any other value (PreciseDate, out of range) unchanged. */
export function fastIsoText(): (value: unknown) => unknown {
  let cachedDay = Number.NaN;
  let dayText = '';
  return (value) => {
    if (!(value instanceof Date) || value instanceof PreciseDate) return value;
    const ms = value.getTime();
    if (!(ms >= MIN_MS && ms <= MAX_MS)) return value;
    const day = Math.floor(ms / DAY_MS);
    if (day !== cachedDay) {
      cachedDay = day;
      dayText = new Date(day * DAY_MS).toISOString().slice(0, 11);
    }
    let rest = ms - day * DAY_MS;
    const millis = rest % 1000;
    rest = (rest - millis) / 1000;
    const seconds = rest % 60;
    rest = (rest - seconds) / 60;
    const minutes = rest % 60;
    const hours = (rest - minutes) / 60;
    return `${dayText}${PAD2[hours]}:${PAD2[minutes]}:${PAD2[seconds]}${FRACTION[millis]}Z`;
  };
}

/** `input` with the values of `column` replaced by their fast ISO text. */
export async function* preformatTimestamps(
  input: AsyncIterable<RowChunk>,
  column: string,
): AsyncIterable<RowChunk> {
  const format = fastIsoText();
  for await (const chunk of input) {
    const values = chunk.columns.get(column);
    if (!values) {
      yield chunk;
      continue;
    }
    const text = new Array<unknown>(values.length);
    for (let i = 0; i < values.length; i++) text[i] = format(values[i]);
    const columns = new Map(chunk.columns);
    columns.set(column, text);
    yield { ...chunk, columns };
  }
}
