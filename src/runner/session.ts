/**
 * What the steps of one invocation share (src/runner/executor.ts and the steps it runs): the configuration, the
 * adapter and its run context, the journal writer, the progress sink, phase timing, the step guard (Ctrl-C, the
 * lease), and what was verified so far.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { BatchSpec, Lane, RunContext, TableVerification, TargetAdapter } from '../adapter/contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import type { RunStartedData } from '../journal/state.ts';
import type { JournalWriter } from '../journal/writer.ts';
import type { DecodePool } from '../workers/pool.ts';
import type { RunEvent } from './events.ts';
import type { HeldLease } from './lease.ts';

export interface RunSession {
  readonly config: BackfillConfig;
  readonly adapter: TargetAdapter;
  readonly client: S3Client;
  /**
   * Decode threads shared by the lanes (targets taking encoded pieces, with several workers): Parquet is downloaded,
   * decoded and encoded off the main thread. Undefined: on this thread.
   */
  readonly pool: DecodePool | undefined;
  /** The run's context (default lane). */
  readonly run: RunContext;
  readonly started: RunStartedData;
  readonly journal: JournalWriter;
  /** `database.table`, for messages. */
  readonly table: string;
  readonly emit: (event: RunEvent) => void;
  readonly timed: <T>(phase: string, fn: () => Promise<T>) => Promise<T>;
  /** Throws INTERRUPTED after Ctrl-C. */
  readonly checkpoint: () => void;
  /** The table's lease while this process performs the run; undefined while it only joins it. */
  lease: HeldLease | undefined;
  /** Checks made so far (per batch, per table), for the report. */
  readonly checks: TableVerification[];
  /** Failed batch attempts (journaled before this invocation, and since). */
  retries: number;
  /** The run's swap began (journaled): live tables changed, the run can only be finished now. */
  swapBegan: () => boolean;
}

/** Before every step that changes something: stop on Ctrl-C, or when another process took the lease. */
export async function guardStep(session: RunSession): Promise<void> {
  session.checkpoint();
  await session.lease?.confirm();
}

/** The run context of `lane` ('' = the default lane: the run's own context). */
export function laneContext(session: RunSession, lane: Lane | string): RunContext {
  const value = typeof lane === 'string' ? { id: lane, holder: '' } : lane;
  return value.id === '' && typeof lane === 'string' ? session.run : { ...session.run, lane: value };
}

/**
 * Rows the batch selects from the source: counted while streaming, else the footers' row counts when there is
 * no filter (what a count() over Parquet reads too), else counted by the database.
 */
export async function expectedRows(
  session: RunSession,
  batch: BatchSpec,
  streamedRows: number | undefined,
): Promise<number> {
  if (streamedRows !== undefined) return streamedRows;
  const { adapter, run, started } = session;
  if (run.filter && adapter.capabilities.countsSourceRows && adapter.countSourceRows) {
    return adapter.countSourceRows(run, batch);
  }
  return batch.objects.reduce((n, o) => n + (started.objectRows[o.key] ?? 0), 0);
}

export function batchBytes(batch: BatchSpec): number {
  return batch.objects.reduce((n, o) => n + o.size, 0);
}
