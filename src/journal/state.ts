/**
 * Derives a run's state from its journal events. The journal is append-only; this is the only place that
 * interprets it.
 */
import type { JournalEvent } from './types.ts';
import type {
  BatchSpec,
  MeasureScope,
  TimeDimension,
  RowFilter,
  SwapState,
  TableMeasurement,
  TableVerification,
} from '../adapter/contract.ts';
import { JournalError } from '../errors.ts';
import type { RunMode } from '../config/types.ts';
import type { RangeText } from '../scheduler/ranges.ts';
import type { SourceColumn } from '../source/types.ts';

/** What `run-started` records: everything a resumed invocation needs to continue the very same run. */
export interface RunStartedData {
  readonly table: string;
  readonly sourceUrl: string;
  readonly filter: RowFilter | undefined;
  readonly sourceColumns: readonly SourceColumn[];
  readonly batches: readonly BatchSpec[];
  /** Rows per object key from the Parquet footers (before any filter). */
  readonly objectRows: Readonly<Record<string, number>>;
  readonly before: readonly TableMeasurement[];
  /** What `before` measured, measured again after the swap (absent in runs journaled before it existed). */
  readonly scope?: MeasureScope;
  /** How the swap meets the loads (absent in runs journaled before modes existed: historical). */
  readonly mode?: RunMode;
  /** The time dimension batches were ordered by, if any. */
  readonly timeDimension?: TimeDimension;
  /** Per batch: its range in time keys `[first, last]` as decimal text, or null when unknown. */
  readonly ranges?: readonly RangeText[];
  /** Batches planned in time order (every object had statistics) or object order. */
  readonly order?: 'time' | 'object';
  /** Objects without statistics for the time column (why the order is `object`), at most a few named. */
  readonly withoutStatistics?: readonly string[];
}

export type BatchState = 'pending' | 'loaded' | 'committed';

export interface RunState {
  readonly runId: string;
  readonly fingerprint: string;
  readonly startedAt: string;
  readonly started: RunStartedData;
  readonly batches: readonly BatchState[];
  /** Rows verified per batch (from `batch-loaded`). */
  readonly batchRows: ReadonlyMap<number, number>;
  /**
   * The lane whose landing holds each loaded batch: the one its commit began from (`batch-committing`), else the
   * first `batch-loaded` (several processes may have loaded it into their own lanes).
   */
  readonly batchLanes: ReadonlyMap<number, string>;
  /**
   * The batch whose commit began (`batch-committing`) and was not journaled done: an invocation killed in the middle
   * of moving its landing. The next one finishes that commit before any other (the shadow holds part of it).
   */
  readonly committing: number | undefined;
  readonly failures: number;
  readonly swapState: SwapState | undefined;
  readonly unitsDone: ReadonlySet<string>;
  readonly swapFinished: boolean;
  readonly finished: boolean;
  readonly finishedAt: string | undefined;
  /** Given up (`shadowfill abandon` or `--new-run`): never resumed, its objects dropped. */
  readonly abandoned: boolean;
  readonly abandonedAt: string | undefined;
  /** The run's shadows were created (`shadows-created`, journaled where other processes can join the run). */
  readonly shadowsCreated: boolean;
  /** What was verified before the swap began (from `shadow-verified`). */
  readonly shadowChecks: readonly TableVerification[];
  readonly lastSeq: number;
}

/** Groups events by run, in the order the runs started. */
export function groupRuns(events: readonly JournalEvent[]): JournalEvent[][] {
  const byRun = new Map<string, JournalEvent[]>();
  for (const e of events) {
    const list = byRun.get(e.runId) ?? [];
    list.push(e);
    byRun.set(e.runId, list);
  }
  const runs = [...byRun.values()].map((list) => list.sort(byOrder));
  return runs.sort((a, b) => (a[0]!.at < b[0]!.at ? -1 : a[0]!.at > b[0]!.at ? 1 : 0));
}

/** Journal order: seq, then time (several processes may write the same seq where the store allows it). */
function byOrder(a: JournalEvent, b: JournalEvent): number {
  if (a.seq !== b.seq) return a.seq - b.seq;
  return a.at < b.at ? -1 : a.at > b.at ? 1 : 0;
}

export function reduceRun(unordered: readonly JournalEvent[]): RunState | undefined {
  const events = [...unordered].sort(byOrder);
  const start = events.find((e) => e.kind === 'run-started');
  if (!start) return undefined;
  const started = JSON.parse(start.data) as RunStartedData;
  const batches: BatchState[] = started.batches.map(() => 'pending');
  const batchRows = new Map<number, number>();
  const loadedLanes = new Map<number, string>();
  const committingLanes = new Map<number, string>();
  let committing: number | undefined;
  const unitsDone = new Set<string>();
  let swapState: SwapState | undefined;
  let swapFinished = false;
  let finishedAt: string | undefined;
  let abandonedAt: string | undefined;
  let shadowChecks: TableVerification[] = [];
  let failures = 0;
  let shadowsCreated = false;
  let lastSeq = 0;
  for (const e of events) {
    lastSeq = Math.max(lastSeq, e.seq);
    switch (e.kind) {
      case 'batch-loaded': {
        if (batches[e.batch] === 'pending') batches[e.batch] = 'loaded';
        const data = JSON.parse(e.data || '{}') as { rows?: number; lane?: string };
        batchRows.set(e.batch, data.rows ?? 0);
        if (!loadedLanes.has(e.batch)) loadedLanes.set(e.batch, data.lane ?? '');
        break;
      }
      case 'batch-committing':
        committingLanes.set(e.batch, (JSON.parse(e.data || '{}') as { lane?: string }).lane ?? '');
        if (batches[e.batch] !== 'committed') committing = e.batch;
        break;
      case 'batch-committed':
        batches[e.batch] = 'committed';
        if (committing === e.batch) committing = undefined;
        break;
      case 'batch-failed':
        failures += 1;
        break;
      case 'swap-began':
        swapState = swapStateOf(e.data);
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
        break;
      case 'shadows-created':
        shadowsCreated = true;
        break;
      case 'shadow-verified':
        shadowChecks = JSON.parse(e.data || '[]') as TableVerification[];
        break;
      default:
        break;
    }
  }
  return {
    runId: start.runId,
    fingerprint: start.fingerprint,
    startedAt: start.at,
    started,
    batches,
    batchRows,
    batchLanes: new Map([...loadedLanes, ...committingLanes]),
    committing,
    failures,
    swapState,
    unitsDone,
    swapFinished,
    finished: finishedAt !== undefined,
    finishedAt,
    abandoned: abandonedAt !== undefined && finishedAt === undefined,
    abandonedAt,
    shadowsCreated,
    shadowChecks,
    lastSeq,
  };
}

/**
 * The swap state a `swap-began` event carries: a JSON object the engine keeps opaque (the adapter validates its
 * own type from it). Anything else is a damaged journal.
 */
function swapStateOf(data: string): SwapState {
  const value: unknown = JSON.parse(data || '{}');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JournalError(
      'JOURNAL_CONFLICT',
      `a swap-began event of the journal holds ${data}, not an object`,
    );
  }
  return value as SwapState;
}
