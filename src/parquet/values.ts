/**
 * How decoded Parquet values are represented in a RowChunk, and the conversions that produce them.
 *
 * Representation (per ValueType kind; null is always `null`, never `undefined`):
 * - boolean → boolean; int 8/16/32 → number (Int32Array/Uint32Array when the column has no nulls);
 *   int 64 → bigint (BigInt64Array/BigUint64Array when no nulls); float → number.
 * - decimal → exact decimal string (`"-123.45"`, scale digits always present), never a float.
 * - string, json → string (UTF-8 as stored, a leading byte-order mark kept; invalid sequences become U+FFFD;
 *   JSON is the text as stored, not parsed); uuid → `xxxxxxxx-xxxx-…` string;
 *   binary → Uint8Array.
 * - date → Date at UTC midnight of that day.
 * - time → integer count of the column's unit since midnight: number for millis, bigint for micros/nanos.
 * - timestamp (every unit, INT96 too) → Date. A value that is a whole number of milliseconds is a plain
 *   `Date`; a value with sub-millisecond digits is a `PreciseDate` (a Date whose `getTime()` is the
 *   millisecond floor) that also carries the exact `epochNanos`. Use `epochMicros(value)` /
 *   `epochNanos(value)` to get the full precision of any timestamp value (PostgreSQL keeps microseconds).
 *   Timestamps outside the JS Date range (±8.64e15 ms, years −271821…275760) cannot be represented and
 *   make the read fail with a SourceError naming object, column and row group.
 * - list → array; struct → plain object keyed by field name; map → plain object keyed by the key's text.
 */
import type { ParquetParsers } from './hyparquet-internals.ts';
import type { ValueType } from '../source/types.ts';

/** Largest |milliseconds| a JS Date can hold. */
const MAX_DATE_MS = 8_640_000_000_000_000;
const NANOS_PER_MS = 1_000_000n;

/** A timestamp with sub-millisecond digits: a Date (millisecond floor) plus the exact nanoseconds since the epoch. */
export class PreciseDate extends Date {
  readonly epochNanos: bigint;

  constructor(epochNanos: bigint) {
    super(Number(floorDiv(epochNanos, NANOS_PER_MS)));
    this.epochNanos = epochNanos;
  }
}

/** A decoded value that has no representation (e.g. a timestamp beyond the Date range). */
export class UnrepresentableValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrepresentableValueError';
  }
}

/** Exact nanoseconds since the epoch of a decoded timestamp value. */
export function epochNanos(value: Date): bigint {
  return value instanceof PreciseDate ? value.epochNanos : BigInt(value.getTime()) * NANOS_PER_MS;
}

/** Microseconds since the epoch of a decoded timestamp value (nanoseconds are floored). */
export function epochMicros(value: Date): bigint {
  return value instanceof PreciseDate ? floorDiv(value.epochNanos, 1000n) : BigInt(value.getTime()) * 1000n;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function dateFromMillis(ms: number, raw: bigint | number, unit: string): Date {
  if (!(Math.abs(ms) <= MAX_DATE_MS)) {
    const year = Math.floor(1970 + ms / 31_556_952_000);
    throw new UnrepresentableValueError(
      `timestamp ${String(raw)} ${unit} since 1970-01-01 (about year ${year}) is outside the range of dates shadowfill can load (years -271821 to 275760)`,
    );
  }
  return new Date(ms);
}

function timestampFromNanos(nanos: bigint, raw: bigint, unit: string): Date {
  if (nanos % NANOS_PER_MS === 0n) return dateFromMillis(Number(nanos / NANOS_PER_MS), raw, unit);
  dateFromMillis(Number(floorDiv(nanos, NANOS_PER_MS)), raw, unit); // range check
  return new PreciseDate(nanos);
}

const JULIAN_DAY_OF_EPOCH = 2_440_588n;
const NANOS_PER_DAY = 86_400_000_000_000n;

/**
 * Nanoseconds since the epoch of an INT96 timestamp (8 bytes nanoseconds of the day, then 4 bytes Julian day,
 * little-endian). A time-of-day outside [0, 1 day) is how Spark stores instants whose Julian microseconds
 * overflowed 64 bits; Spark reads them back with the same wrapping 64-bit microsecond arithmetic, and so do we.
 */
export function int96ToEpochNanos(bytes: Uint8Array): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 12);
  const nanosOfDay = view.getBigInt64(0, true);
  const days = BigInt(view.getInt32(8, true)) - JULIAN_DAY_OF_EPOCH;
  if (nanosOfDay >= 0n && nanosOfDay < NANOS_PER_DAY) return days * NANOS_PER_DAY + nanosOfDay;
  const micros = BigInt.asIntN(64, days * 86_400_000_000n + nanosOfDay / 1000n);
  return micros * 1000n + (nanosOfDay % 1000n);
}

