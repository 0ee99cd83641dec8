/**
 * Introspection of the live hypertable: columns, time and space dimensions, chunk interval, compression settings,
 * compression policy job (also one that never ran), continuous aggregates built on it (transitively), unique
 * indexes, chunks with their compression state and pre-compression sizes, and the server/TimescaleDB versions.
 * Reads `timescaledb_information` views where they carry the fact and `_timescaledb_catalog` where only it does
 * (dimension slices in internal units, chunk status bits, pre-compression sizes).
 */
import { TargetError } from '../../src/errors.ts';
import type { Queryable } from './connection.ts';
import { timeKindOf, type TimeKind } from './time.ts';
import { qualified } from './sql/quote.ts';

export interface PgColumn {
  readonly name: string;
  /** `format_type` text: `timestamp with time zone`, `numeric(12,2)`, `integer[]`. */
  readonly type: string;
  /** pg_type.typname of the column type (`timestamptz`, `_int4`, …). */
  readonly typeName: string;
  /** pg_type.typcategory: N numeric, S string, D date/time, B boolean, A array, U user, … */
  readonly category: string;
  /** Element type name for arrays (`int4`), else undefined. */
  readonly elementTypeName: string | undefined;
  readonly nullable: boolean;
  readonly hasDefault: boolean;
  /** A generated column: never written, recomputed by the server. */
  readonly generated: boolean;
}

export interface TimeDimension {
  readonly column: string;
  readonly type: string;
  readonly kind: TimeKind;
  /** Chunk interval in internal units (microseconds for time types, the integer itself otherwise). */
  readonly interval: bigint;
  /** Integer time only: the quoted, qualified integer_now function, if set. */
  readonly integerNow: string | undefined;
}

export interface SpaceDimension {
  readonly column: string;
  readonly partitions: number;
  /** Qualified, quoted partitioning function, e.g. `"_timescaledb_functions"."get_partition_hash"`. */
  readonly partitioningFunction: string | undefined;
}

export interface UniqueIndex {
  readonly name: string;
  readonly columns: readonly string[];
  readonly primary: boolean;
}

export interface CompressionPolicy {
  readonly jobId: number;
  readonly scheduled: boolean;
  /** `compress_after` as text (`7 days`, or an integer for integer time), if the policy uses it. */
  readonly compressAfter: string | undefined;
  /** `compress_created_before` as text, if the policy uses it instead. */
  readonly compressCreatedBefore: string | undefined;
  readonly totalRuns: number;
  readonly lastRunStatus: string | undefined;
}

export interface ContinuousAggregate {
  readonly schema: string;
  readonly name: string;
  /** 1 = built on the hypertable, 2 = on a level-1 aggregate, … (refresh in this order). */
  readonly level: number;
  /** Bucket width as text (`01:00:00`, `1 mon`, `10` for integer time), if known. */
  readonly bucketWidth: string | undefined;
  readonly definition: string;
}

export interface Hypertable {
  readonly schema: string;
  readonly name: string;
  readonly id: number;
  readonly columns: readonly PgColumn[];
  readonly time: TimeDimension;
  readonly space: readonly SpaceDimension[];
  readonly compressionEnabled: boolean;
  readonly segmentBy: readonly string[];
  /** `t DESC, device` as TimescaleDB shows it. */
  readonly orderBy: string;
  readonly policy: CompressionPolicy | undefined;
  readonly aggregates: readonly ContinuousAggregate[];
  readonly uniqueIndexes: readonly UniqueIndex[];
  /** `2.23.0` */
  readonly timescaleVersion: string;
  /** `17.5` */
  readonly postgresVersion: string;
}

export interface ChunkInfo {
  readonly id: number;
  readonly schema: string;
  readonly name: string;
  readonly compressed: boolean;
  /** Compressed with rows added since (status bit 8): needs recompression. */
  readonly partial: boolean;
  /** Time range [start, end) in internal units. */
  readonly start: bigint;
  readonly end: bigint;
  /** Space slices [start, end) per space dimension column. */
  readonly space: Readonly<Record<string, { readonly start: bigint; readonly end: bigint }>>;
  /** Bytes before compression (heap + index + toast), for compressed chunks. */
  readonly uncompressedBytes: number | undefined;
  readonly rowsBeforeCompression: number | undefined;
}

