/**
 * Row counts for the report: the hypertable, and each continuous aggregate on it with the sums of its count/sum
 * columns (`sum(c)` of a `count(*) AS c` aggregate equals the raw rows it covers, which makes a backfill visible).
 *
 * Only what the run can change is counted: the scope's range of the time column (from the source's Parquet
 * footers) becomes constant bounds on the time column — chunk exclusion reads only the chunks in that range — and,
 * for each aggregate, on its bucket column (every bucket that can hold a row of the range). Without a usable range
 * (no statistics for the time column) the whole tables are counted, and the measurement says so by having no scope.
 */
import type { MeasureScope, TableMeasurement } from '../../src/adapter/contract.ts';
import type { ColumnRange } from '../../src/source/types.ts';
import type { Queryable } from './connection.ts';
import type { ContinuousAggregate, Hypertable } from './introspect.ts';
import { checkedTypeName, qualified, quoteIdent, quoteLiteral } from './sql/quote.ts';

/** Output columns of `count(…) AS x` / `sum(…) AS x` in an aggregate's definition. */
export function additiveColumns(definition: string): string[] {
  const names = new Set<string>();
  const pattern =
    /\b(?:count|sum)\s*\((?:[^()]|\([^()]*\))*\)\s+AS\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/gi;
  for (const match of definition.matchAll(pattern)) {
    const raw = match[1]!;
    names.add(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase());
  }
  return [...names];
}

/** The time range to count, as SQL literals of the time column's type, and its text for the report. */
interface TimeBounds {
  readonly lo: string;
  readonly hi: string;
  readonly text: string;
}

/** The scope's range of the hypertable's time column (matched by name, case-insensitively when unambiguous). */
export function timeBounds(ht: Hypertable, scope: MeasureScope | undefined): TimeBounds | undefined {
  if (!scope) return undefined;
  const names = Object.keys(scope.ranges);
  const exact = names.find((n) => n === ht.time.column);
  const folded = names.filter((n) => n.toLowerCase() === ht.time.column.toLowerCase());
  const name = exact ?? (folded.length === 1 ? folded[0] : undefined);
  const range: ColumnRange | undefined = name === undefined ? undefined : scope.ranges[name];
  if (!range) return undefined;
  const text = `[${range.min}, ${range.max}]`;
  switch (ht.time.kind) {
    case 'integer': {
      if (range.kind !== 'number' || !/^-?\d+$/.test(range.min) || !/^-?\d+$/.test(range.max))
        return undefined;
      const type = checkedTypeName(ht.time.type);
      return { lo: `${range.min}::${type}`, hi: `${range.max}::${type}`, text };
    }
    case 'timestamptz':
    case 'timestamp':
    case 'date': {
      if (range.kind !== 'time') return undefined;
      const instant = (iso: string) => `${quoteLiteral(iso)}::timestamptz`;
      // The adapter stores instants into `timestamp`/`date` columns as their UTC wall clock / UTC day.
      const as = (iso: string) =>
        ht.time.kind === 'timestamptz'
          ? instant(iso)
          : ht.time.kind === 'timestamp'
            ? `(${instant(iso)} AT TIME ZONE 'UTC')`
            : `(${instant(iso)} AT TIME ZONE 'UTC')::date`;
      return { lo: as(range.min), hi: as(range.max), text };
    }
  }
}

async function measureAggregate(
  db: Queryable,
  ht: Hypertable,
  agg: ContinuousAggregate,
  bounds: TimeBounds | undefined,
): Promise<TableMeasurement> {
  const columns = additiveColumns(agg.definition);
  const sums = columns.map((c, i) => `sum(${quoteIdent(c)})::text AS a${i}`);
  let where = '';
  let scope: string | undefined;
  if (bounds && agg.bucketColumn && agg.bucketWidth) {
    // A bucket [b, b + width) holds rows of [lo, hi] exactly when lo - width < b <= hi.
    const width =
      ht.time.kind === 'integer'
        ? `${quoteLiteral(agg.bucketWidth)}::${checkedTypeName(ht.time.type)}`
        : `${quoteLiteral(agg.bucketWidth)}::interval`;
    const bucket = quoteIdent(agg.bucketColumn);
    where = ` WHERE ${bucket} > ${bounds.lo} - ${width} AND ${bucket} <= ${bounds.hi}`;
    scope = `buckets (${agg.bucketColumn}) holding ${ht.time.column} in ${bounds.text}`;
  }
  const rows = await db.query<Record<string, string | null>>(
    `SELECT count(*)::text AS n${sums.length ? `, ${sums.join(', ')}` : ''} FROM ${qualified(agg.schema, agg.name)}${where}`,
    [],
    `measuring continuous aggregate ${agg.schema}.${agg.name}`,
  );
  const row = rows[0] ?? {};
  const aggregates: Record<string, number> = {};
  columns.forEach((c, i) => {
    aggregates[`sum(${c})`] = Number(row[`a${i}`] ?? 0);
  });
  return {
    table: `${agg.schema}.${agg.name}`,
    ...(scope ? { scope } : {}),
    rows: Number(row['n'] ?? 0),
    aggregates,
  };
}

export async function measureAll(
  db: Queryable,
  ht: Hypertable,
  scope?: MeasureScope,
): Promise<TableMeasurement[]> {
  const bounds = timeBounds(ht, scope);
  const time = quoteIdent(ht.time.column);
  const where = bounds ? ` WHERE ${time} >= ${bounds.lo} AND ${time} <= ${bounds.hi}` : '';
  const rows = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${qualified(ht.schema, ht.name)}${where}`,
    [],
    `counting the rows of ${ht.schema}.${ht.name}`,
  );
  const result: TableMeasurement[] = [
    {
      table: `${ht.schema}.${ht.name}`,
      ...(bounds ? { scope: `${ht.time.column} in ${bounds.text}` } : {}),
      rows: Number(rows[0]?.n ?? 0),
      aggregates: {},
    },
  ];
  for (const agg of ht.aggregates) result.push(await measureAggregate(db, ht, agg, bounds));
  return result;
}
