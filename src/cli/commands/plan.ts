/** `shadowfill plan`: validate and print every statement; changes nothing. */
import { formatStatements } from '../statements.ts';
import type { Command } from 'commander';
import { createAdapter } from '../../adapter/registry.ts';
import type { CliContext } from '../context.ts';
import { addViewOnlyOptions, isViewConfig, planView } from './add-view.ts';
import { formatBytes, formatCount } from '../format.ts';
import { addConfigOptions, addOutputOptions, configFromOptions } from '../options.ts';

export function registerPlan(program: Command, cli: CliContext): void {
  const command = program
    .command('plan')
    .summary('validate everything and print every statement; changes nothing')
    .description(
      'Validates the target (table, views), the source (glob, every object’s Parquet footer) and the schema, then prints\n' +
        'every step of the run with its SQL (credentials shown as ***). Changes nothing.\n' +
        'Given an add-view configuration (a file with a view: section), prints every statement of `add-view` instead.',
    );
  addConfigOptions(command);
  addViewOnlyOptions(command);
  addOutputOptions(command, {});
  command.action(async () => {
    if (isViewConfig(command)) return planView(command, cli);
    const config = configFromOptions(command, cli);
    const { planRun } = await import('../../runner/plan.ts');
    const adapter = await createAdapter(config);
    try {
      await adapter.connect();
      const plan = await planRun(config, adapter);
      const objects = plan.batches.flatMap((b) => b.objects);
      const bytes = objects.reduce((n, o) => n + o.size, 0);
      const out: string[] = [];
      out.push(
        `target ${config.target.kind} ${plan.target.table.database}.${plan.target.table.name} (server ${plan.target.serverVersion})`,
      );
      for (const n of plan.target.notes) out.push(`  ${n}`);
      out.push(
        `source ${config.source.url}: ${objects.length} objects, ${formatBytes(bytes)}, ${formatCount(plan.sourceRows)} rows`,
      );
      if (plan.filter) {
        out.push(
          `filter ${plan.filter.column}` +
            (plan.filter.after !== undefined ? ` >= ${plan.filter.after}` : '') +
            (plan.filter.before !== undefined ? ` < ${plan.filter.before}` : '') +
            (config.filter?.before === 'auto' ? ' (before: auto = oldest row in the live table now)' : ''),
        );
      }
      out.push(`batches ${plan.batches.length}: ${plan.batchRule}`);
      out.push(
        `workers ${plan.workers.workers} (${plan.workers.reason})` +
          (plan.decodeThreads
            ? `; decoding on ${plan.decodeThreads.threads} thread${plan.decodeThreads.threads === 1 ? '' : 's'} (${plan.decodeThreads.reason})`
            : ''),
        `order ${plan.order.kind}: ${plan.order.why}`,
        plan.readers,
      );
      if (plan.resumes) out.push(`an unfinished run ${plan.resumes} exists: \`run\` resumes it`);
      else if (plan.finished)
        out.push(`run ${plan.finished} already finished: \`run\` needs --new-run to load again`);
      out.push(...formatStatements(plan.statements));
      cli.stdout.write(`${out.join('\n')}\n`);
    } finally {
      await adapter.close();
    }
  });
}
