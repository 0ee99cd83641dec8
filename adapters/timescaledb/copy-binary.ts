/**
 * `COPY … FROM STDIN (FORMAT binary)` for the staging table, written straight from columnar Parquet data
 * (src/parquet/columnar.ts): no JS value per row, no text formatting on our side and no text parsing on the
 * server. Timestamps go from the Parquet INT64 (millis, micros or nanos since 1970) to PostgreSQL's int64
 * microseconds since 2000 with 32-bit integer arithmetic; strings are copied as the bytes they are in their page,
 * each dictionary entry encoded once per dictionary; integers and floats are byte-swapped.
 *
 * Only (target type, source type) pairs whose binary form stores exactly what the text path (encode.ts) stores
 * are written in binary (`binaryWriterFor`); a table with any other column is loaded in text format
 * (copy-encoder.ts decides). Where the text path refuses a value (an integer out of range), this path refuses it
 * with the same message; where the server refuses it (a timestamp out of PostgreSQL's range) both paths let the
 * server say so. Strings that are not valid UTF-8 are written as the text path writes them (each invalid
 * sequence replaced by U+FFFD), so both paths store the same text.
 *
 * Wire format (PostgreSQL docs, "COPY — Binary Format"): a 19-byte header, then per row an int16 field count and
 * per field an int32 length (-1 = NULL) and that many bytes, all big-endian; a trailer int16 -1.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import type { ColumnVector } from '../../src/parquet/columnar.ts';
import type { RawSegment, RawValues } from '../../src/parquet/raw-pages.ts';
import type { ValueType } from '../../src/source/types.ts';
import { EncodeError } from './encode.ts';
import { INT_RANGE, type PgTypeInfo } from './pg-types.ts';

/** `PGCOPY\n\377\r\n\0`, flags 0, header extension length 0. */
export const BINARY_COPY_HEADER = Uint8Array.from([
  0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
]);
/** The file trailer: a field count of -1. */
export const BINARY_COPY_TRAILER = Uint8Array.from([0xff, 0xff]);

/**
 * Writes one column's fields for rows [start, end) of a chunk. The encoder (copy-encoder.ts) sizes every row
 * first — `fixed` bytes per row for fixed-size fields (4 + value), adjusted by `size` (NULLs, variable-length
 * values) — then calls `write` with each row's write position, which it advances past the field.
 */
export interface ColumnWriter {
  /** Bytes every row's field takes when not NULL and not variable (0 for variable-length fields). */
  readonly fixed: number;
  /** Adds to `sizes[row - start]` what differs from `fixed` (NULLs, variable lengths). */
  size(segments: readonly RawSegment[], start: number, end: number, sizes: Int32Array): void;
  write(segments: readonly RawSegment[], start: number, end: number, out: Uint8Array, pos: Int32Array): void;
}

/** 946684800 s: 1970-01-01 → 2000-01-01, PostgreSQL's epoch. */
export const PG_EPOCH_MICROS = 946_684_800_000_000;
export const PG_EPOCH_DAYS = 10_957;
export const TWO32 = 4_294_967_296;
/** PostgreSQL's finite timestamps (µs since 2000): [MIN_TIMESTAMP, END_TIMESTAMP). */
const PG_MIN_TIMESTAMP = -211_813_488_000_000_000n;
const PG_END_TIMESTAMP = 9_223_371_331_200_000_000n;

/** Rows [a, b) of one segment: `p` = index of the first row's value, `row` = the output row of row a. */
interface Run {
  readonly values: RawValues;
  readonly indices: RawSegment['indices'];
  readonly defined: Uint8Array | undefined;
  readonly a: number;
  readonly b: number;
  readonly p: number;
  readonly row: number;
}

/** The parts of `segments` that hold rows [start, end). */
function runsOf(segments: readonly RawSegment[], start: number, end: number): Run[] {
  const runs: Run[] = [];
  let base = 0;
  for (const segment of segments) {
    const segEnd = base + segment.rows;
    if (segEnd > start && base < end) {
      const a = Math.max(start, base) - base;
      const b = Math.min(end, segEnd) - base;
      const { defined, indices, values } = segment;
      let p = segment.first;
      if (defined) for (let i = 0; i < a; i++) p += defined[i]!;
      else p += a;
      runs.push({ values, indices, defined, a, b, p, row: base + a - start });
    }
    base = segEnd;
    if (base >= end) break;
  }
  return runs;
}

function writeInt32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

