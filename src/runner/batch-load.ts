/**
 * One lane loading one batch, with its retries: prepare the lane's landing → load (stream.ts) → verify (rows landed
 * = rows the source selects; every view target's landing reconciled) → journal `batch-loaded {rows, lane}`. A
 * retryable failure journals `batch-failed` and tries again (up to `attempts`); a permanent one, or the last
 * attempt, throws with advice that works inside a run. A batch another live process is loading throws
 * BATCH_CLAIMED (not a failure); one whose claim says it was loaded already is journaled as it is.
 */
import type { BatchSpec, Lane, LoadAttempt, TimeSlice } from '../adapter/contract.ts';
import { ShadowfillError, VerifyError, isRetryable, oneLine } from '../errors.ts';
import { rangeFromText, timeKeyText } from '../scheduler/ranges.ts';
import { withRunAdvice } from './advice.ts';
import { batchBytes, expectedRows, guardStep, laneContext, type RunSession } from './session.ts';
import { loadBatchData } from './stream.ts';

export interface LaneWorker {
  readonly lane: Lane;
  /** 1-based number shown in progress (`worker 2`). */
  readonly number: number;
}

/** Loads and verifies `batch` on `worker`'s lane; returns its verified rows. */
export async function loadBatchOnLane(
  session: RunSession,
  batch: BatchSpec,
  worker: LaneWorker,
): Promise<number> {
  const { adapter, config, emit, journal, timed, table } = session;
  const run = laneContext(session, worker.lane);
  const bytes = batchBytes(batch);
  for (let attempt = 1; ; attempt += 1) {
    const started = Date.now();
    emit({ type: 'worker-started', worker: worker.number, batch: batch.index, attempt });
    emit({ type: 'batch-started', batch: batch.index, attempt, objects: batch.objects.length, bytes });
    try {
      await guardStep(session);
      await timed('load', () => adapter.prepareBatch(run, batch));
      await guardStep(session);
      let verifiedInLoad: number | undefined;
      const verifier = (counted: () => number | undefined): LoadAttempt => ({
        verify: async (landed, slices) => {
          const sourceRows = await expectedRows(session, batch, counted());
          if (landed !== sourceRows) throw mismatch(batch, landed, sourceRows);
          checkSlices(session, batch, slices);
          verifiedInLoad = landed;
        },
      });
      const loaded = await timed('load', () =>
        loadBatchData(adapter, session.client, run, batch, verifier, session.pool),
      );
      if (loaded.alreadyLoaded) {
        await journal.append('batch-loaded', {
          batch: batch.index,
          data: { rows: loaded.rowsWritten, lane: worker.lane.id },
        });
        emit({
          type: 'worker-finished',
          worker: worker.number,
          batch: batch.index,
          rows: loaded.rowsWritten,
          seconds: (Date.now() - started) / 1000,
        });
        return loaded.rowsWritten;
      }
      emit({
        type: 'batch-loaded',
        batch: batch.index,
        rows: loaded.rowsWritten,
        bytes,
        seconds: (Date.now() - started) / 1000,
      });
      const sourceRows = await timed('verify', () => expectedRows(session, batch, loaded.streamedRows));
      // Where the adapter verified the rows inside the transaction that committed them with the batch's claim, the
      // batch is no longer this lane's alone: another process may commit and swap it at once (its staged rows move
      // away), so the count made in that transaction is the one that holds.
      const landed =
        adapter.capabilities.claimsBatches && verifiedInLoad !== undefined
          ? verifiedInLoad
          : await timed('verify', () => adapter.countLandedRows(run, batch));
      if (landed !== sourceRows) throw mismatch(batch, landed, sourceRows);
      session.checks.push({
        table,
        scope: 'batch',
        method: 'rows landed = rows the source selects',
        exact: true,
        ok: true,
        detail: `batch ${batch.index + 1}: ${landed} rows`,
      });
      if (adapter.capabilities.shadowsViews && adapter.verifyViewTargets) {
        const views = await timed('verify', () => adapter.verifyViewTargets!(run, 'landing'));
        const failed = views.find((v) => !v.ok);
        if (failed) {
          throw new VerifyError(
            `batch ${batch.index + 1}: the landing of view target ${failed.table} does not match its views ` +
              `over the batch (${failed.method}: ${failed.detail}) — the batch was discarded; rerun to retry it`,
          );
        }
        session.checks.push(...views.map((v) => ({ ...v, detail: `batch ${batch.index + 1}: ${v.detail}` })));
      }
      emit({ type: 'batch-verified', batch: batch.index, rows: landed, sourceRows });
      await journal.append('batch-loaded', {
        batch: batch.index,
        data: { rows: landed, lane: worker.lane.id },
      });
      emit({
        type: 'worker-finished',
        worker: worker.number,
        batch: batch.index,
        rows: landed,
        seconds: (Date.now() - started) / 1000,
      });
      return landed;
    } catch (error) {
      // A Ctrl-C, a batch another process is loading, or a lost lease is not a failure of the batch: stop without
      // touching anything else. A step that failed because another process took the lease over (and, say,
      // finished the run and dropped the landing) reports the lost lease, its cause.
      const code = (error as ShadowfillError).code;
      if (code === 'INTERRUPTED' || code === 'BATCH_CLAIMED') throw error;
      // A process that joined the run finds the run's tables gone: the process performing it finished and dropped
      // them meanwhile (the executor checks the journal), not a failure of the batch.
      if (!session.lease && code === 'TARGET_MISSING') throw error;
      const lease = session.lease;
      if (lease) {
        await lease.confirm(true).catch((lost: unknown) => {
          if (lease.lost) throw lost;
        });
        if (lease.lost) throw error;
      }
      const willRetry = isRetryable(error) && attempt < config.attempts;
      await journal.append('batch-failed', {
        batch: batch.index,
        data: { attempt, error: oneLine(error), retryable: isRetryable(error) },
      });
      emit({ type: 'batch-failed', batch: batch.index, attempt, error: oneLine(error), willRetry });
      session.retries += 1;
      if (!willRetry) throw withRunAdvice(error, session.run.runId, session.swapBegan());
    }
  }
}

