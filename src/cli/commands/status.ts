/** `shadowfill status`: the journal of this configuration's runs. */
import type { Command } from 'commander';
import { createAdapter } from '../../adapter/registry.ts';
import type { CliContext } from '../context.ts';
import { addConfigOptions, addOutputOptions, configFromOptions } from '../options.ts';

export function registerStatus(program: Command, cli: CliContext): void {
  const command = program
    .command('status')
    .summary("show the journal of this configuration's runs")
    .description(
      "Shows the journal of this configuration's runs: batches by state, failed attempts, swap units done.",
    );
  addConfigOptions(command);
  addOutputOptions(command, { json: true });
  command.action(async () => {
    const json = command.opts<{ json?: boolean }>().json === true;
    const config = configFromOptions(command, cli);
    const { configFingerprint } = await import('../../runner/fingerprint.ts');
    const { findRuns } = await import('../../runner/run.ts');
    const adapter = await createAdapter(config);
    try {
      await adapter.connect();
      await adapter.describe();
      const { all } = await findRuns(adapter, configFingerprint(config));
      if (all.length === 0) {
        cli.stdout.write(json ? '' : 'no run of this configuration yet\n');
        return;
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
        if (json) {
          cli.stdout.write(
            `${JSON.stringify({ runId: r.runId, startedAt: r.startedAt, state, batches: counts, rows, failures: r.failures, swapUnitsDone: r.unitsDone.size })}\n`,
          );
        } else {
          cli.stdout.write(
            `run ${r.runId} started ${r.startedAt}: ${state}\n` +
              `  batches: ${counts.committed} committed, ${counts.loaded} verified, ${counts.pending} pending of ${r.batches.length}` +
              ` · ${rows} rows verified · ${r.failures} failed attempts · ${r.unitsDone.size} swap units done\n`,
          );
        }
      }
    } finally {
      await adapter.close();
    }
  });
}