/** A NULL field: length -1. */
function writeNull(out: Uint8Array, pos: Int32Array, row: number): void {
  const at = pos[row]!;
  out[at] = 0xff;
  out[at + 1] = 0xff;
  out[at + 2] = 0xff;
  out[at + 3] = 0xff;
  pos[row] = at + 4;
}

/** Size pass of a fixed-size writer: a NULL row takes 4 bytes, not 4 + `bytes`. */
function fixedSize(bytes: number) {
  return (segments: readonly RawSegment[], start: number, end: number, sizes: Int32Array): void => {
    for (const run of runsOf(segments, start, end)) {
      const defined = run.defined;
      if (!defined) continue;
      for (let i = run.a, row = run.row; i < run.b; i++, row++) if (!defined[i]) sizes[row]! -= bytes;
    }
  };
}

// ---- byte fields (text, json, jsonb, bytea, uuid) ----

const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Values as the text path would send them: invalid UTF-8 sequences replaced by U+FFFD. */
function replaced(value: Uint8Array): Uint8Array | undefined {
  return isUtf8(value) ? undefined : utf8Encoder.encode(utf8Decoder.decode(value));
}

/**
 * A page's or dictionary's byte values as ready-made fields: per value its int32 length, the prefix byte if any
 * and its bytes (after UTF-8 repair for text). Used for dictionaries (encoded once, copied per row) and for
 * plain pages holding invalid UTF-8.
 */
interface Fields {
  readonly bytes: Uint8Array;
  /** Value i is bytes[at[i] .. at[i + 1]). */
  readonly at: Int32Array;
}

function encodeFields(
  values: RawValues & { type: 'bytes' },
  text: boolean,
  prefix: number | undefined,
  check: (length: number) => void,
): Fields {
  const { buffer, starts, lengths } = values;
  const n = starts.length;
  const extra = prefix === undefined ? 0 : 1;
  const repaired = new Map<number, Uint8Array>();
  if (text && n > 0 && !isAscii(buffer.subarray(starts[0]!, starts[n - 1]! + lengths[n - 1]!))) {
    for (let i = 0; i < n; i++) {
      const fixed = replaced(buffer.subarray(starts[i]!, starts[i]! + lengths[i]!));
      if (fixed) repaired.set(i, fixed);
    }
  }
  const at = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const length = repaired.get(i)?.length ?? lengths[i]!;
    check(length);
    at[i] = total;
    total += 4 + extra + length;
  }
  at[n] = total;
  const out = new Uint8Array(total);
  for (let i = 0; i < n; i++) {
    let p = at[i]!;
    const fixed = repaired.get(i);
    const length = fixed ? fixed.length : lengths[i]!;
    writeInt32(out, p, length + extra);
    p += 4;
    if (prefix !== undefined) out[p++] = prefix;
    if (fixed) out.set(fixed, p);
    else {
      const from = starts[i]!;
      for (let k = 0; k < length; k++) out[p + k] = buffer[from + k]!;
    }
  }
  return { bytes: out, at };
}

