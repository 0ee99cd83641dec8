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
  // First Ctrl-C: stop after the step in progress and hand live tables back in their normal state.
  // Second Ctrl-C: exit at once (the journal still lets the next run continue).
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping after the current step (Ctrl-C again to exit now)…\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const report = await runBackfill(config, adapter, {
      signal: abort.signal,
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
    process.off('SIGINT', onSigint);
    await adapter.close();
  }
}
