/**
 * `shadowfill plan`: everything `run` would do, with the exact SQL, without changing anything. It performs
 * the same validation as `run` (read-only queries and footer reads) so a plan that prints is a run that starts —
 * and says how it would run: how many workers and why, the mode and what readers of the live table see, the
 * order of the batches (time or object, and why) and how often the watermark can pass whole batches.
 */
import type {
  BatchSpec,
  PlannedStatement,
  RowFilter,
  TargetAdapter,
  TargetDescription,
} from '../adapter/contract.ts';
import { DEFAULT_MODE } from '../config/defaults.ts';
import type { BackfillConfig, RunMode } from '../config/types.ts';
import { planRunBatches } from '../planner/batches.ts';
import { swapPolicy, type SwapPolicy } from '../scheduler/decide.ts';
import { rangeFromText, rangesOfBatches } from '../scheduler/ranges.ts';
import type { BatchRange } from '../scheduler/watermark.ts';
import { listObjects } from '../source/list-objects.ts';
import { resolveLocation } from '../source/location.ts';
import { createS3Client } from '../source/s3-client.ts';
import { configFingerprint } from './fingerprint.ts';
import { assertModeSupported, findRuns, planOrder, resolveFilter } from './run.ts';
import { probeSourceValues, validateSource } from './validate.ts';
import { resolveWorkers, type ResolvedWorkers } from './workers.ts';
import { decodeThreadsFor, type DecodeThreads } from '../workers/pool.ts';

export interface RunPlan {
  readonly target: TargetDescription;
  readonly filter: RowFilter | undefined;
  readonly batches: readonly BatchSpec[];
  /** How the batches were cut (src/planner/batches.ts), or that they are those of the run `run` resumes. */
  readonly batchRule: string;
  readonly sourceRows: number;
  readonly statements: readonly PlannedStatement[];
  /** A run of this configuration that `run` would resume instead of starting anew. */
  readonly resumes: string | undefined;
  readonly finished: string | undefined;
  /** Lanes `run` would use here, and why. */
  readonly workers: ResolvedWorkers;
  /** The decode threads the lanes would share (undefined: lanes decode on the main thread). */
  readonly decodeThreads: DecodeThreads | undefined;
  readonly mode: RunMode;
  readonly policy: SwapPolicy;
  /** What readers of the live tables see during the run, in words. */
  readonly readers: string;
  /** Batches in time order (with the time column) or object order, and why, in words. */
  readonly order: { readonly kind: 'time' | 'object'; readonly why: string };
  /**
   * Batch boundaries the watermark can pass before the last batch: after batch k (0-based, in plan order) when every
   * row of batches 0..k comes before every row of the later ones (what lets slices finalize early).
   */
  readonly watermarkSteps: readonly number[];
}

export async function planRun(config: BackfillConfig, adapter: TargetAdapter): Promise<RunPlan> {
  const location = resolveLocation(config.source);
  const client = createS3Client(location);
  try {
    const target = await adapter.describe();
    const listed = await listObjects(client, location);
    const source = await validateSource(client, listed, adapter, target);
    const filter = await resolveFilter(config, adapter);
    const ordered = planOrder(listed, source, target);
    const workers = await resolveWorkers(config, adapter);
    const cut = planRunBatches(ordered.objects, config.batch, workers.workers);
    let batches = cut.batches;
    let batchRule = cut.rule;
    let ranges = rangesOfBatches(batches, ordered.ranges);
    await probeSourceValues(adapter, {
      target,
      store: location,
      objects: listed,
      columns: source.columns,
      filter,
    });
    let resumes: string | undefined;
    let finished: string | undefined;
    let mode: RunMode = config.mode ?? DEFAULT_MODE;
    let order: RunPlan['order'] = orderText(ordered.order.order, ordered.order.withoutStatistics, target);
    try {
      const runs = await findRuns(adapter, configFingerprint(config));
      resumes = runs.unfinished?.runId;
      finished = runs.finished?.runId;
      const started = runs.unfinished?.started;
      if (started) {
        // `run` resumes that run: its batches, order and mode are fixed.
        batches = [...started.batches];
        batchRule = `those of unfinished run ${runs.unfinished!.runId}, fixed when it started`;
        ranges = batches.map((_, k) => rangeFromText(started.ranges?.[k]));
        mode = started.mode ?? 'historical';
        order = orderText(started.order ?? 'object', started.withoutStatistics ?? [], target);
      }
    } catch {
      // No journal yet: nothing to resume.
    }
    assertModeSupported(mode, adapter);
    const policy = swapPolicy(mode, adapter.capabilities.swapsWhileLoading === true);
    const steps = watermarkSteps(ranges);
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
      batchRule,
      sourceRows: source.totalRows,
      statements: await adapter.planStatements(run, batches),
      resumes,
      finished,
      workers,
      decodeThreads: decodeThreadsFor(workers.workers, adapter.capabilities.streamInput === 'encoded'),
      mode,
      policy,
      readers: readersText(
        policy,
        mode,
        `${target.table.database}.${target.table.name}`,
        batches.length,
        steps,
      ),
      order,
      watermarkSteps: steps,
    };
  } finally {
    client.destroy();
  }
}

