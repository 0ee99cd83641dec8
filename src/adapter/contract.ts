/**
 * The one contract every target adapter implements (ClickHouse, TimescaleDB, …).
 *
 * Terminology (used with these meanings everywhere in code, docs and messages):
 *
 * - **live table**   The user's table (and each materialized-view target fed by it) that keeps receiving live
 *                    ingestion during a run. shadowfill only ever changes it in a swap.
 * - **run**          One backfill of one configuration, with a run id. A run is resumed, never repeated, by
 *                    invoking `shadowfill run` again; a finished run is only redone when a new run is asked for.
 * - **batch**        A group of consecutive source objects that is loaded, verified and committed together.
 *                    The unit of retry. Batches are decided by the engine's planner, never by an adapter.
 * - **landing**      Per-run table(s) that receive one batch attempt at a time; emptied before every attempt.
 * - **shadow**       Per-run copy of a live table (`<table>_v2_<run>`) that accumulates committed batches, plus
 *                    a **shadow view** for each materialized view, re-pointed at the landing/shadow tables.
 * - **commit**       Making a verified batch part of the shadow, atomically (ClickHouse: MOVE PARTITION from
 *                    landing to shadow; TimescaleDB: the staged rows are tagged with their batch).
 * - **swap**         Moving the shadow's contents into the live tables, as a sequence of **swap units**, each
 *                    atomic and idempotent (ClickHouse: one partition of one table; TimescaleDB: one chunk
 *                    time slice). An interrupted swap is completed by the next invocation, never repeated.
 * - **watermark**    The end of the contiguous prefix of finished units: everything before it is final and may
 *                    be compressed or finalized while later units are still being processed.
 * - **journal**      An append-only event log kept in the target database (table `shadowfill_journal`); the
 *                    engine derives a run's state from it and is the only writer.
 * - **lease**        A record in the target database naming the one process that may act for a live table now
 *                    (holder, host, pid, heartbeat, expiry); see src/journal/lease.ts.
 * - **abandon**      Giving up a run that will never finish: what it paused is restored, its landing, shadow and
 *                    shadow-view objects are dropped, and the journal records it. Never once its swap began.
 * - **lane**         One worker of a run: it loads one batch at a time over its own connection, into its own
 *                    landing where the target has landings (ClickHouse). Lane '' is the run's default lane (what a
 *                    run with one worker uses, named as before lanes existed).
 * - **claim**        A batch taken by one lane of one process for one attempt, so that no other process loads it
 *                    at the same time; a claim whose holder died is taken over.
 * - **time dimension** The live table's column whose ranges order batches and move the watermark (TimescaleDB's
 *                    time dimension); see src/scheduler/watermark.ts.
 *
 * Division of labour: the engine (src/) decides batching, ordering, retries, verification and journaling and
 * never writes target SQL. An adapter (adapters/<kind>/) owns its SQL, introspection and drivers, and decides
 * nothing about batching, ordering or retries. Differences between targets are the capability flags below.
 */
import type { BackfillConfig } from '../config/types.ts';
import type {
  ColumnRange,
  SourceColumn,
  SourceObject,
  SourceSchema,
  ObjectStoreLocation,
} from '../source/types.ts';
import type { JournalStore } from '../journal/types.ts';
import type { LeaseStore } from '../journal/lease.ts';
import type { RunEvent } from '../runner/events.ts';