/** Byte values with `prefix` (jsonb's version byte) before each; `fixed` checks the length (uuid). */
function bytesWriter(options: {
  readonly text: boolean;
  readonly prefix?: number;
  readonly fixed?: number;
  readonly what: string;
}): ColumnWriter {
  const { text, prefix, fixed, what } = options;
  const extra = prefix === undefined ? 0 : 1;
  const check = (length: number): void => {
    if (fixed !== undefined && length !== fixed) {
      throw new EncodeError(`a ${what} value must be ${fixed} bytes, got ${length}`);
    }
  };
  /** Dictionaries and pages that needed repair, as fields; pages found clean map to undefined. */
  const encoded = new WeakMap<RawValues, Fields | undefined>();
  const fieldsOf = (run: Run): Fields | undefined => {
    const values = run.values;
    if (encoded.has(values)) return encoded.get(values);
    if (values.type !== 'bytes') throw new Error(`${what}: ${values.type} values`);
    let fields: Fields | undefined;
    if (run.indices) fields = encodeFields(values, text, prefix, check);
    else {
      const n = values.starts.length;
      const clean =
        !text ||
        n === 0 ||
        isAscii(values.buffer.subarray(values.starts[0]!, values.starts[n - 1]! + values.lengths[n - 1]!)) ||
        values.starts.every((s, i) => isUtf8(values.buffer.subarray(s, s + values.lengths[i]!)));
      if (!clean) fields = encodeFields(values, text, prefix, check);
      else if (fixed !== undefined) for (let i = 0; i < n; i++) check(values.lengths[i]!);
    }
    encoded.set(values, fields);
    return fields;
  };
  return {
    fixed: 0,
    size(segments, start, end, sizes) {
      for (const run of runsOf(segments, start, end)) {
        const { defined, indices } = run;
        const fields = fieldsOf(run);
        let p = run.p;
        if (fields) {
          const at = fields.at;
          for (let i = run.a, row = run.row; i < run.b; i++, row++) {
            if (defined && !defined[i]) sizes[row]! += 4;
            else {
              const v = indices ? indices[p++]! : p++;
              sizes[row]! += at[v + 1]! - at[v]!;
            }
          }
        } else {
          const lengths = (run.values as RawValues & { type: 'bytes' }).lengths;
          const add = 4 + extra;
          for (let i = run.a, row = run.row; i < run.b; i++, row++) {
            if (defined && !defined[i]) sizes[row]! += 4;
            else sizes[row]! += add + lengths[p++]!;
          }
        }
      }
    },
    write(segments, start, end, out, pos) {
      for (const run of runsOf(segments, start, end)) {
        const { defined, indices } = run;
        const fields = fieldsOf(run);
        let p = run.p;
        if (fields) {
          const { bytes, at } = fields;
          for (let i = run.a, row = run.row; i < run.b; i++, row++) {
            if (defined && !defined[i]) {
              writeNull(out, pos, row);
              continue;
            }
            const v = indices ? indices[p++]! : p++;
            const from = at[v]!;
            const to = at[v + 1]!;
            let q = pos[row]!;
            if (to - from <= 64) for (let k = from; k < to; k++) out[q++] = bytes[k]!;
            else {
              out.set(bytes.subarray(from, to), q);
              q += to - from;
            }
            pos[row] = q;
          }
        } else {
          const { buffer, starts, lengths } = run.values as RawValues & { type: 'bytes' };
          for (let i = run.a, row = run.row; i < run.b; i++, row++) {
            if (defined && !defined[i]) {
              writeNull(out, pos, row);
              continue;
            }
            const from = starts[p]!;
            const length = lengths[p++]!;
            let q = pos[row]!;
            const field = length + extra;
            out[q] = field >>> 24;
            out[q + 1] = field >>> 16;
            out[q + 2] = field >>> 8;
            out[q + 3] = field;
            q += 4;
            if (prefix !== undefined) out[q++] = prefix;
            if (length <= 64) for (let k = 0; k < length; k++) out[q + k] = buffer[from + k]!;
            else out.set(buffer.subarray(from, from + length), q);
            pos[row] = q + length;
          }
        }
      }
    },
  };
}

// ---- numbers ----

function outOfRange(value: bigint | number, type: string): EncodeError {
  return new EncodeError(`value ${value} is out of range for ${type}`);
}

/** int64 values as little-endian (low, high) 32-bit word pairs. */
function words(values: RawValues): Int32Array {
  const data = (values as { data: BigInt64Array }).data;
  return new Int32Array(data.buffer, data.byteOffset, data.length * 2);
}

/** Integer target (int2/int4/int8) from an integer source column. */
function integerWriter(info: PgTypeInfo, source: ValueType & { kind: 'int' }): ColumnWriter {
  const kind = info.kind as 'int2' | 'int4' | 'int8';
  const [lo, hi] = INT_RANGE[kind];
  const size = kind === 'int2' ? 2 : kind === 'int4' ? 4 : 8;
  const min = Number(lo);
  const max = Number(hi);
  const int64 = source.bits === 64;
  const unsigned = !source.signed;
  return {
    fixed: 4 + size,
    size: fixedSize(size),
    write(segments, start, end, out, pos) {
      for (const run of runsOf(segments, start, end)) {
        const { defined, indices } = run;
        const data = int64 ? words(run.values) : (run.values as { data: Int32Array }).data;
        let p = run.p;
        for (let i = run.a, row = run.row; i < run.b; i++, row++) {
          if (defined && !defined[i]) {
            writeNull(out, pos, row);
            continue;
          }
          const v = indices ? indices[p++]! : p++;
          let low: number;
          let high: number;
          if (int64) {
            low = data[v * 2]!;
            high = data[v * 2 + 1]!;
            if (unsigned && high < 0) {
              throw outOfRange(
                BigInt.asUintN(64, (run.values as { data: BigInt64Array }).data[v]!),
                info.text,
              );
            }
          } else {
            low = data[v]!;
            if (unsigned && source.bits === 32) {
              const n = low >>> 0;
              if (n > max) throw outOfRange(n, info.text);
              high = 0;
            } else high = low >> 31;
          }
          if (size < 8 && (high !== low >> 31 || low < min || low > max)) {
            throw outOfRange(int64 ? (run.values as { data: BigInt64Array }).data[v]! : low >>> 0, info.text);
          }
          const at = pos[row]!;
          writeInt32(out, at, size);
          if (size === 2) {
            out[at + 4] = low >>> 8;
            out[at + 5] = low;
          } else if (size === 4) writeInt32(out, at + 4, low);
          else {
            writeInt32(out, at + 4, high);
            writeInt32(out, at + 8, low);
          }
          pos[row] = at + 4 + size;
        }
      }
    },
  };
}

