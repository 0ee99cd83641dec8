/**
 * Pausing and resuming the hypertable's compression policy job with `alter_job(id, scheduled => …)`, recording
 * the prior state in the swap-state table in the same transaction. Never touches `next_start` (the removed
 * timescaledb-extras `decompress_backfill` pushed it forward, which let a never-run job start concurrently).
 *
 * Pausing does not stop a run of the job that is already under way: TimescaleDB's scheduler cancels it once it
 * sees the change (src/bgw/scheduler.c, terminate_and_cleanup_job). `waitUntilJobIdle` waits for that, so no
 * policy run overlaps the swap; each slice also holds its chunks' locks for its whole transaction, so even a
 * run that starts in spite of the pause cannot compress a chunk a slice is using.
 */
import { TargetError } from '../../src/errors.ts';
import type { PgConnection, Queryable } from './connection.ts';
import type { Hypertable } from './introspect.ts';
import type { Statements } from './statements.ts';
import { readSwapState, writePolicyRecord, type PolicyRecord } from './swap-state.ts';
import { qualified } from './sql/quote.ts';

export interface LivePolicy {
  readonly jobId: number;
  readonly scheduled: boolean;
  readonly compressAfter: string | undefined;
  readonly compressCreatedBefore: string | undefined;
}

/** The hypertable's compression policy job as it is now (not as describe() saw it). */
export async function currentPolicy(db: Queryable, ht: Hypertable): Promise<LivePolicy | undefined> {
  const rows = await db.query<{
    job_id: number;
    scheduled: boolean;
    after: string | null;
    created: string | null;
  }>(
    `SELECT job_id, scheduled, config->>'compress_after' AS after, config->>'compress_created_before' AS created
       FROM timescaledb_information.jobs
      WHERE proc_name = 'policy_compression' AND hypertable_schema = $1 AND hypertable_name = $2
      ORDER BY job_id LIMIT 1`,
    [ht.schema, ht.name],
    `reading the compression policy of ${ht.schema}.${ht.name}`,
  );
  const row = rows[0];
  return row
    ? {
        jobId: row.job_id,
        scheduled: row.scheduled,
        compressAfter: row.after ?? undefined,
        compressCreatedBefore: row.created ?? undefined,
      }
    : undefined;
}

/**
 * Pauses the policy unless this run already has it paused; returns the record (prior state). Runs inside the
 * caller's transaction (`db` is the transaction's client) so the record and the pause commit together.
 */
export async function pausePolicy(
  db: Queryable,
  ht: Hypertable,
  stmts: Statements,
): Promise<PolicyRecord | undefined> {
  const stored = await readSwapState(db, ht.schema, stmts.names.state);
  if (stored.policy?.paused) return stored.policy;
  // Two sessions pausing at once (finisher lanes of a resumed run): without this lock the second could read the
  // job as the first left it (unscheduled) and record that as its prior state, and the run would end with the
  // policy off. Held until the transaction ends; taken only while the record says the policy is not paused.
  await db.query(
    `SELECT pg_advisory_xact_lock(hashtext($1))`,
    [qualified(ht.schema, stmts.names.state)],
    `serializing the pause of the compression policy of ${ht.schema}.${ht.name}`,
  );
  const locked = await readSwapState(db, ht.schema, stmts.names.state);
  if (locked.policy?.paused) return locked.policy;
  const live = await currentPolicy(db, ht);
  if (!live) return undefined;
  const record: PolicyRecord = { jobId: live.jobId, priorScheduled: live.scheduled, paused: true };
  await writePolicyRecord(db, ht.schema, stmts.names.state, record);
  if (live.scheduled) {
    await db.query(
      stmts.pausePolicy(),
      [live.jobId],
      `pausing compression policy job ${live.jobId} of ${ht.schema}.${ht.name}`,
    );
  }
  return record;
}

/**
 * Puts the policy back to its prior state if this run paused it (per the swap-state table, else per `fallback`
 * from the journal). Idempotent; its own transaction.
 */
export async function resumePolicy(
  db: PgConnection,
  ht: Hypertable,
  stmts: Statements,
  fallback: PolicyRecord | undefined,
): Promise<void> {
  await db.transaction(async (tx) => {
    const stored = await readSwapState(tx, ht.schema, stmts.names.state);
    const record = stored.policy ?? fallback;
    if (!record) return;
    if (stored.policy && !stored.policy.paused) return;
    const jobs = await tx.query<{ scheduled: boolean }>(
      `SELECT scheduled FROM timescaledb_information.jobs WHERE job_id = $1`,
      [record.jobId],
      `reading compression policy job ${record.jobId}`,
    );
    const job = jobs[0];
    if (job && job.scheduled !== record.priorScheduled) {
      await tx.query(
        stmts.resumePolicy(),
        [record.jobId, record.priorScheduled],
        `resuming compression policy job ${record.jobId} of ${ht.schema}.${ht.name}`,
      );
    }
    if (stored.policy)
      await writePolicyRecord(tx, ht.schema, stmts.names.state, { ...record, paused: false });
  });
}

/** How long a paused policy job may take to stop a run that was under way. */
export const JOB_STOP_TIMEOUT_MS = 60_000;

/** How long a paused job must be seen idle before the swap may start (unless its next start is ahead). */
const JOB_IDLE_SETTLE_MS = 500;

/**
 * Waits until no background worker runs job `jobId` (its `application_name` in `pg_stat_activity`), checking every
 * 100 ms for up to `timeoutMs`. The embedded server runs no background workers: returns at once there.
 * A job whose next start (or, never run, its initial start) lies ahead and that no backend runs is idle at once:
 * the scheduler launches a job only once its next start has come, and a launched run's next start reads
 * -infinity until it ends. Otherwise idle must hold for JOB_IDLE_SETTLE_MS.
 */

export async function waitUntilJobIdle(
  db: Queryable,
  ht: Hypertable,
  jobId: number,
  timeoutMs = JOB_STOP_TIMEOUT_MS,
): Promise<void> {
  const started = Date.now();
  // The job scheduler may launch a run it had decided on just before the pause: idle must hold for a while
  // (a run's backend appears in pg_stat_activity a few ms after its launch), not at one look.
  let idleSince: number | undefined;
  for (;;) {
    const rows = await db.query<{ running: string; ahead: boolean | null }>(
      `SELECT (SELECT count(*) FROM pg_stat_activity a
                WHERE a.application_name = j.application_name AND a.datname = current_database()
                  AND a.pid <> pg_backend_pid())::text AS running,
              coalesce(j.next_start, j.initial_start) > now() AS ahead
         FROM timescaledb_information.jobs j WHERE j.job_id = $1`,
      [jobId],
      `checking whether compression policy job ${jobId} of ${ht.schema}.${ht.name} is running`,
    );
    if (Number(rows[0]?.running ?? 0) === 0) {
      if (rows[0]?.ahead === true) return;
      idleSince ??= Date.now();
      if (Date.now() - idleSince >= JOB_IDLE_SETTLE_MS) return;
    } else {
      idleSince = undefined;
    }
    if (Date.now() - started >= timeoutMs) {
      throw new TargetError(
        'TARGET_QUERY_FAILED',
        `compression policy job ${jobId} of ${ht.schema}.${ht.name} is still running ${Math.round(timeoutMs / 1000)} s after shadowfill paused it: ` +
          `wait for it to finish (SELECT * FROM timescaledb_information.job_stats WHERE job_id = ${jobId}) and run again — the policy is resumed meanwhile`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
