/** `shadowfill demo`: the guide's scenario on the embedded default, verified. */
import type { ParsedArgs } from '../args.ts';
import { createProgress } from '../progress.ts';
import { formatReport, reportJson } from '../report.ts';
import { formatCount } from '../format.ts';
import { ConfigError } from '../../errors.ts';

export async function demoCommand(args: ParsedArgs): Promise<number> {
  const target = typeof args.flags.target === 'string' ? args.flags.target : 'clickhouse';
  const rows = args.flags.rows === undefined ? undefined : Number(args.flags.rows);
  if (rows !== undefined && (!Number.isInteger(rows) || rows < 1)) {
    throw new ConfigError('--rows must be a positive whole number of rows per file');
  }
  const dir = typeof args.flags.dir === 'string' ? args.flags.dir : `.data/demo-${target}`;
  const json = args.flags.json === true;
  const onEvent = createProgress({ json, quiet: false, stdout: process.stdout, stderr: process.stderr });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (target === 'clickhouse') {
    const { clickhouseDemo } = await import('../../demo/clickhouse.ts');
    const result = await clickhouseDemo({ dir, rowsPerFile: rows ?? 100_000, onEvent, log });
    if (json) {
      process.stdout.write(`${JSON.stringify(reportJson(result.report))}\n`);
      process.stdout.write(
        `${JSON.stringify({ type: 'demo-verification', totalRows: result.totalRows, pypiRows: result.pypiRows, downloadsSum: result.downloadsSum, ok: result.ok })}\n`,
      );
    } else {
      process.stdout.write(`${formatReport(result.report)}\n`);
      process.stdout.write(
        `demo verification: all files have ${formatCount(result.totalRows)} rows; ` +
          `count() of pypi = ${formatCount(result.pypiRows)}; sum(count) of pypi_downloads = ${formatCount(result.downloadsSum)} → ` +
          `${result.ok ? 'OK' : 'MISMATCH'}\n`,
      );
    }
    return result.ok ? 0 : 1;
  }
  if (target === 'timescaledb') {
    const { timescaleDemo } = await import('../../demo/timescaledb.ts');
    return timescaleDemo({ dir, rows, onEvent, log, json });
  }
  throw new ConfigError(`--target ${target} is not supported — use clickhouse or timescaledb`);
}