export interface TargetCapabilities {
  /**
   * The database can read the objects from the store itself (ClickHouse `s3()`), so `load: server` is possible
   * and the engine moves no data. Default: false (the engine streams objects to `loadBatchFromStream`).
   */
  readonly readsObjectStore: boolean;
  /**
   * What the engine hands `loadBatchFromStream`: the objects' raw Parquet bytes, decoded row groups, or
   * `encoded` pieces: bytes the adapter's own encoder module (`encoderFor`) made from the decoded rows in the
   * engine's decode workers (src/workers/), which the adapter sends as they are. An `encoded` adapter also takes
   * `rows` (when `encoderFor` returns undefined, or from an engine that does not encode). Default: 'rows'.
   */
  readonly streamInput: 'parquet-bytes' | 'rows' | 'encoded';
  /** Materialized views fed by the live table are shadowed and swapped with it. Default: false. */
  readonly shadowsViews: boolean;
  /**
   * The adapter can count the rows a batch selects from the source without loading it (ClickHouse:
   * `SELECT count() FROM s3(…) WHERE filter`). When false the engine counts rows as it streams them.
   */
  readonly countsSourceRows: boolean;
  /**
   * `countShadowRows` is cheap (ClickHouse reads it from part metadata), so the engine checks the whole shadow
   * after every commit. Default false: the engine checks it when a run resumes and before the swap.
   */
  readonly countsShadowCheaply?: boolean;
  /**
   * Swap units are time slices (`SwapUnit.lo/hi` in time keys of `TargetDescription.timeDimension`) that can be
   * swapped, and the chunks they touched compressed (`listChunksToCompress`, `compressChunk`), while later batches
   * still load: `mode: historical` swaps every slice behind the watermark at once (TimescaleDB). Such an adapter's
   * `countShadowRows` counts the committed batches' rows whether still in the shadow or already swapped, and its
   * swap units move committed batches' rows only. Default false: units run once every batch is committed.
   */
  readonly swapsWhileLoading?: boolean;
  /** `commitAll` moves every swap unit in one transaction, so `mode: catchup` is possible. Default false. */
  readonly swapsInOneTransaction?: boolean;
  /**
   * Swap units of different slices, and compressions of different chunks, may run at the same time, each on its
   * own lane (`openLane` with the lane in `RunContext.lane`; TimescaleDB: its own connection, the slice's record
   * locked while it moves): the engine runs up to `workers` of them at once. Default false: one at a time.
   */
  readonly swapsConcurrently?: boolean;
  /**
   * The adapter keeps batch claims itself, in the same transaction as the batch's rows (TimescaleDB: a claims
   * table row locked `FOR UPDATE SKIP LOCKED` for the whole load): a batch another live process loads fails with
   * `BATCH_CLAIMED`, one already loaded returns `alreadyLoaded`. Otherwise the engine claims batches through
   * `lease` (keys `claim:<run>:<batch>`) when other processes can join the run.
   */
  readonly claimsBatches?: boolean;
  /**
   * `commitBatch` moves the batch out of the landing of the lane that loaded it (ClickHouse): only the process
   * holding the run lease commits, from the lane named in the journal, and a lane loads nothing else before its
   * batch is committed. Default false: the batch is committed where it is, by any process (TimescaleDB).
   */
  readonly commitMovesLanding?: boolean;
  /**
   * Other processes can reach the target (a server), so `shadowfill run` started elsewhere with the same
   * configuration joins the run. False for embedded engines (one process per data directory or socket).
   */
  readonly multiProcess?: boolean;
}

/** A column of a live table as the target describes it. */
export interface TargetColumn {
  readonly name: string;
  /** Native type text (`LowCardinality(String)`, `timestamp with time zone`, …). */
  readonly type: string;
  readonly nullable: boolean;
  /** Filled by the database (DEFAULT/MATERIALIZED/ALIAS/generated): not required in the source. */
  readonly hasDefault: boolean;
}

/** A table that will be shadowed: the live table itself or a materialized-view target. */
export interface TargetTable {
  readonly database: string;
  readonly name: string;
  readonly engine: string;
  readonly columns: readonly TargetColumn[];
  readonly partitionKey: string;
  readonly sortingKey: string;
  /** 'source' = the live table loaded from the object store; 'view-target' = fed by a materialized view. */
  readonly role: 'source' | 'view-target';
}

/** A materialized view that reads from a shadowed table and writes to another shadowed table. */
export interface TargetView {
  readonly database: string;
  readonly name: string;
  /** The table it reads from (by `database.name`). */
  readonly from: string;
  /** The table it writes to (by `database.name`). */
  readonly to: string;
}

/** The live table's time dimension (see the Terminology): its column and how its values become time keys. */
export interface TimeDimension {
  readonly column: string;
  /** `time`: keys are microseconds since the Unix epoch (timestamps read as UTC, dates); `number`: the values. */
  readonly kind: 'time' | 'number';
}