/** double precision from FLOAT/DOUBLE/INT32; real from FLOAT. NaN is written canonical (as the text path). */
function floatWriter(info: PgTypeInfo, source: ValueType): ColumnWriter | undefined {
  const double = info.text.startsWith('double');
  const fromInt = source.kind === 'int' && source.bits <= 32;
  if (
    !(double && (source.kind === 'float' || fromInt)) &&
    !(!double && source.kind === 'float' && source.bits === 32)
  ) {
    return undefined;
  }
  const unsigned =
    fromInt && !(source as { signed: boolean }).signed && (source as { bits: number }).bits === 32;
  const size = double ? 8 : 4;
  const scratch = new DataView(new ArrayBuffer(8));
  return {
    fixed: 4 + size,
    size: fixedSize(size),
    write(segments, start, end, out, pos) {
      for (const run of runsOf(segments, start, end)) {
        const { defined, indices } = run;
        const data = (run.values as { data: ArrayLike<number> }).data;
        let p = run.p;
        for (let i = run.a, row = run.row; i < run.b; i++, row++) {
          if (defined && !defined[i]) {
            writeNull(out, pos, row);
            continue;
          }
          let x = data[indices ? indices[p++]! : p++]!;
          if (unsigned) x = x >>> 0;
          if (x !== x) x = NaN;
          const at = pos[row]!;
          writeInt32(out, at, size);
          if (double) scratch.setFloat64(0, x);
          else scratch.setFloat32(0, x);
          for (let k = 0; k < size; k++) out[at + 4 + k] = scratch.getUint8(k);
          pos[row] = at + 4 + size;
        }
      }
    },
  };
}

// ---- time ----

/** timestamp/timestamptz from INT64 millis/micros/nanos since 1970: µs since 2000, big-endian. */
function timestampWriter(info: PgTypeInfo, unit: 'millis' | 'micros' | 'nanos'): ColumnWriter {
  const exact = (raw: bigint): bigint => {
    const micros =
      unit === 'millis' ? raw * 1000n : unit === 'nanos' ? raw / 1000n - (raw % 1000n < 0n ? 1n : 0n) : raw;
    const pg = micros - BigInt(PG_EPOCH_MICROS);
    if (pg < PG_MIN_TIMESTAMP || pg >= PG_END_TIMESTAMP) {
      throw new EncodeError(`timestamp out of range for ${info.text}`);
    }
    return pg;
  };
  const scale = unit === 'millis' ? 1000 : 1;
  const fast = unit !== 'nanos';
  return {
    fixed: 12,
    size: fixedSize(8),
    write(segments, start, end, out, pos) {
      for (const run of runsOf(segments, start, end)) {
        const { defined, indices } = run;
        const w = words(run.values);
        let p = run.p;
        for (let i = run.a, row = run.row; i < run.b; i++, row++) {
          if (defined && !defined[i]) {
            writeNull(out, pos, row);
            continue;
          }
          const v = indices ? indices[p++]! : p++;
          const high = w[v * 2 + 1]!;
          const at = pos[row]!;
          out[at] = 0;
          out[at + 1] = 0;
          out[at + 2] = 0;
          out[at + 3] = 8;
          pos[row] = at + 12;
          // |raw| < 2^52 µs (±142 years) or ms: exact in a double, and always inside PostgreSQL's range.
          if (fast && high >= -0x100000 && high < 0x100000) {
            const pg = (high * TWO32 + (w[v * 2]! >>> 0)) * scale - PG_EPOCH_MICROS;
            if (pg >= -0x20000000000000 && pg <= 0x20000000000000) {
              const h = Math.floor(pg / TWO32);
              writeInt32(out, at + 4, h);
              writeInt32(out, at + 8, pg - h * TWO32);
              continue;
            }
          }
          const pg = exact((run.values as { data: BigInt64Array }).data[v]!);
          writeInt32(out, at + 4, Number(BigInt.asIntN(32, pg >> 32n)));
          writeInt32(out, at + 8, Number(BigInt.asUintN(32, pg)));
        }
      }
    },
  };
}

