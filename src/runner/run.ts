/**
 * The runner: runs, resumes or joins a run against one adapter, journaling every step so that any interruption
 * is continued — never repeated — by the next invocation.
 *
 *   lease (or join the process holding it) → validate → order batches by time → (journal run-started) → create
 *   shadows → the executor (src/runner/executor.ts): `workers` lanes load, verify and commit batches while the swap
 *   side follows the watermark (mode historical) or waits for every batch (catchup, and targets that swap by
 *   partition) → drop shadows → (journal run-finished) → report
 *
 * One process performs a run: the holder of the table's lease (src/runner/lease.ts), taken before anything of the
 * run is read and confirmed before every step that changes something; others with the same configuration join it
 * (src/runner/join.ts). Live tables change only in swap units. Before the swap every failure leaves them exactly as
 * they were.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type {
  RowFilter,
  TableMeasurement,
  TableVerification,
  TargetAdapter,
  TargetDescription,
  TimeDimension,
} from '../adapter/contract.ts';
import { DEFAULT_MODE } from '../config/defaults.ts';
import type { BackfillConfig, RunMode } from '../config/types.ts';
import { ConfigError, JournalError, ShadowfillError, oneLine } from '../errors.ts';
import type { RunStartedData, RunState } from '../journal/state.ts';
import { JournalWriter } from '../journal/writer.ts';
import { planRunBatches } from '../planner/batches.ts';
import { swapPolicy } from '../scheduler/decide.ts';
import {
  objectRanges,
  orderObjects,
  rangeFromText,
  rangesOfBatches,
  rangeToText,
} from '../scheduler/ranges.ts';
import type { BatchRange, ObjectOrder } from '../scheduler/watermark.ts';
import { listObjects } from '../source/list-objects.ts';
import { resolveLocation } from '../source/location.ts';
import { createS3Client } from '../source/s3-client.ts';
import type { ObjectStoreLocation, SourceObject } from '../source/types.ts';
import { abandonUnfinished } from './abandon.ts';
import type { EventSink, RunEvent } from './events.ts';
import { Executor } from './executor.ts';
import { configFingerprint, newRunId } from './fingerprint.ts';
import { enterRun, tryTakeTable } from './join.ts';
import { claimant, DEFAULT_LEASE_TTL_MS, type LeaseOptions } from './lease.ts';
import { contextOf, findRuns, tableOf } from './runs.ts';
import type { RunSession } from './session.ts';
import { probeSourceValues, validateSource, type ValidatedSource } from './validate.ts';
import { summarizeChecks } from './verify.ts';
import { resolveWorkers } from './workers.ts';
import { DecodePool, decodeThreadsFor } from '../workers/pool.ts';

export { findRuns } from './runs.ts';

export interface RunOptions {
  /** Start a new run even if this configuration already finished one; an unfinished run is abandoned first. */
  readonly newRun?: boolean;
  readonly onEvent?: EventSink;
  /** Aborting stops the run after the step in progress (the CLI aborts on Ctrl-C); resume by running again. */
  readonly signal?: AbortSignal;
  /** The run lease: how long it lasts without a heartbeat, and whether to wait for another holder. */
  readonly lease?: LeaseOptions;
}

export interface RunReport {
  readonly runId: string;
  readonly resumed: boolean;
  readonly table: string;
  readonly batches: number;
  readonly objects: number;
  readonly bytes: number;
  readonly rowsLoaded: number;
  readonly retries: number;
  readonly swapUnits: number;
  readonly before: readonly TableMeasurement[];
  readonly after: readonly TableMeasurement[];
  /** What was verified, per table: every batch's landings before their commit, the whole shadow before the swap. */
  readonly checks?: readonly TableVerification[];
  readonly phases: Readonly<Record<string, number>>;
  readonly seconds: number;
  /** Lanes this invocation ran (absent in reports of older versions). */
  readonly workers?: number;
  readonly mode?: RunMode;
  /**
   * This invocation joined a run another process performed: what it loaded, and whether that other process
   * finished the run (`performedBy`) or this one took it over and finished it.
   */
  readonly joined?: { readonly batches: number; readonly rows: number; readonly performedBy: boolean };
}

