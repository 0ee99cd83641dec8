/**
 * The contract of `add-view`: adding a materialized view (ClickHouse) or a continuous aggregate (TimescaleDB)
 * to a live table and backfilling its history without pausing ingestion. A second, small contract next to
 * `contract.ts` (which is the backfill's): each adapter implements it in `adapters/<kind>/add-view/`.
 *
 * Terminology (used with these meanings in code, docs and messages; the backfill's words — live table, run,
 * landing, shadow, commit, swap, journal — keep their meaning from `contract.ts`):
 *
 * - **source**        The live table the new view reads (`target.table` of the configuration); ingestion keeps
 *                     inserting into it during the whole add-view.
 * - **live view**     The new materialized view / continuous aggregate itself, created early so that live rows
 *                     go through it while history is backfilled.
 * - **view target**   Where the view's rows are stored: the ClickHouse `TO` table (existing, or created from the
 *                     configured DDL); for TimescaleDB the continuous aggregate's own materialization.
 * - **cutoff**        A value of the **cutoff column** (a time or a monotonically increasing id) a little ahead of
 *                     the source: the live view only takes rows `>= cutoff`, history is every row `< cutoff`.
 *                     Resolved once (`auto` = now or max + margin) and journaled. Only for `cutoffFilter` targets.
 * - **window**        A range `[lo, hi)` of the window column (or a group of source objects, below a split
 *                     value) processed, verified and committed together: the unit of retry and of progress.
 *                     Windows are decided by the engine (`src/addview/windows.ts`), oldest first.
 * - **horizon**       How far the source is known to be complete: the server clock minus the settle time for
 *                     time columns, the largest id seen a settle time ago for ids. A window runs only once its
 *                     `hi` is at or below the horizon, so no row of it can still be in flight.
 * - **null shadow**   (ClickHouse) per-run `Null`-engine copy of the source with only the columns the SELECT
 *                     needs; a **shadow view** on it writes into the landing of the view target, so each window's
 *                     `INSERT INTO <null shadow> SELECT … FROM <source> WHERE window` aggregates block by block.
 * - **meter**         (ClickHouse) a per-run table fed by a second view on the null shadow counting the rows the
 *                     shadow view consumed: what a window is verified against.
 * - **refresh**       (TimescaleDB) `refresh_continuous_aggregate` over one window: the database materializes it.
 *
 * Division of labour: the engine (src/addview/) validates the configuration, resolves the cutoff, plans and
 * orders windows, waits for the horizon, retries, verifies, journals and reports; it never writes target SQL.
 * An adapter owns its SQL, introspection and drivers, and decides no windows, order or retries. Differences
 * between targets are the capability flags below, never `instanceof`.
 */
import type { LeaseStore } from '../journal/lease.ts';
import type { JournalStore } from '../journal/types.ts';
import type { ObjectStoreLocation, SourceObject } from '../source/types.ts';
import type { SwapUnit, TableMeasurement } from './contract.ts';

/** What a position of the cutoff/window column is: microseconds since the epoch (UTC), or an integer. */
export type PositionKind = 'time' | 'number';

/** A value of the cutoff/window column. Time: microseconds since 1970-01-01 UTC; number: the integer itself. */
export interface Position {
  readonly kind: PositionKind;
  readonly value: bigint;
}

export interface ViewCapabilities {
  /**
   * The live view takes only rows from the cutoff on (a filter in its SELECT), and the engine backfills every
   * row below the cutoff window by window (ClickHouse). False: the database tracks changes itself and windows
   * only materialize what is there; there is no cutoff (TimescaleDB continuous aggregates).
   */
  readonly cutoffFilter: boolean;
  /**
   * Windows land in a per-run shadow of the view target and are moved into it at the end (swap units);
   * `commitWindow`, `shadowTotals`, `listSwapUnits` and `swapUnit` do real work.
   */
  readonly shadowsTarget: boolean;
  /** History can be read from object storage by the database itself (`source:` in the configuration). */
  readonly historyFromObjectStore: boolean;
  /** Window edges must lie on the view's bucket grid (a refresh covers whole buckets only): `alignEdges`. */
  readonly bucketAligned: boolean;
  /** A refresh policy can be added at the end (`view.refresh_policy`). */
  readonly refreshPolicy: boolean;
}

