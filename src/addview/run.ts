/**
 * The add-view runner: adds a view to a live table and backfills its history through one ViewAdapter,
 * journaling every step so that any interruption (Ctrl-C, kill -9) is continued — never repeated — by the
 * next invocation.
 *
 *   validate → resolve cutoff + windows (journal run-started) → lease → create target/view (view-created)
 *   → shadows → per window, oldest first: wait for the horizon → prepare → run → check → (batch-loaded)
 *   → commit (batch-committed) → [catch-up refresh] → reconcile → swap units → finish view → drop shadows
 *   → measure (run-finished) → report
 *
 * Live rows from the cutoff on go through the live view from the moment it exists; every row below the cutoff
 * is pushed through a shadow of it, window by window, and moved into the view target only after the whole
 * history is verified. Nothing is counted twice: a row is below the cutoff (history) or not (live view).
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
import { JournalError, ResourceLimitError, ShadowfillError, VerifyError, oneLine } from '../errors.ts';
import { newRunId } from '../runner/fingerprint.ts';
import { createS3Client } from '../source/s3-client.ts';
import { resolveLocation } from '../source/location.ts';
import { resolveSizes, type ViewConfig } from './config.ts';
import type { AddViewEvent, AddViewEventSink } from './events.ts';
import {
  findViewRuns,
  viewFingerprint,
  ViewJournal,
  windowFromJson,
  windowToJson,
  type AddViewStartedData,
  type AddViewState,
  type WindowResult,
  type WindowState,
} from './journal.ts';
import { formatPosition, formatRange, formatSize, positionFromJson, positionToJson } from './position.ts';
import { replanRemaining, resolveRun } from './resolve.ts';
import { sampledWindows } from './windows.ts';

export interface AddViewOptions {
  /** Start a new run although this configuration finished one (its view must have been dropped meanwhile). */
  readonly newRun?: boolean;
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

