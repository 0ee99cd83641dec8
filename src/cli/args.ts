/**
 * Command-line parsing: `shadowfill <command> [--flag value | --flag=value | --switch] …`. Dotted flags
 * (`--target.url`, `--settings.max_insert_threads`) become configuration overrides.
 */

export interface ParsedArgs {
  readonly command: string | undefined;
  readonly positionals: readonly string[];
  readonly flags: Readonly<Record<string, string | boolean>>;
}

/** Switches never take a value. */
const SWITCHES = new Set(['new-run', 'json', 'help', 'quiet', 'keep-data']);

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '-h') {
      flags.help = true;
    } else if (arg.startsWith('--')) {
      const body = arg.slice(2);
      const eq = body.indexOf('=');
      if (eq >= 0) {
        flags[body.slice(0, eq)] = body.slice(eq + 1);
      } else if (SWITCHES.has(body) || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) {
        flags[body] = true;
      } else {
        flags[body] = argv[i + 1]!;
        i += 1;
      }
    } else {
      positionals.push(arg);
    }
  }
  return { command: positionals[0], positionals: positionals.slice(1), flags };
}
