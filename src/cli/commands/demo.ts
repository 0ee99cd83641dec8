/**
 * `shadowfill demo`: the guide's scenario end to end on embedded engines, verified. `--target timescaledb
 * --target.url postgres://…` runs the TimescaleDB demo against a real server instead of the embedded one.
 * `--scenario add-view`: the guide's scenario 2 (adding a view to a live table) on embedded ClickHouse.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ADAPTER_CONFIGS } from '../../adapter/registry.ts';
import { ConfigError } from '../../errors.ts';
import type { CliContext } from '../context.ts';
import { addViewDemoCommand } from './add-view.ts';
import { formatCount } from '../format.ts';
import { handleInterrupts } from '../interrupts.ts';
import { addOutputOptions } from '../options.ts';
import { createProgress } from '../progress.ts';
import { formatReport, reportJson } from '../report.ts';

function positiveWholeNumber(text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('use a positive whole number of rows per file');
  return n;
}

export function registerDemo(program: Command, cli: CliContext): void {
  const command = program
    .command('demo')
    .summary('backfill a generated PyPI dataset on embedded engines and verify it')
    .description(
      'Starts a local S3 server and an embedded database under --dir, writes PyPI-shaped Parquet, creates live data,\n' +
        'backfills the rest through shadowfill and verifies the result from the database.',
    )
    .addOption(
      new Option('--target <kind>', 'which demo')
        .choices(ADAPTER_CONFIGS.map((a) => a.kind))
        .default('clickhouse'),
    )
    .addOption(
      new Option(
        '--target.url <url>',
        'timescaledb only: a PostgreSQL server with TimescaleDB to use instead of the embedded one (postgres://user:pass@host:5432/db)',
      ),
    )
    .option(
      '--rows <n>',
      'rows per Parquet file (default: 100000 for clickhouse, 6000 for timescaledb)',
      positiveWholeNumber,
    )
    .option('--dir <dir>', 'working directory, emptied first (default: .data/demo-<target>)')
    .addOption(
      new Option(
        '--scenario <name>',
        'backfill: Parquet history into a live table; add-view: a new view added to a live table while it ingests (ClickHouse; default --dir .data/demo-add-view)',
      )
        .choices(['backfill', 'add-view'])
        .default('backfill'),
    );
  addOutputOptions(command, { json: true });
  command.action(async () => {
    const options = command.opts<{
      target: string;
      scenario: string;
      'target.url'?: string;
      rows?: number;
      dir?: string;
      json?: boolean;
      verbose?: boolean;
    }>();
    const target = options.target;
    const url = options['target.url'];
    if (options.scenario === 'add-view') {
      if (target !== 'clickhouse' || url !== undefined) {
        throw new ConfigError(
          '--scenario add-view runs on embedded ClickHouse (chDB) — remove --target/--target.url (TimescaleDB: see docs/ADD-VIEW.md)',
        );
      }
      await addViewDemoCommand(cli, {
        rows: options.rows,
        dir: options.dir,
        json: options.json === true,
        verbose: options.verbose === true,
      });
      return;
    }
    const dir = options.dir ?? `.data/demo-${target}`;
    const json = options.json === true;
    const onEvent = createProgress({
      json,
      quiet: false,
      verbose: options.verbose === true,
      stdout: cli.stdout,
      stderr: cli.stderr,
    });
    const log = (line: string) => cli.stderr.write(`${line}\n`);
    const interrupts = handleInterrupts({
      stderr: cli.stderr,
      stopping: 'stopping the demo after the current step',
      resume: `shadowfill demo --target ${target}`,
    });
    try {
      if (target === 'clickhouse') {
        if (url !== undefined) {
          throw new ConfigError(
            '--target.url applies to --target timescaledb: the ClickHouse demo runs on embedded chDB (choose its directory with --dir)',
          );
        }
        const { clickhouseDemo } = await import('../../../demo/clickhouse.ts');
        const demoOptions: Parameters<typeof clickhouseDemo>[0] = {
          dir,
          rowsPerFile: options.rows ?? 100_000,
          onEvent,
          log,
          signal: interrupts.signal,
        };
        const result = await clickhouseDemo(demoOptions);
        if (json) {
          cli.stdout.write(`${JSON.stringify(reportJson(result.report))}\n`);
          cli.stdout.write(
            `${JSON.stringify({ type: 'demo-verification', totalRows: result.totalRows, pypiRows: result.pypiRows, downloadsSum: result.downloadsSum, ok: result.ok })}\n`,
          );
        } else {
          cli.stdout.write(`${formatReport(result.report)}\n`);
          cli.stdout.write(
            `demo verification: all files have ${formatCount(result.totalRows)} rows; ` +
              `count() of pypi = ${formatCount(result.pypiRows)}; sum(count) of pypi_downloads = ${formatCount(result.downloadsSum)} → ` +
              `${result.ok ? 'OK' : 'MISMATCH'}\n`,
          );
        }
        cli.exitCode = result.ok ? 0 : 1;
        return;
      }
      const timescale = ADAPTER_CONFIGS.find((a) => a.kind === 'timescaledb');
      if (url !== undefined && timescale && !timescale.url.pattern.test(url)) {
        throw new ConfigError(
          `--target.url must be a PostgreSQL URL like ${timescale.url.example}, not ${url.replace(/\/\/[^@/]*@/, '//***@')}`,
        );
      }
      const { timescaleDemo } = await import('../../../demo/timescaledb.ts');
      const demoOptions: Parameters<typeof timescaleDemo>[0] = {
        dir,
        rows: options.rows,
        onEvent,
        log,
        json,
        out: cli.stdout,
        signal: interrupts.signal,
        ...(url !== undefined ? { url } : {}),
      };
      cli.exitCode = await timescaleDemo(demoOptions);
    } finally {
      interrupts.dispose();
    }
  });
}
