/**
 * The reference side of the PostgreSQL/TimescaleDB benchmarks: the same rows as the Parquet files, exported once to
 * CSV by chDB (not timed: a user of the manual procedure starts from files psql can read), loaded with
 * `psql -c "\copy … FROM file CSV"` (timed: the psql process's wall time, connection included).
 */
import { spawn } from 'node:child_process';
import { PYPI_COLUMNS } from '../../fixtures/pypi.ts';

const COLUMN_LIST = PYPI_COLUMNS.map((c) => `"${c}"`).join(', ');

/** Where `exportPypiCsv` reads Parquet: a local path glob, or a glob on an S3 server. */
export type ParquetSource =
  | { readonly glob: string }
  | { readonly s3: { readonly url: string; readonly accessKeyId: string; readonly secretAccessKey: string } };

/** Exports the PyPI rows of the Parquet files of `source` to one CSV file (with chDB). */
export async function exportPypiCsv(source: ParquetSource, csv: string): Promise<void> {
  const chdb = await import('chdb');
  const from =
    'glob' in source
      ? `file('${source.glob}', 'Parquet')`
      : `s3('${source.s3.url}', '${source.s3.accessKeyId}', '${source.s3.secretAccessKey}', 'Parquet')`;
  await chdb.queryAsync(
    `INSERT INTO FUNCTION file('${csv}', 'CSV') SELECT formatDateTime("timestamp", '%Y-%m-%d %H:%i:%S+00', 'UTC'), ` +
      `${PYPI_COLUMNS.slice(1).join(', ')} FROM ${from} ` +
      `SETTINGS engine_file_truncate_on_insert = 1`,
    { format: 'TSV' },
  );
}

/** `psql -c "\copy <table> (<PyPI columns>) FROM '<csv>' WITH (FORMAT csv)"`; resolves with its wall seconds. */
export function psqlCopy(url: string, table: string, csv: string): Promise<number> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(
      'psql',
      [
        url,
        '-v',
        'ON_ERROR_STOP=1',
        '-q',
        '-c',
        `\\copy ${table} (${COLUMN_LIST}) FROM '${csv}' WITH (FORMAT csv)`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - start) / 1e9)
        : reject(new Error(`psql \\copy into ${table} exited with code ${code}: ${stderr.trim()}`)),
    );
  });
}
