/**
 * `shadowfill plan`: everything `run` would do, with the exact SQL, without changing anything. It performs
 * the same validation as `run` (read-only queries and footer reads) so a plan that prints is a run that starts.
 */
import type {
  BatchSpec,
  PlannedStatement,
  RowFilter,
  TargetAdapter,
  TargetDescription,
} from '../adapter/contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import { planBatches } from '../planner/batches.ts';
import { listObjects } from '../source/list-objects.ts';
import { resolveLocation } from '../source/location.ts';
import { createS3Client } from '../source/s3-client.ts';
import { configFingerprint } from './fingerprint.ts';
import { findRuns, resolveFilter } from './run.ts';
import { probeSourceValues, validateSource } from './validate.ts';

export interface RunPlan {
  readonly target: TargetDescription;
  readonly filter: RowFilter | undefined;
  readonly batches: readonly BatchSpec[];
  readonly sourceRows: number;
  readonly statements: readonly PlannedStatement[];
  /** A run of this configuration that `run` would resume instead of starting anew. */
  readonly resumes: string | undefined;
  readonly finished: string | undefined;
}

export async function planRun(config: BackfillConfig, adapter: TargetAdapter): Promise<RunPlan> {
  const location = resolveLocation(config.source);
  const client = createS3Client(location);
  try {
    const target = await adapter.describe();
    const objects = await listObjects(client, location);
    const source = await validateSource(client, objects, adapter, target);
    const filter = await resolveFilter(config, adapter);
    const batches = planBatches(objects, config.batch);
    await probeSourceValues(adapter, { target, store: location, objects, columns: source.columns, filter });
    let resumes: string | undefined;
    let finished: string | undefined;
    try {
      const runs = await findRuns(adapter, configFingerprint(config));
      resumes = runs.unfinished?.runId;
      finished = runs.finished?.runId;
    } catch {
      // No journal yet: nothing to resume.
    }
    const run = {
      runId: resumes ?? '<run>',
      config,
      store: location,
      target,
      filter,
      sourceColumns: source.columns,
    };
    return {
      target,
      filter,
      batches,
      sourceRows: source.totalRows,
      statements: adapter.planStatements(run, batches),
      resumes,
      finished,
    };
  } finally {
    client.destroy();
  }
}
