/**
 * The TimescaleDB target adapter: backfills decoded Parquet rows into a (compressed) hypertable through a per-run
 * UNLOGGED staging table and a swap of one transaction per chunk time slice (or of all of them in one, catchup
 * mode), pausing the compression policy, decompressing exactly the chunks it must, recompressing them, resuming the
 * policy and refreshing continuous aggregates. See README.md beside this file for the procedure, the options and
 * the embedded server's quirks.
 *
 * Worker lanes load over connections of their own (on a real server; the embedded one serves one connection).
 * Each batch loads in ONE transaction that first locks the batch's row of the claims table (`FOR UPDATE SKIP
 * LOCKED`): the claim, the batch's rows and its `loaded` state commit together, after the engine verified the
 * rows; a batch another session holds is refused at once (BATCH_CLAIMED), one already loaded is reported as such.
 * Several processes (`shadowfill run` on several machines) share a run this way; a process that dies loses its
 * claims when the server ends its session (at once for a killed process; TCP keepalive for a vanished machine).
 */
import type {
  BatchSpec,
  ChunkToCompress,
  ClaimedBatch,
  LoadAttempt,
  LoadResult,
  MeasureScope,
  EncoderSpec,
  PlannedStatement,
  RunContext,
  SwapState,
  SwapUnit,
  TableMeasurement,
  TargetAdapter,
  TargetCapabilities,
  TargetDescription,
  BatchInput,
} from '../../src/adapter/contract.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { BatchClaimedError, ConfigError, ShadowfillError, TargetError } from '../../src/errors.ts';
import type { JournalStore } from '../../src/journal/types.ts';
import type { LeaseStore } from '../../src/journal/lease.ts';
import type { SourceColumn } from '../../src/source/types.ts';
import { openConnection, type PgConnection, type Queryable } from './connection.ts';
import { introspectHypertable, listChunks, type ChunkInfo, type Hypertable } from './introspect.ts';
import { createJournal } from './journal.ts';
import { createLeaseStore } from './lease.ts';
import { copyEncoderOptions, copyEncoderSpec } from './copy-encoder.ts';
import { loadBatch } from './load.ts';
import { measureAll } from './measure.ts';
import { runNames } from './names.ts';
import { parseTimescaleOptions, type TimescaleOptions } from './options.ts';
import { classifyType } from './pg-types.ts';
import { planStatements } from './plan.ts';
import { checkSchema } from './schema-check.ts';
import { qualified, quoteIdent } from './sql/quote.ts';
import { chooseConflictIndex, mapColumns, Statements, updateColumns } from './statements.ts';
import {
  parseTimescaleSwapState,
  type TimescaleSwapState,
  beginSwap,
  chunkIntervalText,
  chunksToCompress,
  commitAll,
  compressChunk,
  finishSwap,
  listSwapUnits,
  recover,
  strategyExplanation,
  directCompressExplanation,
  swapUnit,
  type SliceResult,
  type SwapContext,
} from './swap.ts';
import { batchBlocks, tallyBlocks, type BatchBlocks, type SliceRow } from './staging-layout.ts';

export const TIMESCALE_CAPABILITIES: TargetCapabilities = {
  readsObjectStore: false,
  streamInput: 'encoded',
  shadowsViews: false,
  countsSourceRows: false,
  swapsWhileLoading: true,
  swapsInOneTransaction: true,
  swapsConcurrently: true,
  claimsBatches: true,
};

/** The load found the batch's claim loaded (or committed) already: nothing is written again. */
class AlreadyLoaded extends ShadowfillError {
  constructor(readonly rows: number) {
    super('NOTHING_TO_DO', 'the batch was loaded already');
  }
}

/** Connections kept free for the adapter's own (the swap, the journal) and the lease's. */
const RESERVED_CONNECTIONS = 2;

