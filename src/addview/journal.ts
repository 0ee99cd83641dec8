/**
 * The journal of add-view runs: the same append-only table as backfill runs (each adapter's JournalStore),
 * with the same event kinds where they mean the same thing — a window is a batch (`batch-loaded` = verified,
 * `batch-committed`), the partition moves are swap units, `run-abandoned` gives a run up — plus `view-created`
 * and `windows-planned`. This is the only place that gives add-view events meaning. Who may write them is the
 * view's lease (src/addview/lease.ts), checked by the journal writer before every write.
 */
import { createHash } from 'node:crypto';
import type { TableMeasurement } from '../adapter/contract.ts';
import type { ViewSpec, ViewWindow } from '../adapter/view-contract.ts';
import { groupRuns } from '../journal/state.ts';
import type { JournalEvent, JournalStore } from '../journal/types.ts';
import type { ViewConfig } from './config.ts';
import { positionFromJson, positionToJson, type PositionJson } from './position.ts';

export interface WindowJson {
  readonly index: number;
  readonly lo: PositionJson | null;
  readonly hi: PositionJson;
  /** Object keys (history from object storage); the objects themselves are in `objects`. */
  readonly objects?: readonly { key: string; size: number; uri: string; httpUrl: string }[];
}

/** What `run-started` records for an add-view: everything a resumed invocation needs. */
export interface AddViewStartedData {
  readonly addView: {
    readonly spec: ViewSpec;
    readonly cutoff: PositionJson | null;
    readonly history:
      { readonly kind: 'source-table' } | { readonly kind: 'object-store'; readonly split: PositionJson };
    readonly windows: readonly WindowJson[];
    /** window, margin (column units), settle and wait (µs), as decimal text. */
    readonly sizes: {
      readonly window: string;
      readonly margin: string;
      readonly settle: string;
      readonly wait: string;
    };
    readonly before: readonly TableMeasurement[];
  };
}

/** A verified window, as `batch-loaded` records it. */
export interface WindowResult {
  readonly sourceRows: number;
  /** As `WindowCheck.stableRows` (a source whose merges change its row count). */
  readonly stableRows?: number;
  /** Checked against a full recomputation from the source (else by cheap comparisons only). */
  readonly full?: boolean;
  readonly comparisons: readonly { what: string; expected: number; actual: number }[];
  readonly landed: Readonly<Record<string, number>>;
}

export type WindowState = 'pending' | 'verified' | 'committed';

export interface AddViewState {
  readonly runId: string;
  readonly startedAt: string;
  readonly started: AddViewStartedData['addView'];
  readonly windows: readonly WindowState[];
  readonly results: ReadonlyMap<number, WindowResult>;
  readonly failures: number;
  readonly viewCreated: boolean;
  readonly swapBegan: boolean;
  readonly unitsDone: ReadonlySet<string>;
  readonly swapFinished: boolean;
  readonly finished: boolean;
  /** Why the run was given up (`add-view --abandon`, `--new-run`); it is never resumed. */
  readonly abandoned: string | undefined;
  readonly abandonedAt: string | undefined;
  readonly finishedAt: string | undefined;
  readonly lastSeq: number;
}

/**
 * A configuration's identity for add-view: what makes two invocations "the same view". Not `window` (a run
 * resumed with another window re-plans its remaining windows), nor settings and credentials.
 */
