import type { FileMetaData, SchemaElement, Statistics } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { objectTimeRange } from '../../src/scheduler/statistics.ts';

const root: SchemaElement = { name: 'schema', num_children: 2 };

function footer(element: SchemaElement, groups: (Statistics | undefined)[], rows = 10): FileMetaData {
  return {
    version: 1,
    schema: [root, element, { name: 'other', type: 'BYTE_ARRAY' }],
    num_rows: BigInt(rows * groups.length),
    row_groups: groups.map((statistics) => ({
      num_rows: BigInt(rows),
      total_byte_size: 0n,
      columns: [
        {
          file_offset: 0n,
          meta_data: {
            type: element.type!,
            encodings: [],
            path_in_schema: [element.name],
            codec: 'SNAPPY',
            num_values: BigInt(rows),
            total_uncompressed_size: 0n,
            total_compressed_size: 0n,
            data_page_offset: 4n,
            statistics,
          },
        },
      ],
    })),
    metadata_length: 0,
  } as FileMetaData;
}

const micros: SchemaElement = {
  name: 'ts',
  type: 'INT64',
  logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
};
const millis: SchemaElement = { name: 'ts', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' };
const d = (iso: string) => new Date(iso);
const us = (iso: string) => BigInt(Date.parse(iso)) * 1000n;

describe('objectTimeRange (footer statistics → time keys)', () => {
  it('spans every row group; microsecond columns get the end of the last millisecond', () => {
    const range = objectTimeRange(
      footer(micros, [
        { min_value: d('2024-12-17T10:00:00.000Z'), max_value: d('2024-12-17T11:00:00.250Z') },
        { min_value: d('2024-12-17T09:00:00.000Z'), max_value: d('2024-12-17T10:30:00.000Z') },
      ]),
      'ts',
    );
    expect(range).toEqual({
      first: us('2024-12-17T09:00:00.000Z'),
      last: us('2024-12-17T11:00:00.250Z') + 999n,
    });
  });

  it('millisecond columns are exact; legacy min/max are used when min_value/max_value are absent', () => {
    expect(
      objectTimeRange(
        footer(millis, [{ min: d('2024-01-01T00:00:00Z'), max: d('2024-01-02T00:00:00Z') }]),
        'ts',
      ),
    ).toEqual({ first: us('2024-01-01T00:00:00Z'), last: us('2024-01-02T00:00:00Z') });
  });

  it('a row group without statistics makes the range unknown; one holding only nulls is skipped', () => {
    const ok = { min_value: d('2024-01-01T00:00:00Z'), max_value: d('2024-01-01T01:00:00Z') };
    expect(objectTimeRange(footer(micros, [ok, undefined]), 'ts')).toBeUndefined();
    expect(objectTimeRange(footer(micros, [ok, { null_count: 10n }]), 'ts')).toEqual({
      first: us('2024-01-01T00:00:00Z'),
      last: us('2024-01-01T01:00:00Z') + 999n,
    });
  });

  it('integer time columns give their values; other columns and types give nothing', () => {
    const int: SchemaElement = { name: 'ts', type: 'INT64' };
    expect(objectTimeRange(footer(int, [{ min_value: 5n, max_value: 50n }]), 'ts')).toEqual({
      first: 5n,
      last: 50n,
    });
    expect(objectTimeRange(footer(int, [{ min_value: 5n, max_value: 50n }]), 'other')).toBeUndefined();
    const text: SchemaElement = { name: 'ts', type: 'BYTE_ARRAY', converted_type: 'UTF8' };
    expect(objectTimeRange(footer(text, [{ min_value: 'a', max_value: 'b' }]), 'ts')).toBeUndefined();
  });
});