class TimescaleAdapter implements TargetAdapter {
  readonly kind = 'timescaledb';
  readonly capabilities: TargetCapabilities;
  readonly journal: JournalStore;
  readonly lease: LeaseStore;
  private readonly db: PgConnection;
  /** The lease's own connection on a real server (heartbeats must not wait behind a long statement). */
  private readonly leaseDb: PgConnection;
  private readonly options: TimescaleOptions;
  private readonly schema: string;
  private readonly table: string;
  private described: { ht: Hypertable; chunks: ChunkInfo[] } | undefined;
  /** Lanes' own connections (real servers), by lane id. */
  private readonly lanes = new Map<string, PgConnection>();

  constructor(private readonly config: BackfillConfig) {
    if (config.target.kind !== 'timescaledb') {
      throw new ConfigError(`the TimescaleDB adapter cannot serve target.kind ${config.target.kind}`);
    }
    const url = config.target.url;
    if (!/^(postgres|postgresql):\/\//.test(url) && !url.startsWith('embedded:')) {
      throw new ConfigError(
        `target.url ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//…@'))} is not a TimescaleDB URL: use postgres://user@host:5432/db or embedded:<dir>`,
      );
    }
    this.options = parseTimescaleOptions(config.targetOptions);
    this.schema = config.target.database || 'public';
    this.table = config.target.table;
    this.db = openConnection(config.target);
    this.journal = createJournal(this.db, this.schema);
    this.leaseDb = url.startsWith('embedded:') ? this.db : openConnection(config.target);
    this.lease = createLeaseStore(this.leaseDb, this.schema);
    this.capabilities = { ...TIMESCALE_CAPABILITIES, multiProcess: !url.startsWith('embedded:') };
  }

  /** For tests and the demo: the adapter's connection (one pooled connection). */
  get connection(): PgConnection {
    return this.db;
  }

  connect(): Promise<void> {
    return this.db.connect();
  }

  async close(): Promise<void> {
    for (const lane of this.lanes.values()) await lane.close().catch(() => undefined);
    this.lanes.clear();
    if (this.leaseDb !== this.db) await this.leaseDb.close();
    await this.db.close();
  }

  /** The embedded server serves one connection; a real one its free connections, less the adapter's own. */
  async workerLimit(): Promise<{ max: number; reason: string; hard?: boolean }> {
    if (this.db.embedded) {
      return { max: 1, reason: 'the embedded TimescaleDB serves one connection', hard: true };
    }
    const rows = await this.db.query<{ free: string; max: string }>(
      `SELECT (current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
               - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'))::text AS free,
              current_setting('max_connections') AS max`,
      [],
      'reading the free connections of the server',
    );
    const free = Number(rows[0]?.free ?? 0) - RESERVED_CONNECTIONS;
    return {
      hard: true,
      max: Math.max(1, free),
      reason: `the server has ${Math.max(0, free)} free connections (max_connections ${rows[0]?.max ?? '?'}, less those in use, the reserved ones and ${RESERVED_CONNECTIONS} for the run's own)`,
    };
  }

  /** A lane's own connection on a real server (loads beside the swap); the one connection on the embedded one. */
  async openLane(run: RunContext): Promise<void> {
    const id = run.lane?.id ?? '';
    if (this.db.embedded || this.lanes.has(id)) return;
    const lane = openConnection(this.config.target);
    this.lanes.set(id, lane);
    await lane.connect();
  }

  async closeLane(run: RunContext): Promise<void> {
    const id = run.lane?.id ?? '';
    const lane = this.lanes.get(id);
    this.lanes.delete(id);
    await lane?.close();
  }

  private laneDb(run: RunContext): PgConnection {
    return this.lanes.get(run.lane?.id ?? '') ?? this.db;
  }

  private async hypertable(): Promise<Hypertable> {
    if (!this.described) await this.describe();
    return this.described!.ht;
  }

