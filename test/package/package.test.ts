/**
 * shadowfill as users get it: `npm pack` of this checkout, installed into an empty directory from the tarball
 * (dependencies from the local npm cache where it has them), then `npx shadowfill --version`, a TypeScript
 * check against the shipped .d.ts, and a plain-JavaScript program that imports `shadowfill` and backfills the
 * embedded ClickHouse (chDB) and the embedded TimescaleDB (PGlite) from a local S3 server.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePypiParquet, PYPI_PG_COLUMNS, PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { acquireEmbeddedTimescale } from '../../src/local/timescaledb-server.ts';
import { ensureBuilt, REPO } from '../support/build.ts';

const run = promisify(execFile);
let root: string;
let consumer: string;
let tarball: string;
let files: string[];
let s3: LocalS3Server;
let rows: number;

function node(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'shadowfill-package-'));
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], {
    cwd: REPO,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(root, info!.filename);
  files = info!.files.map((f) => f.path);
  consumer = join(root, 'consumer');
  await mkdir(consumer);
  await writeFile(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], {
    cwd: consumer,
    maxBuffer: 64 * 1024 * 1024,
  });

  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['pkg'] });
  const generated = await generatePypiParquet({
    dir: join(root, 'parquet'),
    files: [0, 1],
    rowsPerFile: 300,
  });
  rows = generated.totalRows;
  await uploadDirectory(s3.endpoint, 'pkg', join(root, 'parquet'), {
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
}, 900_000);

afterAll(async () => {
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

describe('the npm package', () => {
  it('ships the compiled code with its declarations, not the sources or tests', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/src/index.js',
        'dist/src/index.d.ts',
        'dist/src/cli/bin.js',
        'dist/src/local/s3-server-child.js',
        'dist/src/local/timescaledb-server-child.js',
        'schema/backfill.schema.json',
        'package.json',
        'README.md',
      ]),
    );
    expect(
      files.filter((f) => /^(test|bench)\//.test(f) || (/\.ts$/.test(f) && !/\.d\.ts$/.test(f))),
    ).toEqual([]);
  });

  it('installs without tsx and runs `npx shadowfill --version`', async () => {
    expect(existsSync(join(consumer, 'node_modules', 'tsx'))).toBe(false);
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const version = await run('npx', ['--no-install', 'shadowfill', '--version'], { cwd: consumer });
    expect(version.stdout.trim()).toBe(pkg.version);
  });

  it('gives TypeScript users its types', async () => {
    await writeFile(
      join(consumer, 'check.ts'),
      [
        "import { defineConfig, TargetError, type BackfillConfig, type RunReport } from 'shadowfill';",
        "const config: BackfillConfig = defineConfig({ target: { kind: 'clickhouse', url: 'embedded:x', table: 't' }, source: { url: 's3://b/k' } });",
        'export const files: number = config.batch.files;',
        'export type Rows = RunReport["rowsLoaded"];',
        "export const failure: TargetError['failure'] = 'syntax';",
        '// @ts-expect-error: not a target kind',
        "defineConfig({ target: { kind: 'mysql', url: 'x', table: 't' }, source: { url: 's3://b/k' } });",
        '',
      ].join('\n'),
    );
    await writeFile(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.ts'],
      }),
    );
    const tsc = await node(
      [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      consumer,
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  });

  it('runs a plain-JavaScript backfill on the embedded targets: ClickHouse (chDB) and TimescaleDB (PGlite)', async () => {
    const program = `
      import { createAdapter, defineConfig, runBackfill } from 'shadowfill';
      const [kind, dir, table, url, endpoint] = process.argv.slice(2);
      const config = defineConfig({
        target: { kind, url: 'embedded:' + dir, table },
        source: { url, endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } },
      });
      const adapter = await createAdapter(config);
      await adapter.connect();
      try {
        const report = await runBackfill(config, adapter);
        console.log(JSON.stringify({ rowsLoaded: report.rowsLoaded, after: report.after[0].rows }));
      } finally {
        await adapter.close();
      }
    `;
    await writeFile(join(consumer, 'backfill.mjs'), program);
    const source = 's3://pkg/pypi/**.parquet';

    // ClickHouse: the table is created by another process (chDB binds a directory to one process).
    const chDir = join(root, 'ch');
    const created = await node(
      [
        join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
        join(REPO, 'test', 'support', 'chdb-exec.ts'),
        chDir,
        `CREATE TABLE default.pypi (${PYPI_STRUCTURE}) ENGINE = MergeTree ORDER BY (project, timestamp)`,
      ],
      REPO,
    );
    expect(created.code, created.stderr).toBe(0);
    const ch = await node(['backfill.mjs', 'clickhouse', chDir, 'pypi', source, s3.endpoint], consumer);
    expect(ch.code, ch.stderr).toBe(0);
    expect(JSON.parse(ch.stdout.trim().split('\n').at(-1)!)).toEqual({ rowsLoaded: rows, after: rows });

    // TimescaleDB: a hypertable in the embedded server's directory, then the server is stopped again.
    const tsDir = join(root, 'tsdb');
    const lease = await acquireEmbeddedTimescale({ directory: tsDir });
    const client = new pg.Client({ host: lease.server.host, port: lease.server.port, user: 'postgres' });
    try {
      await client.connect();
      await client.query(`CREATE TABLE pypi (${PYPI_PG_COLUMNS})`);
      await client.query(`SELECT create_hypertable('pypi', by_range('timestamp', INTERVAL '1 day'))`);
    } finally {
      await client.end();
      await lease.release();
    }
    const ts = await node(['backfill.mjs', 'timescaledb', tsDir, 'pypi', source, s3.endpoint], consumer);
    expect(ts.code, ts.stderr).toBe(0);
    expect(JSON.parse(ts.stdout.trim().split('\n').at(-1)!)).toEqual({ rowsLoaded: rows, after: rows });
  });
});
