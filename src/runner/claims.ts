/**
 * Batch claims kept by the engine, for targets that several processes can reach but that do not claim batches
 * themselves (ClickHouse servers): a claim is a lease (src/journal/lease.ts, the adapter's LeaseStore) on key
 * `claim:<run>:<batch>`, taken before the load, renewed by its heartbeat while the lane works, released after the
 * batch is journaled loaded (or failed). A claim whose holder died is taken over once it expires (at once when the
 * holder was a process of this machine). For such targets claims are an optimisation: exactness comes from the
 * commit (only the process holding the run's lease commits, once per batch, from the lane the journal names).
 */
import { JournalError } from '../errors.ts';
import type { LeaseStore } from '../journal/lease.ts';
import { acquireLease, type HeldLease } from './lease.ts';

export function claimKey(runId: string, batch: number): string {
  return `claim:${JSON.stringify([runId, batch])}`;
}

/**
 * Takes the claim on `batch` of run `runId`, or returns undefined when a live process holds it. The caller checks
 * the journal once it holds the claim (another process may have loaded the batch meanwhile).
 */
export async function claimBatch(
  store: LeaseStore,
  runId: string,
  batch: number,
  ttlMs: number,
): Promise<HeldLease | undefined> {
  try {
    return await acquireLease(store, claimKey(runId, batch), `batch ${batch + 1} of run ${runId}`, {
      ttlMs,
      wait: false,
    });
  } catch (error) {
    if (error instanceof JournalError && error.code === 'JOURNAL_CONFLICT') return undefined;
    throw error;
  }
}