function int32Writer(size: 4, convert: (value: number) => number): ColumnWriter {
  return {
    fixed: 4 + size,
    size: fixedSize(size),
    write(segments, start, end, out, pos) {
      for (const run of runsOf(segments, start, end)) {
        const { defined, indices, values } = run;
        let p = run.p;
        for (let i = run.a, row = run.row; i < run.b; i++, row++) {
          if (defined && !defined[i]) {
            writeNull(out, pos, row);
            continue;
          }
          const v = indices ? indices[p++]! : p++;
          const x = convert((values as { data: Int32Array }).data[v]!);
          const at = pos[row]!;
          writeInt32(out, at, size);
          writeInt32(out, at + 4, x);
          pos[row] = at + 4 + size;
        }
      }
    },
  };
}

function dateWriter(info: PgTypeInfo): ColumnWriter {
  return int32Writer(4, (days) => {
    const pg = days - PG_EPOCH_DAYS;
    // PostgreSQL's finite dates: Julian day 0 (4714-11-24 BC) up to (not including) 5874898-01-01.
    if (pg < -2_451_545 || pg >= 2_145_031_949) throw new EncodeError(`date out of range for ${info.text}`);
    return pg;
  });
}

const booleanWriter: ColumnWriter = {
  fixed: 5,
  size: fixedSize(1),
  write(segments, start, end, out, pos) {
    for (const run of runsOf(segments, start, end)) {
      const { defined, indices } = run;
      const data = (run.values as { data: Uint8Array }).data;
      let p = run.p;
      for (let i = run.a, row = run.row; i < run.b; i++, row++) {
        if (defined && !defined[i]) {
          writeNull(out, pos, row);
          continue;
        }
        const at = pos[row]!;
        writeInt32(out, at, 1);
        out[at + 4] = data[indices ? indices[p++]! : p++] ? 1 : 0;
        pos[row] = at + 5;
      }
    }
  },
};

/**
 * The binary writer for a target column of `info` fed from a source column of `source` type stored as
 * `parquetType` (SourceColumn.parquetType, e.g. `INT64 TIMESTAMP(MICROS,true)`), or undefined when the pair is
 * not written in binary (the table then loads in text format).
 */
export function binaryWriterFor(
  info: PgTypeInfo,
  source: ValueType | undefined,
  parquetType: string,
): ColumnWriter | undefined {
  if (!source) return undefined;
  const physical = parquetType.split(/[ (]/)[0];
  switch (info.kind) {
    case 'timestamptz':
    case 'timestamp':
      return source.kind === 'timestamp' && physical === 'INT64'
        ? timestampWriter(info, source.unit)
        : undefined;
    case 'date':
      return source.kind === 'date' && physical === 'INT32' ? dateWriter(info) : undefined;
    case 'int2':
    case 'int4':
    case 'int8':
      return source.kind === 'int' && (physical === 'INT32' || physical === 'INT64')
        ? integerWriter(info, source)
        : undefined;
    case 'float':
      return physical === 'FLOAT' || physical === 'DOUBLE' || physical === 'INT32'
        ? floatWriter(info, source)
        : undefined;
    case 'boolean':
      return source.kind === 'boolean' && physical === 'BOOLEAN' ? booleanWriter : undefined;
    case 'text': {
      const base = info.text.replace(/\(.*\)$/, '').trim();
      const plain = base === 'text' || base === 'character varying' || base === 'character';
      return plain && (source.kind === 'string' || source.kind === 'json')
        ? bytesWriter({ text: true, what: info.text })
        : undefined;
    }
    case 'json':
      return source.kind === 'string' || source.kind === 'json'
        ? bytesWriter({ text: true, what: info.text, ...(info.text === 'jsonb' ? { prefix: 1 } : {}) })
        : undefined;
    case 'bytea':
      return source.kind === 'binary' ? bytesWriter({ text: false, what: info.text }) : undefined;
    case 'uuid':
      return source.kind === 'uuid' ? bytesWriter({ text: false, fixed: 16, what: info.text }) : undefined;
    default:
      return undefined;
  }
}

export type { ColumnVector };
