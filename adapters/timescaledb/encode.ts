/**
 * Turns decoded Parquet values (the representation of src/parquet/values.ts) into PostgreSQL text input for a
 * target column: the same text serves COPY (after `copyField` escaping) and `unnest($n::text[])` (cast per column).
 * Timestamps keep microseconds (PreciseDate), decimals stay exact, INT64 stays exact, lists become array literals,
 * structs and maps become JSON. A value that cannot fit the column throws EncodeError with the reason.
 */
import { epochMicros } from '../../src/parquet/values.ts';
import type { ValueType } from '../../src/source/types.ts';
import { classifyType, INT_RANGE, type PgTypeInfo } from './pg-types.ts';
import { fastIsoText } from './timestamp-text.ts';

export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}

/** Value → PostgreSQL input text, or null for SQL NULL. */
export type Encoder = (value: unknown) => string | null;

/** A leading U+FEFF is part of the value (TextDecoder's default would drop it). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let out = '\\x';
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}

/** ISO text that PostgreSQL reads for any year: `2024-01-01T00:00:00.000123Z`, `12345-01-01…`, `… BC`. */
function isoFromMicros(micros: bigint): string {
  let ms = micros / 1000n;
  let sub = micros % 1000n;
  if (sub < 0n) {
    sub += 1000n;
    ms -= 1n;
  }
  const iso = new Date(Number(ms)).toISOString();
  const fraction = sub === 0n ? '' : String(sub).padStart(3, '0');
  const body = `${iso.slice(0, -1)}${fraction}Z`;
  if (body[0] !== '+' && body[0] !== '-') return body;
  // Extended years: +012345-… or -000001-… (ISO year 0 = 1 BC, −1 = 2 BC).
  const match = /^([+-])(\d{6})(.*)$/.exec(body)!;
  const year = Number(match[2]);
  if (match[1] === '+') return `${String(year).padStart(4, '0')}${match[3]}`;
  return `${String(year + 1).padStart(4, '0')}${match[3]!.replace('T', ' ').replace('Z', '+00')} BC`;
}

const fastIso = fastIsoText();

function timestampText(value: Date): string {
  const fast = fastIso(value);
  if (fast !== undefined) return fast;
  const ms = value.getTime();
  if (Number.isNaN(ms)) throw new EncodeError('invalid date');
  return isoFromMicros(epochMicros(value));
}

function dateText(value: Date): string {
  const text = timestampText(value);
  const day = text.split(/[T ]/)[0]!;
  return text.endsWith(' BC') ? `${day} BC` : day;
}

function microsOf(value: number | bigint, unit: 'millis' | 'micros' | 'nanos'): bigint {
  const n = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
  if (unit === 'millis') return n * 1000n;
  if (unit === 'nanos') return n >= 0n ? n / 1000n : -((-n + 999n) / 1000n);
  return n;
}

function timeOfDay(micros: bigint): string {
  const day = 86_400_000_000n;
  const m = ((micros % day) + day) % day;
  const h = m / 3_600_000_000n;
  const mi = (m / 60_000_000n) % 60n;
  const s = (m / 1_000_000n) % 60n;
  const f = m % 1_000_000n;
  const two = (x: bigint) => String(x).padStart(2, '0');
  return `${two(h)}:${two(mi)}:${two(s)}${f === 0n ? '' : `.${String(f).padStart(6, '0')}`}`;
}

const BIG = '__shadowfill_bigint__';
const BIG_MARK = new RegExp(`"${BIG}(-?\\d+)"`, 'g');