/** Runs (or resumes, or joins) the backfill described by `config` through `adapter`. The adapter must be connected. */
export async function runBackfill(
  config: BackfillConfig,
  adapter: TargetAdapter,
  options: RunOptions = {},
): Promise<RunReport> {
  const t0 = Date.now();
  const phases: Record<string, number> = {};
  const timed = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const s = Date.now();
    try {
      return await fn();
    } finally {
      phases[phase] = (phases[phase] ?? 0) + (Date.now() - s) / 1000;
    }
  };
  const emit = (event: RunEvent) => options.onEvent?.(event);
  const checkpoint = () => {
    if (options.signal?.aborted) {
      throw new ShadowfillError(
        'INTERRUPTED',
        'interrupted: the run stopped after its last finished step — run the same command again to resume',
        { exitCode: 130 },
      );
    }
  };
  const fingerprint = configFingerprint(config);
  const location = resolveLocation(config.source);
  const client = createS3Client(location);
  const table = tableOf(config);
  let session: RunSession | undefined;
  let pool: DecodePool | undefined;

  try {
    // Nothing of the run is read or changed before this process holds the table's lease (or joins the run of
    // the process that holds it): a second process of another configuration stops here at once.
    const entry = await enterRun(config, adapter, fingerprint, options, emit);
    const held = entry.kind === 'perform' ? entry.lease : undefined;
    // Until `session` exists, the lease is released by the `finally` below through this holder.
    session = undefined;
    const leaseHolder = { lease: held };
    let executor: Executor | undefined;
    // A process starting a run lists the objects while it reads the target (a new run needs both; a resumed one
    // ignores the listing, and any failure of it then).
    const listing = entry.kind === 'perform' ? listObjects(client, location) : undefined;
    listing?.catch(() => undefined);
    try {
      const workers = await resolveWorkers(config, adapter);
      // Several lanes of a target taking encoded pieces share decode threads, one per lane up to the cores. They
      // start now, so that their start (a module load and a cold JIT per thread) overlaps validation.
      const decode = decodeThreadsFor(workers.workers, adapter.capabilities.streamInput === 'encoded');
      pool = decode ? new DecodePool({ threads: decode.threads }) : undefined;
      pool?.warm();
      const target = await timed('validate', () => adapter.describe());
      if (entry.kind === 'perform') assertModeSupported(config.mode ?? DEFAULT_MODE, adapter);
      const step = async () => {
        checkpoint();
        await held?.confirm();
      };
      let state: RunState | undefined;
      let started: RunStartedData;
      let runId: string;
      let journal: JournalWriter;
      let resumed: boolean;
      if (entry.kind === 'join') {
        state = entry.state;
        runId = state.runId;
        started = state.started;
        resumed = true;
        emit({
          type: 'run-joined',
          runId,
          holder: `pid ${entry.holder.pid} on ${entry.holder.host}`,
        });
      } else {
        const lease = entry.lease;
        const runs = await findRuns(adapter, fingerprint);
        if (options.newRun) {
          await abandonUnfinished(
            { config, adapter, target, location, lease, emit },
            runs.all,
            'a new run was asked for (--new-run)',
          );
        }
        state = options.newRun ? undefined : runs.unfinished;
        if (!state && !options.newRun && runs.finished) {
          throw new JournalError(
            'NOTHING_TO_DO',
            `nothing to do: run ${runs.finished.runId} of this configuration finished at ${runs.finished.finishedAt} — ` +
              `pass --new-run to backfill the same objects again`,
          );
        }
        resumed = state !== undefined;
        if (state) {
          runId = state.runId;
          started = state.started;
        } else {
          runId = newRunId();
          started = await timed('validate', () =>
            prepareNewRun(config, adapter, client, listing!, location, target, runId, emit, workers.workers),
          );
        }
      }
      const mode = runMode(config, adapter, started, runId, resumed);
      const policy = swapPolicy(mode, adapter.capabilities.swapsWhileLoading === true);
      const guard = async () => {
        await session?.lease?.confirm();
      };
      if (entry.kind === 'join') {
        journal = new JournalWriter(adapter.journal, runId, fingerprint, state!.lastSeq, guard);
      } else if (state) {
        await held!.setRun(runId);
        journal = new JournalWriter(adapter.journal, runId, fingerprint, state.lastSeq, guard);
        await step();
        await adapter.recover(contextOf(config, location, target, runId, started, emit), state.swapState);
      } else {
        // Validation ran no DDL; from here on the run exists and is journaled.
        await step();
        await held!.setRun(runId);
        await adapter.journal.ensure();
        journal = new JournalWriter(adapter.journal, runId, fingerprint, 0, guard);
        await journal.append('run-started', { data: started });
      }
      const run = contextOf(config, location, target, runId, started, emit);
      const batches = started.batches;
      const bytes = batches.reduce((n, b) => n + b.objects.reduce((m, o) => m + o.size, 0), 0);
      emit({
        type: 'run-started',
        runId,
        resumed,
        batches: batches.length,
        objects: batches.reduce((n, b) => n + b.objects.length, 0),
        bytes,
      });
      emit({
        type: 'schedule',
        workers: workers.workers,
        reason: workers.reason,
        mode,
        policy,
        order: started.order ?? 'object',
      });
      session = {
        config,
        adapter,
        client,
        pool,
        run,
        started,
        journal,
        table,
        emit,
        timed,
        checkpoint,
        lease: held,
        checks: [],
        retries: state?.failures ?? 0,
        swapBegan: () => executor?.currentSwapState !== undefined,
      };
      leaseHolder.lease = undefined;
      const self = claimant();
      executor = new Executor(session, {
        lanes: laneIds(entry.kind === 'join' ? self.id.slice(0, 6) : undefined, workers.workers),
        holder: `pid ${self.pid} on ${self.host}`,
        policy,
        ranges: batches.map((_, k) => rangeFromText(started.ranges?.[k])),
        state,
        takeLease: entry.kind === 'join' ? () => tryTakeTable(config, adapter, { ...options }) : undefined,
        claimTtlMs: options.lease?.ttlMs ?? DEFAULT_LEASE_TTL_MS,
        finishers: finisherIds(adapter, entry.kind === 'perform' ? workers.workers : 1),
      });
      try {
        if (entry.kind === 'perform') {
          await step();
          await timed('prepare', () => adapter.createShadows(run));
          // A process joining the run loads nothing before the shadows exist.
          if (adapter.capabilities.multiProcess && !state?.shadowsCreated)
            await journal.append('shadows-created');
          // A resumed run first checks what earlier invocations committed (e.g. a restart of the database may have
          // emptied an UNLOGGED staging table, or merges may have collapsed rows).
          if (state && executor.shadowCheckable && state.batches.some((b) => b === 'committed')) {
            await executor.checkShadow('when the run resumed', true);
          }
        }
        const result = await executor.run();
        const performing = session.lease !== undefined && !result.finishedElsewhere;
        if (performing) {
          await session.lease!.confirm();
          await timed('cleanup', () => adapter.dropShadows(run));
          emit({ type: 'shadows-dropped' });
          await journal.append('run-finished', { data: { rowsLoaded: result.rowsLoaded } });
        } else {
          // The process that performed the run dropped its objects; this one's lanes may have made some after.
          await adapter.dropShadows(run).catch(() => undefined);
        }
        const after = await adapter.measure(target, started.scope);
        const seconds = (Date.now() - t0) / 1000;
        emit({ type: 'run-finished', runId, rowsLoaded: result.rowsLoaded, seconds });
        return {
          runId,
          resumed,
          table,
          batches: batches.length,
          objects: batches.reduce((n, b) => n + b.objects.length, 0),
          bytes,
          rowsLoaded: result.rowsLoaded,
          retries: session.retries,
          swapUnits: result.swapUnits,
          before: started.before,
          after,
          checks: summarizeChecks(session.checks),
          phases,
          seconds,
          workers: workers.workers,
          mode,
          ...(entry.kind === 'join' ? { joined: { ...result.loadedHere, performedBy: !performing } } : {}),
        };
      } catch (error) {
        // A swap that began leaves the live side changed (e.g. a paused policy): put it back now, not only at
        // the next invocation — unless another process holds the lease now and continues the run itself.
        const swapState = executor.currentSwapState;
        const lease = session.lease;
        if (swapState && lease && !lease.lost) await adapter.recover(run, swapState).catch(() => undefined);
        emit({ type: 'run-stopped', runId, error: oneLine(error) });
        if (lease && !lease.lost) {
          await journal.append('run-stopped', { data: { error: oneLine(error) } }).catch(() => undefined);
        }
        throw error;
      }
    } finally {
      await leaseHolder.lease?.release().catch(() => undefined);
    }
  } finally {
    await session?.lease?.release().catch(() => undefined);
    await pool?.close().catch(() => undefined);
    client.destroy();
  }
}

