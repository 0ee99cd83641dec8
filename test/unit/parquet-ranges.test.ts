/**
 * Column ranges from Parquet footer statistics (src/parquet/schema.ts `columnRanges`, `mergeColumnRanges`): what
 * the report's measurement is scoped to. Times keep microseconds where the statistics lost them (widened outward),
 * a column without statistics in some row group is left out, and merging keeps only columns every object bounds.
 */
import type { FileMetaData } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { columnRanges, mergeColumnRanges } from '../../src/parquet/schema.ts';

type Stats = { min_value?: unknown; max_value?: unknown; min?: unknown; max?: unknown } | undefined;

function metadata(
  schema: Record<string, Record<string, unknown>>,
  groups: readonly Record<string, Stats>[],
): FileMetaData {
  return {
    schema: [
      { name: 'root', num_children: Object.keys(schema).length },
      ...Object.entries(schema).map(([name, e]) => ({ name, ...e })),
    ],
    row_groups: groups.map((g) => ({
      columns: Object.entries(g).map(([name, statistics]) => ({
        meta_data: { path_in_schema: [name], num_values: 10n, statistics },
      })),
    })),
  } as unknown as FileMetaData;
}

describe('column ranges from footer statistics', () => {
  it('takes min and max over row groups; times with six fractional digits, widened where digits were lost', () => {
    const m = metadata(
      {
        micros: { type: 'INT64', logical_type: { type: 'TIMESTAMP', unit: 'MICROS', isAdjustedToUTC: true } },
        millis: { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' },
        day: { type: 'INT32', converted_type: 'DATE' },
        n: { type: 'INT64' },
        f: { type: 'DOUBLE' },
        price: { type: 'INT64', converted_type: 'DECIMAL', scale: 2 },
        name: { type: 'BYTE_ARRAY', converted_type: 'UTF8' },
      },
      [
        {
          micros: {
            min_value: new Date('2024-12-17T00:00:00.000Z'),
            max_value: new Date('2024-12-17T10:00:00.123Z'),
          },
          millis: {
            min_value: new Date('2024-12-17T00:00:00.005Z'),
            max_value: new Date('2024-12-18T00:00:00.000Z'),
          },
          day: { min: new Date('2024-12-17T00:00:00Z'), max: new Date('2024-12-17T00:00:00Z') },
          n: { min_value: -(2n ** 62n), max_value: 5n },
          f: { min_value: -1.5, max_value: 2.25 },
          price: { min_value: 1.25, max_value: 3.5 },
          name: { min_value: 'a', max_value: 'z' },
        },
        {
          micros: {
            min_value: new Date('2024-12-16T23:59:59.999Z'),
            max_value: new Date('2024-12-17T09:00:00Z'),
          },
          millis: {
            min_value: new Date('2024-12-17T00:00:00.001Z'),
            max_value: new Date('2024-12-17T00:00:00Z'),
          },
          day: { min: new Date('2024-12-19T00:00:00Z'), max: new Date('2024-12-20T00:00:00Z') },
          n: { min_value: 0n, max_value: 2n ** 62n },
          f: { min_value: 0, max_value: 7 },
          price: { min_value: 0, max_value: 1 },
          name: { min_value: 'b', max_value: 'y' },
        },
      ],
    );
    expect(columnRanges(m)).toEqual({
      micros: { kind: 'time', min: '2024-12-16T23:59:59.999000Z', max: '2024-12-17T10:00:00.123999Z' },
      millis: { kind: 'time', min: '2024-12-17T00:00:00.001000Z', max: '2024-12-18T00:00:00.000000Z' },
      day: { kind: 'time', min: '2024-12-17T00:00:00.000000Z', max: '2024-12-20T00:00:00.000000Z' },
      n: { kind: 'number', min: String(-(2n ** 62n)), max: String(2n ** 62n) },
      f: { kind: 'number', min: '-2', max: '7' },
    });
  });

  it('leaves out a column that a row group has no statistics for', () => {
    const m = metadata({ t: { type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' }, n: { type: 'INT32' } }, [
      { t: { min_value: new Date(0), max_value: new Date(1000) }, n: { min_value: 1, max_value: 2 } },
      { t: undefined, n: { min_value: 3, max_value: 4 } },
    ]);
    expect(columnRanges(m)).toEqual({ n: { kind: 'number', min: '1', max: '4' } });
  });

  it('merges objects: the union of their ranges, only for columns every object bounds', () => {
    const a = {
      t: { kind: 'time', min: '2024-12-17T00:00:00.000000Z', max: '2024-12-17T23:59:59.999999Z' },
      n: { kind: 'number', min: '-5', max: '9223372036854775806' },
      only: { kind: 'number', min: '1', max: '1' },
    } as const;
    const b = {
      t: { kind: 'time', min: '2024-12-16T12:00:00.000000Z', max: '2024-12-17T01:00:00.000000Z' },
      n: { kind: 'number', min: '3', max: '9223372036854775807' },
    } as const;
    expect(mergeColumnRanges([a, b])).toEqual({
      t: { kind: 'time', min: '2024-12-16T12:00:00.000000Z', max: '2024-12-17T23:59:59.999999Z' },
      n: { kind: 'number', min: '-5', max: '9223372036854775807' },
    });
    expect(mergeColumnRanges([a, undefined])).toEqual({});
    expect(mergeColumnRanges([])).toEqual({});
  });
});
