/**
 * `--settings.<name> <value>` (or `--settings.<name>=<value>`): any ClickHouse setting, so the names cannot be
 * declared as options beforehand. They are taken out of the command line before it is parsed.
 */
import { ConfigError } from '../errors.ts';

const PREFIX = '--settings.';

export function takeSettingsFlags(argv: readonly string[]): {
  readonly argv: string[];
  readonly settings: Record<string, string>;
} {
  const rest: string[] = [];
  const settings: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (!arg.startsWith(PREFIX)) {
      rest.push(arg);
      continue;
    }
    const body = arg.slice(PREFIX.length);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      settings[body.slice(0, eq)] = body.slice(eq + 1);
      continue;
    }
    const value = argv[i + 1];
    if (value === undefined || value.startsWith('--')) {
      throw new ConfigError(`option '${arg} <value>' argument missing — e.g. ${arg} 4`);
    }
    settings[body] = value;
    i += 1;
  }
  return { argv: rest, settings };
}