/** What introspection found: the live table, the views fed by it (transitively) and their targets. */
export interface TargetDescription {
  readonly table: TargetTable;
  readonly viewTargets: readonly TargetTable[];
  readonly views: readonly TargetView[];
  /** Server version text, for the plan and the report. */
  readonly serverVersion: string;
  /** Adapter-specific facts worth showing in the plan (chunk interval, compression policy, …). */
  readonly notes: readonly string[];
  /** The time dimension, when the target has one: batches are planned in its order and the watermark follows it. */
  readonly timeDimension?: TimeDimension;
}

/** The resolved row filter of a run (bounds are literal text as the user or `before: auto` gave them). */
export interface RowFilter {
  readonly column: string;
  readonly before: string | undefined;
  readonly after: string | undefined;
}

/** Everything an adapter needs to know about the run it works for. Fixed when the run starts. */
export interface RunContext {
  readonly runId: string;
  readonly config: BackfillConfig;
  readonly store: ObjectStoreLocation;
  readonly target: TargetDescription;
  readonly filter: RowFilter | undefined;
  /** Columns read from the source (the footer schema of the first object). */
  readonly sourceColumns: readonly SourceColumn[];
  /** Progress sink for adapter-level events (policy paused/resumed, chunk decompressed/compressed). */
  readonly emit?: (event: RunEvent) => void;
  /** The lane a per-batch call works on (absent: the default lane ''). */
  readonly lane?: Lane;
}

/** A worker lane (see the Terminology). */
export interface Lane {
  /** '' for the default lane; else stable for the process that runs it (`w2`; `j3f9a1_2` for a joined process). */
  readonly id: string;
  /** Who works on it, for claims and `shadowfill status`: `pid 123 on host`. */
  readonly holder: string;
}

/** What the engine hands a load besides its input. */
export interface LoadAttempt {
  /**
   * Checks the rows landed (the engine's count of what the source selects, …) and throws (VerifyError) when they
   * are wrong. An adapter that writes a batch in one transaction calls it before that transaction commits, so a
   * batch whose claim says loaded is a verified batch; others call it once the rows are written.
   *
   * With `swapsWhileLoading`, `slices` are the time slices `[lo, hi)` (time keys, as `SwapUnit`'s) the batch's rows
   * fall in: the engine refuses a batch with rows in a slice that ends before the batch's range from the footer
   * statistics begins (that slice may be final, swapped and compressed already).
   */
  verify(landed: number, slices?: readonly TimeSlice[]): Promise<void>;
}

/** A time slice `[lo, hi)` in time keys. */
export interface TimeSlice {
  readonly lo: bigint;
  readonly hi: bigint;
}

export interface BatchSpec {
  /** 0-based position in the run's plan. */
  readonly index: number;
  readonly objects: readonly SourceObject[];
}

/** One object's bytes, streamed by the engine (for `streamInput: 'parquet-bytes'`). */
export interface ObjectBytes {
  readonly object: SourceObject;
  /** Complete Parquet file bytes, delivered in order. */
  readonly body: AsyncIterable<Uint8Array>;
}

/** A decoded slice of an object (for `streamInput: 'rows'`): column-wise values for `numRows` rows. */
export interface RowChunk {
  readonly object: SourceObject;
  readonly rowGroup: number;
  readonly numRows: number;
  /** Column name → values (length numRows). Values: null, boolean, number, bigint, string, Date, Uint8Array, arrays. */
  readonly columns: ReadonlyMap<string, ArrayLike<unknown>>;
}

/**
 * Which encoder the engine's decode workers run for a batch (`streamInput: 'encoded'`): a module (a `file:` URL)
 * exporting `createEncoder(options)` (see src/workers/encoder.ts) and its options, plain structured-cloneable data.
 */
export interface EncoderSpec {
  readonly module: string;
  readonly options: unknown;
}

/** Encoded rows of one row group of one object (`streamInput: 'encoded'`), handed over in object order. */
export interface EncodedPiece {
  readonly object: SourceObject;
  readonly rowGroup: number;
  /** Rows encoded in `bytes` (after the run's row filter). */
  readonly rows: number;
  readonly bytes: Uint8Array;
  /** What the adapter's encoder noted about these rows (`ChunkEncoder.takeSummary`), as it gave it. */
  readonly summary?: unknown;
  /**
   * Present when `bytes` live in a buffer the engine reuses (src/workers/piece-buffers.ts): the consumer calls it
   * once nothing reads `bytes` any more — for a socket write, from the write's callback — and must not touch them
   * after. Never calling it is safe (the buffer is then garbage-collected).
   */
  readonly release?: () => void;
}

