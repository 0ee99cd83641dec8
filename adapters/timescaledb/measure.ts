/**
 * Row counts for the report: the hypertable, and each continuous aggregate on it with the sums of its count/sum
 * columns (`sum(c)` of a `count(*) AS c` aggregate equals the raw rows it covers, which makes a backfill visible).
 */
import type { TableMeasurement } from '../../src/adapter/contract.ts';
import type { Queryable } from './connection.ts';
import type { ContinuousAggregate, Hypertable } from './introspect.ts';
import { qualified, quoteIdent } from './sql/quote.ts';

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

async function measureAggregate(db: Queryable, agg: ContinuousAggregate): Promise<TableMeasurement> {
  const columns = additiveColumns(agg.definition);
  const sums = columns.map((c, i) => `sum(${quoteIdent(c)})::text AS a${i}`);
  const rows = await db.query<Record<string, string | null>>(
    `SELECT count(*)::text AS n${sums.length ? `, ${sums.join(', ')}` : ''} FROM ${qualified(agg.schema, agg.name)}`,
    [],
    `measuring continuous aggregate ${agg.schema}.${agg.name}`,
  );
  const row = rows[0] ?? {};
  const aggregates: Record<string, number> = {};
  columns.forEach((c, i) => {
    aggregates[`sum(${c})`] = Number(row[`a${i}`] ?? 0);
  });
  return { table: `${agg.schema}.${agg.name}`, rows: Number(row['n'] ?? 0), aggregates };
}

export async function measureAll(db: Queryable, ht: Hypertable): Promise<TableMeasurement[]> {
  const rows = await db.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ${qualified(ht.schema, ht.name)}`,
    [],
    `counting the rows of ${ht.schema}.${ht.name}`,
  );
  const result: TableMeasurement[] = [
    { table: `${ht.schema}.${ht.name}`, rows: Number(rows[0]?.n ?? 0), aggregates: {} },
  ];
  for (const agg of ht.aggregates) result.push(await measureAggregate(db, agg));
  return result;
}
