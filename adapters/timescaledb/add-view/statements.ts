/**
 * Every SQL statement of TimescaleDB's add-view, as pure functions. Identifiers and literals are quoted here;
 * the user's SELECT is used as written (PostgreSQL parses it; the schema is put first on the search_path).
 */
import type { Position } from '../../../src/adapter/view-contract.ts';
import { checkedTypeName, qualified, quoteIdent, quoteLiteral } from '../sql/quote.ts';
import { internalExpression, internalLiteral, type TimeKind } from '../time.ts';

export interface AggregateShape {
  readonly schema: string;
  readonly name: string;
  /** The aggregate's bucket column and the raw time column's kind (windows are in raw time). */
  readonly bucketColumn: string;
  readonly kind: TimeKind;
  /** Output columns with their types, in order. */
  readonly columns: readonly { readonly name: string; readonly type: string }[];
}

/** A window bound as a value of the raw time column, or NULL (open). */
export function bound(kind: TimeKind, p: Position | undefined): string {
  return p === undefined ? 'NULL' : internalLiteral(kind, p.value);
}

/** `col >= lo AND col < hi` over an expression (either bound optional). */
export function rangeOf(
  expr: string,
  kind: TimeKind,
  lo: Position | undefined,
  hi: Position | undefined,
): string {
  const parts: string[] = [];
  if (lo !== undefined) parts.push(`${expr} >= ${internalLiteral(kind, lo.value)}`);
  if (hi !== undefined) parts.push(`${expr} < ${internalLiteral(kind, hi.value)}`);
  return parts.length === 0 ? 'true' : parts.join(' AND ');
}

const isFloat = (type: string) => /^(real|double precision|float[48]?)$/.test(type);

/** The aggregate's columns for comparing rows: floats rounded (their sums depend on the order of addition). */
function comparable(columns: AggregateShape['columns'], prefix: string): string {
  return columns
    .map((c) =>
      isFloat(c.type)
        ? `round(${prefix}${quoteIdent(c.name)}::numeric, 6)`
        : `${prefix}${quoteIdent(c.name)}`,
    )
    .join(', ');
}

