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
import { BRIN_PAGES_PER_RANGE, STAGING_STATISTICS_TARGET } from './staging-layout.ts';
import { stateTableDdl } from './swap-state.ts';
import { versionAtLeast } from './version.ts';

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
  readonly claimsTable: string;
  readonly time: string;

  constructor(
    readonly ht: Hypertable,
    readonly names: RunNames,
    readonly options: TimescaleOptions,
  ) {
    this.table = qualified(ht.schema, ht.name);
    this.staging = qualified(ht.schema, names.staging);
    this.stateTable = qualified(ht.schema, names.state);
    this.claimsTable = qualified(ht.schema, names.claims);
    this.time = quoteIdent(ht.time.column);
  }

  // ---- batch claims (one row per batch; see names.ts) ----

  createClaimsTable(): string {
    return (
      `CREATE TABLE IF NOT EXISTS ${this.claimsTable} (batch integer PRIMARY KEY, ` +
      `state text NOT NULL DEFAULT 'pending', rows bigint, slices jsonb, slice_blocks bigint, batch_blocks bigint, ` +
      `holder text NOT NULL DEFAULT '', attempt integer NOT NULL DEFAULT 0, claimed_at timestamptz, loaded_at timestamptz, ` +
      `committed_at timestamptz)`
    );
  }

  /** The claims table of a run begun by a version without the block columns gets them (`blockSpread`). */
  upgradeClaimsTable(): string {
    return (
      `ALTER TABLE ${this.claimsTable} ADD COLUMN IF NOT EXISTS slice_blocks bigint, ` +
      `ADD COLUMN IF NOT EXISTS batch_blocks bigint`
    );
  }

  /** The claim row of batch $1, made if missing (autocommit, before the load transaction). */
  ensureClaim(): string {
    return `INSERT INTO ${this.claimsTable} (batch) VALUES ($1) ON CONFLICT (batch) DO NOTHING`;
  }

  /** Inside the load transaction: the claim, locked for the whole load — or no row when another session holds it. */
  lockClaim(): string {
    return `SELECT state, rows::text AS rows FROM ${this.claimsTable} WHERE batch = $1 FOR UPDATE SKIP LOCKED`;
  }

  takeClaim(): string {
    return `UPDATE ${this.claimsTable} SET holder = $2, attempt = attempt + 1, claimed_at = now() WHERE batch = $1`;
  }

  /** $2 rows, $3 slices (jsonb `{"<slice>": rows}`), $4 and $5 the batch's blocks (`BatchBlocks`, or null). */
  markLoaded(): string {
    return (
      `UPDATE ${this.claimsTable} SET state = 'loaded', rows = $2, slices = $3::jsonb, slice_blocks = $4, ` +
      `batch_blocks = $5, loaded_at = now() WHERE batch = $1`
    );
  }

  /** $2 rows and $3 slices only fill what the row lacks (a batch of a run begun before claims existed). */
  markCommitted(): string {
    return (
      `INSERT INTO ${this.claimsTable} AS c (batch, state, rows, slices, committed_at) VALUES ($1, 'committed', $2, $3::jsonb, now()) ` +
      `ON CONFLICT (batch) DO UPDATE SET state = 'committed', committed_at = coalesce(c.committed_at, now()), ` +
      `rows = coalesce(c.rows, excluded.rows), slices = coalesce(c.slices, excluded.slices)`
    );
  }

  /** Batch $1's claim: committed already, and whether its rows per slice are known (else they are counted). */
  claimOf(): string {
    return `SELECT state = 'committed' AS committed, slices IS NOT NULL AS counted FROM ${this.claimsTable} WHERE batch = $1`;
  }

  listClaims(): string {
    return `SELECT batch, state, coalesce(rows, 0)::text AS rows, holder FROM ${this.claimsTable} ORDER BY batch`;
  }

  /** Pending claims no session holds now (inside a short transaction; `FOR KEY SHARE` waits on nobody). */
  unheldPendingClaims(): string {
    return `SELECT batch FROM ${this.claimsTable} WHERE state = 'pending' FOR KEY SHARE SKIP LOCKED`;
  }

  committedBatches(): string {
    return `SELECT batch FROM ${this.claimsTable} WHERE state = 'committed' ORDER BY batch`;
  }

  /** Committed batches with their rows per slice (what the swap units are listed from). */
  committedSlices(): string {
    return `SELECT batch, slices FROM ${this.claimsTable} WHERE state = 'committed' ORDER BY batch`;
  }

  /**
   * Rows of batch $1 per chunk-interval slice (one scan of the batch's rows, found by the batch BRIN), and where
   * PostgreSQL has `min(tid)`/`max(tid)` (≥ 14; asked of ≥ 15, the oldest tested here) the first and last heap
   * block holding the slice's rows: how the batch lies in the table, for `blockSpread`.
   */
  batchSlices(): string {
    const internal = internalExpression(this.ht.time.kind, this.time, this.ht.timescaleVersion);
    const slice = sliceExpression('integer', 't', this.ht.time.interval);
    const blocks = this.recordsBlocks()
      ? `, ((min(c)::text)::point)[0]::bigint::text AS first_block, ((max(c)::text)::point)[0]::bigint::text AS last_block`
      : '';
    const ctid = this.recordsBlocks() ? ', ctid AS c' : '';
    return `SELECT ${slice}::text AS slice, count(*)::bigint AS n${blocks} FROM (SELECT ${internal} AS t${ctid} FROM ${this.staging} WHERE ${quoteIdent(BATCH_COLUMN)} = $1) AS staged GROUP BY 1 ORDER BY 1`;
  }

  /** Whether `batchSlices` reads the slices' heap blocks (PostgreSQL ≥ 15). */
  recordsBlocks(): boolean {
    return versionAtLeast(this.ht.postgresVersion, 15, 0);
  }

  /**
   * The committed batches' heap blocks, summed: `unknown` batches recorded none (an older server or version),
   * `slice_blocks` the BRIN ranges their slices' rows span, `batch_blocks` the ranges the batches span.
   */
  blockSpread(): string {
    return (
      `SELECT count(*) FILTER (WHERE slice_blocks IS NULL OR batch_blocks IS NULL)::int AS unknown, ` +
      `coalesce(sum(slice_blocks), 0)::text AS slice_blocks, coalesce(sum(batch_blocks), 0)::text AS batch_blocks ` +
      `FROM ${this.claimsTable} WHERE state = 'committed'`
    );
  }

  /**
   * What the shadow holds of the committed batches $1 (int[]): their rows still staged plus those already moved
   * into the hypertable ($2: the `moved:<batch>` keys), in one statement (a slice moving rows meanwhile moves them
   * from one side to the other in one transaction).
   */
  countCommitted(): string {
    return (
      `SELECT ((SELECT count(*) FROM ${this.staging} WHERE ${quoteIdent(BATCH_COLUMN)} = ANY($1::int[])) + ` +
      `(SELECT coalesce(sum((value->>'rows')::bigint), 0) FROM ${this.stateTable} WHERE key = ANY($2::text[])))::text AS n`
    );
  }

  countStaged(): string {
    return `SELECT count(*)::bigint AS n FROM ${this.staging}`;
  }

  /**
   * Autovacuum off for the staging table: it is append-only (no-DELETE moves; only a retried batch deletes its
   * earlier rows) and dropped at the end, the swap ANALYZEs it itself, and an autovacuum of a freshly loaded batch
   * otherwise competes with the next load and the swap for the same cores. PostgreSQL still runs its
   * anti-wraparound vacuum when one is due.
   */
  createStaging(): string {
    return (
      `CREATE UNLOGGED TABLE IF NOT EXISTS ${this.staging} (LIKE ${this.table} INCLUDING DEFAULTS INCLUDING GENERATED, ` +
      `${quoteIdent(BATCH_COLUMN)} integer NOT NULL) WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off)`
    );
  }

  /**
   * BRIN on (batch, time): batches are appended in order, so a batch's rows are found without a per-row index on
   * the load path, and where the rows lie in time order (`blockSpread`) a slice's rows are found by it too.
   * `pages_per_range` 32: a slice's reads round out to 32 pages, not 128; summarizing costs the same.
   */
  createBatchIndex(): string {
    return (
      `CREATE INDEX IF NOT EXISTS ${quoteIdent(this.names.batchIndex)} ON ${this.staging} USING brin ` +
      `(${quoteIdent(BATCH_COLUMN)}, ${this.time}) WITH (pages_per_range = ${BRIN_PAGES_PER_RANGE})`
    );
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

  /**
   * Statistics for the columns the swap's statements select, join or conflict on — time, space, batch, unique keys —
   * not for every column: the text columns' histograms cost most of a full ANALYZE (75–139 ms against 33–50 ms for
   * time and batch over 720k PyPI-shaped rows) and no plan of the swap reads them.
   */
  analyzeStaging(): string {
    const columns = new Set([...this.rangeColumns(), ...this.ht.uniqueIndexes.flatMap((i) => i.columns)]);
    return `ANALYZE ${this.staging} (${[...columns].map(quoteIdent).join(', ')})`;
  }

  /** The staging columns a batch or a slice is found by: time, space, batch. */
  private rangeColumns(): string[] {
    return [this.ht.time.column, ...this.ht.space.map((d) => d.column), BATCH_COLUMN];
  }

  /**
   * A small statistics target for the columns a batch or a slice is found by: their plans need the table's size,
   * the columns' ranges and their correlation with the heap (which makes the BRIN pay), not a 100-bucket
   * histogram. ANALYZE then samples 3,000 rows, not 30,000: 10–12 ms against 50–61 ms over 720k PyPI-shaped rows.
   * Unique-key columns keep the default (their distinct counts price the conflict checks' joins).
   */
  stagingStatistics(): string {
    const columns = this.rangeColumns().map(
      (c) => `ALTER COLUMN ${quoteIdent(c)} SET STATISTICS ${STAGING_STATISTICS_TARGET}`,
    );
    return `ALTER TABLE ${this.staging} ${columns.join(', ')}`;
  }

  /**
   * Whether the staging table has statistics yet. Until it does, the planner prices the BRIN as useless (no
   * correlation known) and reads every staged row for each batch's count or clearing, and for a slice's move.
   */
  stagingAnalyzed(): string {
    return (
      `SELECT coalesce((SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL FROM pg_stat_user_tables ` +
      `WHERE relid = ${quoteLiteral(qualified(this.ht.schema, this.names.staging))}::regclass), false) AS analyzed`
    );
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
    batches?: string,
  ): string {
    return `SELECT count(*)::bigint AS n FROM ${this.staging} WHERE ${this.rangePredicate(lo, hi, space)}${this.batchPredicate(batches)}`;
  }

  /**
   * The rows the batches `$1` (int[]) staged in slice `$2` (text), from the claims' rows per slice (counted or
   * tallied in each batch's load transaction): no read of the staging table. (An `EXISTS` over the staging table
   * was planned as a sequential scan that read every row before the slice's, 110–130 ms per slice over 720k rows.)
   * `unknown`: some claim lacks its rows per slice (never, once committed); its batch may stage rows there.
   */
  stagedIn(): string {
    return (
      `SELECT coalesce(sum((slices->>$2)::bigint), 0)::text AS rows, coalesce(bool_or(slices IS NULL), false) AS unknown ` +
      `FROM ${this.claimsTable} WHERE batch = ANY($1::int[])`
    );
  }

  /** Whether a slice's move inserts every row it reads (no conflict clause), so its row count is the rows read. */
  movesEveryRow(): boolean {
    return this.conflictClause().sql === '';
  }

  /** ` AND _shadowfill_batch = ANY(<param>::int[])`, or nothing. */
  batchPredicate(batches: string | undefined, column = quoteIdent(BATCH_COLUMN)): string {
    return batches === undefined ? '' : ` AND ${column} = ANY(${batches}::int[])`;
  }

  /**
   * Keys of unique index `index` that staged rows inside [lo, hi) would collide on: already in the hypertable, or
   * staged twice. Returns how many keys and one of them as JSON. Every unique index of a hypertable includes its
   * time column, so both sides are bounded to the slice and the hypertable side reads only that slice's chunks.
   * Rows with a NULL in the key never collide (unique indexes treat NULLs as distinct).
   */
  conflictCheck(index: UniqueIndex, lo: bigint, hi: bigint, batches?: string): string {
    const kind = this.ht.time.kind;
    return this.conflictCheckSql(index, internalLiteral(kind, lo), internalLiteral(kind, hi), batches);
  }

  /** `conflictCheck` with the bounds as SQL literals (or plan placeholders). */
  conflictCheckSql(index: UniqueIndex, lo: string, hi: string, batches?: string): string {
    const key = index.columns.map(quoteIdent);
    const list = key.join(', ');
    const range = `${this.literalRangePredicate(lo, hi)}${this.batchPredicate(batches)}`;
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
   * Copies one time slice's rows of the given batches from the staging table into the hypertable in one statement.
   * Rows stay staged (deleting them cost more than inserting them): the caller records in the same transaction
   * which batches the slice has moved (`slice:<n>` in the state table), and moves a slice only for batches not
   * recorded yet, so running it again changes nothing.
   */
  moveSlice(lo: bigint, hi: bigint, batches?: string, order?: string): string {
    const kind = this.ht.time.kind;
    return this.moveSliceSql(internalLiteral(kind, lo), internalLiteral(kind, hi), batches, order);
  }

  /**
   * `moveSlice` with the bounds as SQL literals (or plan placeholders). `batches`: a parameter of the batches
   * whose rows move (committed, not yet moved in this slice; rows of other batches stay where they are).
   * `order`: an `ORDER BY` list the rows are inserted in (compression-order.ts; only without a conflict clause).
   * A plain `INSERT … SELECT`: the earlier form, a materialized CTE that also counted the rows read and inserted,
   * cost 20–40 % more on 300k PyPI-shaped rows (real PostgreSQL 15) and nothing read the counts.
   */
  moveSliceSql(lo: string, hi: string, batches?: string, order?: string): string {
    const columns = movedColumns(this.ht).map((c) => quoteIdent(c.name));
    const list = columns.join(', ');
    const conflict = this.conflictClause();
    const staged = `FROM ${this.staging} WHERE ${this.literalRangePredicate(lo, hi)}${this.batchPredicate(batches)}`;
    let select = `SELECT ${list} ${staged}${order ? ` ORDER BY ${order}` : ''}`;
    if (this.options.onConflict === 'update' && conflict.key.length > 0) {
      // ON CONFLICT DO UPDATE may not touch a row twice: keep the last staged row per key (latest batch, then
      // latest loaded).
      const key = conflict.key.map(quoteIdent).join(', ');
      select = `SELECT DISTINCT ON (${key}) ${list} ${staged} ORDER BY ${key}, ${quoteIdent(BATCH_COLUMN)} DESC, ctid DESC`;
    }
    return `INSERT INTO ${this.table} (${list}) ${select}${conflict.sql}`;
  }

  /**
   * Whether the server has direct compress inserts (`timescaledb.enable_direct_compress_insert`) and the slice
   * ending at `hi` lies wholly before the compression policy's boundary (its chunks are ones the policy compresses).
   */
  directCompressCheck(hi: bigint, compressAfter: string): string | undefined {
    const before = this.compressAfterBoundary(compressAfter);
    if (before === undefined) return undefined;
    const end = internalLiteral(this.ht.time.kind, hi);
    return (
      `SELECT current_setting('timescaledb.enable_direct_compress_insert', true) IS NOT NULL AS available, ` +
      `${end} <= ${before.kind === 'absolute' ? before.sql : `now() - ${before.sql}`} AS past`
    );
  }

  /**
   * Turns direct compress inserts on or off for the rest of the transaction; `sorted`: the rows arrive in the
   * compression order (the server neither sorts them nor marks the chunk unordered).
   */
  directCompressInsert(on: boolean, sorted = false): string[] {
    return [
      `SET LOCAL timescaledb.enable_direct_compress_insert = ${on ? 'on' : 'off'}`,
      `SET LOCAL timescaledb.enable_direct_compress_insert_client_sorted = ${on && sorted ? 'on' : 'off'}`,
    ];
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
    const before = this.compressAfterBoundary(compressAfter);
    if (before === undefined) return undefined;
    return `SELECT c::text AS chunk FROM show_chunks(${quoteLiteral(qualified(this.ht.schema, this.ht.name))}::regclass, older_than => ${before.sql}) c`;
  }

  /**
   * The compression policy's boundary as `show_chunks(older_than => …)` takes it: for integer time an absolute
   * value (integer_now() − compress_after; none without an integer_now function), otherwise an interval before now.
   */
  private compressAfterBoundary(
    compressAfter: string,
  ): { kind: 'absolute' | 'interval'; sql: string } | undefined {
    const { time } = this.ht;
    if (time.kind !== 'integer') return { kind: 'interval', sql: `${quoteLiteral(compressAfter)}::interval` };
    if (!time.integerNow) return undefined;
    return {
      kind: 'absolute',
      sql: `(${time.integerNow}() - ${quoteLiteral(compressAfter)}::bigint)::${checkedTypeName(time.type)}`,
    };
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

  dropClaimsTable(): string {
    return `DROP TABLE IF EXISTS ${this.claimsTable}`;
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
