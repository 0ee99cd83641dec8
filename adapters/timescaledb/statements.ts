/**
 * Builders of every SQL statement the adapter runs, shared by execution and `planStatements`, so that the plan
 * shows exactly what will run. Identifiers and literals are quoted here; values that can be bound are `$n`.
 */
import type { SourceColumn } from '../../src/source/types.ts';
import type { ConflictMode, TimescaleOptions } from './options.ts';
import type { Hypertable, PgColumn, UniqueIndex } from './introspect.ts';
import { BATCH_COLUMN, type RunNames } from './names.ts';
import { checkedTypeName, qualified, quoteIdent, quoteLiteral } from './sql/quote.ts';
import { internalExpression, internalLiteral, sliceExpression } from './time.ts';
import { stateTableDdl } from './swap-state.ts';

export interface ColumnMapping {
  readonly target: PgColumn;
  readonly source: SourceColumn;
}

/** Source columns matched to target columns by name (exact, else case-insensitive when unambiguous). */
export function mapColumns(columns: readonly PgColumn[], source: readonly SourceColumn[]): ColumnMapping[] {
  const result: ColumnMapping[] = [];
  for (const s of source) {
    const exact = columns.find((c) => c.name === s.name);
    const folded = columns.filter((c) => c.name.toLowerCase() === s.name.toLowerCase());
    const target = exact ?? (folded.length === 1 ? folded[0] : undefined);
    if (target && !target.generated) result.push({ target, source: s });
  }
  return result;
}

/** Columns written when moving rows into the hypertable (generated columns are recomputed by the server). */
export function movedColumns(ht: Hypertable): PgColumn[] {
  return ht.columns.filter((c) => !c.generated);
}

export class Statements {
  readonly table: string;
  readonly staging: string;
  readonly stateTable: string;
  readonly time: string;

  constructor(
    readonly ht: Hypertable,
    readonly names: RunNames,
    readonly options: TimescaleOptions,
  ) {
    this.table = qualified(ht.schema, ht.name);
    this.staging = qualified(ht.schema, names.staging);
    this.stateTable = qualified(ht.schema, names.state);
    this.time = quoteIdent(ht.time.column);
  }

  countStaged(): string {
    return `SELECT count(*)::bigint AS n FROM ${this.staging}`;
  }

  createStaging(): string {
    return `CREATE UNLOGGED TABLE IF NOT EXISTS ${this.staging} (LIKE ${this.table} INCLUDING DEFAULTS INCLUDING GENERATED, ${quoteIdent(BATCH_COLUMN)} integer NOT NULL)`;
  }

  /** BRIN: batches are appended in order, so a batch's rows are found without a per-row index on the load path. */
  createBatchIndex(): string {
    return `CREATE INDEX IF NOT EXISTS ${quoteIdent(this.names.batchIndex)} ON ${this.staging} USING brin (${quoteIdent(BATCH_COLUMN)})`;
  }

  summarizeBatchIndex(): string {
    return `SELECT brin_summarize_new_values(${quoteLiteral(qualified(this.ht.schema, this.names.batchIndex))}::regclass)`;
  }

  createStateTable(): string {
    return stateTableDdl(this.ht.schema, this.names.state);
  }

  clearBatch(): string {
    return `DELETE FROM ${this.staging} WHERE ${quoteIdent(BATCH_COLUMN)} = $1`;
  }

  countBatch(): string {
    return `SELECT count(*)::bigint AS n FROM ${this.staging} WHERE ${quoteIdent(BATCH_COLUMN)} = $1`;
  }

  copyInto(columns: readonly PgColumn[]): string {
    const list = [...columns.map((c) => quoteIdent(c.name)), quoteIdent(BATCH_COLUMN)].join(', ');
    return `COPY ${this.staging} (${list}) FROM STDIN`;
  }