function orderText(
  kind: 'time' | 'object',
  withoutStatistics: readonly string[],
  target: TargetDescription,
): RunPlan['order'] {
  const dimension = target.timeDimension;
  if (kind === 'time') {
    return {
      kind,
      why: `by ${dimension?.column ?? 'time'}, from the min/max statistics of the Parquet footers`,
    };
  }
  if (!dimension) {
    return { kind, why: `by object key (${target.table.name} has no time dimension to order by)` };
  }
  return {
    kind,
    why:
      withoutStatistics.length > 0
        ? `by object key: ${withoutStatistics.slice(0, 3).join(', ')}${withoutStatistics.length > 3 ? ' and others' : ''} ha${withoutStatistics.length === 1 ? 's' : 've'} no statistics for ${dimension.column}, so the watermark cannot pass a slice before the last batch`
        : `by object key`,
  };
}

/** Batch boundaries where every row before comes before every row after (see RunPlan.watermarkSteps). */
export function watermarkSteps(ranges: readonly (BatchRange | undefined)[]): number[] {
  if (ranges.some((r) => r === undefined)) return [];
  const steps: number[] = [];
  let maxLast: bigint | undefined;
  const minFirstAfter: (bigint | undefined)[] = new Array<bigint | undefined>(ranges.length + 1);
  for (let k = ranges.length - 1; k >= 0; k -= 1) {
    const first = ranges[k]!.first;
    const next = minFirstAfter[k + 1];
    minFirstAfter[k] = next === undefined || first < next ? first : next;
  }
  for (let k = 0; k < ranges.length - 1; k += 1) {
    const last = ranges[k]!.last;
    maxLast = maxLast === undefined || last > maxLast ? last : maxLast;
    if (maxLast < minFirstAfter[k + 1]!) steps.push(k);
  }
  return steps;
}

function readersText(
  policy: SwapPolicy,
  mode: RunMode,
  table: string,
  batches: number,
  steps: readonly number[],
): string {
  switch (policy) {
    case 'progressive':
      return steps.length > 0
        ? `mode historical: readers of ${table} see the backfilled rows appear one time slice at a time, oldest first, ` +
            `each slice at once, while later batches still load (the watermark can pass whole batches at ${steps.length} ` +
            `of ${batches - 1} batch boundaries); chunks behind the watermark are compressed again during the run; the ` +
            `compression policy is paused from the first slice to the end of the run and restored after`
        : `mode historical: readers of ${table} see the backfilled rows appear one time slice at a time, each slice at ` +
            `once — but the batches' time ranges overlap or are unknown, so no slice is final before the last batch: ` +
            `slices appear after every batch is loaded; the compression policy is paused for the swap and restored after`;
    case 'after-all':
      return (
        `mode ${mode}: readers of ${table} see nothing change until every batch is loaded and verified; then each ` +
        `partition (of the table and every view target) appears at once, one after the other`
      );
    case 'one-transaction':
      return (
        `mode catchup: readers of ${table} see nothing change until every batch is staged and verified; then every ` +
        `slice appears at once, in ONE transaction (it locks every chunk it touches until it commits); then the touched ` +
        `chunks are compressed again and the compression policy is restored`
      );
  }
}