export function viewFingerprint(config: ViewConfig): string {
  const v = config.view;
  const identity = {
    command: 'add-view',
    kind: config.target.kind,
    database: config.target.database,
    source: config.target.table,
    view: v.name,
    to: v.to ?? null,
    select: v.select.trim(),
    cutoffColumn: v.cutoff_column ?? null,
    cutoff: v.cutoff,
    history: config.source ? { url: config.source.url, endpoint: config.source.endpoint ?? null } : null,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

export function windowToJson(w: ViewWindow): WindowJson {
  return {
    index: w.index,
    lo: w.lo === undefined ? null : positionToJson(w.lo),
    hi: positionToJson(w.hi),
    ...(w.objects
      ? { objects: w.objects.map((o) => ({ key: o.key, size: o.size, uri: o.uri, httpUrl: o.httpUrl })) }
      : {}),
  };
}

export function windowFromJson(w: WindowJson): ViewWindow {
  return {
    index: w.index,
    lo: w.lo === null ? undefined : positionFromJson(w.lo),
    hi: positionFromJson(w.hi),
    ...(w.objects ? { objects: w.objects } : {}),
  };
}

function parse<T>(data: string): T | undefined {
  if (!data) return undefined;
  try {
    return JSON.parse(data) as T;
  } catch {
    return undefined;
  }
}

/** One add-view run's state from its events; undefined for runs that are not add-views. */
export function reduceAddView(events: readonly JournalEvent[]): AddViewState | undefined {
  const start = events.find((e) => e.kind === 'run-started');
  const started = start ? parse<AddViewStartedData>(start.data)?.addView : undefined;
  if (!start || !started) return undefined;
  let plan = started;
  const windows: WindowState[] = started.windows.map(() => 'pending');
  const results = new Map<number, WindowResult>();
  const unitsDone = new Set<string>();
  let failures = 0;
  let viewCreated = false;
  let swapBegan = false;
  let swapFinished = false;
  let finishedAt: string | undefined;
  let abandoned: string | undefined;
  let abandonedAt: string | undefined;
  let lastSeq = 0;
  for (const e of events) {
    lastSeq = Math.max(lastSeq, e.seq);
    switch (e.kind) {
      case 'view-created':
        viewCreated = true;
        break;
      case 'batch-loaded': {
        const result = parse<WindowResult>(e.data);
        if (result) results.set(e.batch, result);
        if (windows[e.batch] === 'pending') windows[e.batch] = 'verified';
        break;
      }
      case 'batch-committed':
        windows[e.batch] = 'committed';
        break;
      case 'batch-failed':
        failures += 1;
        break;
      case 'swap-began':
        swapBegan = true;
        break;
      case 'swap-unit-done':
        unitsDone.add(e.unit);
        break;
      case 'swap-finished':
        swapFinished = true;
        break;
      case 'run-finished':
        finishedAt = e.at;
        break;
      case 'run-abandoned':
        abandonedAt = e.at;
        abandoned = parse<{ reason?: string }>(e.data)?.reason ?? 'abandoned';
        break;
      case 'windows-planned': {
        const data = parse<{ from: number; windows: WindowJson[]; window: string }>(e.data);
        if (!data) break;
        plan = {
          ...plan,
          windows: [...plan.windows.slice(0, data.from), ...data.windows],
          sizes: { ...plan.sizes, window: data.window },
        };
        windows.length = data.from;
        for (let i = data.from; i < plan.windows.length; i += 1) {
          windows.push('pending');
          results.delete(i);
        }
        break;
      }
      default:
        break;
    }
  }
  return {
    runId: start.runId,
    startedAt: start.at,
    started: plan,
    windows,
    results,
    failures,
    viewCreated,
    swapBegan,
    unitsDone,
    swapFinished,
    finished: finishedAt !== undefined,
    abandoned,
    abandonedAt,
    finishedAt,
    lastSeq,
  };
}

/** The add-view runs of a fingerprint: the one to resume, the last finished one, and all (oldest first). */
export async function findViewRuns(
  journal: JournalStore,
  fingerprint: string,
): Promise<{
  unfinished: AddViewState | undefined;
  finished: AddViewState | undefined;
  all: readonly AddViewState[];
}> {
  const runs = groupRuns(await journal.readByFingerprint(fingerprint))
    .map(reduceAddView)
    .filter((r): r is AddViewState => r !== undefined);
  return {
    all: runs,
    unfinished: [...runs].reverse().find((r) => !r.finished && r.abandoned === undefined),
    finished: [...runs].reverse().find((r) => r.finished),
  };
}