/**
 * Historical mode trusts each batch's range from its objects' footer statistics: a slice that ends before the
 * smallest start of any unfinished batch is final (swapped, compressed). A batch with rows in a slice that ends
 * before its own range begins reaches a slice that may be final already: its rows still go in exactly once (the
 * slice is swapped again once the batch commits, and compressed again), but the statistics were wrong and the
 * slice was not final — said in a `batch-outside-range` event. (Rows past the range's end, or before its start
 * within its first slice, reach nothing final.)
 */
function checkSlices(session: RunSession, batch: BatchSpec, slices: readonly TimeSlice[] | undefined): void {
  if (!slices || (session.started.mode ?? 'historical') !== 'historical') return;
  const range = rangeFromText(session.started.ranges?.[batch.index]);
  if (!range) return;
  const early = slices.filter((s) => s.hi <= range.first).sort((a, b) => (a.lo < b.lo ? -1 : 1));
  if (early.length === 0) return;
  const dimension = session.started.timeDimension;
  session.emit({
    type: 'batch-outside-range',
    batch: batch.index,
    objects: batch.objects.map((o) => o.uri),
    declaredStart: timeKeyText(range.first, dimension),
    rowsFrom: timeKeyText(early[0]!.lo, dimension),
    slices: early.length,
  });
}

function mismatch(batch: BatchSpec, landed: number, sourceRows: number): VerifyError {
  return new VerifyError(
    `batch ${batch.index + 1} landed ${landed} rows but the source selects ${sourceRows} ` +
      `(${batch.objects[0]?.uri} …) — the batch was discarded; rerun to retry it`,
  );
}
