/**
 * Introspection of the live hypertable: columns, time and space dimensions, chunk interval, compression settings,
 * compression policy job (also one that never ran), continuous aggregates built on it (transitively), unique
 * indexes, chunks with their compression state and pre-compression sizes, and the server/TimescaleDB versions.
 *
 * Read through the documented interface wherever it carries the fact: `timescaledb_information.hypertables`,
 * `.dimensions`, `.hypertable_compression_settings`, `.jobs`, `.job_stats`, `.continuous_aggregates`, `.chunks`,
 * and `chunk_compression_stats()`; PostgreSQL's own catalogs for columns and unique indexes. The few facts only
 * the internal catalog has (space slices, partitioning functions, the partial-chunk bit, rows before compression,
 * bucket widths) come from ./catalog/, one module per TimescaleDB version range.
 */
import { TargetError } from '../../src/errors.ts';
import { catalogFor } from './catalog/index.ts';
import type { Queryable } from './connection.ts';
import { timeKindOf, type TimeKind } from './time.ts';
import { versionAtLeast } from './version.ts';

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
  /** The view's time-bucket column (the time dimension of its materialization hypertable), if known. */
  readonly bucketColumn: string | undefined;
  /** Bucket width as text (`01:00:00`, `1 mon`, `10` for integer time), if known. */
  readonly bucketWidth: string | undefined;
  readonly definition: string;
}

export interface Hypertable {
  readonly schema: string;
  readonly name: string;
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
  readonly schema: string;
  readonly name: string;
  readonly compressed: boolean;
  /** Compressed with rows added since (status bit 8): needs recompression. */
  readonly partial: boolean;
  /** Compressed batches written out of order (status bit 2, e.g. by direct compress inserts): needs recompression. */
  readonly unordered: boolean;
  /** Time range [start, end) in internal units. */
  readonly start: bigint;
  readonly end: bigint;
  /** Space slices [start, end) per space dimension column. */
  readonly space: Readonly<Record<string, { readonly start: bigint; readonly end: bigint }>>;
  /** Bytes before compression (heap + index + toast), for compressed chunks. */
  readonly uncompressedBytes: number | undefined;
  readonly rowsBeforeCompression: number | undefined;
  /** When the chunk was created (`chunk_creation_time`, ISO 8601 text). */
  readonly createdAt: string;
}

const num = (v: string | number | null | undefined): number =>
  v === null || v === undefined ? 0 : Number(v);

/** The oldest TimescaleDB whose documented views carry what the adapter reads (`hypertable_compression_settings`). */
export const MIN_TIMESCALE_VERSION = '2.15';