/** The run's mode: fixed when it starts (journaled); a configuration asking for another one is refused. */
function runMode(
  config: BackfillConfig,
  adapter: TargetAdapter,
  started: RunStartedData,
  runId: string,
  resumed: boolean,
): RunMode {
  const asked = config.mode ?? DEFAULT_MODE;
  const mode = resumed ? (started.mode ?? 'historical') : asked;
  if (resumed && mode !== asked) {
    throw new ConfigError(
      `mode: run ${runId} of this configuration was started with mode: ${mode}, and a run keeps its mode — run it with --mode ${mode}, or start over with --new-run --mode ${asked}`,
    );
  }
  assertModeSupported(mode, adapter);
  return mode;
}

/** Refuses a mode the target cannot do (ClickHouse and catchup), with the fix. */
export function assertModeSupported(mode: RunMode, adapter: TargetAdapter): void {
  if (mode === 'catchup' && !adapter.capabilities.swapsInOneTransaction) {
    throw new ConfigError(
      `mode: catchup needs a target that swaps everything in one transaction, and ${adapter.kind} swaps partition by partition once every batch is committed (what mode: historical does there) — remove mode or use mode: historical`,
    );
  }
}

/** Lane ids: '' (the default lane), `w2`… for the process performing the run; `j<id>_1`… for a joined one. */
/**
 * Lanes for swap-side steps run at once: as many as `workers` where the adapter swaps slices concurrently (their
 * statements run in the database, where the cores the loads used are free by then); none otherwise (one at a
 * time on the run's own connection).
 */
