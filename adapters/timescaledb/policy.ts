/**
 * Pausing and resuming the hypertable's compression policy job with `alter_job(id, scheduled => …)`, recording
 * the prior state in the swap-state table in the same transaction. Never touches `next_start` (the removed
 * timescaledb-extras `decompress_backfill` pushed it forward, which let a never-run job start concurrently).
 */
import type { PgConnection, Queryable } from './connection.ts';
import type { Hypertable } from './introspect.ts';
import type { Statements } from './statements.ts';
import { readSwapState, writePolicyRecord, type PolicyRecord } from './swap-state.ts';

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