/** UTF-8 as stored: a leading U+FEFF is part of the value (TextDecoder's default would drop it). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** hyparquet value parsers producing the representation above (INT96 arrives as exact bigint nanoseconds). */
export const valueParsers: Partial<ParquetParsers> = {
  stringFromBytes(bytes: Uint8Array): string {
    return bytes && utf8.decode(bytes);
  },
  /** JSON is kept as the text stored (hyparquet's default would parse it, losing big numbers and formatting). */
  jsonFromBytes(bytes: Uint8Array): unknown {
    return bytes && utf8.decode(bytes);
  },
  timestampFromMilliseconds(millis: bigint): Date {
    return dateFromMillis(Number(millis), millis, 'milliseconds');
  },
  timestampFromMicroseconds(micros: bigint): Date {
    const n = Number(micros);
    if (Number.isSafeInteger(n) && n % 1000 === 0) return dateFromMillis(n / 1000, micros, 'microseconds');
    return timestampFromNanos(micros * 1000n, micros, 'microseconds');
  },
  timestampFromNanoseconds(nanos: bigint): Date {
    return timestampFromNanos(nanos, nanos, 'nanoseconds');
  },
  dateFromDays(days: number): Date {
    const ms = days * 86_400_000;
    if (!(Math.abs(ms) <= MAX_DATE_MS)) {
      throw new UnrepresentableValueError(
        `date ${days} (days since 1970-01-01) is outside the range of dates shadowfill can load`,
      );
    }
    return new Date(ms);
  },
};

/** `unscaled × 10^-scale` as exact decimal text. */
export function formatDecimal(unscaled: bigint | number, scale: number): string {
  const negative = unscaled < 0;
  let digits = (negative ? -unscaled : unscaled).toString();
  if (scale > 0) {
    if (digits.length <= scale) digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** Big-endian two's-complement bytes (DECIMAL on BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY) → integer. */
export function decimalBytesToInteger(bytes: Uint8Array): bigint | number {
  const length = bytes.length;
  if (length === 0) return 0;
  if (length <= 6) {
    let value = 0;
    for (let i = 0; i < length; i++) value = value * 256 + (bytes[i] as number);
    return (bytes[0] as number) & 0x80 ? value - 2 ** (8 * length) : value;
  }
  let value = 0n;
  for (let i = 0; i < length; i++) value = (value << 8n) | BigInt(bytes[i] as number);
  return (bytes[0] as number) & 0x80 ? value - (1n << BigInt(8 * length)) : value;
}

/** One raw decimal (number for INT32, bigint for INT64, bytes otherwise) → exact decimal text. */
export function decimalToString(raw: unknown, scale: number): string {
  if (typeof raw === 'number' || typeof raw === 'bigint') return formatDecimal(raw, scale);
  if (raw instanceof Uint8Array) return formatDecimal(decimalBytesToInteger(raw), scale);
  throw new UnrepresentableValueError(`decimal value of unexpected shape ${typeof raw}`);
}

/**
 * True when values of a top-level column come out of hyparquet in their final shape (flat, nulls already
 * null): everything but decimals, INT96 timestamps (raw 12 bytes) and nested types.
 */
export function isFinalAsDecoded(type: ValueType, parquetType: string): boolean {
  switch (type.kind) {
    case 'decimal':
    case 'list':
    case 'struct':
    case 'map':
      return false;
    case 'timestamp':
      return !parquetType.startsWith('INT96');
    default:
      return true;
  }
}

/**
 * Brings one value decoded by hyparquet into the documented representation: `undefined` → null, decimals →
 * strings, INT96 bytes → Date, and the same recursively inside lists, structs and maps. Objects from hyparquet are updated in place.
 */
export function normalizeValue(type: ValueType, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (type.kind) {
    case 'decimal':
      return decimalToString(value, type.scale);
    case 'timestamp':
      if (value instanceof Uint8Array) {
        const nanos = int96ToEpochNanos(value);
        return timestampFromNanos(nanos, nanos, 'nanoseconds');
      }
      return value;
    case 'list': {
      if (!Array.isArray(value)) throw new UnrepresentableValueError('list value is not an array');
      const element = type.element;
      for (let i = 0; i < value.length; i++) value[i] = normalizeValue(element, value[i]);
      return value;
    }
    case 'struct': {
      const record = value as Record<string, unknown>;
      for (const field of type.fields) record[field.name] = normalizeValue(field.type, record[field.name]);
      return record;
    }
    case 'map': {
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = normalizeValue(type.value, record[key]);
      return record;
    }
    default:
      return value;
  }
}