  /** `$1 … $n` are text[] (one per column), `$n+1` the batch index. */
  insertUnnest(columns: readonly PgColumn[]): string {
    const list = [...columns.map((c) => quoteIdent(c.name)), quoteIdent(BATCH_COLUMN)].join(', ');
    const casts = columns.map((c, i) => `u.c${i + 1}::${checkedTypeName(c.type)}`);
    const arrays = columns.map((_, i) => `$${i + 1}::text[]`).join(', ');
    const aliases = columns.map((_, i) => `c${i + 1}`).join(', ');
    return `INSERT INTO ${this.staging} (${list}) SELECT ${[...casts, `$${columns.length + 1}`].join(', ')} FROM unnest(${arrays}) AS u(${aliases})`;
  }

  createTimeIndex(): string {
    return `CREATE INDEX IF NOT EXISTS ${quoteIdent(this.names.timeIndex)} ON ${this.staging} (${this.time})`;
  }

  analyzeStaging(): string {
    return `ANALYZE ${this.staging}`;
  }

  /** Staged rows per chunk-interval slice: slice number, min/max internal time, rows. */
  sliceStats(): string {
    // The internal time is computed once per row; the slice is its floor division in bigint arithmetic
    // (numeric division cost twice as much on 200k rows).
    const internal = internalExpression(this.ht.time.kind, this.time);
    const slice = sliceExpression('integer', 't', this.ht.time.interval);
    return `SELECT ${slice}::text AS slice, min(t)::text AS lo, max(t)::text AS hi, count(*)::bigint AS n FROM (SELECT ${internal} AS t FROM ${this.staging}) AS staged GROUP BY 1 ORDER BY 1`;
  }

  /** Predicate selecting staged rows inside [lo, hi) of internal time (and inside space slices, when given). */
  rangePredicate(
    lo: bigint,
    hi: bigint,
    space?: Readonly<Record<string, { start: bigint; end: bigint }>>,
    time = this.time,
  ): string {
    const kind = this.ht.time.kind;
    return this.literalRangePredicate(internalLiteral(kind, lo), internalLiteral(kind, hi), space, time);
  }

  /** The same with the bounds given as SQL literals (or plan placeholders). */
  literalRangePredicate(
    lo: string,
    hi: string,
    space?: Readonly<Record<string, { start: bigint; end: bigint }>>,
    time = this.time,
  ): string {
    const parts = [`${time} >= ${lo}`, `${time} < ${hi}`];
    for (const dim of this.ht.space) {
      const slice = space?.[dim.column];
      if (!slice || !dim.partitioningFunction) continue;
      const value = `${dim.partitioningFunction}(${quoteIdent(dim.column)})`;
      // Open-ended first/last slices use the int64 extremes; only bound what is bounded.
      if (slice.start > -(2n ** 63n)) parts.push(`${value} >= ${slice.start}`);
      if (slice.end < 2n ** 63n - 1n) parts.push(`${value} < ${slice.end}`);
    }
    return parts.join(' AND ');
  }

  countStagedIn(
    lo: bigint,
    hi: bigint,
    space?: Readonly<Record<string, { start: bigint; end: bigint }>>,
  ): string {
    return `SELECT count(*)::bigint AS n FROM ${this.staging} WHERE ${this.rangePredicate(lo, hi, space)}`;
  }

  anyStagedIn(lo: bigint, hi: bigint): string {
    return `SELECT EXISTS (SELECT 1 FROM ${this.staging} WHERE ${this.rangePredicate(lo, hi)}) AS found`;
  }

  /**
   * Keys of unique index `index` that staged rows inside [lo, hi) would collide on: already in the hypertable, or
   * staged twice. Returns how many keys and one of them as JSON. Every unique index of a hypertable includes its
   * time column, so both sides are bounded to the slice and the hypertable side reads only that slice's chunks.
   * Rows with a NULL in the key never collide (unique indexes treat NULLs as distinct).
   */
  conflictCheck(index: UniqueIndex, lo: bigint, hi: bigint): string {
    const kind = this.ht.time.kind;
    return this.conflictCheckSql(index, internalLiteral(kind, lo), internalLiteral(kind, hi));
  }