/** The view to add, as configured; adapter-neutral. Identifiers are plain names, never quoted. */
export interface ViewSpec {
  /** ClickHouse database / PostgreSQL schema of the source, the view and its target. */
  readonly database: string;
  /** The live source table. */
  readonly source: string;
  /** The new view's name. */
  readonly name: string;
  /** ClickHouse: the view target table. Undefined for continuous aggregates. */
  readonly to: string | undefined;
  /** ClickHouse: DDL creating `to` when it does not exist yet. */
  readonly toDdl: string | undefined;
  /** The view's SELECT as the user wrote it (reading the source by name). */
  readonly select: string;
  /** The cutoff/window column of the source. Undefined: the adapter's natural one (TimescaleDB: the time dimension). */
  readonly cutoffColumn: string | undefined;
  /** Settings passed through to the statements that move data (ClickHouse: `max_memory_usage`, …). */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  /** TimescaleDB: `timescaledb.materialized_only` for the aggregate, when set. */
  readonly materializedOnly: boolean | undefined;
  /** TimescaleDB: the refresh policy added at the end. Interval texts (`1 month`), passed as interval values. */
  readonly refreshPolicy:
    | {
        readonly startOffset: string | null;
        readonly endOffset: string | null;
        readonly scheduleInterval: string;
      }
    | undefined;
}

/** A column of the view's output or of a table. */
export interface ViewColumn {
  readonly name: string;
  readonly type: string;
}

/** What validation found. Everything the plan and the report show about the view. */
export interface ViewDescription {
  /** `db.view` */
  readonly view: string;
  /** `db.source` */
  readonly source: string;
  /** `db.table` where the view's rows are stored (the aggregate itself for TimescaleDB). */
  readonly target: string;
  /** The target exists now (false: created from `toDdl` by the run). */
  readonly targetExists: boolean;
  /** The column windows (and the cutoff) are expressed in. */
  readonly windowColumn: {
    readonly name: string;
    readonly type: string;
    readonly kind: PositionKind;
    /**
     * The column's step: every value is a multiple of it (1 s for DateTime, 1 day for Date, 1 for ids; more when
     * the column holds buckets, e.g. hours in a view target). A cutoff is rounded up to it.
     */
    readonly grain: bigint;
    /** A value on the grain's grid (its origin): weeks may start on Mondays, not at the epoch. */
    readonly grainOrigin: bigint;
  };
  /** Columns the view's SELECT outputs. */
  readonly columns: readonly ViewColumn[];
  /** Columns of the source the view reads (what history from object storage must hold). */
  readonly readsColumns: readonly ViewColumn[];
  /** TimescaleDB: the aggregate's bucket width as the catalog prints it (`01:00:00`). */
  readonly bucketWidth: string | undefined;
  readonly serverVersion: string;
  /** Facts worth showing in the plan (engines, keys, columns the null shadow carries, chained views, …). */
  readonly notes: readonly string[];
}

/** Where history (rows below the cutoff) is read from. */
export type ViewHistory =
  | { readonly kind: 'source-table' }
  | {
      readonly kind: 'object-store';
      readonly store: ObjectStoreLocation;
      /** Rows of the objects below this value are history; rows from it up to the cutoff come from the source table. */
      readonly split: Position;
    };

/** One window: rows with `lo <= column < hi`, from `objects` when given, else from the source table. */
export interface ViewWindow {
  /** 0-based position in the run's plan. */
  readonly index: number;
  /** Inclusive lower bound; undefined = no lower bound (the first window also takes any late, older rows). */
  readonly lo: Position | undefined;
  /** Exclusive upper bound. */
  readonly hi: Position;
  /** History from object storage: these objects (the window then has `lo` undefined and `hi` = the split). */
  readonly objects?: readonly SourceObject[];
}

