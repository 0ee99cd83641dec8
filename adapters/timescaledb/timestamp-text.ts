/**
 * Fast ISO-8601 text for millisecond-precision Dates (the common case of Parquet timestamps), used by the load
 * path's encoder: the `YYYY-MM-DDT` prefix is cached per day and the time of day is formatted with integer
 * arithmetic. Measured in bench/postgres-load: 0.93M → 3.4M values/s. Values it does not cover (sub-millisecond
 * PreciseDates, years outside 0001–9999) return undefined and take the exact, slower path.
 */
import { PreciseDate } from '../../src/parquet/values.ts';

const DAY_MS = 86_400_000;
/** 0001-01-01 and 9999-12-31T23:59:59.999Z: the years `toISOString` writes with four digits. */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;
const PAD2 = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const FRACTION = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '' : `.${String(i).padStart(3, '0')}`));

/** A formatter with its own one-day cache: `2024-12-17T09:30:00.250Z`, or undefined when not applicable. */
export function fastIsoText(): (value: Date) => string | undefined {
  let cachedDay = Number.NaN;
  let dayText = '';
  return (value) => {
    if (value instanceof PreciseDate) return undefined;
    const ms = value.getTime();
    if (!(ms >= MIN_MS && ms <= MAX_MS)) return undefined;
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