  /** `conflictCheck` with the bounds as SQL literals (or plan placeholders). */
  conflictCheckSql(index: UniqueIndex, lo: string, hi: string): string {
    const key = index.columns.map(quoteIdent);
    const list = key.join(', ');
    const range = this.literalRangePredicate(lo, hi);
    const liveRange = this.literalRangePredicate(lo, hi, undefined, `l.${this.time}`);
    const notNull = key.map((c) => `${c} IS NOT NULL`).join(' AND ');
    const on = key.map((c) => `l.${c} = s.${c}`).join(' AND ');
    return (
      `WITH s AS (SELECT ${list} FROM ${this.staging} WHERE ${range} AND ${notNull}), ` +
      `hits AS (SELECT ${key.map((c) => `s.${c}`).join(', ')} FROM s JOIN ${this.table} l ON ${on} WHERE ${liveRange} ` +
      `UNION SELECT ${list} FROM s GROUP BY ${list} HAVING count(*) > 1) ` +
      `SELECT (SELECT count(*) FROM hits)::bigint AS n, (SELECT row_to_json(h)::text FROM hits h LIMIT 1) AS sample`
    );
  }

  /**
   * Moves one time slice from the staging table into the hypertable in one statement (run inside one
   * transaction): rows leave staging exactly when they enter the hypertable, so a finished slice has nothing
   * left to move and running it again changes nothing.
   */
  moveSlice(lo: bigint, hi: bigint): string {
    const kind = this.ht.time.kind;
    return this.moveSliceSql(internalLiteral(kind, lo), internalLiteral(kind, hi));
  }

  /** `moveSlice` with the bounds as SQL literals (or plan placeholders). */
  moveSliceSql(lo: string, hi: string): string {
    const columns = movedColumns(this.ht).map((c) => quoteIdent(c.name));
    const list = columns.join(', ');
    const conflict = this.conflictClause();
    let select = `SELECT ${list} FROM moved`;
    if (this.options.onConflict === 'update' && conflict.key.length > 0) {
      // ON CONFLICT DO UPDATE may not touch a row twice: keep the last staged row per key (latest batch, then
      // latest loaded).
      const key = conflict.key.map(quoteIdent).join(', ');
      select = `SELECT DISTINCT ON (${key}) ${list} FROM moved ORDER BY ${key}, ${quoteIdent(BATCH_COLUMN)} DESC, ctid DESC`;
    }
    return (
      `WITH moved AS (DELETE FROM ${this.staging} WHERE ${this.literalRangePredicate(lo, hi)} RETURNING ${list}, ${quoteIdent(BATCH_COLUMN)}, ctid), ` +
      `inserted AS (INSERT INTO ${this.table} (${list}) ${select}${conflict.sql} RETURNING 1) ` +
      `SELECT (SELECT count(*) FROM moved)::bigint AS moved, (SELECT count(*) FROM inserted)::bigint AS inserted`
    );
  }

  /** The unique index `on_conflict` matches, when one is needed. */
  conflictIndex(): UniqueIndex | undefined {
    return chooseConflictIndex(this.ht, this.options);
  }

  private conflictClause(): { sql: string; key: readonly string[] } {
    const mode: ConflictMode = this.options.onConflict;
    if (mode === 'error') return { sql: '', key: [] };
    if (mode === 'nothing') return { sql: ' ON CONFLICT DO NOTHING', key: [] };
    const index = this.conflictIndex();
    if (!index) return { sql: ' ON CONFLICT DO NOTHING', key: [] };
    const updates = updateColumns(this.ht, this.options, index);
    const target = index.columns.map(quoteIdent).join(', ');
    if (updates.length === 0) return { sql: ` ON CONFLICT (${target}) DO NOTHING`, key: index.columns };
    const set = updates.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(', ');
    return { sql: ` ON CONFLICT (${target}) DO UPDATE SET ${set}`, key: index.columns };
  }

