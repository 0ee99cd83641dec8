import { readFileSync } from 'node:fs';
import type { AsyncBuffer, FileMetaData, SchemaElement } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.ts';
import { describeSchema, leafType, readSourceSchema } from '../../src/parquet/schema.ts';
import type { SourceObject } from '../../src/source/types.ts';

const REAL = '/work/shared/parquet-real';

function objectFor(name: string, size: number): SourceObject {
  return { key: name, size, uri: `s3://bucket/${name}`, httpUrl: `http://127.0.0.1:1/bucket/${name}` };
}

function memory(bytes: Uint8Array): AsyncBuffer {
  return {
    byteLength: bytes.byteLength,
    // (Buffer#slice does not copy, so copy explicitly to get an ArrayBuffer of exactly the range)
    slice: (start, end = bytes.byteLength) => Uint8Array.from(bytes.subarray(start, end)).buffer,
  };
}

function leaf(element: Omit<SchemaElement, 'name'>): ReturnType<typeof leafType> {
  return leafType({ name: 'x', ...element });
}

describe('leafType', () => {
  it('maps integers of every width and signedness, logical and converted', () => {
    expect(leaf({ type: 'INT32' })).toEqual({ kind: 'int', bits: 32, signed: true });
    expect(leaf({ type: 'INT64' })).toEqual({ kind: 'int', bits: 64, signed: true });
    for (const [converted, bits, signed] of [
      ['INT_8', 8, true],
      ['INT_16', 16, true],
      ['INT_32', 32, true],
      ['UINT_8', 8, false],
      ['UINT_16', 16, false],
      ['UINT_32', 32, false],
    ] as const) {
      expect(leaf({ type: 'INT32', converted_type: converted })).toEqual({ kind: 'int', bits, signed });
    }
    expect(leaf({ type: 'INT64', converted_type: 'UINT_64' })).toEqual({
      kind: 'int',
      bits: 64,
      signed: false,
    });
    expect(leaf({ type: 'INT64', converted_type: 'INT_64' })).toEqual({
      kind: 'int',
      bits: 64,
      signed: true,
    });
    expect(leaf({ type: 'INT32', logical_type: { type: 'INTEGER', bitWidth: 16, isSigned: false } })).toEqual(
      {
        kind: 'int',
        bits: 16,
        signed: false,
      },
    );
    expect(
      leaf({ type: 'INT32', logical_type: { type: 'INTEGER', bitWidth: 12, isSigned: true } }).kind,
    ).toBe('unsupported');
  });

  it('maps floats, booleans, strings, binary, UUID, JSON', () => {
    expect(leaf({ type: 'FLOAT' })).toEqual({ kind: 'float', bits: 32 });
    expect(leaf({ type: 'DOUBLE' })).toEqual({ kind: 'float', bits: 64 });
    expect(leaf({ type: 'BOOLEAN' })).toEqual({ kind: 'boolean' });
    expect(leaf({ type: 'BYTE_ARRAY' })).toEqual({ kind: 'binary' });
    expect(leaf({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: 3 })).toEqual({ kind: 'binary' });
    expect(leaf({ type: 'BYTE_ARRAY', converted_type: 'UTF8' })).toEqual({ kind: 'string' });
    expect(leaf({ type: 'BYTE_ARRAY', logical_type: { type: 'STRING' } })).toEqual({ kind: 'string' });
    expect(leaf({ type: 'BYTE_ARRAY', converted_type: 'ENUM' })).toEqual({ kind: 'string' });
    expect(leaf({ type: 'BYTE_ARRAY', logical_type: { type: 'JSON' } })).toEqual({ kind: 'json' });
    expect(leaf({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, logical_type: { type: 'UUID' } })).toEqual({
      kind: 'uuid',
    });
    expect(leaf({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: 2, logical_type: { type: 'FLOAT16' } })).toEqual(
      {
        kind: 'float',
        bits: 32,
      },
    );
    expect(leaf({ type: 'BYTE_ARRAY', logical_type: { type: 'BSON' } })).toEqual({
      kind: 'unsupported',
      detail: 'BSON on BYTE_ARRAY',
    });
    expect(leaf({ type: 'FIXED_LEN_BYTE_ARRAY', type_length: 12, converted_type: 'INTERVAL' }).kind).toBe(
      'unsupported',
    );
  });

  it('maps DECIMAL on INT32, INT64, BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY', () => {
    const decimal = { kind: 'decimal', precision: 9, scale: 2 };
    expect(leaf({ type: 'INT32', converted_type: 'DECIMAL', precision: 9, scale: 2 })).toEqual(decimal);
    expect(leaf({ type: 'INT64', logical_type: { type: 'DECIMAL', precision: 9, scale: 2 } })).toEqual(
      decimal,
    );
    expect(leaf({ type: 'BYTE_ARRAY', converted_type: 'DECIMAL', precision: 9, scale: 2 })).toEqual(decimal);
    expect(
      leaf({
        type: 'FIXED_LEN_BYTE_ARRAY',
        type_length: 8,
        converted_type: 'DECIMAL',
        precision: 9,
        scale: 2,
      }),
    ).toEqual(decimal);
    expect(leaf({ type: 'DOUBLE', converted_type: 'DECIMAL', precision: 9, scale: 2 }).kind).toBe(
      'unsupported',
    );
  });

  it('maps DATE, TIME and TIMESTAMP in every unit, with legacy converted types and INT96', () => {
    expect(leaf({ type: 'INT32', converted_type: 'DATE' })).toEqual({ kind: 'date' });
    expect(leaf({ type: 'INT32', converted_type: 'TIME_MILLIS' })).toEqual({ kind: 'time', unit: 'millis' });
    expect(leaf({ type: 'INT64', converted_type: 'TIME_MICROS' })).toEqual({ kind: 'time', unit: 'micros' });
    expect(
      leaf({ type: 'INT64', logical_type: { type: 'TIME', unit: 'NANOS', isAdjustedToUTC: true } }),
    ).toEqual({
      kind: 'time',
      unit: 'nanos',
    });
    for (const unit of ['MILLIS', 'MICROS', 'NANOS'] as const) {
      for (const utc of [true, false]) {
        expect(
          leaf({ type: 'INT64', logical_type: { type: 'TIMESTAMP', unit, isAdjustedToUTC: utc } }),
        ).toEqual({
          kind: 'timestamp',
          unit: unit.toLowerCase(),
          utc,
        });
      }
    }
    expect(leaf({ type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' })).toEqual({
      kind: 'timestamp',
      unit: 'millis',
      utc: true,
    });
    expect(leaf({ type: 'INT64', converted_type: 'TIMESTAMP_MICROS' })).toEqual({
      kind: 'timestamp',
      unit: 'micros',
      utc: true,
    });
    expect(leaf({ type: 'INT96' })).toEqual({ kind: 'timestamp', unit: 'nanos', utc: false });
    expect(
      leaf({ type: 'INT32', logical_type: { type: 'TIMESTAMP', unit: 'MILLIS', isAdjustedToUTC: true } })
        .kind,
    ).toBe('unsupported');
  });
});

describe('describeSchema', () => {
  const object = objectFor('synthetic.parquet', 1000);
  const metadata = (schema: SchemaElement[]): FileMetaData => ({
    version: 1,
    schema,
    num_rows: 0n,
    row_groups: [],
    metadata_length: 0,
  });

  it('maps LIST, MAP, structs, legacy repeated fields and refuses odd groups', () => {
    const schema = describeSchema(
      metadata([
        { name: 'root', num_children: 7 },
        { name: 'tags', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: 'OPTIONAL', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
        { name: 'attrs', repetition_type: 'REQUIRED', converted_type: 'MAP', num_children: 1 },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        { name: 'key', repetition_type: 'REQUIRED', type: 'BYTE_ARRAY', converted_type: 'UTF8' },
        {
          name: 'value',
          repetition_type: 'OPTIONAL',
          type: 'INT64',
          logical_type: { type: 'TIMESTAMP', unit: 'MICROS', isAdjustedToUTC: true },
        },
        { name: 'point', repetition_type: 'OPTIONAL', num_children: 2 },
        { name: 'x', repetition_type: 'REQUIRED', type: 'DOUBLE' },
        {
          name: 'y',
          repetition_type: 'OPTIONAL',
          type: 'INT32',
          converted_type: 'DECIMAL',
          precision: 5,
          scale: 1,
        },
        { name: 'legacy', repetition_type: 'REPEATED', type: 'INT32' },
        { name: 'two_level', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'array', repetition_type: 'REPEATED', type: 'INT64' },
        { name: 'v', repetition_type: 'OPTIONAL', logical_type: { type: 'VARIANT' }, num_children: 1 },
        { name: 'metadata', repetition_type: 'REQUIRED', type: 'BYTE_ARRAY' },
        { name: 'rep_group', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'z', repetition_type: 'REQUIRED', type: 'INT32' },
      ]),
      object,
    );
    const byName = Object.fromEntries(schema.columns.map((column) => [column.name, column]));
    expect(byName.tags).toMatchObject({
      type: { kind: 'list', element: { kind: 'string' } },
      nullable: true,
      parquetType: 'LIST<BYTE_ARRAY UTF8>',
    });
    expect(byName.attrs).toMatchObject({
      type: { kind: 'map', key: { kind: 'string' }, value: { kind: 'timestamp', unit: 'micros', utc: true } },
      nullable: false,
      parquetType: 'MAP<BYTE_ARRAY UTF8, INT64 TIMESTAMP(MICROS,utc)>',
    });
    expect(byName.point?.type).toEqual({
      kind: 'struct',
      fields: [
        { name: 'x', type: { kind: 'float', bits: 64 }, nullable: false, parquetType: 'DOUBLE' },
        {
          name: 'y',
          type: { kind: 'decimal', precision: 5, scale: 1 },
          nullable: true,
          parquetType: 'INT32 DECIMAL(5,1)',
        },
      ],
    });
    expect(byName.legacy).toMatchObject({
      type: { kind: 'list', element: { kind: 'int', bits: 32 } },
      nullable: false,
    });
    expect(byName.two_level?.type).toEqual({
      kind: 'list',
      element: { kind: 'int', bits: 64, signed: true },
    });
    expect(byName.v?.type.kind).toBe('unsupported');
    expect(byName.rep_group?.type.kind).toBe('unsupported');
  });

  it('refuses maps with non-scalar keys', () => {
    const schema = describeSchema(
      metadata([
        { name: 'root', num_children: 1 },
        { name: 'm', repetition_type: 'OPTIONAL', converted_type: 'MAP', num_children: 1 },
        { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
        { name: 'key', repetition_type: 'REQUIRED', type: 'DOUBLE' },
        { name: 'value', repetition_type: 'OPTIONAL', type: 'INT32' },
      ]),
      object,
    );
    expect(schema.columns[0]?.type).toMatchObject({
      kind: 'unsupported',
      detail: expect.stringMatching(/MAP key/),
    });
  });
});

describe('readSourceSchema on real files', () => {
  it('describes alltypes_plain from its footer', async () => {
    const bytes = readFileSync(`${REAL}/alltypes_plain.parquet`);
    const schema = await readSourceSchema(
      memory(bytes),
      objectFor('alltypes_plain.parquet', bytes.byteLength),
    );
    expect(schema.numRows).toBe(8);
    expect(schema.rowGroups).toBe(1);
    expect(schema.columns.map((column) => [column.name, column.parquetType])).toEqual([
      ['id', 'INT32'],
      ['bool_col', 'BOOLEAN'],
      ['tinyint_col', 'INT32'],
      ['smallint_col', 'INT32'],
      ['int_col', 'INT32'],
      ['bigint_col', 'INT64'],
      ['float_col', 'FLOAT'],
      ['double_col', 'DOUBLE'],
      ['date_string_col', 'BYTE_ARRAY'],
      ['string_col', 'BYTE_ARRAY'],
      ['timestamp_col', 'INT96'],
    ]);
    expect(schema.columns.every((column) => column.nullable)).toBe(true);
    expect(schema.columns[10]?.type).toEqual({ kind: 'timestamp', unit: 'nanos', utc: false });
  });

  it('reads only the tail of a large object', async () => {
    const real = readFileSync(`${REAL}/int64_decimal.parquet`);
    const bytes = new Uint8Array(1_000_000);
    bytes.set(real, bytes.length - real.length); // the footer is intact at the end of a 1 MB object
    const reads: [number, number][] = [];
    const buffer = memory(bytes);
    const spy: AsyncBuffer = {
      byteLength: buffer.byteLength,
      slice: (start, end) => {
        reads.push([start, end ?? buffer.byteLength]);
        return buffer.slice(start, end);
      },
    };
    const schema = await readSourceSchema(spy, objectFor('big.parquet', bytes.byteLength));
    expect(schema.numRows).toBe(24);
    expect(reads).toEqual([[bytes.length - 64 * 1024, bytes.length]]);
  });
});

describe('footer errors', () => {
  const good = readFileSync(`${REAL}/alltypes_plain.parquet`);

  async function failure(bytes: Uint8Array, name = 'bad.parquet'): Promise<SourceError> {
    const error = await readSourceSchema(memory(bytes), objectFor(name, bytes.byteLength)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SourceError);
    const sourceError = error as SourceError;
    expect(sourceError.code).toBe('SOURCE_CORRUPT');
    expect(sourceError.message).toMatch(
      new RegExp(`^s3://bucket/${name} is not a readable Parquet file: .* — replace or remove the object$`),
    );
    return sourceError;
  }

  it('rejects an empty object', async () => {
    expect((await failure(new Uint8Array(0))).message).toMatch(/only 0 bytes long/);
  });

  it('rejects a truncated object', async () => {
    expect((await failure(good.subarray(0, good.length - 100))).message).toMatch(
      /does not end with the Parquet magic/,
    );
  });

  it('rejects text that is not Parquet', async () => {
    expect((await failure(new TextEncoder().encode('id,name\n1,foo\n2,bar\n'))).message).toMatch(/PAR1/);
  });

  it('rejects a footer length larger than the object', async () => {
    const bytes = Uint8Array.from(good);
    new DataView(bytes.buffer).setUint32(bytes.length - 8, 10_000_000, true);
    expect((await failure(bytes)).message).toMatch(/claims 10000000 bytes/);
  });

  it('rejects a damaged footer', async () => {
    const bytes = Uint8Array.from(good);
    const length = new DataView(bytes.buffer).getUint32(bytes.length - 8, true);
    bytes.fill(0xff, bytes.length - 8 - length, bytes.length - 8 - length / 2);
    expect((await failure(bytes)).message).toMatch(/its footer cannot be decoded/);
  });

  it('rejects an encrypted footer with a specific reason', async () => {
    const bytes = Uint8Array.from(good);
    bytes.set(new TextEncoder().encode('PARE'), bytes.length - 4);
    expect((await failure(bytes)).message).toMatch(/modular encryption/);
  });

  it('rejects column chunks that lie outside the object', async () => {
    // Drop 200 bytes of data in the middle: the footer parses but points past its own start.
    const cut = new Uint8Array(good.length - 200);
    cut.set(good.subarray(0, 100));
    cut.set(good.subarray(300), 100);
    expect((await failure(cut)).message).toMatch(
      /column "timestamp_col" of row group 0 claims bytes .* outside the data area/,
    );
  });
});