/** Everything an adapter needs to know about the add-view it works for. Fixed when the run starts. */
export interface ViewRunContext {
  readonly runId: string;
  readonly spec: ViewSpec;
  readonly description: ViewDescription;
  /** The resolved cutoff (`cutoffFilter` targets); undefined otherwise. */
  readonly cutoff: Position | undefined;
  readonly history: ViewHistory;
  /** The run's windows (for the plan and for adapters that need the whole range, e.g. to refresh it). */
  readonly windows: readonly ViewWindow[];
}

/** The source's extent, read when a run starts. */
export interface SourceExtent {
  readonly min: Position | null;
  readonly max: Position | null;
  readonly rows: number;
}

/** One comparison of a window check: a value computed from the source against what the view stored. */
export interface WindowComparison {
  /** `rows consumed`, `sum(count)`, `rows differing from a recomputation` … */
  readonly what: string;
  readonly expected: number;
  readonly actual: number;
}

export interface WindowCheck {
  /** Rows the window selects from the source now. */
  readonly sourceRows: number;
  /**
   * Where merges change the source's row count (a collapsing engine: Summing, Replacing, …): the rows the window
   * selects in a form merges do not change (ClickHouse: `FINAL`), as `countWindow` counts them — what rows that
   * arrive later are found by. Absent: `sourceRows` is that already.
   */
  readonly stableRows?: number;
  /** Each must hold `expected === actual` for the window to be verified. */
  readonly comparisons: readonly WindowComparison[];
  /** Aggregates the window added to the view target (by expression), for the run's totals and report. */
  readonly landed: Readonly<Record<string, number>>;
}

/** A statement the add-view would run, for `shadowfill plan`. */
export interface ViewPlannedStatement {
  readonly phase:
    'validate' | 'create' | 'prepare' | 'window' | 'verify' | 'commit' | 'swap' | 'finish' | 'cleanup';
  readonly title: string;
  readonly sql: string;
  /** Bound parameters of `sql` by placeholder: the value, or the statement of the plan that yields it. */
  readonly params?: Readonly<Record<string, string>>;
}

export interface ViewAdapter {
  readonly kind: string;
  readonly capabilities: ViewCapabilities;
  /** Where the engine keeps this target's journal (the same table as backfill runs). */
  readonly journal: JournalStore;
  /**
   * Where the engine keeps leases (the same store as backfill runs, under a key per view: src/addview/lease.ts).
   * Heartbeats must not wait behind a long window: a server that serves several connections gives the store
   * its own.
   */
  readonly lease: LeaseStore;

  connect(): Promise<void>;
  close(): Promise<void>;

  /**
   * Validates the spec against the database, changing nothing: the source, the SELECT (parses, reads the
   * source directly, never through a plain view), the cutoff column, the view target and its keys. With
   * `resuming` false, a view of that name must not exist yet. Throws typed errors with one-line messages.
   */
  describe(spec: ViewSpec, options: { readonly resuming: boolean }): Promise<ViewDescription>;
  /** min/max of the window column and the row count of the source (below `below` when given). */
  sourceExtent(description: ViewDescription, below?: Position): Promise<SourceExtent>;
  /** The database server's clock, microseconds since the epoch. */
  serverTime(): Promise<bigint>;
  /** Rows of the source with window column `>= from` (a cutoff must have none when the view is created). */
  countFrom(description: ViewDescription, from: Position): Promise<number>;
  /** Only when `bucketAligned`: each edge moved down to the start of its bucket. */
  alignEdges?(description: ViewDescription, edges: readonly Position[]): Promise<readonly Position[]>;

  /** Every statement of the add-view, in order, without running any. */
  planStatements(run: ViewRunContext): readonly ViewPlannedStatement[];