  decompressChunk(): string {
    return `SELECT decompress_chunk($1::regclass, if_compressed => true)`;
  }

  /** Also recompresses a partially compressed chunk (rows added after compression). */
  compressChunk(): string {
    return `SELECT compress_chunk($1::regclass, if_not_compressed => true)`;
  }

  pausePolicy(): string {
    return `SELECT alter_job($1, scheduled => false)`;
  }

  resumePolicy(): string {
    return `SELECT alter_job($1, scheduled => $2)`;
  }

  /** Chunks older than the policy's `compress_after` (as the policy itself selects them). */
  chunksPastCompressAfter(compressAfter: string): string | undefined {
    const { time } = this.ht;
    let before: string;
    if (time.kind === 'integer') {
      // For integer time, show_chunks' older_than is absolute: the policy's boundary is integer_now() − compress_after.
      if (!time.integerNow) return undefined;
      before = `(${time.integerNow}() - ${quoteLiteral(compressAfter)}::bigint)::${checkedTypeName(time.type)}`;
    } else {
      before = `${quoteLiteral(compressAfter)}::interval`;
    }
    return `SELECT c::text AS chunk FROM show_chunks(${quoteLiteral(qualified(this.ht.schema, this.ht.name))}::regclass, older_than => ${before}) c`;
  }

  /** Refreshes a continuous aggregate over [lo − bucket, hi + bucket], so every bucket touched is recomputed. */
  refreshAggregate(schema: string, name: string, width: string | undefined, lo: bigint, hi: bigint): string {
    const kind = this.ht.time.kind;
    return this.refreshAggregateSql(
      schema,
      name,
      width,
      internalLiteral(kind, lo),
      internalLiteral(kind, hi),
    );
  }

  /** `refreshAggregate` with the range bounds as SQL literals (or plan placeholders). */
  refreshAggregateSql(
    schema: string,
    name: string,
    width: string | undefined,
    lo: string,
    hi: string,
  ): string {
    const view = quoteLiteral(qualified(schema, name));
    if (width === undefined) return `CALL refresh_continuous_aggregate(${view}, NULL, NULL)`;
    const kind = this.ht.time.kind;
    const pad =
      kind === 'integer'
        ? `${quoteLiteral(width)}::${checkedTypeName(this.ht.time.type)}`
        : `${quoteLiteral(width)}::interval`;
    const start = `(${lo} - ${pad})`;
    const end = `(${hi} + ${pad})`;
    if (kind === 'timestamp')
      return `CALL refresh_continuous_aggregate(${view}, ${start}::timestamp, ${end}::timestamp)`;
    if (kind === 'date') return `CALL refresh_continuous_aggregate(${view}, ${start}::date, ${end}::date)`;
    return `CALL refresh_continuous_aggregate(${view}, ${start}, ${end})`;
  }

  dropStaging(): string {
    return `DROP TABLE IF EXISTS ${this.staging}`;
  }

  dropStateTable(): string {
    return `DROP TABLE IF EXISTS ${this.stateTable}`;
  }
}

/** The unique index to match: the one on `conflict_columns`, else the primary key, else the only unique index. */
export function chooseConflictIndex(ht: Hypertable, options: TimescaleOptions): UniqueIndex | undefined {
  if (options.conflictColumns) {
    const wanted = [...options.conflictColumns].sort().join('\0');
    return ht.uniqueIndexes.find((i) => [...i.columns].sort().join('\0') === wanted);
  }
  return (
    ht.uniqueIndexes.find((i) => i.primary) ??
    (ht.uniqueIndexes.length === 1 ? ht.uniqueIndexes[0] : undefined)
  );
}

export function updateColumns(ht: Hypertable, options: TimescaleOptions, index: UniqueIndex): string[] {
  if (options.updateColumns) return [...options.updateColumns];
  return movedColumns(ht)
    .map((c) => c.name)
    .filter((c) => !index.columns.includes(c));
}
