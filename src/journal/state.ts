/**
 * Derives a run's state from its journal events. The journal is append-only; this is the only place that
 * interprets it.
 */
import type { JournalEvent } from './types.ts';
import type {
  BatchSpec,
  MeasureScope,
  RowFilter,
  SwapState,
  TableMeasurement,
  TableVerification,
} from '../adapter/contract.ts';
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
  readonly failures: number;
  readonly swapState: SwapState | undefined;
  readonly unitsDone: ReadonlySet<string>;
  readonly swapFinished: boolean;
  readonly finished: boolean;
  readonly finishedAt: string | undefined;
  /** Given up (`shadowfill abandon` or `--new-run`): never resumed, its objects dropped. */
  readonly abandoned: boolean;
  readonly abandonedAt: string | undefined;
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
  const runs = [...byRun.values()].map((list) => list.sort((a, b) => a.seq - b.seq));
  return runs.sort((a, b) => (a[0]!.at < b[0]!.at ? -1 : a[0]!.at > b[0]!.at ? 1 : 0));
}

export function reduceRun(events: readonly JournalEvent[]): RunState | undefined {
  const start = events.find((e) => e.kind === 'run-started');
  if (!start) return undefined;
  const started = JSON.parse(start.data) as RunStartedData;
  const batches: BatchState[] = started.batches.map(() => 'pending');
  const batchRows = new Map<number, number>();
  const unitsDone = new Set<string>();
  let swapState: SwapState | undefined;
  let swapFinished = false;
  let finishedAt: string | undefined;
  let abandonedAt: string | undefined;
  let shadowChecks: TableVerification[] = [];
  let failures = 0;
  let lastSeq = 0;
  for (const e of events) {
    lastSeq = Math.max(lastSeq, e.seq);
    switch (e.kind) {
      case 'batch-loaded':
        if (batches[e.batch] === 'pending') batches[e.batch] = 'loaded';
        batchRows.set(e.batch, (JSON.parse(e.data || '{}') as { rows?: number }).rows ?? 0);
        break;
      case 'batch-committed':
        batches[e.batch] = 'committed';
        break;
      case 'batch-failed':
        failures += 1;
        break;
      case 'swap-began':
        swapState = JSON.parse(e.data || '{}') as SwapState;
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
    failures,
    swapState,
    unitsDone,
    swapFinished,
    finished: finishedAt !== undefined,
    finishedAt,
    abandoned: abandonedAt !== undefined && finishedAt === undefined,
    abandonedAt,
    shadowChecks,
    lastSeq,
  };
}