  private loadMethod(): 'copy' | 'insert' {
    if (this.options.loadMethod === 'insert') return 'insert';
    if (this.options.loadMethod === 'copy') {
      if (!this.db.supportsCopy) {
        throw new ConfigError(
          `load_method: copy is not possible on ${this.db.description} (the embedded server's socket breaks on COPY): use load_method: auto or insert`,
        );
      }
      return 'copy';
    }
    return this.db.supportsCopy ? 'copy' : 'insert';
  }

  /** The swap's context on the run's lane connection (a finisher lane), else on the adapter's own. */
  private async swapContext(run: RunContext): Promise<SwapContext> {
    return { ...(await this.context(run)), db: this.laneDb(run) };
  }

  private async context(run: RunContext): Promise<SwapContext> {
    const ht = await this.hypertable();
    return {
      db: this.db,
      ht,
      stmts: new Statements(ht, runNames(ht.name, run.runId), this.options),
      options: this.options,
    };
  }

  async describe(): Promise<TargetDescription> {
    const ht = await introspectHypertable(this.db, this.schema, this.table, this.db.description);
    const chunks = await listChunks(this.db, ht);
    this.described = { ht, chunks };
    return describeTarget(ht, chunks, this.options, this.loadMethodText());
  }

  private loadMethodText(): string {
    try {
      return this.loadMethod() === 'copy'
        ? 'load: COPY … FROM STDIN into the staging table'
        : `load: INSERT … SELECT FROM unnest(…) into the staging table, ${this.options.insertRows} rows per statement${this.db.embedded ? ' (the embedded server does not support COPY)' : ''}`;
    } catch (error) {
      return `load: ${(error as Error).message}`;
    }
  }

  checkSchema(target: TargetDescription, columns: readonly SourceColumn[]): readonly string[] {
    return checkSchema(target, columns, this.described?.ht, this.options);
  }

