/** `workers`: auto from the machine's cores and the target's limit; a configured number capped only by a hard one. */
import { describe, expect, it } from 'vitest';
import type { TargetAdapter } from '../../src/adapter/contract.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { resolveWorkers } from '../../src/runner/workers.ts';

const config = (workers: BackfillConfig['workers']) => ({ workers }) as BackfillConfig;
const target = (limit?: { max: number; reason: string; hard?: boolean }) =>
  ({ workerLimit: limit ? async () => limit : undefined }) as unknown as TargetAdapter;

describe('resolveWorkers', () => {
  it('auto: the cores, at most 4, and no more than the target allows', async () => {
    expect(await resolveWorkers(config('auto'), target(), 2)).toEqual({
      workers: 2,
      reason: 'auto: 2 CPU cores',
    });
    expect(await resolveWorkers(config('auto'), target(), 16)).toEqual({
      workers: 4,
      reason: 'auto: 16 CPU cores, at most 4',
    });
    const embedded = { max: 1, reason: 'the embedded TimescaleDB serves one connection', hard: true };
    expect(await resolveWorkers(config('auto'), target(embedded), 8)).toEqual({
      workers: 1,
      reason: 'auto: the embedded TimescaleDB serves one connection',
    });
    const threads = { max: 2, reason: 'the server has 2 threads (max_threads)' };
    expect(await resolveWorkers(config('auto'), target(threads), 8)).toMatchObject({ workers: 2 });
  });

  it('a configured number is taken as asked, capped only by a hard limit of the target', async () => {
    const threads = { max: 2, reason: 'the server has 2 threads (max_threads)' };
    expect(await resolveWorkers(config(4), target(threads), 2)).toEqual({
      workers: 4,
      reason: 'as configured',
    });
    const connections = { max: 3, reason: 'the server has 3 free connections', hard: true };
    expect(await resolveWorkers(config(8), target(connections), 2)).toEqual({
      workers: 3,
      reason: 'the server has 3 free connections (8 configured)',
    });
    expect(await resolveWorkers(config(1), target(connections), 2)).toEqual({
      workers: 1,
      reason: 'as configured',
    });
  });
});
