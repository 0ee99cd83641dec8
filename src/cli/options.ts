/**
 * Options shared by commands: `--config` and every configuration field as a flag (generated from the
 * configuration schema, so a new field is a new flag), `--json`, `--quiet`, `--verbose`; and the configuration
 * they describe.
 */
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { envVariablesFor } from '../config/env.ts';
import { configFields, type ConfigFieldInfo } from '../config/schema.ts';
import type { BackfillConfig } from '../config/types.ts';
import type { CliContext } from './context.ts';

const FIELDS = configFields();
const FIELD_PATHS = new Set(FIELDS.map((f) => f.path));

/**
 * `--config <file>` and one `--<field> <value>` option per configuration field (`fields`: backfill.yaml's by
 * default; add-view passes view.yaml's).
 */
export function addConfigOptions(
  command: Command,
  fields: readonly ConfigFieldInfo[] = FIELDS,
  about = 'the backfill configuration (YAML or JSON)',
): Command {
  command.addOption(new Option('-c, --config <file>', about));
  addFieldOptions(command, fields);
  command.addHelpText(
    'after',
    '\nAny ClickHouse insert setting: --settings.<name> <value> (e.g. --settings.max_insert_threads 4).\n' +
      'Flags override the file; the file overrides the environment. Reference: shadowfill config schema.',
  );
  return command;
}

/** One `--<field> <value>` option per field the command does not have yet. */
export function addFieldOptions(command: Command, fields: readonly ConfigFieldInfo[]): Command {
  for (const { path, doc } of fields) {
    if (command.options.some((o) => o.long === `--${path}`)) continue;
    const env = envVariablesFor(path);
    const notes = [
      doc.default !== undefined ? `default: ${String(doc.default)}` : '',
      env.length > 0 ? `env: ${env.join(', ')}` : '',
    ].filter((n) => n.length > 0);
    const text = `${doc.description ?? doc.title ?? ''}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
    const heading = path.includes('.') ? `Configuration, ${path.split('.')[0]}:` : 'Configuration:';
    command.addOption(new Option(`--${path} <${doc.placeholder ?? 'value'}>`, text).helpGroup(heading));
  }
  return command;
}

export function addOutputOptions(command: Command, which: { json?: boolean; quiet?: boolean }): Command {
  if (which.json) command.option('--json', 'print events and the result as JSON lines on stdout');
  if (which.quiet) command.option('-q, --quiet', 'no progress output');
  command.addOption(
    new Option('-v, --verbose', 'print details of a failure (causes, database codes, stack)').env(
      'SHADOWFILL_VERBOSE',
    ),
  );
  return command;
}

/** The configuration from `--config`, the field flags, `--settings.*` and the environment. */
export function configFromOptions(command: Command, cli: CliContext): BackfillConfig {
  return loadConfig({ ...configInput(command, cli, FIELD_PATHS), env: cli.env });
}

/** `--config`, and the flags among `paths` (plus `--settings.*`) as the configuration loader takes them. */
export function configInput(
  command: Command,
  cli: CliContext,
  paths: ReadonlySet<string>,
): { file: string | undefined; flags: Record<string, string> } {
  const options = command.opts<Record<string, unknown>>();
  const flags: Record<string, string> = {};
  for (const [name, value] of Object.entries(options)) {
    if (paths.has(name) && typeof value === 'string') flags[name] = value;
  }
  for (const [name, value] of Object.entries(cli.settings)) flags[`settings.${name}`] = value;
  const file = typeof options.config === 'string' ? options.config : undefined;
  return { file, flags };
}
