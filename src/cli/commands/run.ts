/** `shadowfill run`: run or resume the backfill; prints progress and the verification report. */
import type { Command } from 'commander';
import { createAdapter } from '../../adapter/registry.ts';
import type { CliContext } from '../context.ts';
import { handleInterrupts } from '../interrupts.ts';
import { addConfigOptions, addOutputOptions, configFromOptions } from '../options.ts';
import { createProgress } from '../progress.ts';
import { formatReport, reportJson } from '../report.ts';

export function registerRun(program: Command, cli: CliContext): void {
  const command = program
    .command('run')
    .summary('run the backfill, or resume the unfinished run of this configuration')
    .description(
      'Runs the backfill, or resumes the unfinished run of this configuration, and prints a verification report.\n' +
        'Ctrl-C stops after the step in progress (run the same command again to resume); a second Ctrl-C aborts the step.',
    )
    .option(
      '--new-run',
      'abandon an unfinished run, or start a new one although this configuration finished one',
    )
    .option('--wait', 'wait for another process working on the table instead of stopping');
  addConfigOptions(command);
  addOutputOptions(command, { json: true, quiet: true });
  command.action(async () => {
    const options = command.opts<{
      newRun?: boolean;
      wait?: boolean;
      json?: boolean;
      quiet?: boolean;
      verbose?: boolean;
    }>();
    const config = configFromOptions(command, cli);
    const { runBackfill } = await import('../../runner/run.ts');
    const adapter = await createAdapter(config);
    const interrupts = handleInterrupts({
      stderr: cli.stderr,
      stopping: 'stopping after the current step',
      resume: 'shadowfill run',
    });
    try {
      await adapter.connect();
      const report = await runBackfill(config, adapter, {
        signal: interrupts.signal,
        newRun: options.newRun === true,
        lease: { wait: options.wait === true },
        onEvent: createProgress({
          json: options.json === true,
          quiet: options.quiet === true,
          verbose: options.verbose === true,
          stdout: cli.stdout,
          stderr: cli.stderr,
        }),
      });
      cli.stdout.write(
        options.json === true ? `${JSON.stringify(reportJson(report))}\n` : `${formatReport(report)}\n`,
      );
    } finally {
      await adapter.close();
      interrupts.dispose();
    }
  });
}
