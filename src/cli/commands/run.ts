/** `shadowfill run`: run or resume the backfill; prints progress and the verification report. */
import { createAdapter } from '../../adapter/registry.ts';
import { runBackfill } from '../../runner/run.ts';
import type { ParsedArgs } from '../args.ts';
import { configFromArgs } from '../config-from-args.ts';
import { createProgress } from '../progress.ts';
import { formatReport, reportJson } from '../report.ts';

export async function runCommand(args: ParsedArgs): Promise<number> {
  const config = configFromArgs(args);
  const json = args.flags.json === true;
  const adapter = await createAdapter(config);
  await adapter.connect();
  try {
    const report = await runBackfill(config, adapter, {
      newRun: args.flags['new-run'] === true,
      onEvent: createProgress({
        json,
        quiet: args.flags.quiet === true,
        stdout: process.stdout,
        stderr: process.stderr,
      }),
    });
    process.stdout.write(json ? `${JSON.stringify(reportJson(report))}\n` : `${formatReport(report)}\n`);
    return 0;
  } finally {
    await adapter.close();
  }
}
