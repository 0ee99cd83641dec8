/** `shadowfill config schema`: the JSON Schema of backfill.yaml, for editors (`# yaml-language-server: $schema=…`). */
import type { Command } from 'commander';
import { configJsonSchema } from '../../config/schema.ts';
import type { CliContext } from '../context.ts';

export function registerConfig(program: Command, cli: CliContext): void {
  const config = program.command('config').summary('about the configuration file');
  config
    .command('schema')
    .summary('print the JSON Schema of backfill.yaml')
    .description(
      'Prints the JSON Schema of the configuration file, for completion and checking in editors:\n' +
        '  shadowfill config schema > backfill.schema.json\n' +
        'and as the first line of backfill.yaml:  # yaml-language-server: $schema=./backfill.schema.json\n' +
        '(the package also ships it as shadowfill/backfill.schema.json).',
    )
    .action(() => {
      cli.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
}
