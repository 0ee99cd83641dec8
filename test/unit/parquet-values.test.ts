import { describe, expect, it } from 'vitest';
import {
  decimalBytesToInteger,
  decimalToString,
  epochMicros,
  epochNanos,
  formatDecimal,
  int96ToEpochNanos,
  normalizeValue,
  PreciseDate,
  UnrepresentableValueError,
  valueParsers,
} from '../../src/parquet/values.ts';

const parsers = valueParsers as Required<typeof valueParsers>;

describe('decimal formatting', () => {
  it('formats unscaled integers exactly, whatever the scale and sign', () => {
    expect(formatDecimal(12345, 2)).toBe('123.45');
    expect(formatDecimal(-12345, 2)).toBe('-123.45');
    expect(formatDecimal(5, 3)).toBe('0.005');
    expect(formatDecimal(-5, 3)).toBe('-0.005');
    expect(formatDecimal(0, 2)).toBe('0.00');
    expect(formatDecimal(42, 0)).toBe('42');
    expect(formatDecimal(123456789012345678901234567890n, 10)).toBe('12345678901234567890.1234567890');
    expect(formatDecimal(-9223372036854775808n, 18)).toBe('-9.223372036854775808');
  });

  it('reads big-endian two’s-complement bytes of any width', () => {
    expect(decimalBytesToInteger(new Uint8Array([]))).toBe(0);
    expect(decimalBytesToInteger(new Uint8Array([0x01, 0x00]))).toBe(256);
    expect(decimalBytesToInteger(new Uint8Array([0xff]))).toBe(-1);
    expect(decimalBytesToInteger(new Uint8Array([0x80, 0, 0, 0, 0, 0]))).toBe(-(2 ** 47));
    expect(decimalBytesToInteger(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]))).toBe(-2n);
    const big = new Uint8Array(16);
    big[0] = 0x7f;
    expect(decimalBytesToInteger(big)).toBe(0x7fn << 120n);
  });

  it('turns every raw decimal shape into an exact string, never a float', () => {
    expect(decimalToString(100, 2)).toBe('1.00');
    expect(decimalToString(1234567890123456789n, 4)).toBe('123456789012345.6789');
    expect(decimalToString(new Uint8Array([0xfe, 0x0c]), 1)).toBe('-50.0');
    // 0.1 + 0.2 style values stay exact
    expect(decimalToString(30000000000000004n, 17)).toBe('0.30000000000000004');
    expect(() => decimalToString('x', 1)).toThrow(UnrepresentableValueError);
  });
});

describe('timestamps', () => {
  it('gives a plain Date for whole milliseconds and a PreciseDate otherwise', () => {
    const ms = parsers.timestampFromMicroseconds(1_704_070_800_000_000n) as Date;
    expect(ms).not.toBeInstanceOf(PreciseDate);
    expect(ms.toISOString()).toBe('2024-01-01T01:00:00.000Z');

    const micro = parsers.timestampFromMicroseconds(1_704_141_296_123_456n) as Date;
    expect(micro).toBeInstanceOf(PreciseDate);
    expect(micro).toBeInstanceOf(Date);
    expect(micro.toISOString()).toBe('2024-01-01T20:34:56.123Z');
    expect(epochMicros(micro)).toBe(1_704_141_296_123_456n);
    expect(epochNanos(micro)).toBe(1_704_141_296_123_456_000n);

    const nano = parsers.timestampFromNanoseconds(1_704_067_200_123_456_789n) as Date;
    expect(epochNanos(nano)).toBe(1_704_067_200_123_456_789n);
    expect(epochMicros(nano)).toBe(1_704_067_200_123_456n);
    expect(parsers.timestampFromMilliseconds(1_000n)).toEqual(new Date(1000));
    expect(epochMicros(new Date(1000))).toBe(1_000_000n);
  });

  it('floors negative sub-millisecond timestamps', () => {
    const before = parsers.timestampFromMicroseconds(-1_500n) as Date; // 1969-12-31T23:59:59.9985
    expect(before.getTime()).toBe(-2);
    expect(epochMicros(before)).toBe(-1_500n);
    expect(epochMicros(parsers.timestampFromNanoseconds(-1n) as Date)).toBe(-1n);
  });

  it('refuses timestamps and dates a JS Date cannot hold', () => {
    expect(() => parsers.timestampFromMilliseconds(8_640_000_000_000_001n)).toThrow(/about year 275760/);
    expect(() => parsers.timestampFromMicroseconds(9_089_380_393_200_000_000n)).toThrow(
      UnrepresentableValueError,
    );
    expect(() => parsers.dateFromDays(2 ** 31 - 1)).toThrow(UnrepresentableValueError);
    expect(parsers.dateFromDays(19723)).toEqual(new Date('2024-01-01T00:00:00Z'));
  });
});

describe('INT96', () => {
  // The five dictionary values of shared/parquet-real/int96_from_spark.parquet (Spark 3.4.3), and the
  // microseconds Spark reads back from them (see int96_from_spark.md).
  const spark: [string, bigint][] = [
    ['002a1ed963430000978a2500', 1_704_141_296_123_456n],
    ['00a0b83046030000978a2500', 1_704_070_800_000_000n],
    ['00e02992d20900002cfe5100', 253_402_225_200_000_000n], // 9999-12-31: beyond 64-bit nanoseconds
    ['006096604e4b0000038c2500', 1_735_599_600_000_000n],
    ['0060b9c76ee2ffffa8abb0f9', 9_089_380_393_200_000_000n], // year 290000: Spark's wrapped encoding
  ];

  it('decodes Spark values exactly, including those outside the 64-bit nanosecond range', () => {
    for (const [hex, micros] of spark) {
      expect(int96ToEpochNanos(Buffer.from(hex, 'hex'))).toBe(micros * 1000n);
    }
  });

  it('normalizes INT96 bytes to Dates and rejects the ones beyond the Date range', () => {
    const type = { kind: 'timestamp', unit: 'nanos', utc: false } as const;
    const first = normalizeValue(type, Buffer.from(spark[0]![0], 'hex')) as Date;
    expect(epochMicros(first)).toBe(spark[0]![1]);
    const far = normalizeValue(type, Buffer.from(spark[2]![0], 'hex')) as Date;
    expect(far.toISOString()).toBe('9999-12-31T03:00:00.000Z');
    expect(() => normalizeValue(type, Buffer.from(spark[4]![0], 'hex'))).toThrow(/about year 290000/);
  });
});

describe('normalizeValue', () => {
  it('turns undefined into null and normalizes inside lists, structs and maps', () => {
    const decimal = { kind: 'decimal', precision: 9, scale: 2 } as const;
    expect(normalizeValue({ kind: 'string' }, undefined)).toBeNull();
    expect(normalizeValue({ kind: 'list', element: decimal }, [100, undefined, -5])).toEqual([
      '1.00',
      null,
      '-0.05',
    ]);
    const struct = {
      kind: 'struct',
      fields: [
        { name: 'price', type: decimal, nullable: true, parquetType: 'INT32 DECIMAL(9,2)' },
        { name: 'tag', type: { kind: 'string' }, nullable: true, parquetType: 'BYTE_ARRAY STRING' },
      ],
    } as const;
    expect(normalizeValue(struct, { price: 250, tag: undefined })).toEqual({ price: '2.50', tag: null });
    expect(
      normalizeValue({ kind: 'map', key: { kind: 'string' }, value: decimal }, { a: 1, b: undefined }),
    ).toEqual({ a: '0.01', b: null });
  });
});
