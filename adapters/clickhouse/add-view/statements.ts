/**
 * The SQL statements of ClickHouse's add-view, as pure functions of their inputs (tables created AS another,
 * truncation, drops and partition moves are the backfill's, in ../sql/statements.ts). Identifiers and literals
 * are quoted here; the user's SELECT and DDL arrive already rewritten by select.ts and checked by ClickHouse.
 */
import type { Position, ViewColumn } from '../../../src/adapter/view-contract.ts';
import { formatPosition } from '../../../src/addview/position.ts';
import type { TableRef } from '../names.ts';
import { qualified, quoteIdent, quoteString } from '../sql/quote.ts';
import { s3Function, type S3Source } from '../sql/statements.ts';

const q = (ref: TableRef) => qualified(ref.database, ref.table);

/** A position as a ClickHouse value: `toDateTime64('2024-12-17 09:00:00.000000', 6, 'UTC')` or an integer. */
export function positionLiteral(p: Position): string {
  if (p.kind === 'number') return p.value.toString();
  const text = formatPosition(p);
  const [base, fraction = ''] = text.split('.');
  return `toDateTime64(${quoteString(`${base}.${fraction.padEnd(6, '0')}`)}, 6, 'UTC')`;
}

/** `col >= lo AND col < hi` (either bound optional). */
export function rangeCondition(column: string, lo: Position | undefined, hi: Position | undefined): string {
  const parts: string[] = [];
  if (lo !== undefined) parts.push(`${quoteIdent(column)} >= ${positionLiteral(lo)}`);
  if (hi !== undefined) parts.push(`${quoteIdent(column)} < ${positionLiteral(hi)}`);
  return parts.length === 0 ? '1' : parts.join(' AND ');
}

/** Where a window's rows come from: the source table, or objects in the store. */
/** Where a window's rows come from; `final`: the table read merged (`FINAL`), as its parts will be. */
export type RowSource = { readonly table: TableRef; readonly final?: boolean } | { readonly s3: S3Source };

function from(source: RowSource): string {
  if ('table' in source) return `${q(source.table)}${source.final ? ' FINAL' : ''}`;
  return s3Function(source.s3);
}

/** Microseconds since the epoch of a time expression, as text. */
const micros = (expr: string) => `toString(toUnixTimestamp64Micro(toDateTime64(${expr}, 6, 'UTC')))`;

