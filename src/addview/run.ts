/**
 * The add-view runner: adds a view to a live table and backfills its history through one ViewAdapter,
 * journaling every step so that any interruption (Ctrl-C, kill -9) is continued — never repeated — by the
 * next invocation.
 *
 *   lease → validate → resolve cutoff + windows (journal run-started) → create target/view (view-created)
 *   → shadows → per window, oldest first: wait for the horizon → prepare → run → check → (batch-loaded)
 *   → commit (batch-committed) → [catch-up refresh] → reconcile → swap units → finish view → drop shadows
 *   → measure (run-finished) → report
 *
 * Live rows from the cutoff on go through the live view from the moment it exists; every row below the cutoff
 * is pushed through a shadow of it, window by window, and moved into the view target only after the whole
 * history is verified. Nothing is counted twice: a row is below the cutoff (history) or not (live view).
 *
 * One process works on a view at a time: the view's lease (src/addview/lease.ts) is taken before anything is
 * read, and the journal writer confirms it before every write, so a process that lost it stops before its
 * next step.
 */
import type { SwapUnit, TableMeasurement } from '../adapter/contract.ts';
import type {
  Position,
  ViewAdapter,
  ViewDescription,
  ViewRunContext,
  ViewSpec,
  ViewWindow,
  WindowComparison,
} from '../adapter/view-contract.ts';
import { hostname } from 'node:os';
import {
  isRetryable,
  JournalError,
  ResourceLimitError,
  ShadowfillError,
  VerifyError,
  oneLine,
} from '../errors.ts';
import { JournalWriter } from '../journal/writer.ts';
import { newRunId } from '../runner/fingerprint.ts';
import type { HeldLease, LeaseOptions } from '../runner/lease.ts';
import { createS3Client } from '../source/s3-client.ts';
import { resolveLocation } from '../source/location.ts';
import { resolveSizes, type ViewConfig } from './config.ts';
import type { AddViewEvent, AddViewEventSink } from './events.ts';
import {
  findViewRuns,
  viewFingerprint,
  windowFromJson,
  windowToJson,
  type AddViewStartedData,
  type AddViewState,
  type WindowResult,
  type WindowState,
} from './journal.ts';
import { leaseView } from './lease.ts';
import { formatPosition, formatRange, formatSize, positionFromJson, positionToJson } from './position.ts';
import { replanRemaining, resolveRun } from './resolve.ts';
import { sampledWindows } from './windows.ts';