/**
 * What the engine hands `loadBatchFromStream`, one kind per `streamInput`: the adapter switches on `kind`
 * (no casts). An `encoded` adapter also receives `rows` when its `encoderFor` gives no encoder for the batch.
 */
export type BatchInput =
  | { readonly kind: 'parquet-bytes'; readonly objects: AsyncIterable<ObjectBytes> }
  | { readonly kind: 'rows'; readonly chunks: AsyncIterable<RowChunk> }
  | { readonly kind: 'encoded'; readonly pieces: AsyncIterable<EncodedPiece> };

export interface LoadResult {
  /** Rows written into the landing table for the source table (not counting view targets). */
  readonly rowsWritten: number;
  readonly bytesRead: number;
  /**
   * With `claimsBatches`: the batch's claim says it was loaded and verified already (by an invocation that died
   * before journaling it, or by another process); nothing was written and `rowsWritten` are its verified rows.
   */
  readonly alreadyLoaded?: boolean;
}

/** One atomic, idempotent step of a swap. `id` is stable across invocations (journal key). */
export interface SwapUnit {
  readonly id: string;
  /** Human text: `pypi partition 20241217 → default.pypi`. */
  readonly description: string;
  /** With `swapsWhileLoading`: the unit's time slice `[lo, hi)` in time keys. */
  readonly lo?: bigint;
  readonly hi?: bigint;
}

/** A chunk of a live table that a swap decompressed or wrote into and that is to be compressed again. */
export interface ChunkToCompress {
  readonly id: string;
  /** Its time range `[lo, hi)` in time keys: it is compressed once the watermark passed `hi`. */
  readonly lo: bigint;
  readonly hi: bigint;
}

/** A batch as the adapter's claims record it (`claimsBatches`). */
export interface ClaimedBatch {
  readonly state: 'pending' | 'loaded' | 'committed';
  /** Verified rows (loaded, committed). */
  readonly rows: number;
  /** Who holds or last held it: `pid 123 on host`, and whether a live session holds it now. */
  readonly holder: string;
  readonly held: boolean;
}

/**
 * A statement the adapter would run, for `shadowfill plan`: `sql` is the text the run sends, built by the same
 * statements module; values the run binds separately (`$1`, `{partition_id:String}`) are in `params`.
 */
export interface PlannedStatement {
  readonly phase: 'validate' | 'prepare' | 'load' | 'verify' | 'commit' | 'swap' | 'cleanup';
  readonly title: string;
  readonly sql: string;
  /**
   * Bound parameters of `sql`, by placeholder (`$1`, `partition_id`): the value, or — where it is only known
   * while the run goes (a partition the batch produced) — the statement of the plan that yields it.
   */
  readonly params?: Readonly<Record<string, string>>;
}

/**
 * The part of the live tables a run can change, for `measure`: the smallest and largest value of each source column
 * over every object of the run, from the Parquet footers' statistics (columns without statistics are absent).
 * An adapter counts only the rows inside the range of its partitioning column (chunk- or partition-pruned) instead
 * of scanning whole tables; before and after the run it gets the same scope.
 */
export interface MeasureScope {
  readonly ranges: Readonly<Record<string, ColumnRange>>;
}

/** Rows (and aggregate sums) of one live table, for the report. */
export interface TableMeasurement {
  readonly table: string;
  /**
   * What part of the table was counted, e.g. `timestamp in [2024-12-17T00:00:00.000Z, 2024-12-19T23:59:59.999Z]`;
   * absent when the whole table was.
   */
  readonly scope?: string;
  readonly rows: number;
  /** Aggregates per column (`sum(count)`, `countMerge(c)` …) keyed by the expression shown to users. */
  readonly aggregates: Readonly<Record<string, number>>;
}

/** What one check established about one table (shown in the report, per table). */
export interface TableVerification {
  /** `database.table` of the live table whose landing or shadow was checked. */
  readonly table: string;
  /** `batch`: a batch's landing before its commit; `shadow`: the whole shadow before the swap. */
  readonly scope: 'batch' | 'shadow';
  /** How, in words: `count() = rows the source selects`, `per-key sum(count) vs pypi_downloads_mv's SELECT …`. */
  readonly method: string;
  /** True when the check compares every value it covers exactly; false for a documented weaker check. */
  readonly exact: boolean;
  readonly ok: boolean;
  /** The figures compared, and what differs when not ok. */
  readonly detail: string;
}

