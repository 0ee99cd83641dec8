/**
 * Batch planning: splits the matched objects, in plan order, into consecutive batches of at most `batch.files`
 * objects and `batch.bytes` bytes. An object larger than `batch.bytes` forms a batch of its own.
 *
 * `batch.count` asks for at least that many batches where there are enough objects (`auto`: 2 per worker, so
 * that while one batch is verified and committed the next one loads). When the limits alone make fewer, the
 * objects (still in plan order) are cut into `count` consecutive groups of about equal bytes, each then kept
 * within the limits; when they make as many or more (any big listing), the limits alone decide, as before. The batches of a run are fixed when it starts: the journal's
 * `run-started` holds them, and a resumed run or a process joining it reads them from there (never re-derives
 * them, so a different `workers` or machine later changes nothing).
 */
import type { BatchSpec } from '../adapter/contract.ts';
import type { BatchConfig } from '../config/types.ts';
import { formatBytes } from '../config/bytes.ts';
import type { SourceObject } from '../source/types.ts';

/** Batches per worker that `batch.count: auto` asks for. */
export const AUTO_BATCHES_PER_WORKER = 2;

/** The batches of a new run and how they were cut, in words (what `plan` prints). */
export interface BatchPlan {
  readonly batches: BatchSpec[];
  /** `4 batches of about equal bytes (batch.count auto = at least 2 per worker × 2 workers), each within …`. */
  readonly rule: string;
}

/** Cuts the objects of a new run: `batch.files`/`batch.bytes`, and at least `batch.count` batches where there are enough objects. */
export function planRunBatches(
  objects: readonly SourceObject[],
  config: BatchConfig,
  workers: number,
): BatchPlan {
  const count = config.count ?? 1;
  const atLeast = count === 'auto' ? AUTO_BATCHES_PER_WORKER * Math.max(1, workers) : count;
  const limitsText = `batch.files ${config.files} / batch.bytes ${formatBytes(config.bytes)}`;
  const byLimits = planBatches(objects, config);
  const why =
    count === 'auto'
      ? `batch.count auto = at least ${AUTO_BATCHES_PER_WORKER} per worker × ${workers} worker${workers === 1 ? '' : 's'}`
      : `batch.count ${count}`;
  if (objects.length > 0 && objects.length <= atLeast) {
    return {
      batches: planBatches(objects, { files: 1, bytes: config.bytes }),
      rule: `one object per batch (${why}; ${objects.length} object${objects.length === 1 ? '' : 's'})`,
    };
  }
  if (atLeast <= 1 || byLimits.length >= atLeast) {
    return {
      batches: byLimits,
      rule:
        atLeast <= 1
          ? `as few as ${limitsText} allow${count === 1 ? ' (batch.count 1)' : ''}`
          : `as few as ${limitsText} allow, no fewer than ${why} asks for`,
    };
  }
  const batches = balancedBatches(objects, atLeast).flatMap((group) => planBatches(group, config));
  return {
    batches: batches.map((b, index) => ({ ...b, index })),
    rule: `${batches.length} batches of about equal bytes (${why}), each within ${limitsText}`,
  };
}

/**
 * `k` consecutive groups of about equal bytes: an object goes to group floor(k × (bytes before it + half its size)
 * / all bytes), so every group gets its share and none is left with a sliver. Groups left empty are dropped.
 */
function balancedBatches(objects: readonly SourceObject[], k: number): SourceObject[][] {
  const total = objects.reduce((n, o) => n + o.size, 0);
  const groups: SourceObject[][] = Array.from({ length: k }, () => []);
  let before = 0;
  objects.forEach((object, i) => {
    const g =
      total > 0
        ? Math.floor((k * (before + object.size / 2)) / total)
        : Math.floor((k * i) / Math.max(1, objects.length));
    groups[Math.min(k - 1, Math.max(0, g))]!.push(object);
    before += object.size;
  });
  return groups.filter((g) => g.length > 0);
}

/** Consecutive batches of at most `limits.files` objects and `limits.bytes` bytes (`count` is not read here). */
export function planBatches(
  objects: readonly SourceObject[],
  limits: Pick<BatchConfig, 'files' | 'bytes'>,
): BatchSpec[] {
  const batches: BatchSpec[] = [];
  let current: SourceObject[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length > 0) batches.push({ index: batches.length, objects: current });
    current = [];
    bytes = 0;
  };
  for (const object of objects) {
    if (current.length > 0 && (current.length >= limits.files || bytes + object.size > limits.bytes)) flush();
    current.push(object);
    bytes += object.size;
  }
  flush();
  return batches;
}