export interface AddViewOptions {
  /**
   * Give up this configuration's unfinished run first (as `--abandon` does), or start a new run although this
   * configuration finished one (its view must have been dropped meanwhile).
   */
  readonly newRun?: boolean;
  /** The view's lease: how long it lasts without a heartbeat, and whether to wait for another holder. */
  readonly lease?: LeaseOptions;
  readonly onEvent?: AddViewEventSink;
  /** Aborting stops the run after the step in progress (the CLI aborts on Ctrl-C); resume by running again. */
  readonly signal?: AbortSignal;
  /** How the runner waits (tests shorten it). Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** One aggregate of the reconciliation: the view's SELECT over the source against what the view target got. */
export interface ReconciledAggregate {
  readonly what: string;
  /** Computed from the source (undefined when windows were checked by row counts only). */
  readonly expected: number | undefined;
  /** What the windows landed (= what was moved into the view target). */
  readonly landed: number;
}

export interface AddViewReconciliation {
  /** The cutoff (history is everything below it), as text; undefined for targets without one. */
  readonly below: string | undefined;
  /** Rows the source holds below the cutoff (in the windows' range) now. */
  readonly sourceRows: number;
  /** Rows the windows pushed through the view. */
  readonly rowsConsumed: number;
  readonly aggregates: readonly ReconciledAggregate[];
  /** Windows checked against a full recomputation from the source. */
  readonly recomputedWindows: number;
  /** Whole-history comparisons computed by the target (TimescaleDB). */
  readonly comparisons: readonly WindowComparison[];
  readonly ok: boolean;
}

export interface AddViewReport {
  readonly runId: string;
  readonly resumed: boolean;
  readonly view: string;
  readonly source: string;
  readonly target: string;
  readonly cutoff: string | undefined;
  readonly windows: number;
  /** Windows run by this invocation (the others were done by an earlier, interrupted one). */
  readonly windowsThisRun: number;
  readonly rows: number;
  readonly retries: number;
  readonly swapUnits: number;
  readonly before: readonly TableMeasurement[];
  readonly after: readonly TableMeasurement[];
  readonly reconciliation: AddViewReconciliation;
  readonly phases: Readonly<Record<string, number>>;
  readonly seconds: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The adapter-neutral spec of the configured view. */
export function viewSpec(config: ViewConfig): ViewSpec {
  const v = config.view;
  return {
    database: config.target.database,
    source: config.target.table,
    name: v.name,
    to: v.to,
    toDdl: v.to_ddl,
    select: v.select,
    cutoffColumn: v.cutoff_column,
    settings: config.settings,
    materializedOnly: v.materialized_only,
    refreshPolicy: v.refresh_policy
      ? {
          startOffset: v.refresh_policy.start_offset ?? null,
          endOffset: v.refresh_policy.end_offset ?? null,
          scheduleInterval: v.refresh_policy.schedule_interval,
        }
      : undefined,
  };
}

function contextOf(
  runId: string,
  spec: ViewSpec,
  description: ViewDescription,
  started: AddViewStartedData['addView'],
  config: ViewConfig,
): ViewRunContext {
  const history =
    started.history.kind === 'object-store' && config.source
      ? {
          kind: 'object-store' as const,
          store: resolveLocation(config.source),
          split: positionFromJson(started.history.split),
        }
      : { kind: 'source-table' as const };
  return {
    runId,
    spec,
    description,
    cutoff: started.cutoff === null ? undefined : positionFromJson(started.cutoff),
    history,
    windows: started.windows.map(windowFromJson),
  };
}

/** Adds the configured view (or resumes the unfinished add-view of this configuration). The adapter must be connected. */
export async function addView(
  config: ViewConfig,
  adapter: ViewAdapter,
  options: AddViewOptions = {},
): Promise<AddViewReport> {
  // Nothing of the add-view is read or changed before this process holds the view's lease: a second process
  // stops here at once (or waits, with `lease.wait`).
  const held = await leaseView(config, adapter, options, (event) => options.onEvent?.(event));
  try {
    return await addViewHolding(config, adapter, options, held);
  } finally {
    await held.release().catch(() => undefined);
  }
}

async function addViewHolding(
  config: ViewConfig,
  adapter: ViewAdapter,
  options: AddViewOptions,
  held: HeldLease,
): Promise<AddViewReport> {
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
  const emit = (event: AddViewEvent) => options.onEvent?.(event);
  const sleep = options.sleep ?? defaultSleep;
  /** Before every step that changes something: stop on Ctrl-C, or when another process took the lease. */
  const step = async () => {
    if (options.signal?.aborted) {
      throw new ShadowfillError(
        'INTERRUPTED',
        'interrupted: add-view stopped after its last finished step — run the same command again to resume',
        { exitCode: 130 },
      );
    }
    await held.confirm();
  };
  const caps = adapter.capabilities;
  const spec = viewSpec(config);
  const fingerprint = viewFingerprint(config);
  const viewName = `${spec.database}.${spec.name}`;

  const runs = await findViewRuns(adapter.journal, fingerprint);
  if (options.newRun && runs.unfinished) {
    const reason = 'a new run was asked for (--new-run)';
    await abandonRun(config, adapter, held, runs.unfinished, reason);
    emit({ type: 'run-abandoned', runId: runs.unfinished.runId, reason });
  }
  const state: AddViewState | undefined = options.newRun ? undefined : runs.unfinished;
  if (!state && !options.newRun && runs.finished) {
    throw new JournalError(
      'NOTHING_TO_DO',
      `nothing to do: run ${runs.finished.runId} added ${viewName} at ${runs.finished.finishedAt} — ` +
        `drop the view and pass --new-run to add it again`,
    );
  }
  const resumed = state !== undefined;
  const description = await timed('validate', () => adapter.describe(spec, { resuming: resumed }));
  const client = config.source && !state ? createS3Client(resolveLocation(config.source)) : undefined;

  let runId: string;
  let started: AddViewStartedData['addView'];
  let journal: JournalWriter;
  const guard = () => held.confirm();
  try {
    if (state) {
      runId = state.runId;
      started = state.started;
      await held.setRun(runId);
      journal = new JournalWriter(adapter.journal, runId, fingerprint, state.lastSeq, guard);
    } else {
      const resolved = await timed('validate', () => resolveRun(config, adapter, description, client));
      const before = await adapter.measure(description);
      runId = newRunId();
      started = {
        spec,
        cutoff: resolved.cutoff === undefined ? null : positionToJson(resolved.cutoff),
        history:
          resolved.history.kind === 'object-store'
            ? { kind: 'object-store', split: positionToJson(resolved.history.split) }
            : { kind: 'source-table' },
        windows: resolved.windows.map(windowToJson),
        sizes: {
          window: resolved.sizes.window.toString(),
          margin: resolved.sizes.margin.toString(),
          settle: resolved.sizes.settle.toString(),
          wait: resolved.sizes.wait.toString(),
        },
        before,
      };
      // Validation changed nothing; from here on the run exists and is journaled.
      await step();
      await held.setRun(runId);
      await adapter.journal.ensure();
      journal = new JournalWriter(adapter.journal, runId, fingerprint, 0, guard);
      await journal.append('run-started', { data: { addView: started } });
    }
  } finally {
    client?.destroy();
  }

  let states: WindowState[] = state ? [...state.windows] : started.windows.map(() => 'pending');
  if (state) {
    // Resumed with another view.window (e.g. lowered after a window ran out of memory): plan the rest again.
    const replanned = await replanRemaining(
      config,
      adapter,
      description,
      started.windows.map(windowFromJson),
      states.map((s) => s === 'pending'),
      BigInt(started.sizes.window),
    );
    if (replanned) {
      const windowsJson = replanned.windows.map(windowToJson);
      await journal.append('windows-planned', {
        data: { from: replanned.from, windows: windowsJson, window: replanned.size.toString() },
      });
      started = {
        ...started,
        windows: [...started.windows.slice(0, replanned.from), ...windowsJson],
        sizes: { ...started.sizes, window: replanned.size.toString() },
      };
      states = [...states.slice(0, replanned.from), ...windowsJson.map(() => 'pending' as const)];
    }
  }
  const run = contextOf(runId, spec, description, started, config);
  const windows = run.windows;
  const kind = description.windowColumn.kind;
  const windowSize = BigInt(started.sizes.window);
  // settle and cutoff_wait are the configuration's now (a resumed run may be given more of either).
  const { settle, wait: maxWait } = resolveSizes(config, kind, description.windowColumn.name);
  const cutoffText = run.cutoff === undefined ? undefined : formatPosition(run.cutoff);
  emit({
    type: 'add-view-started',
    runId,
    resumed,
    view: viewName,
    windows: windows.length,
    cutoff: cutoffText,
  });

  try {
    await step();
    if (!state?.viewCreated) {
      const created = await timed('create', () => adapter.createView(run, { resuming: resumed }));
      await journal.append('view-created', {
        data: { cutoff: started.cutoff, targetCreated: created.targetCreated },
      });
      emit({ type: 'view-created', view: viewName, cutoff: cutoffText });
    }
    if (caps.shadowsTarget) await timed('prepare', () => adapter.createShadows(run));

    const results = new Map<number, WindowResult>(
      [...(state?.results ?? [])].filter(([i]) => i < windows.length && states[i] !== 'pending'),
    );
    let retries = state?.failures ?? 0;
    let rowsSoFar = [...results.values()].reduce((n, r) => n + r.sourceRows, 0);
    let windowsThisRun = 0;
    const sampled = sampledWindows(windows.length, config.view.verify_windows);
    const horizon = new Horizon(adapter, description, settle);

    for (const w of windows) {
      if (states[w.index] === 'committed') continue;
      await step();
      const s = Date.now();
      if (states[w.index] !== 'verified') {
        if (caps.cutoffFilter && !w.objects) await timed('wait', () => waitForHorizon(w));
        const result = await windowWithRetries(w);
        results.set(w.index, result);
        rowsSoFar += result.sourceRows;
        windowsThisRun += 1;
      }
      // A verified window is committed (idempotently) even if an earlier invocation was cut off mid-commit.
      if (caps.shadowsTarget) await timed('commit', () => adapter.commitWindow(run, w));
      await journal.append('batch-committed', { batch: w.index });
      states[w.index] = 'committed';
      emit({
        type: 'window-done',
        window: w.index,
        total: windows.length,
        range: rangeOf(w),
        rows: results.get(w.index)?.sourceRows ?? 0,
        seconds: (Date.now() - s) / 1000,
        done: states.filter((x) => x === 'committed').length,
        rowsSoFar,
      });
    }

    if (!caps.cutoffFilter && windows.length > 0) {
      // The database tracked what live ingestion changed in windows already refreshed: refresh those parts.
      const whole: ViewWindow = {
        index: windows.length,
        lo: windows[0]!.lo,
        hi: windows[windows.length - 1]!.hi,
      };
      const s = Date.now();
      await timed('window', () => adapter.runWindow(run, whole)).catch((error: unknown) => {
        // A smaller window does not shrink the catch-up (it spans the whole history): only the limit can move.
        if (!(error instanceof ResourceLimitError)) throw error;
        throw new ResourceLimitError(
          error.resource,
          error.setting,
          `catch-up refresh ${rangeOf(whole)} of ${viewName}: ${oneLine(error)} — raise ${error.setting}`,
          { cause: error, ...(error.nativeCode === undefined ? {} : { nativeCode: error.nativeCode }) },
        );
      });
      emit({ type: 'catch-up', range: rangeOf(whole), seconds: (Date.now() - s) / 1000 });
    }

    const reconciliation = await timed('verify', () => reconcile(!(state?.swapBegan ?? false)));
    let swapUnits = 0;
    if (caps.shadowsTarget) {
      if (!state?.swapBegan) await journal.append('swap-began');
      const swapStart = Date.now();
      const units: readonly SwapUnit[] = await timed('swap', () => adapter.listSwapUnits(run));
      emit({ type: 'swap-started', units: units.length });
      for (const unit of units) {
        await step();
        await timed('swap', () => adapter.swapUnit(run, unit));
        await journal.defer('swap-unit-done', { unit: unit.id });
        swapUnits += 1;
        emit({
          type: 'swap-unit-done',
          unit: unit.id,
          description: unit.description,
          done: swapUnits,
          total: units.length,
        });
      }
      await journal.flush();
      if (!state?.swapFinished) await journal.append('swap-finished');
      emit({ type: 'swap-finished', units: units.length, seconds: (Date.now() - swapStart) / 1000 });
    }
    await timed('finish', () => adapter.finishView(run));
    emit({ type: 'view-finished', view: viewName });
    if (caps.shadowsTarget) await timed('cleanup', () => adapter.dropShadows(run));

    const after = await adapter.measure(description);
    const rows = [...results.values()].reduce((n, r) => n + r.sourceRows, 0);
    await journal.append('run-finished', { data: { rows } });
    const seconds = (Date.now() - t0) / 1000;
    emit({ type: 'add-view-finished', runId, rows, seconds });
    return {
      runId,
      resumed,
      view: viewName,
      source: description.source,
      target: description.target,
      cutoff: cutoffText,
      windows: windows.length,
      windowsThisRun,
      rows,
      retries,
      swapUnits,
      before: started.before,
      after,
      reconciliation,
      phases,
      seconds,
    };

    /** Waits until the source has passed the window's end by the settle time (ids: the largest id did). */
    async function waitForHorizon(w: ViewWindow): Promise<void> {
      const waitStart = Date.now();
      let lastNote = 0;
      for (;;) {
        const h = await horizon.current();
        if (h !== undefined && w.hi.value <= h.value) return;
        const waited = BigInt(Date.now() - waitStart) * 1000n;
        if (waited > maxWait) {
          throw new ShadowfillError(
            'INTERRUPTED',
            `${description.source} has not passed ${formatPosition(w.hi)} (window ${w.index + 1}/${windows.length}) after ` +
              `waiting ${formatSize('time', maxWait)}: live rows below it may still arrive — run add-view again later ` +
              `(it resumes here), or raise view.cutoff_wait`,
            // EX_TEMPFAIL: nothing is wrong, the source is not there yet; the same command later goes on.
            { exitCode: 75, retryable: true },
          );
        }
        if (Date.now() - lastNote >= 10_000) {
          lastNote = Date.now();
          emit({
            type: 'waiting-for-horizon',
            window: w.index,
            horizon: h === undefined ? 'unknown' : formatPosition(h),
            needed: formatPosition(w.hi),
            seconds: Number(waited / 1000n) / 1000,
          });
        }
        await step();
        const gap = h === undefined || kind !== 'time' ? 1000n : (w.hi.value - h.value) / 1000n;
        await sleep(Number(gap < 200n ? 200n : gap > 2000n ? 2000n : gap));
      }
    }

    async function windowWithRetries(w: ViewWindow): Promise<WindowResult> {
      const depth =
        config.view.verify === 'full' && (caps.shadowsTarget || sampled.has(w.index)) ? 'full' : 'rows';
      for (let attempt = 1; ; attempt += 1) {
        emit({ type: 'window-started', window: w.index, total: windows.length, range: rangeOf(w), attempt });
        try {
          await timed('window', () => adapter.prepareWindow(run, w));
          await timed('window', () => adapter.runWindow(run, w));
          const check = await timed('verify', () => adapter.checkWindow(run, w, depth));
          const wrong = check.comparisons.find((c) => c.expected !== c.actual);
          if (wrong) {
            throw new VerifyError(
              `window ${w.index + 1}/${windows.length} ${rangeOf(w)} of ${viewName}: ${wrong.what} is ${wrong.actual} ` +
                `but the source gives ${wrong.expected} — the window was discarded; run again to retry it`,
            );
          }
          const result: WindowResult = {
            full: depth === 'full',
            sourceRows: check.sourceRows,
            ...(check.stableRows === undefined ? {} : { stableRows: check.stableRows }),
            comparisons: check.comparisons,
            landed: check.landed,
          };
          await journal.append('batch-loaded', { batch: w.index, data: result });
          return result;
        } catch (error) {
          // A lost lease or a Ctrl-C is not a failure of the window: stop without touching anything else. A
          // step that failed because another process took the lease over reports the lost lease, its cause.
          if ((error as ShadowfillError).code === 'INTERRUPTED') throw error;
          await held.confirm(true).catch((lost: unknown) => {
            if (held.lost) throw lost;
          });
          if (held.lost) throw error;
          const failure = windowError(error, w);
          // Only what another attempt can fix is retried: not a resource limit (the same window fails the same
          // way), a SELECT the server refuses, a missing table, … (the failure taxonomy of src/errors.ts).
          const willRetry = isRetryable(failure) && attempt < config.attempts;
          await journal.append('batch-failed', {
            batch: w.index,
            data: { attempt, error: oneLine(failure) },
          });
          emit({ type: 'window-failed', window: w.index, attempt, error: oneLine(failure), willRetry });
          retries += 1;
          if (!willRetry) throw failure;
        }
      }
    }

    /** A resource limit names the window and both ways out: a smaller window or a higher limit. */
    function windowError(error: unknown, w: ViewWindow): unknown {
      if (!(error instanceof ResourceLimitError)) return error;
      const size = w.objects ? `${w.objects.length} objects` : formatSize(kind, windowSize);
      return new ResourceLimitError(
        error.resource,
        error.setting,
        `window ${w.index + 1}/${windows.length} ${rangeOf(w)} of ${viewName}: ${oneLine(error)} — lower view.window ` +
          `(now ${size}) or raise ${error.setting}`,
        { cause: error, ...(error.nativeCode === undefined ? {} : { nativeCode: error.nativeCode }) },
      );
    }

    /**
     * History below the cutoff, reconciled: rows of the source now vs rows the windows consumed (late rows
     * would be missed: stop before anything moves), the windows' aggregates from the source vs what they
     * landed, and (before the swap) what the shadow holds vs what the windows landed.
     */
    async function reconcile(beforeSwap: boolean): Promise<AddViewReconciliation> {
      const rowsConsumed = [...results.values()].reduce((n, r) => n + r.sourceRows, 0);
      let sourceRows = rowsConsumed;
      const tableWindows = windows.filter((w) => !w.objects);
      if (caps.cutoffFilter && tableWindows.length > 0) {
        const span: ViewWindow = {
          index: -1,
          lo: tableWindows[0]!.lo,
          hi: tableWindows[tableWindows.length - 1]!.hi,
        };
        // Counted as countWindow counts them (FINAL where the source's merges collapse rows): a merge since a
        // window ran is not a row that left, a row that arrived below the cutoff is.
        const stableOf = (w: ViewWindow) => {
          const r = results.get(w.index);
          return r?.stableRows ?? r?.sourceRows ?? 0;
        };
        const then = tableWindows.reduce((n, w) => n + stableOf(w), 0);
        const arrived = (await adapter.countWindow(run, span)) - then;
        sourceRows = rowsConsumed + arrived;
        if (arrived !== 0 && beforeSwap) {
          const late: string[] = [];
          for (const w of tableWindows) {
            const now = await adapter.countWindow(run, w);
            if (now !== stableOf(w)) late.push(`window ${w.index + 1} ${rangeOf(w)}: ${now - stableOf(w)}`);
          }
          throw new VerifyError(
            `${arrived} rows of ${description.source} below the cutoff arrived after their window ran ` +
              `(${late.slice(0, 3).join('; ')}${late.length > 3 ? '; …' : ''}); nothing was moved into ${description.target} — ` +
              `abandon this run with --abandon, raise view.settle, and add the view again`,
            { retryable: false },
          );
        }
      }
      const names = new Set<string>();
      for (const r of results.values()) for (const name of Object.keys(r.landed)) names.add(name);
      const aggregates: ReconciledAggregate[] = [...names].map((what) => {
        let landed = 0;
        let expected: number | undefined = 0;
        for (const w of windows) {
          const r = results.get(w.index);
          landed += r?.landed[what] ?? 0;
          const c = r?.comparisons.find((x) => x.what === what);
          expected = c === undefined || expected === undefined ? undefined : expected + c.expected;
        }
        return { what, expected, landed };
      });
      if (caps.shadowsTarget && beforeSwap) {
        const held = await adapter.shadowTotals(run);
        for (const a of aggregates) {
          if ((held[a.what] ?? 0) !== a.landed) {
            throw new VerifyError(
              `the shadow of ${description.target} holds ${a.what} = ${held[a.what] ?? 0} but its windows landed ${a.landed}; ` +
                `nothing was moved — the shadow lost or gained rows: abandon this run with --abandon and add the view again`,
              { retryable: false },
            );
          }
        }
      }
      const comparisons = adapter.reconcile ? await adapter.reconcile(run) : [];
      const ok =
        sourceRows === rowsConsumed &&
        aggregates.every((a) => a.expected === undefined || a.expected === a.landed) &&
        comparisons.every((c) => c.expected === c.actual);
      if (comparisons.some((c) => c.expected !== c.actual)) {
        const c = comparisons.find((x) => x.expected !== x.actual)!;
        throw new VerifyError(
          `${viewName} does not match its SELECT over ${description.source}: ${c.what} is ${c.actual}, recomputed ${c.expected} — ` +
            `run add-view again to refresh it, or report the mismatch`,
        );
      }
      const recomputedWindows = [...results.values()].filter((r) => r.full === true).length;
      return { below: cutoffText, sourceRows, rowsConsumed, aggregates, recomputedWindows, comparisons, ok };
    }
  } catch (error) {
    emit({ type: 'add-view-stopped', runId, error: oneLine(error) });
    // Not journaled when the lease was lost: the process holding it now continues the run.
    await journal.append('run-stopped', { data: { error: oneLine(error) } }).catch(() => undefined);
    throw error;
  }

  function rangeOf(w: ViewWindow): string {
    if (w.objects) {
      const first = w.objects[0]?.uri ?? '';
      return `${w.objects.length} objects from ${first}${w.objects.length > 1 ? ' …' : ''}, ${description.windowColumn.name} < ${formatPosition(w.hi)}`;
    }
    return formatRange(w.lo, w.hi);
  }
}

/** Where the source is complete: the server clock minus settle; for ids, the largest id seen a settle time ago. */
class Horizon {
  private readonly seen: { at: number; max: bigint }[] = [];

