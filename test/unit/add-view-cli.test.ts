/**
 * The add-view command line in this process (runCli with captured streams): its help and exit codes, usage and
 * configuration errors as one line with exit code 2 before anything connects, `plan` telling view configs
 * from backfill configs, `config schema --view`, the demo's scenario option, and the progress renderer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { viewConfigJsonSchema } from '../../src/addview/config.ts';
import { addViewProgress } from '../../src/cli/commands/add-view.ts';
import { capturedStream, cli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'shadowfill-addview-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

describe('add-view on the command line', () => {
  it('is a command with its own options, every view.yaml field as a flag, and its exit codes', async () => {
    const help = await cli('add-view', '--help');
    expect(help.code).toBe(0);
    for (const flag of ['--new-run', '--abandon', '--status', '--wait', '--json', '--quiet']) {
      expect(help.stdout).toContain(flag);
    }
    expect(help.stdout).toMatch(/Configuration, view:[\s\S]*--view\.window <size>/);
    expect(help.stdout).toMatch(/Configuration, target:[\s\S]*--target\.url <url>/);
    expect(help.stdout).toContain('--settings.<name> <value>');
    expect(help.stdout).toContain('75 stopped while waiting for the source');
    expect((await cli('--help')).stdout).toMatch(/add-view\s+\[options\]\s+add a materialized view/);
  });

  it('refuses bad usage and bad configuration in one line with exit code 2, before connecting', async () => {
    expect(await cli('add-view', '--abandon', '--status')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: option '--abandon' cannot be used with option '--status'\n",
    });
    expect((await cli('add-view', '--view.windw', '1 day')).stderr).toBe(
      "error: unknown option '--view.windw' — did you mean --view.window?\n",
    );
    const target = [
      '--target.kind',
      'clickhouse',
      '--target.url',
      'http://127.0.0.1:1',
      '--target.table',
      'pypi',
    ];
    const missing = await cli('add-view', ...target, '--view.name', 'v', '--view.select', 'SELECT 1');
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: missing `view.to` (the table the view writes to: ClickHouse views need a TO table) — set view.to in a config file or pass --view.to\n',
    });
    const file = join(dir, 'view.yaml');
    writeFileSync(
      file,
      'target: { kind: timescaledb, url: postgres://127.0.0.1:1/x, table: pypi }\n' +
        "view: { name: v, select: 'SELECT 1', window: 1 day }\n",
    );
    expect(await cli('add-view', '--config', file, '--settings.max_memory_usage', '1')).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: `settings` from --settings.max_memory_usage applies to clickhouse targets — remove it\n',
    });
  });

  it('plan reads a view.yaml as an add-view; a --view.* flag on a backfill configuration is refused', async () => {
    const backfill = join(dir, 'backfill.yaml');
    writeFileSync(
      backfill,
      'target: { kind: clickhouse, url: http://127.0.0.1:1, table: pypi }\nsource: { url: s3://b/k/*.parquet }\n',
    );
    expect(await cli('plan', '--config', backfill, '--view.window', '1 day')).toMatchObject({
      code: 2,
      stderr:
        'error: --view.window applies to an add-view configuration (a file with a view: section), not to backfill.yaml — remove it\n',
    });
    const view = join(dir, 'plan-view.yaml');
    writeFileSync(
      view,
      'target: { kind: clickhouse, url: http://127.0.0.1:1, table: pypi }\n' +
        "view: { name: v, select: 'SELECT 1', cutoff_column: ts }\n",
    );
    // Read as a view configuration: its own rules apply (a backfill configuration would miss source.url).
    expect(await cli('plan', '--config', view)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^error: missing `view\.to` /),
    });
  });

  it('config schema --view prints the JSON Schema of view.yaml', async () => {
    const schema = await cli('config', 'schema', '--view');
    expect(schema.code).toBe(0);
    expect(JSON.parse(schema.stdout)).toEqual(viewConfigJsonSchema());
  });

  it('demo --scenario add-view runs on embedded ClickHouse only', async () => {
    expect(await cli('demo', '--scenario', 'add-view', '--target', 'timescaledb')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^error: --scenario add-view runs on embedded ClickHouse \(chDB\)/),
    });
    expect((await cli('demo', '--scenario', 'addview')).code).toBe(2);
  });
});

describe('add-view progress', () => {
  it('prints JSON lines with --json, notes and a status line otherwise, and a final failure only once', () => {
    const stdout = capturedStream();
    const stderr = capturedStream();
    let t = 0;
    const json = addViewProgress({ json: true, quiet: false, stdout, stderr, now: () => t });
    json({ type: 'view-created', view: 'db.v', cutoff: '2024-12-17 09:00:00' });
    expect(JSON.parse(stdout.text())).toEqual({
      type: 'view-created',
      view: 'db.v',
      cutoff: '2024-12-17 09:00:00',
      at: '1970-01-01T00:00:00.000Z',
    });
    expect(stderr.text()).toBe('');

    const out = capturedStream();
    const err = capturedStream();
    const plain = addViewProgress({ json: false, quiet: false, stdout: out, stderr: err, now: () => t });
    plain({
      type: 'add-view-started',
      runId: 'r1',
      resumed: false,
      view: 'db.v',
      windows: 2,
      cutoff: undefined,
    });
    plain({ type: 'window-failed', window: 0, attempt: 1, error: 'boom', willRetry: true });
    t = 20_000;
    plain({
      type: 'window-done',
      window: 0,
      total: 2,
      range: '[…, 2024-12-16 00:00:00)',
      rows: 2000,
      seconds: 4,
      done: 1,
      rowsSoFar: 2000,
    });
    plain({ type: 'window-failed', window: 1, attempt: 3, error: 'boom', willRetry: false });
    plain({ type: 'add-view-stopped', runId: 'r1', error: 'boom' });
    expect(err.text()).toBe(
      'adding db.v (run r1): 2 windows\n' +
        'window 1 failed (attempt 1): boom — retrying\n' +
        'window 1/2 · 2,000 rows · 100 rows/s · ETA 20 s · […, 2024-12-16 00:00:00)\n',
    );
    expect(out.text()).toBe('');
  });
});
