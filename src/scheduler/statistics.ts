/**
 * An object's time range from its Parquet footer: the min/max statistics of the time column over every row
 * group, as time keys (watermark.ts): epoch microseconds for timestamps and dates (TimescaleDB's internal time for
 * timestamptz, timestamp read as UTC, and date), the value itself for integer columns. Undefined when any row
 * group holding non-null values lacks statistics for the column, or the column is of another type — the plan then
 * falls back to object order for the whole run.
 *
 * Bounds are conservative: hyparquet hands timestamp statistics over as millisecond `Date`s, so for MICROS and
 * NANOS columns the first key is floored to the millisecond and the last one raised to its end (+999 µs); inexact
 * statistics (`is_min_value_exact = false`) are still bounds and are used as they are. Only `first` moves the
 * watermark; a range that is too wide only makes it wait longer.
 */
import type { ColumnMetaData, FileMetaData, SchemaElement } from 'hyparquet';
import type { BatchRange } from './watermark.ts';

type Unit = 'day' | 'millis' | 'micros' | 'nanos' | 'integer';

function unitOf(element: SchemaElement): Unit | undefined {
  const logical = element.logical_type;
  if (logical?.type === 'DATE' || element.converted_type === 'DATE') return 'day';
  if (logical?.type === 'TIMESTAMP') {
    return logical.unit === 'MILLIS' ? 'millis' : logical.unit === 'MICROS' ? 'micros' : 'nanos';
  }
  if (element.converted_type === 'TIMESTAMP_MILLIS') return 'millis';
  if (element.converted_type === 'TIMESTAMP_MICROS') return 'micros';
  if ((element.type === 'INT32' || element.type === 'INT64') && logical?.type !== 'DECIMAL') {
    if (element.converted_type === undefined || /^U?INT_/.test(element.converted_type)) return 'integer';
  }
  return undefined;
}

function key(value: unknown, unit: Unit, end: boolean): bigint | undefined {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (!Number.isFinite(ms)) return undefined;
    const micros = BigInt(ms) * 1000n;
    return end && (unit === 'micros' || unit === 'nanos') ? micros + 999n : micros;
  }
  if (unit !== 'integer') return undefined;
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  return undefined;
}

/** The time range of the rows of one object, or undefined (see the file header). */
export function objectTimeRange(metadata: FileMetaData, column: string): BatchRange | undefined {
  // Top-level primitive column: the schema element right under the root with that name.
  const element = metadata.schema.find((e, i) => i > 0 && e.name === column && e.num_children === undefined);
  const unit = element && unitOf(element);
  if (!unit) return undefined;
  let first: bigint | undefined;
  let last: bigint | undefined;
  for (const group of metadata.row_groups) {
    const chunk = group.columns.find(
      (c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === column,
    );
    const meta: ColumnMetaData | undefined = chunk?.meta_data;
    if (!meta) return undefined;
    const stats = meta.statistics;
    const rows = BigInt(group.num_rows);
    if (rows === 0n) continue;
    if (stats?.null_count !== undefined && BigInt(stats.null_count) === rows) continue; // only nulls
    const lo = key(stats?.min_value ?? stats?.min, unit, false);
    const hi = key(stats?.max_value ?? stats?.max, unit, true);
    if (lo === undefined || hi === undefined) return undefined;
    if (first === undefined || lo < first) first = lo;
    if (last === undefined || hi > last) last = hi;
  }
  return first === undefined || last === undefined ? undefined : { first, last };
}
