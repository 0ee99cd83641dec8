/**
 * `workers`: how many batches a process loads at once. `auto` takes what this machine can use (its cores, at most
 * 4: beyond that one process gains little and the target does the rest) and no more than the target can serve
 * (the adapter's `workerLimit`: the embedded TimescaleDB serves one connection, a server so many free ones, a
 * ClickHouse server so many threads). A number asked for is taken as it is, within the target's hard limit
 * (connections; ClickHouse runs more concurrent inserts than it has threads, each slower). The reason is said in `plan` and at the start.
 */
import { availableParallelism } from 'node:os';
import type { TargetAdapter } from '../adapter/contract.ts';
import { DEFAULT_WORKERS } from '../config/defaults.ts';
import type { BackfillConfig } from '../config/types.ts';

/** `auto` never takes more lanes than this. */
export const AUTO_WORKERS_MAX = 4;

export interface ResolvedWorkers {
  readonly workers: number;
  /** `auto: 2 CPU cores`, `4 as configured`, `1: the embedded TimescaleDB serves one connection (4 configured)`. */
  readonly reason: string;
}

export async function resolveWorkers(
  config: BackfillConfig,
  adapter: TargetAdapter,
  cores: number = availableParallelism(),
): Promise<ResolvedWorkers> {
  const setting = config.workers ?? DEFAULT_WORKERS;
  const limit = adapter.workerLimit ? await adapter.workerLimit() : undefined;
  if (setting === 'auto') {
    const machine = Math.max(1, Math.min(AUTO_WORKERS_MAX, cores));
    const machineWhy = `${cores} CPU core${cores === 1 ? '' : 's'}${cores > AUTO_WORKERS_MAX ? `, at most ${AUTO_WORKERS_MAX}` : ''}`;
    if (limit && limit.max < machine)
      return { workers: Math.max(1, limit.max), reason: `auto: ${limit.reason}` };
    return {
      workers: machine,
      reason: `auto: ${machineWhy}${limit ? `; the target allows ${limit.max} (${limit.reason})` : ''}`,
    };
  }
  if (limit?.hard && limit.max < setting) {
    return { workers: Math.max(1, limit.max), reason: `${limit.reason} (${setting} configured)` };
  }
  return { workers: setting, reason: 'as configured' };
}
