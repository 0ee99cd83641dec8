/**
 * Run events on real engines: the exact sequence a small ClickHouse backfill emits (embedded ClickHouse +
 * local S3), rendered as --json lines that parse one by one and as plain lines off a TTY; and the real CLI
 * (`shadowfill demo --json` in a child process) printing nothing but JSON on stdout, ending with an OK report.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgress } from '../../src/cli/progress.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import { ensureBuilt } from '../support/build.ts';
import { ANY_DAY, BUCKET, startScenario, type Scenario } from '../support/clickhouse-scenario.ts';

let s: Scenario;

function collector(isTTY: boolean): Writable & { text: () => string; isTTY?: boolean } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  }) as Writable & { text: () => string; isTTY?: boolean };
  if (isTTY) stream.isTTY = true;
  stream.text = () => chunks.join('');
  return stream;
}

beforeAll(async () => {
  // 8 files over 2 days (4 a day → one daily partition each).
  s = await startScenario({ files: 8, rowsPerFile: 300, days: 2 });
}, 300_000);

afterAll(async () => {
  await s?.stop();
});

describe('run events of a small ClickHouse backfill', () => {
  it('come in the documented order, render as JSON lines and as plain lines', async () => {
    await s.createGuideTables('ev', { partitionBy: 'toYYYYMMDD(timestamp)' });
    const events: RunEvent[] = [];
    const jsonOut = collector(false);
    const plainErr = collector(false);
    const json = createProgress({ json: true, quiet: false, stdout: jsonOut, stderr: collector(true) });
    const plain = createProgress({
      json: false,
      quiet: false,
      stdout: collector(false),
      stderr: plainErr,
      intervalSeconds: 0,
    });
    const config = s.config('ev', {
      url: `s3://${BUCKET}/${ANY_DAY}{000..007}.parquet`,
      batch: { files: 3, bytes: 1e12 },
      workers: 1,
    });
    const report = await s.run(config, {
      onEvent: (e) => {
        events.push(e);
        json(e);
        plain(e);
      },
    });

    const units = report.swapUnits;
    // 2 daily partitions of pypi + the view target pypi_downloads.
    expect(units).toBe(3);
    const perBatch = [
      'worker-started',
      'batch-started',
      'batch-loaded',
      'batch-verified',
      'worker-finished',
      'batch-committed',
    ];
    expect(events.map((e) => e.type)).toEqual([
      'run-started',
      'schedule',
      ...perBatch,
      ...perBatch,
      ...perBatch,
      'worker-idle',
      'shadow-verified',
      'swap-started',
      ...Array.from({ length: units }, () => 'swap-unit-done'),
      'swap-finished',
      'shadows-dropped',
      'run-finished',
    ]);
    const total = s.rowsOf([0, 1, 2, 3, 4, 5, 6, 7]);
    const bytes = s.files.reduce((n, f) => n + f.bytes, 0);
    expect(events[0]).toMatchObject({ type: 'run-started', resumed: false, batches: 3, objects: 8, bytes });
    expect(events[1]).toMatchObject({
      type: 'schedule',
      workers: 1,
      reason: 'as configured',
      mode: 'historical',
      policy: 'after-all',
      order: 'object',
    });
    expect(
      events.filter((e) => e.type === 'worker-started').map((e) => (e as { worker: number }).worker),
    ).toEqual([1, 1, 1]);
    const committed = events.filter(
      (e): e is Extract<RunEvent, { type: 'batch-committed' }> => e.type === 'batch-committed',
    );
    expect(committed.map((e) => e.batch)).toEqual([0, 1, 2]);
    expect(committed.at(-1)).toMatchObject({ rowsSoFar: total, bytesSoFar: bytes });
    const verified = events.filter(
      (e): e is Extract<RunEvent, { type: 'batch-verified' }> => e.type === 'batch-verified',
    );
    for (const v of verified) expect(v.rows).toBe(v.sourceRows);
    const done = events.filter(
      (e): e is Extract<RunEvent, { type: 'swap-unit-done' }> => e.type === 'swap-unit-done',
    );
    expect(done.map((e) => `${e.done}/${e.total}`)).toEqual(['1/3', '2/3', '3/3']);
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', runId: report.runId, rowsLoaded: total });

    // --json: every line is one object, the same events in the same order, each stamped with `at`.
    const lines = jsonOut.text().trimEnd().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => p.type)).toEqual(events.map((e) => e.type));
    expect(parsed.map(({ at: _at, ...rest }) => rest)).toEqual(JSON.parse(JSON.stringify(events)));

    // Off a TTY: plain lines only, one status line per committed batch at interval 0, and the finish line.
    const text = plainErr.text();
    expect(text).not.toMatch(/[\r\x1b]/);
    expect(text.match(/^batches \d\/3 · /gm)).toHaveLength(3 + units);
    expect(text).toContain(`run ${report.runId} finished: ${total.toLocaleString('en-US')} rows`);
  });
});

describe('the CLI with --json', () => {
  let dir: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'shadowfill-cli-json-'));
  }, 300_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it('`shadowfill demo --json` prints only JSON lines on stdout and reports OK', async () => {
    const child = spawn(
      process.execPath,
      ['bin/shadowfill.js', 'demo', '--rows', '300', '--dir', join(dir, 'demo'), '--json'],
      {
        cwd: join(import.meta.dirname, '..', '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/error:/);
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const parsed = lines.map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout line is not JSON: ${line}`);
      }
    });
    expect(parsed[0]?.type).toBe('run-started');
    expect(parsed.some((p) => p.type === 'run-finished')).toBe(true);
    const report = parsed.find((p) => p.type === 'report') as
      { verification?: { verdict: string } } | undefined;
    expect(report?.verification?.verdict).toBe('OK');
    const demo = parsed.at(-1) as { type?: string; ok?: boolean };
    expect(demo.type).toBe('demo-verification');
    expect(demo.ok).toBe(true);
  }, 300_000);
});
