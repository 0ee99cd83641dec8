/**
 * `shadowfill config schema`: the JSON Schema of backfill.yaml (or, with `--view`, of add-view's view.yaml), for
 * editors (`# yaml-language-server: $schema=…`).
 */
import type { Command } from 'commander';
import { configJsonSchema } from '../../config/schema.ts';
import type { CliContext } from '../context.ts';

export function registerConfig(program: Command, cli: CliContext): void {
  const config = program.command('config').summary('about the configuration file');
  const schema = config
    .command('schema')
    .summary('print the JSON Schema of backfill.yaml (--view: of view.yaml)')
    .description(
      'Prints the JSON Schema of the configuration file, for completion and checking in editors:\n' +
        '  shadowfill config schema > backfill.schema.json\n' +
        'and as the first line of backfill.yaml:  # yaml-language-server: $schema=./backfill.schema.json\n' +
        '(the package also ships it as shadowfill/backfill.schema.json). With --view, the schema of an add-view\n' +
        'configuration (view.yaml; shipped as shadowfill/view.schema.json).',
    )
    .option('--view', 'the schema of an add-view configuration (view.yaml) instead');
  schema.action(async () => {
    const view = schema.opts<{ view?: boolean }>().view === true;
    const json = view ? (await import('../../addview/config.ts')).viewConfigJsonSchema() : configJsonSchema();
    cli.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  });
}