  /**
   * Creates the view target when it does not exist (from the DDL) and the live view (with the cutoff filter
   * when `cutoffFilter`). `resuming`: objects this run created before are accepted as they are; a view of the
   * same name with another definition is refused. A new run fails when the view exists.
   */
  createView(
    run: ViewRunContext,
    options: { readonly resuming: boolean },
  ): Promise<{ readonly targetCreated: boolean }>;
  /** Creates the run's shadows (null shadow, shadow view, meter, landing and shadow of the target). Idempotent. */
  createShadows(run: ViewRunContext): Promise<void>;
  /** Empties what an earlier attempt of `window` may have left (landing, meter). Idempotent. */
  prepareWindow(run: ViewRunContext, window: ViewWindow): Promise<void>;
  /** Runs the window: pushes its rows through the shadow view (ClickHouse) or refreshes it (TimescaleDB). */
  runWindow(run: ViewRunContext, window: ViewWindow): Promise<void>;
  /** Compares the window's result with the source. `depth: 'rows'` only what is cheap; 'full' recomputes. */
  checkWindow(run: ViewRunContext, window: ViewWindow, depth: 'rows' | 'full'): Promise<WindowCheck>;
  /**
   * Rows the window selects from the source now, in a form merges do not change (to find rows that arrived after
   * their window ran; compared with the window's `stableRows ?? sourceRows`).
   */
  countWindow(run: ViewRunContext, window: ViewWindow): Promise<number>;
  /**
   * Only for targets without `shadowsTarget`: the whole history's totals recomputed from the source against
   * what the view holds, after the last window.
   */
  reconcile?(run: ViewRunContext): Promise<readonly WindowComparison[]>;
  /** Makes the verified window part of the shadow (only `shadowsTarget`). Idempotent. */
  commitWindow(run: ViewRunContext, window: ViewWindow): Promise<void>;
  /** Aggregates the shadow holds now (only `shadowsTarget`), by the same expressions as `WindowCheck.landed`. */
  shadowTotals(run: ViewRunContext): Promise<Readonly<Record<string, number>>>;
  /** Swap units still holding data in the shadow, in order (only `shadowsTarget`). */
  listSwapUnits(run: ViewRunContext): Promise<readonly SwapUnit[]>;
  /** Runs one unit; atomic and idempotent. */
  swapUnit(run: ViewRunContext, unit: SwapUnit): Promise<void>;
  /**
   * After every window (and the swap): ClickHouse drops the cutoff filter from the live view (late rows then
   * count as well); TimescaleDB adds the refresh policy. Idempotent.
   */
  finishView(run: ViewRunContext): Promise<void>;
  /** Drops every shadow object of the run. Idempotent. */
  dropShadows(run: ViewRunContext): Promise<void>;
  /**
   * Drops the live view — only for abandoning a run that created it — and the view target too when
   * `target` (the run created it from the DDL, so it holds nothing but this view's rows). Idempotent.
   */
  dropView(
    run: ViewRunContext,
    options: { readonly target: boolean },
  ): Promise<{ readonly droppedView: boolean; readonly droppedTarget: boolean }>;
  /** Rows and aggregates of the view target (and of tables fed by it), for the report. */
  measure(description: ViewDescription): Promise<readonly TableMeasurement[]>;
}

/** Builds a view adapter for a target configuration. Each adapter's `add-view/index.ts` exports one. */
export type ViewAdapterFactory = (target: ViewTargetConnection) => ViewAdapter;

/** How to reach the target database (the `target:` section of the configuration). */
export interface ViewTargetConnection {
  readonly kind: 'clickhouse' | 'timescaledb';
  readonly url: string;
  readonly database: string;
  readonly user: string | undefined;
  readonly password: string | undefined;
  /** Values to mask in messages (passwords, object-store secrets). */
  readonly secrets: readonly string[];
}
