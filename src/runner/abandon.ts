/**
 * Abandoning runs (`shadowfill abandon --config F`, and `run --new-run` before it starts a new run): every
 * unfinished run of the configuration is given up — the adapter puts back what the run paused and drops its
 * landing, shadow and shadow-view objects — and the journal records `run-abandoned`, so the run is never resumed.
 * A run whose swap began is never abandoned: its rows are partly in the live tables, and only finishing it
 * (`shadowfill run`) leaves them whole.
 */
import { hostname } from 'node:os';
import type { TargetAdapter, TargetDescription } from '../adapter/contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import { JournalError } from '../errors.ts';
import type { RunState } from '../journal/state.ts';
import { resolveLocation } from '../source/location.ts';
import type { ObjectStoreLocation } from '../source/types.ts';
import type { EventSink, RunEvent } from './events.ts';
import { configFingerprint } from './fingerprint.ts';
import type { HeldLease, LeaseOptions } from './lease.ts';
import { contextOf, findRuns, leaseTable, tableOf } from './runs.ts';

export interface AbandonOptions {
  readonly onEvent?: EventSink;
  readonly signal?: AbortSignal;
  /** As for `run`: wait for another process holding the table, or stop at once (default). */
  readonly lease?: LeaseOptions;
}

export interface AbandonedRun {
  readonly runId: string;
  readonly startedAt: string;
  /** Batches the run had committed (now dropped with its shadow). */
  readonly committedBatches: number;
  readonly batches: number;
}

export interface AbandonReport {
  readonly table: string;
  readonly abandoned: readonly AbandonedRun[];
}

/** What abandoning needs; the caller holds the table's lease. */
export interface AbandonContext {
  readonly config: BackfillConfig;
  readonly adapter: TargetAdapter;
  readonly target: TargetDescription;
  readonly location: ObjectStoreLocation;
  readonly lease: HeldLease;
  readonly emit: (event: RunEvent) => void;
}

/** Abandons every unfinished run of `config` (see the module comment). The adapter must be connected. */
export async function abandonRun(
  config: BackfillConfig,
  adapter: TargetAdapter,
  options: AbandonOptions = {},
): Promise<AbandonReport> {
  const emit = (event: RunEvent) => options.onEvent?.(event);
  const target = await adapter.describe();
  const lease = await leaseTable(config, adapter, options, emit);
  try {
    const runs = await findRuns(adapter, configFingerprint(config));
    const abandoned = await abandonUnfinished(
      { config, adapter, target, location: resolveLocation(config.source), lease, emit },
      runs.all,
      'shadowfill abandon',
    );
    if (abandoned.length === 0) {
      const last = runs.finished;
      throw new JournalError(
        'NOTHING_TO_DO',
        `nothing to abandon: no unfinished run of this configuration on ${tableOf(config)}` +
          (last ? ` (run ${last.runId} finished at ${last.finishedAt})` : ''),
      );
    }
    return { table: tableOf(config), abandoned };
  } finally {
    await lease.release().catch(() => undefined);
  }
}

/**
 * Abandons the unfinished runs among `runs` (oldest first). Refuses, before changing anything, when one of them
 * began its swap.
 */
export async function abandonUnfinished(
  context: AbandonContext,
  runs: readonly RunState[],
  reason: string,
): Promise<AbandonedRun[]> {
  const { config, adapter, target, location, lease, emit } = context;
  const open = runs.filter((r) => !r.finished && !r.abandoned);
  const swapping = open.find((r) => r.swapState !== undefined);
  if (swapping) {
    throw new JournalError(
      'JOURNAL_CONFLICT',
      `run ${swapping.runId} of this configuration began swapping its rows into ${tableOf(config)}` +
        ` (${swapping.unitsDone.size} swap units recorded done): abandoning it would leave the table half-backfilled` +
        ` — finish it by running the same command without --new-run; it continues where it stopped`,
    );
  }
  const done: AbandonedRun[] = [];
  for (const r of open) {
    await lease.confirm();
    await adapter.abandon(contextOf(config, location, target, r.runId, r.started, emit), r.swapState);
    await lease.confirm();
    await adapter.journal.append({
      runId: r.runId,
      fingerprint: r.fingerprint,
      seq: r.lastSeq + 1,
      at: new Date().toISOString(),
      kind: 'run-abandoned',
      batch: -1,
      unit: '',
      data: JSON.stringify({ reason, host: hostname(), pid: process.pid }),
    });
    emit({ type: 'run-abandoned', runId: r.runId, reason });
    done.push({
      runId: r.runId,
      startedAt: r.startedAt,
      committedBatches: r.batches.filter((b) => b === 'committed').length,
      batches: r.batches.length,
    });
  }
  return done;
}
