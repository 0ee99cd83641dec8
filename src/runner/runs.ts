/**
 * What the runner and the abandon command share: the runs of a configuration as the journal tells them, the
 * RunContext of a run, and taking the live table's lease.
 */
import type { RunContext, TargetAdapter, TargetDescription } from '../adapter/contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import { tableLeaseKey } from '../journal/lease.ts';
import { groupRuns, reduceRun, type RunStartedData, type RunState } from '../journal/state.ts';
import type { ObjectStoreLocation } from '../source/types.ts';
import type { RunEvent } from './events.ts';
import { acquireLeaseWithEvents, type HeldLease, type LeaseOptions } from './lease.ts';

/** The journal's view of this configuration: the run to resume, or the finished one. Abandoned runs are neither. */
export async function findRuns(
  adapter: TargetAdapter,
  fingerprint: string,
): Promise<{ unfinished: RunState | undefined; finished: RunState | undefined; all: RunState[] }> {
  const runs = groupRuns(await adapter.journal.readByFingerprint(fingerprint))
    .map(reduceRun)
    .filter((r): r is RunState => r !== undefined);
  return {
    all: runs,
    unfinished: [...runs].reverse().find((r) => !r.finished && !r.abandoned),
    finished: [...runs].reverse().find((r) => r.finished),
  };
}

/** `database.table` of the configured live table, for messages. */
export function tableOf(config: BackfillConfig): string {
  return `${config.target.database}.${config.target.table}`;
}

/** Takes the lease of the configured live table (see src/runner/lease.ts), reporting waits and takeovers. */
export async function leaseTable(
  config: BackfillConfig,
  adapter: TargetAdapter,
  options: { lease?: LeaseOptions; signal?: AbortSignal },
  emit: (event: RunEvent) => void,
): Promise<HeldLease> {
  return acquireLeaseWithEvents(
    adapter.lease,
    tableLeaseKey(adapter.kind, config.target.database, config.target.table),
    tableOf(config),
    options,
    emit,
  );
}

/** The RunContext of run `runId` as its `run-started` event describes it. */
export function contextOf(
  config: BackfillConfig,
  store: ObjectStoreLocation,
  target: TargetDescription,
  runId: string,
  started: Pick<RunStartedData, 'filter' | 'sourceColumns'>,
  emit: (event: RunEvent) => void,
): RunContext {
  return { runId, config, store, target, filter: started.filter, sourceColumns: started.sourceColumns, emit };
}
