/**
 * The `shadowfill` command line (commander): plan, run, status, demo, config schema — each in commands/. Runs in
 * the calling process. A failure is one `error:` line naming what failed and what to do (details with
 * `--verbose`, or as a JSON line with `--json`). Exit codes: 0 success (also "nothing to do"), 1 failure,
 * 2 bad usage or configuration, 130 interrupted.
 */
import { Command, CommanderError } from 'commander';
import { ShadowfillError, TargetError, oneLine } from '../errors.ts';
import { COMMANDS } from './commands/index.ts';
import type { CliContext } from './context.ts';
import { takeSettingsFlags } from './settings-flags.ts';
import { packageVersion } from './version.ts';

export interface CliIO {
  readonly stdout?: CliContext['stdout'];
  readonly stderr?: CliContext['stderr'];
  readonly env?: NodeJS.ProcessEnv;
}

export function createProgram(cli: CliContext): Command {
  const program = new Command('shadowfill')
    .description(
      'Backfills historical Parquet from object storage into live ClickHouse and TimescaleDB tables through shadow\n' +
        'tables, without pausing ingestion and without ever leaving a live table half-loaded.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .helpCommand('help [command]', 'print help for a command')
    // Subcommands inherit these: errors come back here as exceptions, printed as one line by `runCli`.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => cli.stdout.write(text),
      writeErr: (text) => cli.stderr.write(text),
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      '\nExit codes: 0 success (also "nothing to do"), 1 failure, 2 bad usage or configuration, 130 interrupted.\n' +
        'See `shadowfill <command> --help` and README.md.',
    );
  program.hook('preAction', (_program, action) => {
    const options = action.opts<{ verbose?: boolean; json?: boolean }>();
    cli.verbose = options.verbose === true;
    cli.json = options.json === true;
    const settings = Object.keys(cli.settings);
    if (settings.length > 0 && !action.options.some((o) => o.long === '--config')) {
      throw new CommanderError(
        2,
        'shadowfill.settingsNotAccepted',
        `--settings.${settings[0]} applies to plan, run and status, not to ${action.name()}`,
      );
    }
  });
  for (const register of COMMANDS) register(program, cli);
  return program;
}

/** `unknown option '--new-rnu'\n(Did you mean --new-run?)` → one line. */
function commanderLine(error: CommanderError): string {
  return error.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)/, ' — did you mean $1?')
    .replace(/\n+/g, ' ')
    .trim();
}

/** The causes of an error, one per line, for `--verbose`. */
function details(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 8; depth += 1) {
    if (current instanceof ShadowfillError) {
      const native =
        current instanceof TargetError && current.nativeCode ? ` native ${current.nativeCode}` : '';
      const failure = current instanceof TargetError ? ` ${current.failure}` : '';
      lines.push(`  ${current.name} ${current.code}${failure}${native} retryable=${current.retryable}`);
    }
    if (current instanceof Error) {
      lines.push(...(current.stack ?? current.message).split('\n').map((l) => `  ${l}`));
      current = current.cause;
    } else {
      lines.push(`  ${String(current)}`);
      current = undefined;
    }
  }
  return lines.join('\n');
}

function errorJson(error: unknown): string {
  const base = { type: 'error', message: oneLine(error), at: new Date().toISOString() };
  if (!(error instanceof ShadowfillError)) return JSON.stringify(base);
  return JSON.stringify({
    ...base,
    code: error.code,
    retryable: error.retryable,
    ...(error instanceof TargetError ? { failure: error.failure, nativeCode: error.nativeCode } : {}),
  });
}

/** Runs the command line `argv` (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIO = {}): Promise<number> {
  const cli: CliContext = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    settings: {},
    verbose: false,
    json: false,
    exitCode: 0,
  };
  try {
    const taken = takeSettingsFlags(argv);
    Object.assign(cli, { settings: taken.settings });
    const program = createProgram(cli);
    if (taken.argv.length === 0) {
      cli.stdout.write(program.helpInformation());
      return 0;
    }
    await program.parseAsync(taken.argv, { from: 'user' });
    return cli.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(error.code)) {
        return 0;
      }
      cli.stderr.write(`error: ${commanderLine(error)}\n`);
      return 2;
    }
    if (error instanceof ShadowfillError && error.code === 'NOTHING_TO_DO') {
      cli.stderr.write(`${oneLine(error)}\n`);
      return error.exitCode;
    }
    cli.stderr.write(`error: ${oneLine(error)}\n`);
    if (cli.verbose) cli.stderr.write(`${details(error)}\n`);
    if (cli.json) cli.stdout.write(`${errorJson(error)}\n`);
    return error instanceof ShadowfillError ? error.exitCode : 1;
  }
}
