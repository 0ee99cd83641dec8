/**
 * Child process for the scheduler's kill -9 and two-process tests on TimescaleDB: runs (or resumes, or joins) a
 * backfill and prints every event as one JSON line on stdout, then `{"type": "result", …}`. It can die by SIGKILL
 * the way `kill -9` leaves things (no `finally`, no lease release, no clean close of its connections):
 * - `killAtEvent: N`: right when the run emits its N-th event;
 * - `killMidBatch`: once armed (any line on stdin), in the middle of the next batch a worker loads — after the
 *   batch's first rows went into its load transaction;
 * - `holdAfter: N` (with `killMidBatch`): the loads after the first N wait in the middle of their batch until armed,
 *   then die there — so the process surely still runs (holding those batches' claims) when another one joins;
 * - `slowMs`: every batch's load waits this long after its first rows (so another process can join meanwhile).
 *
 *   node --import tsx test/support/timescale-child.ts '<json: { config, killAtEvent?, killMidBatch?, holdAfter?, slowMs? }>'
 */
import { createInterface } from 'node:readline';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import type {
  BatchInput,
  BatchSpec,
  LoadAttempt,
  RunContext,
  TargetAdapter,
} from '../../src/adapter/contract.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { runBackfill } from '../../src/runner/run.ts';

interface Job {
  readonly config: BackfillConfig;
  readonly killAtEvent?: number;
  readonly killMidBatch?: boolean;
  readonly holdAfter?: number;
  readonly slowMs?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const die = () => process.kill(process.pid, 'SIGKILL');
let armed = false;
let arm: () => void = () => undefined;
const whenArmed = new Promise<void>((resolve) => (arm = resolve));
if (job.killMidBatch) {
  createInterface({ input: process.stdin }).on('line', () => {
    armed = true;
    arm();
  });
}

let loads = 0;
async function* watched<T>(input: AsyncIterable<T>, nth: number): AsyncIterable<T> {
  let first = true;
  for await (const item of input) {
    yield item;
    if (!first) continue;
    first = false;
    if (!armed && job.holdAfter !== undefined && nth > job.holdAfter) await whenArmed;
    if (armed) {
      process.stdout.write(`${JSON.stringify({ type: 'killed-mid-batch' })}\n`);
      die();
    }
    if (job.slowMs) await new Promise((resolve) => setTimeout(resolve, job.slowMs));
  }
}

/** The batch's input with `watched` around its stream, whatever its kind. */
function watchedInput(input: BatchInput, nth: number): BatchInput {
  switch (input.kind) {
    case 'rows':
      return { kind: 'rows', chunks: watched(input.chunks, nth) };
    case 'encoded':
      return { kind: 'encoded', pieces: watched(input.pieces, nth) };
    case 'parquet-bytes':
      return { kind: 'parquet-bytes', objects: watched(input.objects, nth) };
  }
}

const adapter = createTimescaleAdapter(job.config);
const wrapped = new Proxy(adapter, {
  get(target, property) {
    if (property === 'loadBatchFromStream') {
      return (run: RunContext, batch: BatchSpec, input: BatchInput, attempt?: LoadAttempt) =>
        target.loadBatchFromStream(run, batch, watchedInput(input, (loads += 1)), attempt);
    }
    const value = Reflect.get(target, property, target) as unknown;
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
  },
}) as TargetAdapter;

let events = 0;
let result: Record<string, unknown>;
await adapter.connect();
try {
  const report = await runBackfill(job.config, wrapped, {
    onEvent: (event) => {
      events += 1;
      process.stdout.write(`${JSON.stringify(event)}\n`);
      if (job.killAtEvent === events) die();
    },
  });
  result = {
    ok: true,
    resumed: report.resumed,
    rowsLoaded: report.rowsLoaded,
    workers: report.workers,
    joined: report.joined,
  };
} catch (error) {
  result = { ok: false, code: (error as { code?: string }).code, message: (error as Error).message };
}
process.stdout.write(`${JSON.stringify({ type: 'result', events, ...result })}\n`);
await adapter.close();
process.exit(0);