/** What `probeSource` examines: the objects about to be planned and the columns loaded from them. */
export interface SourceProbe {
  readonly target: TargetDescription;
  readonly store: ObjectStoreLocation;
  readonly objects: readonly SourceObject[];
  readonly columns: readonly SourceColumn[];
  readonly filter: RowFilter | undefined;
}

/** Opaque state an adapter hands the engine at `beginSwap`, to be journaled and handed back later. */
export type SwapState = Readonly<Record<string, unknown>>;

export interface TargetAdapter {
  readonly kind: string;
  readonly capabilities: TargetCapabilities;
  /** Where the engine keeps this target's journal. */
  readonly journal: JournalStore;
  /** Where the engine keeps leases (who may act for a live table now), next to the journal. */
  readonly lease: LeaseStore;

  /** Connects and checks credentials; throws TargetError(TARGET_UNREACHABLE | TARGET_ACCESS_DENIED). */
  connect(): Promise<void>;
  close(): Promise<void>;
  /**
   * How many lanes the target can serve at once, and why (the embedded TimescaleDB serves one connection; a server
   * has so many free connections; a ClickHouse server so many threads). The engine's `workers: auto` takes the
   * smaller of this and what the machine can use; a configured number is capped by it only when `hard` (more lanes
   * could not work at all, e.g. connections), otherwise taken as asked. Absent: no limit of the target's own.
   */
  workerLimit?(): Promise<{ readonly max: number; readonly reason: string; readonly hard?: boolean }>;

  /** Introspects the live table and the views fed by it; throws TargetError(TARGET_MISSING) naming what is missing. */
  describe(): Promise<TargetDescription>;
  /** Problems that make `columns` unloadable into the live table: one line each, naming column and fix. */
  checkSchema(target: TargetDescription, columns: readonly SourceColumn[]): readonly string[];
  /** Smallest value of `column` in the live table, as a literal the target parses back; null if empty. */
  minValue(column: string): Promise<string | null>;
  /**
   * Row counts and aggregates of the live table and every view target — within `scope` when the adapter can bound
   * them by it (see MeasureScope), else of the whole tables.
   */
  measure(target: TargetDescription, scope?: MeasureScope): Promise<readonly TableMeasurement[]>;
  /**
   * Optional: reads the source values whose conversion into the live table's column types can fail or change
   * them (text → number or date, narrowing), before any DDL. One line per column that would not load, naming
   * the column, a sample value and the object; empty when every value converts.
   */
  probeSource?(probe: SourceProbe): Promise<readonly string[]>;

  /** Every statement of the run, in order, without running any (read-only lookups allowed, e.g. DESCRIBE). */
  planStatements(run: RunContext, batches: readonly BatchSpec[]): Promise<readonly PlannedStatement[]>;

  /** Anything a crashed earlier invocation left half-done outside the shadows (e.g. a paused policy). */
  recover(run: RunContext, swapState: SwapState | undefined): Promise<void>;