function finisherIds(adapter: TargetAdapter, workers: number): string[] {
  if (!adapter.capabilities.swapsConcurrently || workers < 2) return [];
  return Array.from({ length: workers }, (_, i) => `f${i + 1}`);
}

function laneIds(joinedAs: string | undefined, workers: number): string[] {
  return Array.from({ length: workers }, (_, i) =>
    joinedAs ? `j${joinedAs}_${i + 1}` : i === 0 ? '' : `w${i + 1}`,
  );
}

async function prepareNewRun(
  config: BackfillConfig,
  adapter: TargetAdapter,
  client: S3Client,
  listing: Promise<SourceObject[]>,
  location: ObjectStoreLocation,
  target: TargetDescription,
  runId: string,
  emit: (event: RunEvent) => void,
  workers: number,
): Promise<RunStartedData> {
  const listed = await listing;
  const source = await validateSource(client, listed, adapter, target);
  const filter = await resolveFilter(config, adapter);
  const { objects, order, ranges, timeDimension } = planOrder(listed, source, target);
  // Fixed here for the run (journaled in run-started): a resumed or joining process reads them, never re-cuts them.
  const { batches } = planRunBatches(objects, config.batch, workers);
  // Every statement of the run can be built (e.g. each shadow view re-points at its landing) before any DDL.
  const context = contextOf(config, location, target, runId, { filter, sourceColumns: source.columns }, emit);
  await adapter.planStatements(context, batches);
  await probeSourceValues(adapter, { target, store: location, objects, columns: source.columns, filter });
  // Only what the run can change: the range the source's footers give (chunk/partition-pruned by the adapter).
  const scope = { ranges: source.ranges };
  const before = await adapter.measure(target, scope);
  return {
    table: tableOf(config),
    sourceUrl: config.source.url,
    filter,
    sourceColumns: source.columns,
    batches,
    objectRows: source.objectRows,
    before,
    scope,
    mode: config.mode ?? DEFAULT_MODE,
    ...(timeDimension ? { timeDimension } : {}),
    ranges: rangesOfBatches(batches, ranges).map(rangeToText),
    order: order.order,
    withoutStatistics: order.withoutStatistics.slice(0, 5),
  };
}

/**
 * The order batches are planned in: by the time dimension's ranges from the footers when every object has them
 * (so the watermark advances batch by batch), else by key, as the planner always did.
 */
export function planOrder(
  listed: readonly SourceObject[],
  source: ValidatedSource,
  target: TargetDescription,
): {
  objects: readonly SourceObject[];
  order: ObjectOrder<SourceObject>;
  ranges: ReadonlyMap<string, BatchRange | undefined>;
  timeDimension: TimeDimension | undefined;
} {
  const timeDimension = target.timeDimension;
  const ranges = objectRanges(listed, source.objectRanges, timeDimension);
  if (!timeDimension) {
    return {
      objects: listed,
      order: { objects: listed, order: 'object', withoutStatistics: [] },
      ranges,
      timeDimension,
    };
  }
  const order = orderObjects(listed, ranges);
  return { objects: order.objects, order, ranges, timeDimension };
}

/** Resolves `before: auto` to the live table's current minimum — fixed once, when the run starts. */
export async function resolveFilter(
  config: BackfillConfig,
  adapter: TargetAdapter,
): Promise<RowFilter | undefined> {
  const f = config.filter;
  if (!f) return undefined;
  let before = f.before;
  if (before === 'auto') {
    const min = await adapter.minValue(f.column);
    if (min === null) {
      throw new ConfigError(
        `filter.before: auto needs rows in ${config.target.database}.${config.target.table} to find the oldest ` +
          `${f.column}, but the table is empty — set filter.before to a value`,
      );
    }
    before = min;
  }
  return { column: f.column, before, after: f.after };
}