/** The internal value of a chunk boundary read as `timestamptz` (±infinity → the int64 extremes). */
const INTERNAL_BOUND = (column: string) =>
  `CASE WHEN ${column} IS NULL THEN NULL WHEN isfinite(${column}) THEN (extract(epoch FROM ${column}) * 1000000)::bigint::text
        WHEN ${column} < 'epoch'::timestamptz THEN '-9223372036854775808' ELSE '9223372036854775807' END`;

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
  const [major, minor] = MIN_TIMESCALE_VERSION.split('.').map(Number) as [number, number];
  if (!versionAtLeast(timescaleVersion, major, minor)) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `${where} runs TimescaleDB ${timescaleVersion}; shadowfill needs ${MIN_TIMESCALE_VERSION} or later: upgrade the extension (ALTER EXTENSION timescaledb UPDATE)`,
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
  const hypertable = await db.query<{ compression: boolean }>(
    `SELECT coalesce(compression_enabled, false) AS compression FROM timescaledb_information.hypertables
      WHERE hypertable_schema = $1 AND hypertable_name = $2`,
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
  const catalog = catalogFor(timescaleVersion);

  const columns = await readColumns(db, schema, table);
  const dimensions = await db.query<{
    column_name: string;
    column_type: string;
    dimension_type: string;
    interval: string | null;
    num_partitions: number | null;
  }>(
    `SELECT column_name, column_type::text AS column_type, dimension_type,
            coalesce((extract(epoch FROM time_interval) * 1000000)::bigint, integer_interval)::text AS interval,
            num_partitions
       FROM timescaledb_information.dimensions
      WHERE hypertable_schema = $1 AND hypertable_name = $2 ORDER BY dimension_number`,
    [schema, table],
    `reading the dimensions of ${qualifiedName}`,
  );
  const functions = await catalog.dimensionFunctions(db, schema, table);
  const compression = await db.query<{ segmentby: string | null; orderby: string | null }>(
    `SELECT segmentby, orderby FROM timescaledb_information.hypertable_compression_settings
      WHERE hypertable = format('%I.%I', $1::text, $2::text)::regclass`,
    [schema, table],
    `reading the compression settings of ${qualifiedName}`,
  );
  const policies = await db.query<{
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
  );
  const uniqueIndexes = await readUniqueIndexes(db, schema, table);
  const aggregates = await readAggregates(db, schema, table, catalog.bucketWidths);

  const timeRow = dimensions.find((d) => d.dimension_type === 'Time' && d.interval !== null);
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
  const settings = compression[0];
  return {
    schema,
    name: table,
    columns,
    time: {
      column: timeRow.column_name,
      type: timeRow.column_type,
      kind,
      interval: BigInt(timeRow.interval!),
      integerNow: functions.get(timeRow.column_name)?.integerNow,
    },
    space: dimensions
      .filter((d) => d !== timeRow)
      .map((d) => ({
        column: d.column_name,
        partitions: d.num_partitions ?? 0,
        partitioningFunction: functions.get(d.column_name)?.partitioning,
      })),
    compressionEnabled: ht.compression,
    segmentBy: splitColumnList(settings?.segmentby ?? '', columns),
    orderBy: (settings?.orderby ?? '').replace(/,/g, ', '),
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

/**
 * `hypertable_compression_settings.segmentby` joins the column names with `,` unquoted: split it by matching the
 * table's column names (a name may itself contain a comma).
 */
export function splitColumnList(text: string, columns: readonly { name: string }[]): string[] {
  const result: string[] = [];
  let rest = text;
  const names = [...columns.map((c) => c.name)].sort((a, b) => b.length - a.length);
  while (rest.length > 0) {
    const name = names.find((n) => rest === n || rest.startsWith(`${n},`));
    if (!name) {
      result.push(...rest.split(','));
      break;
    }
    result.push(name);
    rest = rest.slice(name.length + 1);
  }
  return result.filter((n) => n.length > 0);
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
  schema: string,
  table: string,
  bucketWidths: (db: Queryable) => Promise<Map<string, string>>,
): Promise<ContinuousAggregate[]> {
  const rows = await db.query<{
    raw_schema: string;
    raw_name: string;
    schema: string;
    name: string;
    mat_schema: string;
    mat_name: string;
    bucket: string | null;
    definition: string | null;
  }>(
    `SELECT a.hypertable_schema AS raw_schema, a.hypertable_name AS raw_name, a.view_schema AS schema, a.view_name AS name,
            a.materialization_hypertable_schema AS mat_schema, a.materialization_hypertable_name AS mat_name,
            (SELECT d.column_name FROM timescaledb_information.dimensions d
              WHERE d.hypertable_schema = a.materialization_hypertable_schema
                AND d.hypertable_name = a.materialization_hypertable_name
              ORDER BY d.dimension_number LIMIT 1) AS bucket,
            a.view_definition AS definition
       FROM timescaledb_information.continuous_aggregates a`,
    [],
    `reading the continuous aggregates on ${schema}.${table}`,
  );
  let widths = new Map<string, string>();
  if (rows.length > 0) {
    try {
      widths = await bucketWidths(db);
    } catch {
      // Without the width the refresh covers the whole aggregate and the measurement all of it.
    }
  }
  const key = (s: string, n: string) => `${s}\u0000${n}`;
  const result: ContinuousAggregate[] = [];
  let parents = new Set([key(schema, table)]);
  for (let level = 1; parents.size > 0 && level < 16; level += 1) {
    const found = rows.filter((r) => parents.has(key(r.raw_schema, r.raw_name)));
    for (const r of found) {
      result.push({
        schema: r.schema,
        name: r.name,
        level,
        bucketWidth: widths.get(`${r.schema}.${r.name}`),
        bucketColumn: r.bucket ?? undefined,
        definition: r.definition ?? '',
      });
    }
    parents = new Set(found.map((r) => key(r.mat_schema, r.mat_name)));
  }
  return result;
}

/**
 * Every chunk of the hypertable with its time (and space) slices in internal units and compression facts: the
 * `timescaledb_information.chunks` view and `chunk_compression_stats()`, plus the version's catalog module for
 * what they lack.
 */
export async function listChunks(db: Queryable, ht: Hypertable): Promise<ChunkInfo[]> {
  const where = `${ht.schema}.${ht.name}`;
  const rows = await db.query<{
    schema: string;
    name: string;
    compressed: boolean;
    start: string;
    end: string;
    created: string;
  }>(
    `SELECT chunk_schema AS schema, chunk_name AS name, is_compressed AS compressed,
            coalesce(range_start_integer::text, ${INTERNAL_BOUND('range_start')}) AS start,
            coalesce(range_end_integer::text, ${INTERNAL_BOUND('range_end')}) AS "end",
            to_char(chunk_creation_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created
       FROM timescaledb_information.chunks
      WHERE hypertable_schema = $1 AND hypertable_name = $2`,
    [ht.schema, ht.name],
    `listing the chunks of ${where}`,
  );
  if (rows.length === 0) return [];
  const catalog = catalogFor(ht.timescaleVersion);
  const sizes = ht.compressionEnabled
    ? await db.query<{ schema: string; name: string; bytes: string | null }>(
        `SELECT chunk_schema AS schema, chunk_name AS name, before_compression_total_bytes::text AS bytes
           FROM chunk_compression_stats(format('%I.%I', $1::text, $2::text)::regclass)`,
        [ht.schema, ht.name],
        `reading the compression sizes of the chunks of ${where}`,
      )
    : [];
  const bytes = new Map(sizes.map((r) => [`${r.schema}.${r.name}`, r.bytes]));
  const facts = await catalog.chunkFacts(db, ht.schema, ht.name);
  const space = ht.space.length > 0 ? await catalog.spaceSlices(db, ht.schema, ht.name) : new Map();
  const chunks = rows.map((r): ChunkInfo => {
    const name = `${r.schema}.${r.name}`;
    const fact = facts.get(name);
    const size = bytes.get(name);
    return {
      schema: r.schema,
      name: r.name,
      compressed: r.compressed,
      partial: r.compressed && fact?.partial === true,
      unordered: r.compressed && fact?.unordered === true,
      start: BigInt(r.start),
      end: BigInt(r.end),
      space: space.get(name) ?? {},
      uncompressedBytes: r.compressed && size !== null && size !== undefined ? Number(size) : undefined,
      rowsBeforeCompression: r.compressed ? fact?.rowsBeforeCompression : undefined,
      createdAt: r.created,
    };
  });
  return chunks.sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}
