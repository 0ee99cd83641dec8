/**
 * The real command line, built (dist/) and started through bin/shadowfill.js in child processes: plan, run, run
 * again, status, config schema; usage errors (typos, missing values) refused before anything runs; one `error:`
 * line per failure; Ctrl-C, a second Ctrl-C and kill -9 of the visible process; chDB's directory lock. The CLI
 * opens embedded ClickHouse itself, so this test process opens its data directory only where a test says so.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { generatePypiParquet, PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { ensureBuilt, REPO } from '../support/build.ts';

let root: string;
let s3: LocalS3Server;
let chDir: string;
let configFile: string;
let totalRows: number;
/** Rows of the two large objects in bucket `big`, whose loads take long enough to be aborted midway. */
let bigRows: number;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, ['bin/shadowfill.js', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CLICKHOUSE_PASSWORD: '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

const cli = (...args: string[]) => start(args).done;

function exec(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const sql = (...statements: string[]) =>
  exec([
    join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
    join(REPO, 'test/support/chdb-exec.ts'),
    chDir,
    ...statements,
  ]);

async function createTables(table: string): Promise<void> {
  const created = await sql(
    `CREATE TABLE default.${table} (${PYPI_STRUCTURE}) ENGINE = MergeTree ORDER BY (project, timestamp)`,
    `CREATE TABLE default.${table}_downloads (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project`,
    `CREATE MATERIALIZED VIEW default.${table}_mv TO default.${table}_downloads AS SELECT project, count() AS count FROM default.${table} GROUP BY project`,
  );
  expect(created.code, created.stderr).toBe(0);
}

async function counts(table: string): Promise<{ n: string; s: string }> {
  const r = await sql(
    `SELECT (SELECT count() FROM default.${table}) AS n, (SELECT sum(count) FROM default.${table}_downloads) AS s`,
  );
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout.trim()) as { n: string; s: string }[])[0]!;
}

/** Lines a user sees on stderr that report a failure. */
const errors = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

/** JSON events on stdout. */
const events = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });

beforeAll(async () => {
  await ensureBuilt();
  root = await mkdtemp(join(tmpdir(), 'shadowfill-cli-'));
  chDir = join(root, 'ch');
  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['cli', 'big'] });
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
  const big = await generatePypiParquet({ dir: join(root, 'big'), files: [0, 1], rowsPerFile: 400_000 });
  bigRows = big.totalRows;
  await uploadDirectory(s3.endpoint, 'big', join(root, 'big'), {
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
  });
  await createTables('pypi');
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
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