export const tsSql = {
  searchPath: (schema: string) => `SET LOCAL search_path = ${quoteIdent(schema)}, public`,

  probeView: (name: string, select: string) => `CREATE TEMP VIEW ${quoteIdent(name)} AS ${select}`,

  dropProbe: (name: string) => `DROP VIEW IF EXISTS pg_temp.${quoteIdent(name)}`,

  /** Relations a (probe) view's query reads, from its rewrite rule's dependencies. */
  probeDependencies: (name: string) =>
    `SELECT DISTINCT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
            EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates a
                     WHERE a.view_schema = n.nspname AND a.view_name = c.relname) AS aggregate,
            EXISTS (SELECT 1 FROM _timescaledb_catalog.hypertable h
                     WHERE h.schema_name = n.nspname AND h.table_name = c.relname) AS hypertable
       FROM pg_rewrite r
       JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
       JOIN pg_class c ON c.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE r.ev_class = ${quoteLiteral(quoteIdent(name))}::regclass AND c.oid <> r.ev_class`,

  probeColumns: (name: string) =>
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
      WHERE a.attrelid = ${quoteLiteral(quoteIdent(name))}::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,

  relation: `SELECT c.relkind::text AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2`,

  /** The source as TimescaleDB sees it: a hypertable's time dimension, or a continuous aggregate's bucket column. */
  sourceTime: `SELECT d.column_name AS column, d.column_type::text AS type, false AS aggregate
                 FROM _timescaledb_catalog.hypertable h
                 JOIN _timescaledb_catalog.dimension d ON d.hypertable_id = h.id AND d.interval_length IS NOT NULL
                WHERE h.schema_name = $1 AND h.table_name = $2
               UNION ALL
               SELECT d.column_name, d.column_type::text, true
                 FROM _timescaledb_catalog.continuous_agg a
                 JOIN _timescaledb_catalog.dimension d ON d.hypertable_id = a.mat_hypertable_id
                WHERE a.user_view_schema = $1 AND a.user_view_name = $2`,

  createAggregate: (schema: string, name: string, select: string, materializedOnly: boolean | undefined) =>
    `CREATE MATERIALIZED VIEW ${qualified(schema, name)} WITH (timescaledb.continuous` +
    (materializedOnly === undefined ? '' : `, timescaledb.materialized_only = ${materializedOnly}`) +
    `) AS ${select} WITH NO DATA`,

  /** The aggregate's bucket: width, origin/offset/timezone, bucket column, from the catalog. */
  aggregateShape: `SELECT d.column_name AS bucket_column, f.bucket_width::text AS width,
                          f.bucket_origin::text AS origin, f.bucket_offset::text AS "offset",
                          f.bucket_timezone AS timezone, a.raw_hypertable_id AS raw
                     FROM _timescaledb_catalog.continuous_agg a
                     JOIN _timescaledb_catalog.dimension d ON d.hypertable_id = a.mat_hypertable_id
                     LEFT JOIN _timescaledb_catalog.continuous_aggs_bucket_function f ON f.mat_hypertable_id = a.mat_hypertable_id
                    WHERE a.user_view_schema = $1 AND a.user_view_name = $2`,

  columns: `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,

  serverTime: `SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::numeric(30, 0)::text AS t`,

  extent: (schema: string, table: string, column: string, kind: TimeKind, below: Position | undefined) => {
    const col = quoteIdent(column);
    const v = (e: string) => `(${internalExpression(kind, e)})::text`;
    return (
      `SELECT count(*)::text AS n, ${v(`min(${col})`)} AS lo, ${v(`max(${col})`)} AS hi FROM ${qualified(schema, table)}` +
      (below === undefined ? '' : ` WHERE ${rangeOf(col, kind, undefined, below)}`)
    );
  },

  countRange: (
    schema: string,
    table: string,
    column: string,
    kind: TimeKind,
    lo: Position | undefined,
    hi: Position | undefined,
  ) =>
    `SELECT count(*)::text AS n FROM ${qualified(schema, table)} WHERE ${rangeOf(quoteIdent(column), kind, lo, hi)}`,

  /** Edges moved down to the start of their bucket, by the aggregate's own bucket function. */
  alignEdges: (
    kind: TimeKind,
    timeType: string,
    width: string,
    origin: string | null,
    offset: string | null,
    timezone: string | null,
    edges: readonly Position[],
  ) => {
    const values = edges.map((e) => internalLiteral(kind, e.value)).join(', ');
    const type = checkedTypeName(timeType);
    const args =
      kind === 'integer'
        ? `${quoteLiteral(width)}::${type}, e${offset ? `, ${quoteLiteral(offset)}::${type}` : ''}`
        : `${quoteLiteral(width)}::interval, e` +
          (timezone ? `, ${quoteLiteral(timezone)}` : '') +
          (origin
            ? `, origin => ${quoteLiteral(origin)}::${timezone || kind === 'timestamptz' ? 'timestamptz' : 'timestamp'}`
            : '') +
          (offset ? `, "offset" => ${quoteLiteral(offset)}::interval` : '');
    return `SELECT (${internalExpression(kind, `time_bucket(${args})`)})::text AS v FROM unnest(ARRAY[${values}]::${type}[]) AS e`;
  },

  refresh: (shape: AggregateShape, lo: Position | undefined, hi: Position | undefined, timeType: string) =>
    `CALL refresh_continuous_aggregate(${quoteLiteral(qualified(shape.schema, shape.name))}, ` +
    `${bound(shape.kind, lo)}::${checkedTypeName(timeType)}, ${bound(shape.kind, hi)}::${checkedTypeName(timeType)})`,

  /** Rows and sums of the aggregate's numeric columns within a bucket range. */
  totals: (
    fromText: string,
    bucket: string,
    kind: TimeKind,
    sums: readonly string[],
    lo: Position | undefined,
    hi: Position | undefined,
  ) =>
    `SELECT count(*)::text AS n${sums.map((c, i) => `, coalesce(sum(${quoteIdent(c)}), 0)::text AS a${i}`).join('')} ` +
    `FROM ${fromText} WHERE ${rangeOf(quoteIdent(bucket), kind, lo, hi)}`,

  /** Rows of the aggregate that differ from its SELECT recomputed over the hypertable, in a bucket range. */
  difference: (shape: AggregateShape, select: string, lo: Position | undefined, hi: Position | undefined) => {
    const stored = `SELECT ${comparable(shape.columns, 'v.')} FROM ${qualified(shape.schema, shape.name)} v WHERE ${rangeOf(`v.${quoteIdent(shape.bucketColumn)}`, shape.kind, lo, hi)}`;
    const fresh = `SELECT ${comparable(shape.columns, 'q.')} FROM (${select}) q WHERE ${rangeOf(`q.${quoteIdent(shape.bucketColumn)}`, shape.kind, lo, hi)}`;
    return `SELECT count(*)::text AS n FROM ((${stored} EXCEPT ALL ${fresh}) UNION ALL (${fresh} EXCEPT ALL ${stored})) d`;
  },

  addPolicy: (
    shape: AggregateShape,
    timeType: string,
    policy: { startOffset: string | null; endOffset: string | null; scheduleInterval: string },
  ) => {
    const offset = (v: string | null) =>
      v === null
        ? 'NULL'
        : shape.kind === 'integer'
          ? `${quoteLiteral(v)}::${checkedTypeName(timeType)}`
          : `${quoteLiteral(v)}::interval`;
    return (
      `SELECT add_continuous_aggregate_policy(${quoteLiteral(qualified(shape.schema, shape.name))}::regclass, ` +
      `start_offset => ${offset(policy.startOffset)}, end_offset => ${offset(policy.endOffset)}, ` +
      `schedule_interval => ${quoteLiteral(policy.scheduleInterval)}::interval, if_not_exists => true)`
    );
  },

  dropAggregate: (schema: string, name: string) =>
    `DROP MATERIALIZED VIEW IF EXISTS ${qualified(schema, name)}`,

  version: `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS ext, current_setting('server_version') AS pg`,
};
