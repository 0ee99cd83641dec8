/**
 * `shadowfill abandon --config F`: gives up every unfinished run of the configuration — restores what it paused
 * (TimescaleDB: the compression policy), drops its landing, shadow and shadow-view objects, and journals it — so
 * the next `run` starts afresh. Refuses a run whose swap began (finish it with `run`). Takes the table's lease
 * like `run`: refused while another process works on the table (`--wait` waits for it).
 */
import type { Command } from 'commander';
import { createAdapter } from '../../adapter/registry.ts';
import type { CliContext } from '../context.ts';
import { addConfigOptions, addOutputOptions, configFromOptions } from '../options.ts';

export function registerAbandon(program: Command, cli: CliContext): void {
  const command = program
    .command('abandon')
    .summary("give up this configuration's unfinished run and drop its shadows")
    .description(
      "Gives up this configuration's unfinished run: restores anything it paused (a TimescaleDB compression policy),\n" +
        'drops its landing, shadow and shadow-view objects and journals it, so the next `run` starts afresh.\n' +
        'A run whose swap began is refused: finish it with `shadowfill run`.',
    )
    .option('--wait', 'wait for another process working on the table instead of stopping');
  addConfigOptions(command);
  addOutputOptions(command, { json: true });
  command.action(async () => {
    const options = command.opts<{ wait?: boolean; json?: boolean }>();
    const config = configFromOptions(command, cli);
    const { abandonRun } = await import('../../runner/abandon.ts');
    const adapter = await createAdapter(config);
    try {
      await adapter.connect();
      const report = await abandonRun(config, adapter, { lease: { wait: options.wait === true } });
      if (options.json === true) {
        cli.stdout.write(`${JSON.stringify({ type: 'abandoned', ...report })}\n`);
      } else {
        for (const r of report.abandoned) {
          cli.stdout.write(
            `abandoned run ${r.runId} (started ${r.startedAt}, ${r.committedBatches} of ${r.batches} batches committed) ` +
              `on ${report.table}: its shadows were dropped, ${report.table} is as it was — \`shadowfill run\` starts a new run\n`,
          );
        }
      }
    } finally {
      await adapter.close();
    }
  });
}