/** Errors another attempt of the same window cannot fix. */
const PERMANENT = new Set([
  'CONFIG_INVALID',
  'SOURCE_CORRUPT',
  'SOURCE_ACCESS_DENIED',
  'SCHEMA_MISMATCH',
  'TARGET_ACCESS_DENIED',
  'TARGET_MISSING',
  'TARGET_UNSUPPORTED',
  'JOURNAL_CONFLICT',
]);

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
          scheduleInterval: v.refresh_policy.schedule_interval ?? '1 hour',
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
  const checkpoint = () => {
    if (options.signal?.aborted) {
      throw new ShadowfillError(
        'INTERRUPTED',
        'interrupted: add-view stopped after its last finished step — run the same command again to resume',
        { exitCode: 130 },
      );
    }
  };
  const caps = adapter.capabilities;
  const spec = viewSpec(config);
  const fingerprint = viewFingerprint(config);
  const viewName = `${spec.database}.${spec.name}`;

  const runs = await findViewRuns(adapter.journal, fingerprint);
  if (options.newRun && runs.unfinished) {
    throw new JournalError(
      'JOURNAL_CONFLICT',
      `run ${runs.unfinished.runId} adding ${viewName} is unfinished — resume it (run again without --new-run) or abandon it with --abandon`,
    );
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
  let journal: ViewJournal;
  try {
    if (state) {
      runId = state.runId;
      started = state.started;
      journal = new ViewJournal(adapter.journal, runId, fingerprint, state.lastSeq);
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
      await adapter.journal.ensure();
      journal = new ViewJournal(adapter.journal, runId, fingerprint, 0);
      await journal.append('run-started', { data: { addView: started } });
    }
  } finally {
    client?.destroy();
  }

  await journal.acquire(viewName, sleep);
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

  const stopHeartbeat = journal.heartbeat();
  try {
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
      checkpoint();
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
      await timed('window', () => adapter.runWindow(run, whole));
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
        checkpoint();
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
            { exitCode: 75 },
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
        await journal.renew();
        checkpoint();
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
            comparisons: check.comparisons,
            landed: check.landed,
          };
          await journal.append('batch-loaded', { batch: w.index, data: result });
          return result;
        } catch (error) {
          const failure = windowError(error, w);
          const permanent =
            failure instanceof ResourceLimitError ||
            (failure instanceof ShadowfillError && PERMANENT.has(failure.code));
          const willRetry = !permanent && attempt < config.attempts;
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
        const objectRows = windows
          .filter((w) => w.objects)
          .reduce((n, w) => n + (results.get(w.index)?.sourceRows ?? 0), 0);
        sourceRows = objectRows + (await adapter.countWindow(run, span));
        if (sourceRows !== rowsConsumed && beforeSwap) {
          const late: string[] = [];
          for (const w of tableWindows) {
            const now = await adapter.countWindow(run, w);
            const then = results.get(w.index)?.sourceRows ?? 0;
            if (now !== then) late.push(`window ${w.index + 1} ${rangeOf(w)}: ${now - then}`);
          }
          throw new VerifyError(
            `${sourceRows - rowsConsumed} rows of ${description.source} below the cutoff arrived after their window ran ` +
              `(${late.slice(0, 3).join('; ')}${late.length > 3 ? '; …' : ''}); nothing was moved into ${description.target} — ` +
              `abandon this run with --abandon, raise view.settle, and add the view again`,
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
    stopHeartbeat();
    await journal.append('run-stopped', { data: { error: oneLine(error) } }).catch(() => undefined);
    await journal.release().catch(() => undefined);
    throw error;
  } finally {
    stopHeartbeat();
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
 * Abandons the unfinished add-view of this configuration: drops its shadows, and the live view and its target
 * when this run created them; the run is journaled as finished (abandoned) and never resumed. Refused once
 * history began moving into the view target (finish the run instead).
 */
export async function abandonAddView(
  config: ViewConfig,
  adapter: ViewAdapter,
  options: { readonly sleep?: (ms: number) => Promise<void> } = {},
): Promise<AbandonReport> {
  const spec = viewSpec(config);
  const fingerprint = viewFingerprint(config);
  const viewName = `${spec.database}.${spec.name}`;
  const { unfinished } = await findViewRuns(adapter.journal, fingerprint);
  if (!unfinished) {
    throw new JournalError('NOTHING_TO_DO', `nothing to abandon: no unfinished add-view of ${viewName}`);
  }
  if (unfinished.swapBegan) {
    throw new JournalError(
      'JOURNAL_CONFLICT',
      `run ${unfinished.runId} already began moving history into ${spec.to ?? viewName} — finish it instead (run add-view again)`,
    );
  }
  const description = await adapter.describe(spec, { resuming: true });
  const journal = new ViewJournal(adapter.journal, unfinished.runId, fingerprint, unfinished.lastSeq);
  await journal.acquire(viewName, options.sleep ?? defaultSleep);
  const run = contextOf(unfinished.runId, spec, description, unfinished.started, config);
  const events = await adapter.journal.readRun(unfinished.runId);
  const created = events.find((e) => e.kind === 'view-created');
  const targetCreated = created
    ? (JSON.parse(created.data || '{}') as { targetCreated?: boolean }).targetCreated === true
    : false;
  if (adapter.capabilities.shadowsTarget) await adapter.dropShadows(run);
  // The adapter drops the view only when it is this run's (its definition carries this run's cutoff).
  const dropped = await adapter.dropView(run, { target: targetCreated });
  await journal.append('run-finished', { data: { abandoned: 'abandoned with --abandon' } });
  return {
    runId: unfinished.runId,
    view: viewName,
    droppedView: dropped.droppedView,
    droppedTarget: dropped.droppedTarget,
    target: description.target,
    cutoff: run.cutoff === undefined ? undefined : formatPosition(run.cutoff),
  };
}