describe('shadowfill CLI', () => {
  it('plan prints every phase with SQL and changes nothing; takes dotted flags and --settings.*', async () => {
    const r = await cli('plan', '--config', configFile, '--settings.max_insert_threads', '3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('batches 3');
    expect(r.stdout).toMatch(
      /-- prepare[\s\S]*-- load[\s\S]*-- verify[\s\S]*-- commit[\s\S]*-- swap[\s\S]*-- cleanup/,
    );
    expect(r.stdout).toContain('MOVE PARTITION');
    // Run tables give their parts UUIDs, and a move a stopped server left half done is not moved twice.
    expect(r.stdout).toContain('MODIFY SETTING assign_part_uuids = 1');
    expect(r.stdout).toContain('not moved twice');
    expect(r.stdout).not.toContain("'S3RVER', 'S3RVER'");
    // How the run would be scheduled: workers (auto, and why), the order, what readers see.
    expect(r.stdout).toMatch(/^workers \d+ \(auto: \d+ CPU cores?/m);
    expect(r.stdout).toMatch(/^order (time|object): /m);
    expect(r.stdout).toMatch(
      /^mode historical: readers of default\.pypi see nothing change until every batch/m,
    );
    const three = await cli('plan', '--config', configFile, '--workers', '3');
    expect(three.stdout).toMatch(/^workers 3 \(as configured\)$/m);
    const catchup = await cli('plan', '--config', configFile, '--mode', 'catchup');
    expect(catchup.code).toBe(2);
    expect(catchup.stderr).toContain('mode: catchup needs a target that swaps everything in one transaction');
    const one = await cli('plan', '--config', configFile, '--batch.files', '1');
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain('batches 5');
    const tables = await sql("SELECT name FROM system.tables WHERE database = 'default' ORDER BY name");
    expect(JSON.parse(tables.stdout.trim())).toEqual([
      { name: 'pypi' },
      { name: 'pypi_downloads' },
      { name: 'pypi_mv' },
    ]);
  });

  it('reads target fields from the environment variables it names in --help', async () => {
    const noUrl = join(root, 'no-url.yaml');
    await writeFile(noUrl, (await readFile(configFile, 'utf8')).replace(/ {2}url: 'embedded:[^\n]*\n/, ''));
    const missing = await cli('plan', '--config', noUrl);
    expect(missing.code).toBe(2);
    expect(errors(missing.stderr)).toEqual([
      'error: missing `target.url` (where the database is) — set target.url in no-url.yaml, pass --target.url or set CLICKHOUSE_URL',
    ]);
    const fromEnv = await start(['plan', '--config', noUrl], { CLICKHOUSE_URL: `embedded:${chDir}` }).done;
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    const help = await cli('run', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--target\.url <url>[\s\S]*env: CLICKHOUSE_URL, DATABASE_URL/);
    expect(help.stdout).toContain('--new-run');
    expect(help.stdout).toContain('--timescaledb.max_decompressed_bytes <size>');
  });

  it('refuses typos, unknown commands and flags without their value, with a suggestion, before running anything', async () => {
    const typo = await cli('run', '--config', configFile, '--new-rnu');
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim()).toBe("error: unknown option '--new-rnu' — did you mean --new-run?");
    const field = await cli('run', '--config', configFile, '--target.tabel', 'x');
    expect(field.code).toBe(2);
    expect(field.stderr.trim()).toBe("error: unknown option '--target.tabel' — did you mean --target.table?");
    const rows = await cli('demo', '--rows');
    expect(rows.code).toBe(2);
    expect(rows.stderr.trim()).toBe("error: option '--rows <n>' argument missing");
    const badRows = await cli('demo', '--rows', 'many');
    expect(badRows.code).toBe(2);
    expect(errors(badRows.stderr)).toHaveLength(1);
    const value = await cli('run', '--config', configFile, '--batch.files');
    expect(value.code).toBe(2);
    expect(value.stderr.trim()).toBe("error: option '--batch.files <n>' argument missing");
    const setting = await cli('run', '--config', configFile, '--settings.max_insert_threads');
    expect(setting.code).toBe(2);
    expect(errors(setting.stderr)).toHaveLength(1);
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(2);
    expect(errors(unknown.stderr)).toEqual([expect.stringMatching(/^error: unknown command 'frobnicate'/)]);
    // Nothing ran: no journal, no shadow.
    const tables = await sql("SELECT count() AS n FROM system.tables WHERE database = 'default'");
    expect(JSON.parse(tables.stdout.trim())).toEqual([{ n: '3' }]);
  });

  it('prints the version, help per command, and the config JSON Schema', async () => {
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    const version = await cli('--version');
    expect([version.code, version.stdout.trim()]).toEqual([0, pkg.version]);
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const command of ['plan', 'run', 'status', 'demo', 'config']) expect(help.stdout).toContain(command);
    const demo = await cli('demo', '--help');
    expect(demo.stdout).toMatch(/--target <kind>[\s\S]*--target\.url <url>[\s\S]*--rows <n>/);
    const schema = await cli('config', 'schema');
    expect(schema.code, schema.stderr).toBe(0);
    const committed = JSON.parse(
      await readFile(join(REPO, 'schema', 'backfill.schema.json'), 'utf8'),
    ) as unknown;
    expect(JSON.parse(schema.stdout)).toEqual(committed);
  });

  it('run loads and verifies; a second run has nothing to do; status shows the finished run', async () => {
    const r = await cli('run', '--config', configFile);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/verification: OK/);
    expect(await counts('pypi')).toEqual({ n: String(totalRows), s: String(totalRows) });

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
    expect(errors(badConfig.stderr)).toEqual([
      'error: `batch.files` is `0` from --batch.files — use a whole number ≥ 1 (objects per batch)',
    ]);
  });

  it('prints a load failure once, does not retry what cannot succeed, and gives details with --verbose / --json', async () => {
    await createTables('pypi_bad');
    const args = [
      'run',
      '--config',
      configFile,
      '--target.table',
      'pypi_bad',
      '--settings.no_such_setting',
      '1',
    ];
    const plain = await cli(...args);
    expect(plain.code).toBe(1);
    // One line, once: not again as a batch note nor as a "run stopped" note.
    expect(errors(plain.stderr)).toEqual([expect.stringMatching(/^error: .*no_such_setting/)]);
    expect(plain.stderr.split('no_such_setting').length - 1).toBe(1);

    const json = await cli(...args, '--new-run', '--json');
    expect(json.code).toBe(1);
    const failed = events(json.stdout).filter((e) => e.type === 'batch-failed');
    // attempts defaults to 3, but an unknown setting is not retryable: one attempt (per batch in flight: with
    // `workers: auto` several lanes may have started one).
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f).toMatchObject({ attempt: 1, willRetry: false });
    expect(new Set(failed.map((f) => f.batch)).size).toBe(failed.length);
    expect(events(json.stdout).at(-1)).toMatchObject({
      type: 'error',
      code: 'TARGET_MISSING',
      failure: 'unknown-identifier',
      retryable: false,
      nativeCode: '115',
    });

    const verbose = await cli(...args, '--new-run', '--verbose');
    expect(errors(verbose.stderr)).toHaveLength(1);
    expect(verbose.stderr).toMatch(
      /TargetError TARGET_MISSING unknown-identifier native 115 retryable=false/,
    );
    expect(await counts('pypi_bad')).toEqual({ n: '0', s: '0' });
  });

  it('says in one line that another process holds the embedded data directory', async () => {
    const held = join(root, 'held');
    const holder = new ChdbDriver(held);
    try {
      await holder.command('CREATE TABLE default.pypi (x UInt8) ENGINE = MergeTree ORDER BY x');
      const r = await cli('plan', '--config', configFile, '--target.url', `embedded:${held}`);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        `error: another process (pid ${process.pid}) holds the embedded ClickHouse data directory ${held} — wait for it to finish or stop it, or use another directory`,
      ]);
    } finally {
      await holder.close();
    }
  });
});