  constructor(
    private readonly adapter: ViewAdapter,
    private readonly description: ViewDescription,
    private readonly settle: bigint,
  ) {}

  async current(): Promise<Position | undefined> {
    const kind = this.description.windowColumn.kind;
    if (kind === 'time') return { kind, value: (await this.adapter.serverTime()) - this.settle };
    const extent = await this.adapter.sourceExtent(this.description);
    const now = Date.now();
    this.seen.push({ at: now, max: extent.max?.value ?? -1n });
    const settled = [...this.seen].reverse().find((s) => BigInt(now - s.at) * 1000n >= this.settle);
    return settled === undefined ? undefined : { kind, value: settled.max + 1n };
  }
}

export interface AbandonReport {
  readonly runId: string;
  readonly view: string;
  readonly droppedView: boolean;
  readonly droppedTarget: boolean;
  readonly target: string;
  readonly cutoff: string | undefined;
}

/**
 * Abandons the unfinished add-view of this configuration (`add-view --abandon`): drops its shadows, and the live
 * view and its target when this run created them; the journal records `run-abandoned`, so the run is never
 * resumed. Refused once history began moving into the view target (finish the run instead). Takes the view's
 * lease like add-view: refused while another process works on the view (`lease.wait` waits for it).
 */
export async function abandonAddView(
  config: ViewConfig,
  adapter: ViewAdapter,
  options: { readonly lease?: LeaseOptions; readonly onEvent?: AddViewEventSink } = {},
): Promise<AbandonReport> {
  const held = await leaseView(config, adapter, options, (event) => options.onEvent?.(event));
  try {
    const { unfinished } = await findViewRuns(adapter.journal, viewFingerprint(config));
    if (!unfinished) {
      throw new JournalError(
        'NOTHING_TO_DO',
        `nothing to abandon: no unfinished add-view of ${config.target.database}.${config.view.name}`,
      );
    }
    return await abandonRun(config, adapter, held, unfinished, 'abandoned with add-view --abandon');
  } finally {
    await held.release().catch(() => undefined);
  }
}

/** Gives `unfinished` up; the caller holds the view's lease. */
async function abandonRun(
  config: ViewConfig,
  adapter: ViewAdapter,
  held: HeldLease,
  unfinished: AddViewState,
  reason: string,
): Promise<AbandonReport> {
  const spec = viewSpec(config);
  const viewName = `${spec.database}.${spec.name}`;
  if (unfinished.swapBegan) {
    throw new JournalError(
      'JOURNAL_CONFLICT',
      `run ${unfinished.runId} already began moving history into ${spec.to ?? viewName} — finish it instead (run add-view again without --new-run)`,
    );
  }
  const description = await adapter.describe(spec, { resuming: true });
  const journal = new JournalWriter(
    adapter.journal,
    unfinished.runId,
    viewFingerprint(config),
    unfinished.lastSeq,
    () => held.confirm(),
  );
  const run = contextOf(unfinished.runId, spec, description, unfinished.started, config);
  const events = await adapter.journal.readRun(unfinished.runId);
  const created = events.find((e) => e.kind === 'view-created');
  const targetCreated = created
    ? (JSON.parse(created.data || '{}') as { targetCreated?: boolean }).targetCreated === true
    : false;
  await held.confirm(true);
  if (adapter.capabilities.shadowsTarget) await adapter.dropShadows(run);
  // The adapter drops the view only when it is this run's (its definition carries this run's cutoff).
  const dropped = await adapter.dropView(run, { target: targetCreated });
  await journal.append('run-abandoned', { data: { reason, host: hostname(), pid: process.pid } });
  return {
    runId: unfinished.runId,
    view: viewName,
    droppedView: dropped.droppedView,
    droppedTarget: dropped.droppedTarget,
    target: description.target,
    cutoff: run.cutoff === undefined ? undefined : formatPosition(run.cutoff),
  };
}
