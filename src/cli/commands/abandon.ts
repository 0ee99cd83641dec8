/**
 * `shadowfill abandon --config F`: gives up every unfinished run of the configuration — restores what it paused
 * (TimescaleDB: the compression policy), drops its landing, shadow and shadow-view objects, and journals it — so
 * the next `run` starts afresh. Refuses a run whose swap began (finish it with `run`). Takes the table's lease
 * like `run`: refused while another process works on the table (`--wait` waits for it).
 */
import { createAdapter } from '../../adapter/registry.ts';
import { abandonRun } from '../../runner/abandon.ts';
import type { ParsedArgs } from '../args.ts';
import { configFromArgs } from '../config-from-args.ts';

export async function abandonCommand(args: ParsedArgs): Promise<number> {
  const config = configFromArgs(args);
  const json = args.flags.json === true;
  const adapter = await createAdapter(config);
  await adapter.connect();
  try {
    const report = await abandonRun(config, adapter, { lease: { wait: args.flags.wait === true } });
    if (json) {
      process.stdout.write(`${JSON.stringify({ type: 'abandoned', ...report })}\n`);
    } else {
      for (const r of report.abandoned) {
        process.stdout.write(
          `abandoned run ${r.runId} (started ${r.startedAt}, ${r.committedBatches} of ${r.batches} batches committed) ` +
            `on ${report.table}: its shadows were dropped, ${report.table} is as it was — \`shadowfill run\` starts a new run\n`,
        );
      }
    }
    return 0;
  } finally {
    await adapter.close();
  }
}
