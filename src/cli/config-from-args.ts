/** Builds the run configuration from `--config <file>`, dotted flags and the environment. */
import type { BackfillConfig } from '../config/types.ts';
import { loadConfig } from '../config/load.ts';
import type { ParsedArgs } from './args.ts';

/** Flags that steer the CLI itself and are not configuration fields. */
const CLI_ONLY = new Set([
  'config',
  'new-run',
  'json',
  'help',
  'quiet',
  'target',
  'rows',
  'keep-data',
  'run',
  'dir',
]);

export function configFromArgs(args: ParsedArgs): BackfillConfig {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(args.flags)) if (!CLI_ONLY.has(k)) flags[k] = v;
  const file = typeof args.flags.config === 'string' ? args.flags.config : undefined;
  return loadConfig({ file, flags, env: process.env });
}
