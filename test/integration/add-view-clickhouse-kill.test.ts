/**
 * add-view through the real command line, in child processes (chDB binds a data directory to one process, so
 * this test process never opens it; test/support/chdb-exec.ts sets up and inspects): `plan` on a view config,
 * bad input (one line, exit 2, nothing created), and an engine killed with SIGKILL in the middle of a window and
 * in the middle of the partition moves — the next `add-view` finishes the same run, and every row of history is
 * counted exactly once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeViewConfig } from '../support/add-view.ts';

const require = createRequire(import.meta.url);
const repo = join(import.meta.dirname, '..', '..');
const tsx = pathToFileURL(require.resolve('tsx')).href;
let root: string;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The CLI as `node --import tsx src/cli/bin.ts …` (one process: a SIGKILL kills the engine itself). */
function cli(
  args: string[],
  killWhen?: (event: { type: string; window?: number }) => boolean,
): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, join(repo, 'src/cli/bin.ts'), ...args], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout += `${line}\n`;
      if (!killWhen) return;
      try {
        if (killWhen(JSON.parse(line) as { type: string; window?: number })) child.kill('SIGKILL');
      } catch {
        // not an event
      }
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs SQL on the data directory in a child process; SELECT results as arrays of rows. */
async function sql<Row = Record<string, string>>(dir: string, ...statements: string[]): Promise<Row[][]> {
  const result = await new Promise<Result>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', tsx, join(repo, 'test/support/chdb-exec.ts'), dir, ...statements],
      {
        cwd: repo,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  if (result.code !== 0) throw new Error(`chdb-exec failed: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((l) => l.startsWith('['))
    .map((l) => JSON.parse(l) as Row[]);
}

const errors = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

function viewTree(dir: string, db: string, extra: Record<string, unknown> = {}) {
  return {
    target: { kind: 'clickhouse', url: `embedded:${dir}`, database: db, table: 'pypi' },
    view: {
      name: 'pypi_downloads_per_day_mv',
      to: 'pypi_downloads_per_day',
      to_ddl:
        'CREATE TABLE pypi_downloads_per_day (hour DateTime, project String, count Int64) ' +
        'ENGINE = SummingMergeTree PARTITION BY toYYYYMMDD(hour) ORDER BY (project, hour)',
      select:
        'SELECT toStartOfHour(timestamp) AS hour, project, count() AS count FROM pypi GROUP BY hour, project',
      cutoff_column: 'timestamp',
      cutoff_margin: '1 second',
      settle: '1 second',
      window: '1 day',
      ...extra,
    },
  };
}

async function setUp(dir: string, db: string): Promise<void> {
  await sql(
    dir,
    `CREATE DATABASE ${db}`,
    `CREATE TABLE ${db}.pypi (timestamp DateTime, country_code LowCardinality(String), project String) ENGINE = MergeTree ORDER BY (project, timestamp)`,
    // Six days of history, one row every 7 seconds: six windows and six daily partitions of the target.
    `INSERT INTO ${db}.pypi SELECT now() - INTERVAL 6 DAY + number * 7, 'US', 'project-' || toString(cityHash64(number) % 50) FROM numbers(74057)`,
  );
}

/** Target rows differing from the view's SELECT over the whole source, and the run's objects left behind. */
async function verify(
  dir: string,
  db: string,
): Promise<{ difference: number; leftovers: string[]; finished: number }> {
  const [diff, tables, finished] = await sql<{ n: string; name: string }>(
    dir,
    `SELECT toString((SELECT count() FROM ((SELECT toStartOfHour(timestamp) AS hour, project, toInt64(count()) AS c FROM ${db}.pypi GROUP BY hour, project) ` +
      `EXCEPT ALL (SELECT hour, project, sum(count) AS c FROM ${db}.pypi_downloads_per_day GROUP BY hour, project))) + ` +
      `(SELECT count() FROM ((SELECT hour, project, sum(count) AS c FROM ${db}.pypi_downloads_per_day GROUP BY hour, project) ` +
      `EXCEPT ALL (SELECT toStartOfHour(timestamp) AS hour, project, toInt64(count()) AS c FROM ${db}.pypi GROUP BY hour, project)))) AS n`,
    `SELECT name FROM system.tables WHERE database = '${db}' AND position(name, '_v2_') > 0 ORDER BY name`,
    `SELECT toString(count()) AS n FROM ${db}.shadowfill_journal WHERE kind = 'run-finished'`,
  );
  return {
    difference: Number(diff?.[0]?.n ?? -1),
    leftovers: (tables ?? []).map((t) => t.name),
    finished: Number(finished?.[0]?.n ?? -1),
  };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'shadowfill-addview-kill-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

describe('add-view from the command line', () => {
  it('plan --config view.yaml prints the statements; bad input is one line, exit 2, nothing created', async () => {
    const dir = join(root, 'cli');
    const db = 'av_cli';
    await setUp(dir, db);
    const file = writeViewConfig(root, 'cli', viewTree(dir, db));
    const plan = await cli(['plan', '--config', file]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(
      'add-view av_cli.pypi_downloads_per_day_mv on av_cli.pypi → av_cli.pypi_downloads_per_day',
    );
    expect(plan.stdout).toMatch(
      /CREATE MATERIALIZED VIEW `av_cli`.`pypi_downloads_per_day_mv` TO .* WHERE `timestamp` >= toDateTime64\(/s,
    );
    expect(plan.stdout).toContain('INSERT INTO `av_cli`.`pypi_v2_plan` (`timestamp`, `project`) SELECT');

    const bad = writeViewConfig(
      root,
      'bad',
      viewTree(dir, db, { select: 'SELECT toStartOfHour(timestamp) AS hour, FROM pypi' }),
    );
    const refused = await cli(['add-view', '--config', bad]);
    expect(refused.code).toBe(2);
    expect(errors(refused.stderr)).toEqual([
      expect.stringMatching(/^error: view\.select does not parse: syntax error at position \d+/),
    ]);
    const missing = await cli(['add-view', '--config', file, '--view.cutoff_column', 'ts']);
    expect(missing.code).toBe(2);
    expect(errors(missing.stderr)).toEqual([
      expect.stringMatching(/^error: view\.cutoff_column ts is not a column of av_cli\.pypi/),
    ]);
    const [tables] = await sql<{ name: string }>(
      dir,
      `SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`,
    );
    expect(tables?.map((t) => t.name)).toEqual(['pypi']);
  });

  it('killed (SIGKILL) in the middle of a window: the next add-view finishes the same run, each row once', async () => {
    const dir = join(root, 'kill-window');
    const db = 'av_kill';
    await setUp(dir, db);
    const file = writeViewConfig(root, 'kill-window', viewTree(dir, db));
    const killed = await cli(
      ['add-view', '--config', file, '--json'],
      (e) => e.type === 'window-started' && e.window === 2,
    );
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).toContain('"type":"window-done","window":1');
    const [mid] = await sql<{ name: string }>(
      dir,
      `SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`,
    );
    const names = mid?.map((t) => t.name) ?? [];
    expect(names).toContain('pypi_downloads_per_day_mv'); // the live view exists and takes rows from the cutoff on
    expect(names.some((n) => n.endsWith('_landing'))).toBe(true);

    const status = await cli(['add-view', '--config', file, '--status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^run \S+ adding av_kill\.pypi_downloads_per_day_mv started \S+, cutoff .*: backfilling windows\n {2}windows: 2 committed, \d+ verified, \d+ pending of \d+ · 0 failed attempts · view created · 0 partitions moved\n {2}no process works on it: `shadowfill add-view` resumes it/,
    );
    const resumed = await cli(['add-view', '--config', file, '--json']);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as {
      type: string;
      resumed: boolean;
      windowsThisRun: number;
      ok: boolean;
    };
    expect(report).toMatchObject({ type: 'add-view-report', resumed: true, ok: true });
    expect(report.windowsThisRun).toBeLessThan(7);
    expect(await verify(dir, db)).toEqual({ difference: 0, leftovers: [], finished: 1 });
  });

  it('killed (SIGKILL) in the middle of the partition moves: the next add-view moves the rest, each once', async () => {
    const dir = join(root, 'kill-swap');
    const db = 'av_swap';
    await setUp(dir, db);
    const file = writeViewConfig(root, 'kill-swap', viewTree(dir, db));
    const killed = await cli(['add-view', '--config', file, '--json'], (e) => e.type === 'swap-unit-done');
    expect(killed.signal).toBe('SIGKILL');
    const [shadow] = await sql<{ n: string }>(
      dir,
      `SELECT toString(count()) AS n FROM system.tables WHERE database = '${db}' AND startsWith(name, 'pypi_downloads_per_day_v2_')`,
    );
    expect(Number(shadow?.[0]?.n)).toBeGreaterThan(0); // the shadow (and what it still holds) survived

    const resumed = await cli(['add-view', '--config', file, '--json']);
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout.trim().split('\n').at(-1)!) as {
      resumed: boolean;
      ok: boolean;
      windowsThisRun: number;
    };
    expect(report).toMatchObject({ resumed: true, ok: true, windowsThisRun: 0 });
    expect(await verify(dir, db)).toEqual({ difference: 0, leftovers: [], finished: 1 });
  });
});