const num = (v: string | number | null | undefined): number =>
  v === null || v === undefined ? 0 : Number(v);

/** Major, minor of `2.23.0-dev`. */
export function versionAtLeast(version: string, major: number, minor: number): boolean {
  const match = /^(\d+)\.(\d+)/.exec(version);
  if (!match) return false;
  const [a, b] = [Number(match[1]), Number(match[2])];
  return a > major || (a === major && b >= minor);
}

export async function introspectHypertable(
  db: Queryable,
  schema: string,
  table: string,
  where: string,
): Promise<Hypertable> {
  const qualifiedName = `${schema}.${table}`;
  const versions = await db.query<{ ext: string | null; pg: string }>(
    `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS ext, current_setting('server_version') AS pg`,
    [],
    `reading the server version of ${where}`,
  );
  const timescaleVersion = versions[0]?.ext ?? null;
  const postgresVersion = versions[0]?.pg ?? '';
  if (!timescaleVersion) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `the TimescaleDB extension is not installed in ${where}: run CREATE EXTENSION timescaledb, or choose a TimescaleDB server in target.url`,
    );
  }
  const relation = await db.query<{ kind: string }>(
    `SELECT c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, table],
    `looking up table ${qualifiedName}`,
  );
  if (relation.length === 0) {
    throw new TargetError(
      'TARGET_MISSING',
      `table ${qualifiedName} does not exist in ${where}: create the hypertable first, or fix target.database (the schema) and target.table`,
    );
  }
  const hypertable = await db.query<{ id: number; compression: boolean }>(
    `SELECT h.id, coalesce(i.compression_enabled, false) AS compression
       FROM _timescaledb_catalog.hypertable h
       LEFT JOIN timescaledb_information.hypertables i ON i.hypertable_schema = h.schema_name AND i.hypertable_name = h.table_name
      WHERE h.schema_name = $1 AND h.table_name = $2`,
    [schema, table],
    `looking up hypertable ${qualifiedName}`,
  );
  const ht = hypertable[0];
  if (!ht) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `table ${qualifiedName} in ${where} is not a hypertable: convert it with SELECT create_hypertable(…) or target a hypertable`,
    );
  }

  const [columns, dimensions, compression, policies, uniqueIndexes, aggregates] = [
    await readColumns(db, schema, table),
    await db.query<{
      column_name: string;
      column_type: string;
      num_slices: number | null;
      interval_length: string | null;
      func_schema: string | null;
      func: string | null;
      now_schema: string | null;
      now_func: string | null;
    }>(
      `SELECT column_name, column_type::text AS column_type, num_slices, interval_length::text AS interval_length,
              partitioning_func_schema AS func_schema, partitioning_func AS func,
              integer_now_func_schema AS now_schema, integer_now_func AS now_func
         FROM _timescaledb_catalog.dimension WHERE hypertable_id = $1 ORDER BY id`,
      [ht.id],
      `reading the dimensions of ${qualifiedName}`,
    ),
    await db.query<{
      attname: string;
      segmentby: number | null;
      orderby: number | null;
      asc: boolean | null;
      nullsfirst: boolean | null;
    }>(
      `SELECT attname, segmentby_column_index AS segmentby, orderby_column_index AS orderby, orderby_asc AS asc,
              orderby_nullsfirst AS nullsfirst
         FROM timescaledb_information.compression_settings WHERE hypertable_schema = $1 AND hypertable_name = $2`,
      [schema, table],
      `reading the compression settings of ${qualifiedName}`,
    ),
    await db.query<{
      job_id: number;
      scheduled: boolean;
      compress_after: string | null;
      created_before: string | null;
      total_runs: string | null;
      last_run_status: string | null;
    }>(
      `SELECT j.job_id, j.scheduled, j.config->>'compress_after' AS compress_after,
              j.config->>'compress_created_before' AS created_before,
              s.total_runs::text AS total_runs, s.last_run_status
         FROM timescaledb_information.jobs j
         LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
        WHERE j.proc_name = 'policy_compression' AND j.hypertable_schema = $1 AND j.hypertable_name = $2
        ORDER BY j.job_id`,
      [schema, table],
      `reading the compression policy of ${qualifiedName}`,
    ),
    await readUniqueIndexes(db, schema, table),
    await readAggregates(db, ht.id, qualifiedName),
  ];

  const timeRow = dimensions.find((d) => d.interval_length !== null);
  if (!timeRow) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `hypertable ${qualifiedName} has no time dimension with a fixed interval`,
    );
  }
  const kind = timeKindOf(timeRow.column_type);
  if (!kind) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `hypertable ${qualifiedName} is partitioned on ${timeRow.column_name} of type ${timeRow.column_type}, which shadowfill cannot slice: use timestamptz, timestamp, date or an integer type`,
    );
  }
  const policy = policies[0];
  return {
    schema,
    name: table,
    id: ht.id,
    columns,
    time: {
      column: timeRow.column_name,
      type: timeRow.column_type,
      kind,
      interval: BigInt(timeRow.interval_length!),
      integerNow:
        timeRow.now_schema && timeRow.now_func ? qualified(timeRow.now_schema, timeRow.now_func) : undefined,
    },
    space: dimensions
      .filter((d) => d !== timeRow)
      .map((d) => ({
        column: d.column_name,
        partitions: d.num_slices ?? 0,
        partitioningFunction: d.func && d.func_schema ? qualified(d.func_schema, d.func) : undefined,
      })),
    compressionEnabled: ht.compression,
    segmentBy: compression
      .filter((c) => c.segmentby !== null)
      .sort((a, b) => num(a.segmentby) - num(b.segmentby))
      .map((c) => c.attname),
    orderBy: compression
      .filter((c) => c.orderby !== null)
      .sort((a, b) => num(a.orderby) - num(b.orderby))
      .map(
        (c) =>
          `${c.attname}${c.asc === false ? ' DESC' : ''}${c.nullsfirst === (c.asc !== false) ? (c.nullsfirst ? ' NULLS FIRST' : ' NULLS LAST') : ''}`,
      )
      .join(', '),
    policy: policy
      ? {
          jobId: policy.job_id,
          scheduled: policy.scheduled,
          compressAfter: policy.compress_after ?? undefined,
          compressCreatedBefore: policy.created_before ?? undefined,
          totalRuns: num(policy.total_runs),
          lastRunStatus: policy.last_run_status ?? undefined,
        }
      : undefined,
    aggregates,
    uniqueIndexes,
    timescaleVersion,
    postgresVersion,
  };
}

export async function readColumns(db: Queryable, schema: string, table: string): Promise<PgColumn[]> {
  const rows = await db.query<{
    name: string;
    type: string;
    typname: string;
    category: string;
    elem: string | null;
    notnull: boolean;
    hasdef: boolean;
    generated: string;
  }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, t.typname, t.typcategory AS category,
            e.typname AS elem, a.attnotnull AS notnull, a.atthasdef AS hasdef, a.attgenerated::text AS generated
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
    `reading the columns of ${schema}.${table}`,
  );
  return rows.map((r) => ({
    name: r.name,
    type: r.type,
    typeName: r.typname,
    category: r.category,
    elementTypeName: r.elem ?? undefined,
    nullable: !r.notnull,
    hasDefault: r.hasdef || r.generated !== '',
    generated: r.generated !== '',
  }));
}

async function readUniqueIndexes(db: Queryable, schema: string, table: string): Promise<UniqueIndex[]> {
  const rows = await db.query<{
    name: string;
    primary: boolean;
    columns: string[] | string;
    expressions: boolean;
  }>(
    `SELECT ic.relname AS name, i.indisprimary AS primary,
            array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, pos)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY k.pos)::text[] AS columns,
            (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL) AS expressions
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indisvalid
      ORDER BY i.indisprimary DESC, ic.relname`,
    [schema, table],
    `reading the unique indexes of ${schema}.${table}`,
  );
  return rows
    .filter((r) => !r.expressions)
    .map((r) => ({ name: r.name, primary: r.primary, columns: parseTextArray(r.columns) }));
}

/** `pg` returns text[] as string[]; tolerate the raw `{a,b}` form too. */
function parseTextArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  return value
    .replace(/^\{|\}$/g, '')
    .split(',')
    .filter((s) => s.length > 0)
    .map((s) => s.replace(/^"|"$/g, ''));
}

async function readAggregates(
  db: Queryable,
  hypertableId: number,
  qualifiedName: string,
): Promise<ContinuousAggregate[]> {
  const rows = await db.query<{
    mat: number;
    raw: number;
    schema: string;
    name: string;
    definition: string | null;
  }>(
    `SELECT a.mat_hypertable_id AS mat, a.raw_hypertable_id AS raw, a.user_view_schema AS schema, a.user_view_name AS name,
            v.view_definition AS definition
       FROM _timescaledb_catalog.continuous_agg a
       LEFT JOIN timescaledb_information.continuous_aggregates v
              ON v.view_schema = a.user_view_schema AND v.view_name = a.user_view_name`,
    [],
    `reading the continuous aggregates on ${qualifiedName}`,
  );
  let widths = new Map<number, string>();
  try {
    const w = await db.query<{ mat: number; width: string | null }>(
      `SELECT mat_hypertable_id AS mat, bucket_width::text AS width FROM _timescaledb_catalog.continuous_aggs_bucket_function`,
    );
    widths = new Map(w.filter((r) => r.width !== null).map((r) => [r.mat, r.width!]));
  } catch {
    // Older TimescaleDB keeps the width elsewhere; without it the refresh covers the whole aggregate.
  }
  const result: ContinuousAggregate[] = [];
  let parents = new Set([hypertableId]);
  for (let level = 1; parents.size > 0 && level < 16; level += 1) {
    const found = rows.filter((r) => parents.has(r.raw));
    for (const r of found) {
      result.push({
        schema: r.schema,
        name: r.name,
        level,
        bucketWidth: widths.get(r.mat),
        definition: r.definition ?? '',
      });
    }
    parents = new Set(found.map((r) => r.mat));
  }
  return result;
}

/** Every chunk of the hypertable with its time (and space) slices in internal units and compression facts. */
export async function listChunks(db: Queryable, ht: Hypertable): Promise<ChunkInfo[]> {
  const rows = await db.query<{
    id: number;
    schema: string;
    name: string;
    status: number;
    dim: string;
    start: string;
    end: string;
    bytes: string | null;
    rows: string | null;
  }>(
    `SELECT c.id, c.schema_name AS schema, c.table_name AS name, c.status, d.column_name AS dim,
            s.range_start::text AS start, s.range_end::text AS "end",
            (z.uncompressed_heap_size + z.uncompressed_index_size + z.uncompressed_toast_size)::text AS bytes,
            z.numrows_pre_compression::text AS rows
       FROM _timescaledb_catalog.chunk c
       JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = c.id AND cc.dimension_slice_id IS NOT NULL
       JOIN _timescaledb_catalog.dimension_slice s ON s.id = cc.dimension_slice_id
       JOIN _timescaledb_catalog.dimension d ON d.id = s.dimension_id
       LEFT JOIN _timescaledb_catalog.compression_chunk_size z ON z.chunk_id = c.id
      WHERE c.hypertable_id = $1 AND NOT coalesce((to_jsonb(c) ->> 'dropped')::boolean, false)
      ORDER BY c.id`,
    [ht.id],
    `listing the chunks of ${ht.schema}.${ht.name}`,
  );
  const chunks = new Map<number, ChunkInfo & { space: Record<string, { start: bigint; end: bigint }> }>();
  for (const r of rows) {
    let chunk = chunks.get(r.id);
    if (!chunk) {
      chunk = {
        id: r.id,
        schema: r.schema,
        name: r.name,
        compressed: (r.status & 1) === 1,
        partial: (r.status & 8) === 8,
        start: 0n,
        end: 0n,
        space: {},
        uncompressedBytes: r.bytes === null ? undefined : Number(r.bytes),
        rowsBeforeCompression: r.rows === null ? undefined : Number(r.rows),
      };
      chunks.set(r.id, chunk);
    }
    if (r.dim === ht.time.column) {
      chunk = { ...chunk, start: BigInt(r.start), end: BigInt(r.end) };
      chunks.set(r.id, chunk);
    } else {
      chunk.space[r.dim] = { start: BigInt(r.start), end: BigInt(r.end) };
    }
  }
  return [...chunks.values()].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.id - b.id));
}
