/**
 * The real command line in child processes: plan, run, run again, status, and one-line errors with exit
 * codes. The CLI opens embedded ClickHouse itself, so this test process never opens that data directory.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePypiParquet, PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';

const repo = join(import.meta.dirname, '..', '..');
let root: string;
let s3: LocalS3Server;
let chDir: string;
let configFile: string;
let totalRows: number;

function exec(
  command: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CLICKHOUSE_PASSWORD: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const cli = (...args: string[]) => exec(process.execPath, ['bin/shadowfill.js', ...args]);
const sql = (...statements: string[]) =>
  exec(process.execPath, [require_tsx(), join(repo, 'test/support/chdb-exec.ts'), chDir, ...statements]);

function require_tsx(): string {
  return join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs');
}

/** Lines a user sees on stderr, without runtime warnings. */
const errors = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shadowfill-cli-'));
  chDir = join(root, 'ch');
  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['cli'] });
  const generated = await generatePypiParquet({
    dir: join(root, 'parquet'),
    files: [0, 1, 2, 3, 4],
    rowsPerFile: 400,
  });
  totalRows = generated.totalRows;
  await uploadDirectory(s3.endpoint, 'cli', join(root, 'parquet'), {
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
  });
  const created = await sql(
    `CREATE TABLE default.pypi (${PYPI_STRUCTURE}) ENGINE = MergeTree ORDER BY (project, timestamp)`,
    'CREATE TABLE default.pypi_downloads (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project',
    'CREATE MATERIALIZED VIEW default.pypi_downloads_mv TO default.pypi_downloads AS SELECT project, count() AS count FROM default.pypi GROUP BY project',
  );
  expect(created.code, created.stderr).toBe(0);
  configFile = join(root, 'backfill.yaml');
  await writeFile(
    configFile,
    [
      'target:',
      '  kind: clickhouse',
      `  url: 'embedded:${chDir}'`,
      '  table: pypi',
      'source:',
      "  url: 's3://cli/pypi/2024-12-17/*-00000000000{0..4}.parquet'",
      `  endpoint: '${s3.endpoint}'`,
      '  access_key_id: S3RVER',
      '  secret_access_key: S3RVER',
      'batch:',
      '  files: 2',
      '',
    ].join('\n'),
  );
}, 300_000);

afterAll(async () => {
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('shadowfill CLI', () => {
  it('plan prints every phase with SQL and changes nothing', async () => {
    const r = await cli('plan', '--config', configFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('batches 3');
    expect(r.stdout).toMatch(
      /-- prepare[\s\S]*-- load[\s\S]*-- verify[\s\S]*-- commit[\s\S]*-- swap[\s\S]*-- cleanup/,
    );
    expect(r.stdout).toContain('MOVE PARTITION');
    expect(r.stdout).not.toContain("'S3RVER', 'S3RVER'");
    const tables = await sql("SELECT name FROM system.tables WHERE database = 'default' ORDER BY name");
    expect(JSON.parse(tables.stdout.trim())).toEqual([
      { name: 'pypi' },
      { name: 'pypi_downloads' },
      { name: 'pypi_downloads_mv' },
    ]);
  });

  it('run loads and verifies; a second run has nothing to do; status shows the finished run', async () => {
    const r = await cli('run', '--config', configFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verification: OK/);
    const counts = await sql(
      'SELECT (SELECT count() FROM default.pypi) AS n, (SELECT sum(count) FROM default.pypi_downloads) AS s',
    );
    expect(JSON.parse(counts.stdout.trim())).toEqual([{ n: String(totalRows), s: String(totalRows) }]);

    const again = await cli('run', '--config', configFile);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/nothing to do: run \S+ of this configuration finished/);

    const status = await cli('status', '--config', configFile);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/finished[\s\S]*3 committed, 0 verified, 0 pending of 3/);
  });

  it('fails with one line and a non-zero exit code on bad input', async () => {
    const empty = await cli(
      'run',
      '--config',
      configFile,
      '--source.url',
      's3://cli/pypi/*/nothing-{1..9}.parquet',
    );
    expect(empty.code).toBe(1);
    expect(errors(empty.stderr)).toEqual([
      expect.stringMatching(/^error: no object matches s3:\/\/cli\/pypi\/\*\/nothing-\{1\.\.9\}\.parquet/),
    ]);

    const missing = await cli('plan', '--config', configFile, '--target.table', 'nope');
    expect(missing.code).toBe(1);
    expect(errors(missing.stderr)).toEqual([
      expect.stringMatching(/^error: table default\.nope does not exist/),
    ]);

    const unreachable = await cli('plan', '--config', configFile, '--source.endpoint', 'http://127.0.0.1:9');
    expect(unreachable.code).toBe(1);
    expect(errors(unreachable.stderr)).toEqual([expect.stringMatching(/^error: .*127\.0\.0\.1:9/)]);

    const badConfig = await cli('run', '--config', configFile, '--batch.files', '0');
    expect(badConfig.code).toBe(2);
    expect(errors(badConfig.stderr)).toHaveLength(1);

    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
  });
});