/** JSON.stringify cannot write a bigint: mark it as a string, then unquote the mark so the number stays exact. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${BIG}${value}`;
  if (value instanceof Uint8Array) return utf8.decode(value);
  return value;
}

function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value, jsonReplacer);
  return text.includes(BIG) ? text.replace(BIG_MARK, '$1') : text;
}

function jsonText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  if (value instanceof Date) return JSON.stringify(timestampText(value));
  return stringifyJson(value);
}

function plainText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return utf8.decode(value);
  if (value instanceof Date) return timestampText(value);
  if (typeof value === 'object') return stringifyJson(value);
  return String(value);
}

function floatText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (Object.is(value, -0)) return '-0';
  return String(value);
}

function integerText(value: unknown, kind: 'int2' | 'int4' | 'int8', type: string): string {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number') {
    if (!Number.isInteger(value))
      throw new EncodeError(`value ${value} is not an integer, so it cannot go into ${type}`);
    n = BigInt(value);
  } else if (typeof value === 'boolean') n = value ? 1n : 0n;
  else return plainText(value);
  const [lo, hi] = INT_RANGE[kind];
  if (n < lo || n > hi) throw new EncodeError(`value ${n} is out of range for ${type}`);
  return String(n);
}

function uuidText(value: unknown): string {
  if (value instanceof Uint8Array && value.length === 16) {
    const h = Array.from(value, (b) => HEX[b]).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  return plainText(value);
}

/** Quotes one element of an array literal. */
function arrayElement(text: string | null): string {
  if (text === null) return 'NULL';
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function makeEncoder(info: PgTypeInfo, source: ValueType | undefined): Encoder {
  const timeUnit =
    source?.kind === 'time' ? source.unit : source?.kind === 'timestamp' ? source.unit : 'micros';
  switch (info.kind) {
    case 'boolean':
      return (v) =>
        v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? 't' : 'f') : plainText(v);
    case 'int2':
    case 'int4':
    case 'int8': {
      const kind = info.kind;
      return (v) => (v === null || v === undefined ? null : integerText(v, kind, info.text));
    }
    case 'float':
    case 'numeric':
      return (v) =>
        v === null || v === undefined ? null : typeof v === 'number' ? floatText(v) : plainText(v);
    case 'timestamptz':
    case 'timestamp':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof Date) return timestampText(v);
        if (typeof v === 'number' || typeof v === 'bigint') return isoFromMicros(microsOf(v, timeUnit));
        return plainText(v);
      };
    case 'date':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof Date) return dateText(v);
        return plainText(v);
      };
    case 'time':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (typeof v === 'number' || typeof v === 'bigint') return timeOfDay(microsOf(v, timeUnit));
        if (v instanceof Date) return timeOfDay(epochMicros(v));
        return plainText(v);
      };
    case 'bytea':
      return (v) => {
        if (v === null || v === undefined) return null;
        if (v instanceof Uint8Array) return hex(v);
        return hex(utf8Encoder.encode(plainText(v)));
      };
    case 'json':
      return (v) => (v === null || v === undefined ? null : jsonText(v));
    case 'uuid':
      return (v) => (v === null || v === undefined ? null : uuidText(v));
    case 'array': {
      const elementSource = source?.kind === 'list' ? source.element : undefined;
      const element = makeEncoder(info.element ?? classifyType('text'), elementSource);
      const literal = (v: unknown): string => {
        if (typeof v === 'string') return v;
        if (!Array.isArray(v) && !ArrayBuffer.isView(v)) return plainText(v);
        const items = Array.from(v as ArrayLike<unknown>, (item) =>
          Array.isArray(item) && info.element?.kind !== 'json' ? literal(item) : arrayElement(element(item)),
        );
        return `{${items.join(',')}}`;
      };
      return (v) => (v === null || v === undefined ? null : literal(v));
    }
    default:
      return (v) => (v === null || v === undefined ? null : plainText(v));
  }
}

/** The encoder for a column of type `type` (format_type text) fed from a source column of `source` type. */
export function encoderFor(type: string, source: ValueType | undefined): Encoder {
  return makeEncoder(classifyType(type), source);
}

const COPY_SPECIAL = /[\\\n\r\t]/;

/** One field of COPY text format: `\N` for NULL, backslash escapes for backslash, newline, CR and tab. */
export function copyField(text: string | null): string {
  if (text === null) return '\\N';
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}
