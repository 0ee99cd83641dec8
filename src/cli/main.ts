/**
 * The `shadowfill` command line: plan, run, status, demo. Every failure is printed as one line naming what
 * failed and what to do, with a non-zero exit code (NOTHING_TO_DO exits 0).
 */
import { ShadowfillError, oneLine } from '../errors.ts';
import { parseArgs } from './args.ts';
import { silenceNodeVersionWarning } from '../local/quiet-warnings.ts';
import { HELP } from './help.ts';
import { planCommand } from './commands/plan.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { demoCommand } from './commands/demo.ts';
import { addViewCommand, addViewDemoCommand, isViewConfig, planViewCommand } from './commands/add-view.ts';

silenceNodeVersionWarning();

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.flags.help || !args.command || args.command === 'help') {
    process.stdout.write(HELP);
    return args.command && args.command !== 'help' ? 2 : 0;
  }
  switch (args.command) {
    case 'plan':
      return isViewConfig(args) ? planViewCommand(args) : planCommand(args);
    case 'add-view':
      return addViewCommand(args);
    case 'run':
      return runCommand(args);
    case 'status':
      return statusCommand(args);
    case 'demo':
      return args.flags.scenario === 'add-view' ? addViewDemoCommand(args) : demoCommand(args);
    default:
      process.stderr.write(
        `error: unknown command ${args.command} — use plan, run, add-view, status or demo (see shadowfill --help)\n`,
      );
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ShadowfillError) {
      process.stderr.write(`${error.code === 'NOTHING_TO_DO' ? '' : 'error: '}${oneLine(error)}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`error: ${oneLine(error)}\n`);
      if (process.env.SHADOWFILL_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ''}\n`);
      process.exitCode = 1;
    }
  },
);