export const avSql = {
  /** Checks the text parses as a query, inside a subquery so that only a query is accepted. */
  parseCheck: (select: string) => `SELECT formatQuery(${quoteString(`SELECT * FROM (${select}\n)`)}) AS f`,

  formatDdl: (ddl: string) => `SELECT formatQuery(${quoteString(ddl)}) AS f`,

  /** The analyzer's view of the query: tables (with ids) and the columns read from each. */
  queryTree: (select: string) => `EXPLAIN QUERY TREE SELECT * FROM (${select}\n)`,

  describeQuery: (select: string) => `DESCRIBE (${select}\n)`,

  /** The view's output cast to the target's types: fails at analysis when a type cannot be stored. */
  castCheck: (select: string, columns: readonly ViewColumn[]) =>
    `DESCRIBE (SELECT ${columns.map((c) => `CAST(${quoteIdent(c.name)}, ${quoteString(c.type)}) AS ${quoteIdent(c.name)}`).join(', ')} FROM (${select}\n))`,

  tablesInfo: (refs: readonly TableRef[]) =>
    `SELECT database, name, engine FROM system.tables WHERE ` +
    (refs.length === 0
      ? '0'
      : refs
          .map((r) => `(database = ${quoteString(r.database)} AND name = ${quoteString(r.table)})`)
          .join(' OR ')),

  table: (ref: TableRef) =>
    `SELECT name, engine, create_table_query, as_select, partition_key, sorting_key FROM system.tables ` +
    `WHERE database = ${quoteString(ref.database)} AND name = ${quoteString(ref.table)}`,

  columns: (ref: TableRef) =>
    `SELECT name, type, default_kind, is_in_sorting_key, is_in_partition_key, is_in_primary_key FROM system.columns ` +
    `WHERE database = ${quoteString(ref.database)} AND table = ${quoteString(ref.table)} ORDER BY position`,

  serverTime: () => `SELECT toString(toUnixTimestamp64Micro(now64(6))) AS t`,

  extent: (source: TableRef, column: string, kind: 'time' | 'number', below: Position | undefined) => {
    const col = quoteIdent(column);
    const conv = kind === 'time' ? micros : (e: string) => `toString(${e})`;
    return (
      `SELECT count() AS n, ${conv(`min(${col})`)} AS lo, ${conv(`max(${col})`)} AS hi FROM ${q(source)}` +
      (below === undefined ? '' : ` WHERE ${rangeCondition(column, undefined, below)}`)
    );
  },

  /** Distinct recent values of the cutoff column (µs), newest first: their spacing is the column's grain. */
  recentValues: (source: TableRef, column: string) => {
    const col = quoteIdent(column);
    return (
      `SELECT DISTINCT ${micros(col)} AS v, ${col} AS c FROM ${q(source)} ` +
      `WHERE ${col} >= (SELECT max(${col}) FROM ${q(source)}) - INTERVAL 7 DAY ORDER BY c DESC LIMIT 1000`
    );
  },

  countRange: (source: RowSource, column: string, lo: Position | undefined, hi: Position | undefined) =>
    `SELECT count() AS n FROM ${from(source)} WHERE ${rangeCondition(column, lo, hi)}`,

  /** `CREATE TABLE` of the Null-engine shadow of the source: only the columns the view reads. */
  createNull: (table: TableRef, columns: readonly ViewColumn[]) =>
    `CREATE TABLE IF NOT EXISTS ${q(table)} (${columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')}) ENGINE = Null`,

  createMeter: (table: TableRef) =>
    `CREATE TABLE IF NOT EXISTS ${q(table)} (rows UInt64) ENGINE = MergeTree ORDER BY tuple()`,

  createMeterView: (view: TableRef, meter: TableRef, nullTable: TableRef) =>
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${q(view)} TO ${q(meter)} AS SELECT count() AS rows FROM ${q(nullTable)}`,

  createView: (view: TableRef, to: TableRef, select: string, ifNotExists: boolean) =>
    `CREATE MATERIALIZED VIEW ${ifNotExists ? 'IF NOT EXISTS ' : ''}${q(view)} TO ${q(to)} AS ${select}`,

  /** Drops the cutoff filter once history is in: the view's query becomes the user's SELECT. */
  modifyQuery: (view: TableRef, select: string) => `ALTER TABLE ${q(view)} MODIFY QUERY ${select}`,

  /** `(SELECT * FROM <rows> WHERE <range>)`: the source as the live view or a check sees it. */
  filtered: (
    source: RowSource,
    extra: readonly string[],
    column: string,
    lo: Position | undefined,
    hi: Position | undefined,
  ) =>
    `(SELECT *${extra.map((c) => `, ${quoteIdent(c)}`).join('')} FROM ${from(source)} WHERE ${rangeCondition(column, lo, hi)})`,

  /** The window: rows of the range pushed into the null shadow, where the shadow view aggregates them block by block. */
  insertWindow: (
    nullTable: TableRef,
    columns: readonly string[],
    source: RowSource,
    column: string,
    lo: Position | undefined,
    hi: Position | undefined,
  ) => {
    const list = columns.map(quoteIdent).join(', ');
    return `INSERT INTO ${q(nullTable)} (${list}) SELECT ${list} FROM ${from(source)} WHERE ${rangeCondition(column, lo, hi)}`;
  },

  sumMeter: (meter: TableRef) => `SELECT toString(sum(rows)) AS n FROM ${q(meter)}`,

  /** `SELECT count() AS n, toString(e0) AS a0, …` over a table or a subquery text. */
  aggregates: (fromText: string, expressions: readonly string[]) =>
    `SELECT count() AS n${expressions.map((e, i) => `, toString(${e}) AS a${i}`).join('')} FROM ${fromText}`,
};

export { q as qualifiedRef };