  async minValue(column: string): Promise<string | null> {
    const ht = await this.hypertable();
    const found = ht.columns.find((c) => c.name === column);
    if (!found) {
      throw new ConfigError(
        `filter.column ${column} is not a column of ${ht.schema}.${ht.name}: fix filter.column`,
      );
    }
    // ISO 8601 with `T` and `Z` for time types: PostgreSQL parses it back and so does the engine's row filter.
    const min = `min(${quoteIdent(column)})`;
    const kind = classifyType(found.type).kind;
    const expression =
      kind === 'timestamptz'
        ? `to_char(${min} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
        : kind === 'timestamp'
          ? `to_char(${min}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
          : kind === 'date'
            ? `to_char(${min}, 'YYYY-MM-DD"T00:00:00Z"')`
            : `${min}::text`;
    const rows = await this.db.query<{ v: string | null }>(
      `SELECT ${expression} AS v FROM ${qualified(ht.schema, ht.name)}`,
      [],
      `reading the smallest ${column} of ${ht.schema}.${ht.name}`,
    );
    return rows[0]?.v ?? null;
  }

  async measure(_target: TargetDescription, scope?: MeasureScope): Promise<readonly TableMeasurement[]> {
    return measureAll(this.db, await this.hypertable(), scope);
  }

  async planStatements(run: RunContext, batches: readonly BatchSpec[]): Promise<readonly PlannedStatement[]> {
    if (!this.described) {
      throw new TargetError(
        'TARGET_QUERY_FAILED',
        'planStatements needs describe() to have run first: call describe()',
      );
    }
    const { ht, chunks } = this.described;
    const stmts = new Statements(ht, runNames(ht.name, run.runId), this.options);
    return planStatements({
      run,
      batches,
      ht,
      stmts,
      options: this.options,
      chunks,
      method: this.loadMethod(),
      loadColumns: mapColumns(ht.columns, run.sourceColumns).map((m) => m.target),
    });
  }

  async recover(run: RunContext, swapState: SwapState | undefined): Promise<void> {
    await recover(await this.context(run), parseTimescaleSwapState(swapState));
  }

  async createShadows(run: RunContext): Promise<void> {
    const { stmts } = await this.context(run);
    await this.db.query(stmts.createStaging(), [], `creating the staging table ${stmts.names.staging}`);
    await this.db.query(
      stmts.stagingStatistics(),
      [],
      `setting statistics targets of ${stmts.names.staging}`,
    );
    await this.db.query(stmts.createBatchIndex(), [], `indexing the staging table ${stmts.names.staging}`);
    await this.db.query(stmts.createStateTable(), [], `creating the swap-state table ${stmts.names.state}`);
    await this.db.query(stmts.createClaimsTable(), [], `creating the claims table ${stmts.names.claims}`);
    await this.db.query(
      stmts.upgradeClaimsTable(),
      [],
      `adding columns to the claims table ${stmts.names.claims}`,
    );
  }

  /** Nothing: the load clears what an earlier attempt left, in its own transaction, once it holds the claim. */
  async prepareBatch(): Promise<void> {}

  /** COPY pieces made by copy-encoder.ts in the engine's decode workers; none where there is no COPY (embedded). */
  async encoderFor(run: RunContext, batch: BatchSpec): Promise<EncoderSpec | undefined> {
    if (this.loadMethod() !== 'copy') return undefined;
    const ht = await this.hypertable();
    // Binary pieces also carry their rows per slice (slice-tally.ts), so the load need not count them.
    const tally = { column: ht.time.column, interval: String(ht.time.interval) };
    return copyEncoderSpec(
      copyEncoderOptions(
        mapColumns(ht.columns, run.sourceColumns),
        batch.index,
        `${ht.schema}.${ht.name}`,
        undefined,
        tally,
      ),
    );
  }

  async loadBatchFromStream(
    run: RunContext,
    batch: BatchSpec,
    input: BatchInput,
    attempt?: LoadAttempt,
  ): Promise<LoadResult> {
    if (input.kind === 'parquet-bytes') {
      throw new ShadowfillError(
        'TARGET_UNSUPPORTED',
        'the TimescaleDB adapter takes decoded rows or encoded pieces, not Parquet bytes (a defect if this appears)',
      );
    }
    const { ht, stmts } = await this.context(run);
    const db = this.laneDb(run);
    const what = `batch ${batch.index + 1} in ${stmts.names.claims}`;
    await db.query(stmts.ensureClaim(), [batch.index], `recording ${what}`);
    try {
      return await loadBatch(
        db,
        {
          statements: stmts,
          mapping: mapColumns(ht.columns, run.sourceColumns),
          batch: batch.index,
          method: this.loadMethod(),
          insertRows: this.options.insertRows,
          tableName: `${ht.schema}.${ht.name}`,
        },
        input,
        {
          begin: async (tx) => {
            const claim = await tx.query<{ state: string; rows: string | null }>(
              stmts.lockClaim(),
              [batch.index],
              `claiming ${what}`,
            );
            if (!claim[0]) {
              throw new BatchClaimedError(
                `batch ${batch.index + 1} of run ${run.runId} is being loaded by another session (its claim in ${stmts.names.claims} is locked)`,
              );
            }
            if (claim[0].state !== 'pending') throw new AlreadyLoaded(Number(claim[0].rows ?? 0));
            await tx.query(stmts.takeClaim(), [batch.index, run.lane?.holder ?? ''], `claiming ${what}`);
            await tx.query(
              stmts.clearBatch(),
              [batch.index],
              `clearing batch ${batch.index + 1} from ${stmts.names.staging}`,
            );
          },
          end: async (tx, written, tally) => {
            // The encoder's tally where every piece carried one and it adds up to what COPY wrote (it always
            // should); else the server counts the batch.
            const { slices, blocks } =
              tally && tally.rows === written
                ? { slices: tally.slices, blocks: tallyBlocks(tally) }
                : await this.batchSlices(tx, stmts, batch.index);
            const rows = Object.values(slices).reduce((a, b) => a + b, 0);
            const interval = ht.time.interval;
            await attempt?.verify(
              rows,
              Object.keys(slices).map((k) => ({ lo: BigInt(k) * interval, hi: (BigInt(k) + 1n) * interval })),
            );
            await tx.query(
              stmts.markLoaded(),
              [
                batch.index,
                rows,
                JSON.stringify(slices),
                blocks?.sliceBlocks ?? null,
                blocks?.batchBlocks ?? null,
              ],
              `recording ${what}`,
            );
          },
        },
      );
    } catch (error) {
      if (error instanceof AlreadyLoaded) {
        return { rowsWritten: error.rows, bytesRead: 0, alreadyLoaded: true };
      }
      throw error;
    }
  }

  /** Rows of a staged batch per chunk-interval slice (`{"<slice>": rows}`), and its heap blocks where known. */
  private async batchSlices(
    db: Queryable,
    stmts: Statements,
    batch: number,
  ): Promise<{ slices: Record<string, number>; blocks: BatchBlocks | undefined }> {
    const rows = await db.query<SliceRow>(
      stmts.batchSlices(),
      [batch],
      `counting batch ${batch + 1} in ${stmts.names.staging}`,
    );
    return {
      slices: Object.fromEntries(rows.map((r) => [r.slice, Number(r.n)])),
      blocks: batchBlocks(rows),
    };
  }

  async claimedBatches(run: RunContext): Promise<ReadonlyMap<number, ClaimedBatch>> {
    const { stmts } = await this.context(run);
    const what = `reading the claims ${stmts.names.claims}`;
    const claims = await this.db.query<{ batch: number; state: string; rows: string; holder: string }>(
      stmts.listClaims(),
      [],
      what,
    );
    const unheld = new Set(
      (
        await this.db.transaction((tx) => tx.query<{ batch: number }>(stmts.unheldPendingClaims(), [], what))
      ).map((r) => Number(r.batch)),
    );
    return new Map(
      claims.map((c) => [
        Number(c.batch),
        {
          state: c.state === 'committed' ? 'committed' : c.state === 'loaded' ? 'loaded' : 'pending',
          rows: Number(c.rows),
          holder: c.holder,
          held: c.state === 'pending' && !unheld.has(Number(c.batch)),
        },
      ]),
    );
  }

  async countLandedRows(run: RunContext, batch: BatchSpec): Promise<number> {
    const { stmts } = await this.context(run);
    const rows = await this.db.query<{ n: string }>(
      stmts.countBatch(),
      [batch.index],
      `counting batch ${batch.index + 1} in ${stmts.names.staging}`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * The batch's claim says committed: its rows may move into the hypertable from now on. A batch whose claim lacks
   * its rows per slice (a run begun before claims existed) is counted first.
   */
  async commitBatch(run: RunContext, batch: BatchSpec): Promise<void> {
    const { stmts } = await this.context(run);
    const what = `committing batch ${batch.index + 1} in ${stmts.names.claims}`;
    const [claim] = await this.db.query<{ committed: boolean; counted: boolean }>(
      stmts.claimOf(),
      [batch.index],
      what,
    );
    if (claim?.committed && claim.counted) return;
    const slices = claim?.counted ? undefined : (await this.batchSlices(this.db, stmts, batch.index)).slices;
    const rows = slices ? Object.values(slices).reduce((a, b) => a + b, 0) : null;
    await this.db.query(
      stmts.markCommitted(),
      [batch.index, rows, slices ? JSON.stringify(slices) : null],
      what,
    );
  }

  /** The committed batches' rows still staged plus those already moved (in one statement). */
  async countShadowRows(run: RunContext, committed: readonly number[]): Promise<number> {
    const { stmts } = await this.context(run);
    const rows = await this.db.query<{ n: string }>(
      stmts.countCommitted(),
      [committed, committed.map((b) => `moved:${b}`)],
      `counting the committed rows of ${stmts.names.staging}`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  async beginSwap(run: RunContext): Promise<SwapState> {
    const { state } = await beginSwap(await this.context(run), run.config.mode === 'catchup');
    if (state.policy)
      run.emit?.({ type: 'policy-paused', table: this.tableName(), jobs: [state.policy.jobId] });
    this.decompressed = 0;
    this.toDecompress = state.chunks.filter((c) => c.how === 'decompress').length;
    return { ...state };
  }

  async listSwapUnits(run: RunContext): Promise<readonly SwapUnit[]> {
    return listSwapUnits(await this.context(run));
  }

  async swapUnit(run: RunContext, unit: SwapUnit): Promise<void> {
    const started = Date.now();
    this.reportDecompressed(run, [await swapUnit(await this.swapContext(run), unit)], started);
  }

  async commitAll(run: RunContext, units: readonly SwapUnit[]): Promise<void> {
    const started = Date.now();
    this.reportDecompressed(run, await commitAll(await this.context(run), units), started);
  }

  async listChunksToCompress(run: RunContext): Promise<readonly ChunkToCompress[]> {
    return chunksToCompress(await this.context(run));
  }

  async compressChunk(run: RunContext, chunk: ChunkToCompress): Promise<void> {
    await compressChunk(await this.swapContext(run), chunk.id);
  }

  private reportDecompressed(run: RunContext, results: readonly SliceResult[], started: number): void {
    for (const chunk of results.flatMap((r) => r.decompressed)) {
      this.decompressed += 1;
      run.emit?.({
        type: 'chunk-decompressed',
        chunk,
        done: this.decompressed,
        total: Math.max(this.toDecompress, this.decompressed),
        seconds: (Date.now() - started) / 1000,
      });
    }
  }

  async finishSwap(run: RunContext, state: SwapState): Promise<void> {
    const started = Date.now();
    const typed = parseTimescaleSwapState(state);
    const result = await finishSwap(await this.context(run), typed);
    const compressed = [...result.recompressed, ...result.compressedNew];
    compressed.forEach((chunk, i) =>
      run.emit?.({
        type: 'chunk-compressed',
        chunk,
        done: i + 1,
        total: compressed.length,
        seconds: (Date.now() - started) / 1000,
      }),
    );
    if (typed?.policy)
      run.emit?.({ type: 'policy-resumed', table: this.tableName(), jobs: [typed.policy.jobId] });
  }

  /** Chunks decompressed so far in this invocation's swap, and how many the plan expects (for progress). */
  private decompressed = 0;
  private toDecompress = 0;

  private tableName(): string {
    return `${this.config.target.database}.${this.config.target.table}`;
  }

  /** Resumes a policy the run left paused (per its swap-state table first), then drops its staging and swap-state tables. */
  async abandon(run: RunContext, swapState: SwapState | undefined): Promise<void> {
    // A journaled state this adapter cannot read must not block giving the run up: the swap-state table
    // records the paused policy too, and recover() reads it first.
    let state: TimescaleSwapState | undefined;
    try {
      state = parseTimescaleSwapState(swapState);
    } catch {
      state = undefined;
    }
    await recover(await this.context(run), state);
    await this.dropShadows(run);
  }

  async dropShadows(run: RunContext): Promise<void> {
    const { stmts } = await this.context(run);
    await this.db.query(stmts.dropStaging(), [], `dropping the staging table ${stmts.names.staging}`);
    await this.db.query(stmts.dropStateTable(), [], `dropping the swap-state table ${stmts.names.state}`);
    await this.db.query(stmts.dropClaimsTable(), [], `dropping the claims table ${stmts.names.claims}`);
  }
}

function describeTarget(
  ht: Hypertable,
  chunks: readonly ChunkInfo[],
  options: TimescaleOptions,
  load: string,
): TargetDescription {
  const name = `${ht.schema}.${ht.name}`;
  const compressed = chunks.filter((c) => c.compressed);
  const partial = compressed.filter((c) => c.partial);
  const space = ht.space.map((d) => `space dimension ${d.column} (${d.partitions} partitions)`);
  const policy = ht.policy;
  const notes = [
    `hypertable ${name}: time dimension ${ht.time.column} (${ht.time.type}), chunk interval ${chunkIntervalText(ht)}${space.length ? `; ${space.join('; ')}` : ''}`,
    `chunks: ${chunks.length} (${compressed.length} compressed${partial.length ? `, ${partial.length} partially` : ''})`,
    ht.compressionEnabled
      ? `compression: segmentby ${ht.segmentBy.join(', ') || '(none)'}; orderby ${ht.orderBy || '(default)'}`
      : 'compression: not enabled',
    policy
      ? `compression policy: job ${policy.jobId}, ${policy.compressAfter !== undefined ? `compress_after ${policy.compressAfter}` : `compress_created_before ${policy.compressCreatedBefore ?? '?'}`}, ${policy.scheduled ? 'scheduled' : 'paused'}, ${policy.totalRuns === 0 ? 'never ran' : `${policy.totalRuns} runs, last ${policy.lastRunStatus ?? 'unknown'}`}`
      : 'compression policy: none',
    ht.aggregates.length
      ? `continuous aggregates: ${ht.aggregates.map((a) => `${a.schema}.${a.name}${a.bucketWidth ? ` (bucket ${a.bucketWidth})` : ''}`).join(', ')}`
      : 'continuous aggregates: none',
    ht.uniqueIndexes.length
      ? `unique indexes: ${ht.uniqueIndexes.map((i) => `${i.name} (${i.columns.join(', ')})${i.primary ? ' primary key' : ''}`).join('; ')}`
      : 'unique indexes: none',
    strategyExplanation(ht, options),
    ...(ht.compressionEnabled ? [directCompressExplanation(ht, options)] : []),
    conflictNote(ht, options),
    `max_decompressed_bytes: ${options.maxDecompressedBytes}`,
    load,
  ];
  return {
    table: {
      database: ht.schema,
      name: ht.name,
      engine: 'TimescaleDB hypertable',
      columns: ht.columns.map((c) => ({
        name: c.name,
        type: c.type,
        nullable: c.nullable,
        hasDefault: c.hasDefault,
      })),
      partitionKey: [
        `${ht.time.column} (${chunkIntervalText(ht)} chunks)`,
        ...ht.space.map((d) => `${d.column} (${d.partitions} hash partitions)`),
      ].join(', '),
      sortingKey: ht.orderBy,
      role: 'source',
    },
    viewTargets: [],
    views: [],
    serverVersion: `TimescaleDB ${ht.timescaleVersion} on PostgreSQL ${ht.postgresVersion}`,
    notes,
    timeDimension: { column: ht.time.column, kind: ht.time.kind === 'integer' ? 'number' : 'time' },
  };
}

function conflictNote(ht: Hypertable, options: TimescaleOptions): string {
  switch (options.onConflict) {
    case 'error':
      return ht.uniqueIndexes.length > 0
        ? 'on_conflict: error (staged keys colliding with a unique index are looked for before the swap and refused, live table untouched; one written by live ingestion meanwhile stops the swap at its slice, with the swapped part settled)'
        : 'on_conflict: error (no unique index: nothing can collide)';
    case 'nothing':
      return 'on_conflict: nothing (rows colliding with a unique index are skipped)';
    case 'update': {
      const index = chooseConflictIndex(ht, options);
      return index
        ? `on_conflict: update via ${index.name} (${index.columns.join(', ')}), setting ${updateColumns(ht, options, index).join(', ') || '(nothing)'}`
        : 'on_conflict: update, but no unique index matches (see the schema check)';
    }
  }
}

export function createTimescaleAdapter(config: BackfillConfig): TargetAdapter {
  return new TimescaleAdapter(config);
}