describe('one process: Ctrl-C, a second Ctrl-C, kill -9', () => {
  /** Starts `run --json` on its own table and resolves at the first event of `type`. */
  async function runUntil(table: string, type: string, extra: string[] = []) {
    await createTables(table);
    const run = start([
      'run',
      '--config',
      configFile,
      '--target.table',
      table,
      '--batch.files',
      '1',
      '--json',
      ...extra,
    ]);
    const lines = createInterface({ input: run.child.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line.startsWith('{') && (JSON.parse(line) as { type: string }).type === type) resolve();
      });
      void run.done.then((r) => reject(new Error(`exited before ${type}: ${r.stderr}`)));
    });
    return run;
  }

  it('first Ctrl-C stops after the current step and says how to resume; the next run finishes', async () => {
    const run = await runUntil('pypi_stop', 'batch-committed');
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('stopping after the current step');
    expect(errors(r.stderr)).toEqual([
      expect.stringMatching(/^error: interrupted: .*run the same command again to resume$/),
    ]);
    const committed = events(r.stdout).filter((e) => e.type === 'batch-committed').length;
    expect(committed).toBeGreaterThanOrEqual(1);
    expect(committed).toBeLessThan(5);
    expect(await counts('pypi_stop')).toEqual({ n: '0', s: '0' });

    const resumed = await cli(
      'run',
      '--config',
      configFile,
      '--target.table',
      'pypi_stop',
      '--batch.files',
      '1',
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/\(resumed\)/);
    expect(await counts('pypi_stop')).toEqual({ n: String(totalRows), s: String(totalRows) });
  });

  it('a second Ctrl-C aborts the step in progress; the next run finishes exactly', async () => {
    const run = await runUntil('pypi_abort', 'batch-started', ['--source.url', 's3://big/**.parquet']);
    const stopping = new Promise<void>((resolve) =>
      run.child.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('stopping after the current step')) resolve();
      }),
    );
    run.child.kill('SIGINT');
    // Signals of one kind do not queue: send the second once the first was handled.
    await stopping;
    run.child.kill('SIGINT');
    const r = await run.done;
    // Killed by the interrupt, as Unix programs end on one (a shell shows status 130).
    expect([r.code, r.signal], r.stderr).toEqual([null, 'SIGINT']);
    expect(r.stderr).toContain('aborting the step in progress');
    expect(events(r.stdout).filter((e) => e.type === 'batch-committed')).toEqual([]);
    const resumed = await cli(
      'run',
      '--config',
      configFile,
      '--target.table',
      'pypi_abort',
      '--batch.files',
      '1',
      '--source.url',
      's3://big/**.parquet',
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await counts('pypi_abort')).toEqual({ n: String(bigRows), s: String(bigRows) });
  });

  it('kill -9 of the visible process kills the backfill: the next run opens the directory at once', async () => {
    const run = await runUntil('pypi_kill', 'batch-committed');
    run.child.kill('SIGKILL');
    const r = await run.done;
    expect(r.signal).toBe('SIGKILL');
    // No process is left holding the data directory or loading batches.
    const resumed = await cli(
      'run',
      '--config',
      configFile,
      '--target.table',
      'pypi_kill',
      '--batch.files',
      '1',
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(await counts('pypi_kill')).toEqual({ n: String(totalRows), s: String(totalRows) });
  });
});