  /** Creates the landing, shadow and shadow-view objects of the run (those of the default lane). Idempotent. */
  createShadows(run: RunContext): Promise<void>;
  /**
   * Optional: makes `run.lane` ready — its own connection, its landing tables and shadow views. Idempotent; the
   * engine calls it before the lane's first batch (also for the default lane when it runs several lanes).
   */
  openLane?(run: RunContext): Promise<void>;
  /** Optional: lets go of what `openLane` opened that is not part of the run (its connection). Idempotent. */
  closeLane?(run: RunContext): Promise<void>;
  /**
   * Optional (`claimsBatches`): the batches the adapter's claims know of, by index (loaded or committed ones, and
   * ones a live session holds), so a run resumes from them when its journal lags behind.
   */
  claimedBatches?(run: RunContext): Promise<ReadonlyMap<number, ClaimedBatch>>;
  /** Empties what a previous attempt of `batch` may have left in `run.lane`'s landing. Idempotent. */
  prepareBatch(run: RunContext, batch: BatchSpec): Promise<void>;
  /** Only when `readsObjectStore`: the database reads the batch's objects itself. */
  loadBatchFromStore?(run: RunContext, batch: BatchSpec, attempt?: LoadAttempt): Promise<LoadResult>;
  /**
   * Only when `streamInput: 'encoded'`: the encoder module and options for `batch`, or undefined when the batch
   * must come as `rows` (e.g. a server without COPY).
   */
  encoderFor?(run: RunContext, batch: BatchSpec): Promise<EncoderSpec | undefined>;
  /** The engine streams the batch's objects: bytes, rows or encoded pieces, as `streamInput` says (`BatchInput`). */
  loadBatchFromStream(
    run: RunContext,
    batch: BatchSpec,
    input: BatchInput,
    attempt?: LoadAttempt,
  ): Promise<LoadResult>;
  /** Only when `countsSourceRows`: rows the batch selects from the source (after the filter). */
  countSourceRows?(run: RunContext, batch: BatchSpec): Promise<number>;
  /** Rows of the batch now in the landing table (or staged for it). */
  countLandedRows(run: RunContext, batch: BatchSpec): Promise<number>;
  /**
   * Only when `shadowsViews`: reconciles every view target's landing (`landing`: after a batch loaded, before
   * its commit) or shadow (`shadow`: before the swap) with its views' SELECT recomputed over the landing or
   * shadow of their source. One result per view target; the engine refuses to commit or swap when one is not ok.
   */
  verifyViewTargets?(run: RunContext, scope: 'landing' | 'shadow'): Promise<readonly TableVerification[]>;
  /**
   * Makes the verified batch part of the shadow, from the landing of `run.lane` (the lane that loaded it).
   * Idempotent.
   */
  commitBatch(run: RunContext, batch: BatchSpec): Promise<void>;
  /**
   * Rows of the live table's data the shadow holds now for the `committed` batches (with `swapsWhileLoading`: also
   * those of them already swapped). Checked against the sum of the committed batches' verified rows before the
   * swap begins, when a run resumes, and after every commit when `countsShadowCheaply`, so a shadow that lost or
   * gained rows is never swapped in.
   */
  countShadowRows(run: RunContext, committed: readonly number[]): Promise<number>;

  /** Prepares the live side for swap units (e.g. pause a policy, decompress chunks); returns state to journal. */
  beginSwap(run: RunContext): Promise<SwapState>;
  /** The swap units still holding data in the shadow, in the order they must run. */
  listSwapUnits(run: RunContext): Promise<readonly SwapUnit[]>;
  /** Runs one unit; must be atomic and idempotent (running a finished unit again changes nothing). */
  swapUnit(run: RunContext, unit: SwapUnit): Promise<void>;
  /** Only with `swapsInOneTransaction`: runs every unit given in ONE transaction (readers see all or nothing). */
  commitAll?(run: RunContext, units: readonly SwapUnit[]): Promise<void>;
  /** Only with `swapsWhileLoading`: the chunks swaps decompressed or wrote into that are not compressed again yet. */
  listChunksToCompress?(run: RunContext): Promise<readonly ChunkToCompress[]>;
  /** Only with `swapsWhileLoading`: compresses one of them again (and records it). Idempotent. */
  compressChunk?(run: RunContext, chunk: ChunkToCompress): Promise<void>;
  /** Finalizes the live side (recompress, resume policies, refresh aggregates), using beginSwap's state. */
  finishSwap(run: RunContext, state: SwapState): Promise<void>;

  /** Drops every landing, shadow and shadow-view object of the run. Idempotent. */
  dropShadows(run: RunContext): Promise<void>;
  /**
   * Gives up a run that will never finish (`shadowfill abandon`, `--new-run`): puts back anything the run
   * changed outside its own objects (e.g. a paused compression policy, per the adapter's own record first and
   * `swapState` second), then drops its landing, shadow and shadow-view objects. Idempotent; the engine never
   * calls it once the run's swap began.
   */
  abandon(run: RunContext, swapState: SwapState | undefined): Promise<void>;
}

/** Builds an adapter for a resolved config. Each adapter folder exports one. */
export type AdapterFactory = (config: BackfillConfig) => TargetAdapter;

export type { SourceSchema };
