/**
 * Every SQL statement the ClickHouse adapter runs, as pure functions of their inputs. All identifiers and
 * literals are quoted here; nothing else in the adapter assembles SQL.
 */
import type { ObjectStoreCredentials, SourceObject } from '../../../src/source/types.ts';
import type { RowFilter } from '../../../src/adapter/contract.ts';
import type { JournalEvent } from '../../../src/journal/types.ts';
import { qualified, quoteIdent, quoteString } from './quote.ts';
import type { BoundStatement } from '../driver.ts';
import type { TableRef } from '../names.ts';

const q = (ref: TableRef) => qualified(ref.database, ref.table);

export const sql = {
  serverVersion: () => 'SELECT version() AS version',

  /** The server's default `max_threads` (`auto(8)`, or a number): how many cores it uses per query. */
  maxThreads: () => `SELECT value FROM system.settings WHERE name = 'max_threads'`,

  tableInfo: (ref: TableRef) =>
    `SELECT name, engine, engine_full, partition_key, sorting_key, create_table_query, as_select, ` +
    `dependencies_database, dependencies_table FROM system.tables ` +
    `WHERE database = ${quoteString(ref.database)} AND name = ${quoteString(ref.table)}`,

  tableExists: (ref: TableRef) =>
    `SELECT count() AS n FROM system.tables WHERE database = ${quoteString(ref.database)} AND name = ${quoteString(ref.table)}`,

  databaseExists: (database: string) =>
    `SELECT count() AS n FROM system.databases WHERE name = ${quoteString(database)}`,

  columns: (ref: TableRef) =>
    `SELECT name, type, default_kind FROM system.columns ` +
    `WHERE database = ${quoteString(ref.database)} AND table = ${quoteString(ref.table)} ORDER BY position`,

  createTableAs: (table: TableRef, like: TableRef) => `CREATE TABLE IF NOT EXISTS ${q(table)} AS ${q(like)}`,

  /**
   * `CREATE TABLE … AS <like> ENGINE = MergeTree <clauses>`: the columns of `like` with a plain MergeTree engine;
   * `clauses` (PARTITION BY, ORDER BY, PRIMARY KEY, SETTINGS …) are the live table's own, as the server printed
   * them in system.tables.engine_full, so MOVE PARTITION between the two tables is allowed.
   */
  createPlainTableAs: (table: TableRef, like: TableRef, clauses: string) =>
    `CREATE TABLE IF NOT EXISTS ${q(table)} AS ${q(like)} ENGINE = MergeTree${clauses ? ` ${clauses}` : ''}`,

  /**
   * Every part of a run table (landing or shadow) gets a UUID of its own, which MOVE PARTITION keeps: how a move the
   * server committed in the target but had not finished removing from the source (it stopped in between) is told
   * apart from data still to move (see moved-parts.ts).
   */
  assignPartUuids: (table: TableRef) => `ALTER TABLE ${q(table)} MODIFY SETTING assign_part_uuids = 1`,

  /**
   * The parts of `from` (side 'from') and `to` (side 'to'), in any state: a part merged away or moved away stays
   * listed (inactive) for a while.
   */
  tableParts: (from: TableRef, to: TableRef) =>
    `SELECT if(database = ${quoteString(from.database)} AND table = ${quoteString(from.table)}, 'from', 'to') AS side, ` +
    `partition_id, name, toString(uuid) AS uuid, active, rows, min_block_number, max_block_number FROM system.parts ` +
    `WHERE (database = ${quoteString(from.database)} AND table = ${quoteString(from.table)}) ` +
    `OR (database = ${quoteString(to.database)} AND table = ${quoteString(to.table)})`,

  dropPart: (table: TableRef, part: string) => `ALTER TABLE ${q(table)} DROP PART ${quoteString(part)}`,

  createShadowView: (view: TableRef, to: TableRef, select: string) =>
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${q(view)} TO ${q(to)} AS ${select}`,

  truncate: (table: TableRef) => `TRUNCATE TABLE IF EXISTS ${q(table)}`,

  dropTable: (table: TableRef) => `DROP TABLE IF EXISTS ${q(table)} SYNC`,

  dropView: (view: TableRef) => `DROP VIEW IF EXISTS ${q(view)} SYNC`,

  activePartitions: (table: TableRef) =>
    `SELECT partition_id, any(partition) AS partition, sum(rows) AS rows FROM system.parts ` +
    `WHERE database = ${quoteString(table.database)} AND table = ${quoteString(table.table)} AND active ` +
    `GROUP BY partition_id ORDER BY partition_id`,

  /**
   * Moves one partition, its id bound as the query parameter `partition_id` (an unpartitioned table's one
   * partition has the id `all`). `partitionId` undefined: the statement as `plan` prints it, the id to be bound.
   */
  movePartition: (from: TableRef, to: TableRef, partitionId?: string): BoundStatement => ({
    sql: `ALTER TABLE ${q(from)} MOVE PARTITION ID {partition_id:String} TO TABLE ${q(to)}`,
    params: partitionId === undefined ? {} : { partition_id: partitionId },
  }),

  count: (table: TableRef) => `SELECT count() AS n FROM ${q(table)}`,

  aggregates: (table: TableRef, expressions: readonly string[]) =>
    `SELECT count() AS n${expressions.map((e, i) => `, toString(${e}) AS a${i}`).join('')} FROM ${q(table)}`,

  minValue: (table: TableRef, column: string) =>
    `SELECT count() AS n, toString(min(${quoteIdent(column)})) AS v FROM ${q(table)}`,

  /** `INSERT INTO landing (cols) SELECT cols FROM s3(...) [WHERE filter]`. */
  /**
   * The batch's rows into its landing. `guarded` columns (whose source type differs from the table's) are checked
   * row by row in the same read: a value the cast would fail on stops the INSERT (`throwIf`, code 395,
   * FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) before anything of the batch is kept — no second read of the source.
   */
  insertFromS3: (
    landing: TableRef,
    columns: readonly string[],
    source: S3Source,
    filter: RowFilter | undefined,
    guarded: readonly { readonly name: string; readonly type: string }[] = [],
  ) => {
    const list = columns.map(quoteIdent).join(', ');
    const conditions = filterConditions(filter);
    if (guarded.length > 0) {
      const bad = guarded.map((c) => `(${castFails(c.name, c.type)})`).join(' OR ');
      const scope = conditions.length > 0 ? `${conditions.join(' AND ')} AND ` : '';
      conditions.push(`throwIf(${scope}(${bad}), ${quoteString(CAST_GUARD_MESSAGE)}) = 0`);
    }
    const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
    return `INSERT INTO ${q(landing)} (${list}) SELECT ${list} FROM ${s3Function(source)}${where}`;
  },

  countFromS3: (source: S3Source, filter: RowFilter | undefined) =>
    `SELECT count() AS n FROM ${s3Function(source)}${whereClause(filter)}`,

  createJournal: (journal: TableRef) =>
    `CREATE TABLE IF NOT EXISTS ${q(journal)} (` +
    `run_id String, fingerprint String, seq UInt32, at DateTime64(3, 'UTC'), kind LowCardinality(String), ` +
    `batch Int32, unit String, data String) ENGINE = MergeTree ORDER BY (fingerprint, run_id, seq)`,

  appendJournal: (journal: TableRef, events: readonly JournalEvent[]) =>
    `INSERT INTO ${q(journal)} (run_id, fingerprint, seq, at, kind, batch, unit, data) VALUES ` +
    events
      .map(
        (e) =>
          '(' +
          [
            quoteString(e.runId),
            quoteString(e.fingerprint),
            String(Math.trunc(e.seq)),
            `parseDateTime64BestEffort(${quoteString(e.at)}, 3, 'UTC')`,
            quoteString(e.kind),
            String(Math.trunc(e.batch)),
            quoteString(e.unit),
            quoteString(e.data),
          ].join(', ') +
          ')',
      )
      .join(', '),

  /** Every table and view of run `runId` (`…_v2_<run>`, `…_v2_<run>_landing`) in `databases`, views first. */
  runObjects: (databases: readonly string[], runId: string) =>
    `SELECT database, name, engine FROM system.tables WHERE database IN (${databases.map(quoteString).join(', ')}) ` +
    `AND (endsWith(name, ${quoteString(`_v2_${runId}`)}) OR position(name, ${quoteString(`_v2_${runId}_`)}) > 0) ` +
    `ORDER BY engine = 'MaterializedView' DESC, name`,

  /** Output columns of a SELECT. */
  describeSelect: (select: string) => `DESCRIBE TABLE (${select})`,

  /** The query plan of a SELECT (to find out whether it aggregates). */
  explainPlan: (select: string) => `EXPLAIN PLAN ${select}`,

  /** Columns of the objects as ClickHouse infers them from the Parquet schema. */
  describeS3: (source: S3Source) => `DESCRIBE TABLE ${s3Function(source)}`,

  /**
   * For each column: how many values are not null yet do not survive `accurateCastOrNull` into the table's
   * type, one of them, and the object it is in (`b<i>`, `s<i>`, `p<i>`). Reads only those columns.
   */
  probeCasts: (
    source: S3Source,
    columns: readonly { readonly name: string; readonly type: string }[],
    filter: RowFilter | undefined,
  ) =>
    `SELECT ` +
    columns
      .map((c, i) => {
        const col = quoteIdent(c.name);
        const bad = castFails(c.name, c.type);
        return `countIf(${bad}) AS b${i}, anyIf(substring(toString(${col}), 1, 80), ${bad}) AS s${i}, anyIf(_path, ${bad}) AS p${i}`;
      })
      .join(', ') +
    ` FROM ${s3Function(source)}${whereClause(filter)}`,

  // ---- leases (see adapters/clickhouse/lease.ts) ----

  /** Generation tables of the lease whose tables start with `prefix`. */
  leaseTables: (database: string, prefix: string) =>
    `SELECT name, comment, toUnixTimestamp(metadata_modification_time) * 1000 AS created FROM system.tables ` +
    `WHERE database = ${quoteString(database)} AND startsWith(name, ${quoteString(prefix)})`,

  /** Creating a table is exclusive: of two processes creating the same generation, one fails. */
  createLease: (table: TableRef, comment: string) =>
    `CREATE TABLE ${q(table)} (at DateTime64(3), expires DateTime64(3), run_id String, kind LowCardinality(String)) ` +
    `ENGINE = MergeTree ORDER BY at COMMENT ${quoteString(comment)}`,

  leaseBeat: (table: TableRef, ttlMs: number, runId: string, kind: 'acquired' | 'heartbeat') =>
    `INSERT INTO ${q(table)} (at, expires, run_id, kind) SELECT now64(3), now64(3) + toIntervalMillisecond(${Math.trunc(ttlMs)}), ` +
    `${quoteString(runId)}, ${quoteString(kind)}`,

  leaseState: (table: TableRef) =>
    `SELECT count() AS n, toUnixTimestamp64Milli(max(at)) AS heartbeat, toUnixTimestamp64Milli(max(expires)) AS expires, ` +
    `argMaxIf(run_id, at, run_id != '') AS run_id, toUnixTimestamp64Milli(now64(3)) AS now FROM ${q(table)}`,

  readJournal: (journal: TableRef, where: { fingerprint?: string; runId?: string }) =>
    `SELECT run_id, fingerprint, seq, formatDateTime(at, '%Y-%m-%dT%H:%i:%S.%fZ', 'UTC') AS at, kind, batch, unit, data ` +
    `FROM ${q(journal)} WHERE ` +
    (where.runId !== undefined
      ? `run_id = ${quoteString(where.runId)}`
      : `fingerprint = ${quoteString(where.fingerprint ?? '')}`) +
    ` ORDER BY run_id, seq`,
};

/** The objects of one batch as an `s3()` table function call. */
export interface S3Source {
  readonly objects: readonly SourceObject[];
  readonly credentials: ObjectStoreCredentials | undefined;
  /** ClickHouse structure (`name Type, …`) the objects are read as; inferred from the Parquet schema when omitted. */
  readonly structure?: string;
}

const GLOB_CHARS = /[{}*?,\\]/;

/**
 * `s3('http://…/prefix{a,b,c}.parquet', key, secret, 'Parquet', 'structure')`; keys that contain glob characters
 * cannot be listed in an alternation, so then each object is its own s3() call under UNION ALL.
 */
export function s3Function(source: S3Source): string {
  const urls = source.objects.map((o) => o.httpUrl);
  if (urls.length === 0) throw new Error('a batch has no objects');
  if (urls.length > 1 && !urls.some((u) => GLOB_CHARS.test(u))) {
    const pattern = alternation(urls);
    if (pattern !== undefined) return s3Call(pattern, source);
  }
  if (urls.length === 1 && !GLOB_CHARS.test(urls[0]!)) return s3Call(urls[0]!, source);
  // `_path` is a virtual column: a subquery passes it on only when it is selected by name.
  return `(${urls.map((u) => `SELECT *, _path FROM ${s3Call(u, source)}`).join(' UNION ALL ')})`;
}

function s3Call(url: string, source: S3Source): string {
  const creds = source.credentials
    ? `, ${quoteString(source.credentials.accessKeyId)}, ${quoteString(source.credentials.secretAccessKey)}` +
      (source.credentials.sessionToken ? `, ${quoteString(source.credentials.sessionToken)}` : '')
    : `, NOSIGN`;
  const structure = source.structure === undefined ? '' : `, ${quoteString(source.structure)}`;
  return `s3(${quoteString(url)}${creds}, 'Parquet'${structure})`;
}

/** `common{x,y,z}suffix` over the differing middle of the URLs; undefined when a middle would be empty. */
function alternation(urls: readonly string[]): string | undefined {
  let prefix = urls[0]!;
  for (const u of urls) while (!u.startsWith(prefix)) prefix = prefix.slice(0, -1);
  let suffix = urls[0]!.slice(prefix.length);
  for (const u of urls)
    while (!u.endsWith(suffix) || u.length - suffix.length < prefix.length) suffix = suffix.slice(1);
  const middles = urls.map((u) => u.slice(prefix.length, u.length - suffix.length));
  if (middles.some((m) => m.length === 0)) return undefined;
  return `${prefix}{${middles.join(',')}}${suffix}`;
}

function filterConditions(filter: RowFilter | undefined): string[] {
  if (!filter) return [];
  const parts: string[] = [];
  if (filter.after !== undefined) parts.push(`${quoteIdent(filter.column)} >= ${quoteString(filter.after)}`);
  if (filter.before !== undefined) parts.push(`${quoteIdent(filter.column)} < ${quoteString(filter.before)}`);
  return parts;
}

function whereClause(filter: RowFilter | undefined): string {
  const parts = filterConditions(filter);
  return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
}

/** True for a value of source column `name` that fails the cast into `type` (not for NULL). */
function castFails(name: string, type: string): string {
  const col = quoteIdent(name);
  return `${col} IS NOT NULL AND accurateCastOrNull(${col}, ${quoteString(type)}) IS NULL`;
}

/** The text of the load's cast guard (how the adapter knows a code-395 failure for its own). */
export const CAST_GUARD_MESSAGE =
  'shadowfill: a source value does not survive the cast into the table column';
