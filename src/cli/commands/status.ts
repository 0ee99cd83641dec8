/** `shadowfill status`: the journal of this configuration's runs. */
import { createAdapter } from '../../adapter/registry.ts';
import { configFingerprint } from '../../runner/fingerprint.ts';
import { findRuns } from '../../runner/run.ts';
import type { ParsedArgs } from '../args.ts';
import { configFromArgs } from '../config-from-args.ts';

export async function statusCommand(args: ParsedArgs): Promise<number> {
  const config = configFromArgs(args);
  const adapter = await createAdapter(config);
  await adapter.connect();
  try {
    await adapter.describe();
    const { all } = await findRuns(adapter, configFingerprint(config));
    if (all.length === 0) {
      process.stdout.write('no run of this configuration yet\n');
      return 0;
    }
    for (const r of all) {
      const counts = { pending: 0, loaded: 0, committed: 0 };
      for (const b of r.batches) counts[b] += 1;
      const rows = [...r.batchRows.values()].reduce((a, b) => a + b, 0);
      const state = r.finished
        ? `finished ${r.finishedAt}`
        : r.abandoned
          ? `abandoned ${r.abandonedAt}`
          : r.swapState
            ? 'swapping'
            : 'loading';
      if (args.flags.json === true) {
        process.stdout.write(
          `${JSON.stringify({ runId: r.runId, startedAt: r.startedAt, state, batches: counts, rows, failures: r.failures, swapUnitsDone: r.unitsDone.size })}\n`,
        );
      } else {
        process.stdout.write(
          `run ${r.runId} started ${r.startedAt}: ${state}\n` +
            `  batches: ${counts.committed} committed, ${counts.loaded} verified, ${counts.pending} pending of ${r.batches.length}` +
            ` · ${rows} rows verified · ${r.failures} failed attempts · ${r.unitsDone.size} swap units done\n`,
        );
      }
    }
    return 0;
  } finally {
    await adapter.close();
  }
}
