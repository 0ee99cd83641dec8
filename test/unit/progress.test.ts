/**
 * Progress rendering: a live `\r` status line on a TTY, plain throttled lines off a TTY (no control
 * characters), and one JSON object per event with --json.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  applyEvent,
  createProgress,
  initialProgressState,
  statusLine,
  workerLines,
} from '../../src/cli/progress.ts';
import { formatReport, reportJson } from '../../src/cli/report.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import type { RunReport } from '../../src/runner/run.ts';

/** A stream that records what is written; `isTTY` as given (a real Writable, like process.stderr off a TTY). */
function fakeStream(
  isTTY: boolean,
  columns?: number,
): Writable & { text: () => string; isTTY?: boolean; columns?: number } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  }) as Writable & { text: () => string; isTTY?: boolean; columns?: number };
  if (isTTY) stream.isTTY = true;
  if (columns !== undefined) stream.columns = columns;
  stream.text = () => chunks.join('');
  return stream;
}

const MiB = 1024 ** 2;

/** A three-batch run as the runner emits it, with the fake clock advanced between events. */
const RUN: readonly [number, RunEvent][] = [
  [0, { type: 'run-started', runId: 'r1', resumed: false, batches: 3, objects: 6, bytes: 30 * MiB }],
  [0, { type: 'batch-started', batch: 0, attempt: 1, objects: 2, bytes: 10 * MiB }],
  [1000, { type: 'batch-loaded', batch: 0, rows: 1000, bytes: 10 * MiB, seconds: 1 }],
  [0, { type: 'batch-verified', batch: 0, rows: 1000, sourceRows: 1000 }],
  [0, { type: 'batch-committed', batch: 0, rowsSoFar: 1000, bytesSoFar: 10 * MiB, batchesSoFar: 1 }],
  [0, { type: 'batch-started', batch: 1, attempt: 1, objects: 2, bytes: 10 * MiB }],
  [500, { type: 'batch-failed', batch: 1, attempt: 1, error: 'network reset', willRetry: true }],
  [0, { type: 'batch-started', batch: 1, attempt: 2, objects: 2, bytes: 10 * MiB }],
  [500, { type: 'batch-loaded', batch: 1, rows: 1000, bytes: 10 * MiB, seconds: 0.5 }],
  [0, { type: 'batch-verified', batch: 1, rows: 1000, sourceRows: 1000 }],
  [0, { type: 'batch-committed', batch: 1, rowsSoFar: 2000, bytesSoFar: 20 * MiB, batchesSoFar: 2 }],
  [0, { type: 'batch-started', batch: 2, attempt: 1, objects: 2, bytes: 10 * MiB }],
  [1000, { type: 'batch-loaded', batch: 2, rows: 1000, bytes: 10 * MiB, seconds: 1 }],
  [0, { type: 'batch-verified', batch: 2, rows: 1000, sourceRows: 1000 }],
  [0, { type: 'batch-committed', batch: 2, rowsSoFar: 3000, bytesSoFar: 30 * MiB, batchesSoFar: 3 }],
  [0, { type: 'swap-started', units: 2 }],
  [100, { type: 'swap-unit-done', unit: 'p1', description: 'partition 20241217', done: 1, total: 2 }],
  [100, { type: 'swap-unit-done', unit: 'p2', description: 'partition 20241218', done: 2, total: 2 }],
  [0, { type: 'swap-finished', units: 2, seconds: 0.2 }],
  [0, { type: 'shadows-dropped' }],
  [0, { type: 'run-finished', runId: 'r1', rowsLoaded: 3000, seconds: 3.2 }],
];

function play(options: { json: boolean; tty: boolean; intervalSeconds?: number; columns?: number }) {
  let clock = 1_700_000_000_000;
  const stdout = fakeStream(false);
  const stderr = fakeStream(options.tty, options.columns);
  const sink = createProgress({
    json: options.json,
    quiet: false,
    stdout,
    stderr,
    now: () => clock,
    intervalSeconds: options.intervalSeconds,
  });
  for (const [advance, event] of RUN) {
    clock += advance;
    sink(event);
  }
  return { out: stdout.text(), err: stderr.text() };
}

describe('progress on a TTY', () => {
  it('redraws one status line in place and prints notes above it', () => {
    const { out, err } = play({ json: false, tty: true });
    expect(out).toBe('');
    // Every redraw starts with carriage return + clear line; notes end with a newline.
    const redraws = err.split('\r\x1b[2K').filter((s) => s.length > 0);
    expect(redraws.length).toBeGreaterThan(RUN.length - 5);
    expect(err).toContain(
      '\r\x1b[2Kbatches 0/3 · 0 rows · 0 B · 0 rows/s · 0.0 MB/s · ETA ? · batch 1: load',
    );
    // After batch 1 (10 MiB in 1 s of 1 s elapsed): rate and ETA of the remaining 20 MiB.
    expect(err).toContain(
      '\r\x1b[2Kbatches 1/3 · 1,000 rows · 10 MiB · 1,000 rows/s · 10.5 MB/s · ETA 2.0 s · next batch',
    );
    // The failed attempt's half second counts against the rate.
    expect(err).toContain(
      '\r\x1b[2Kbatches 1/3 · 1,000 rows · 10 MiB · 667 rows/s · 7.0 MB/s · ETA 3.0 s · batch 2: load (attempt 2)',
    );
    expect(err).toContain('batch 2 attempt 1 failed: network reset — retrying\n');
    expect(err).toContain('· ETA 0.0 s · swap 2/2');
    // The finish note replaces the live line (cleared first) and ends the output with a newline.
    expect(err.endsWith('\r\x1b[2Krun r1 finished: 3,000 rows in 3.2 s\n')).toBe(true);
  });

  it('keeps the live line within the terminal width so \\r can redraw it', () => {
    const { err } = play({ json: false, tty: true, columns: 40 });
    for (const redraw of err.split('\r\x1b[2K')) {
      const live = redraw.split('\n').at(-1) ?? '';
      expect(live.length).toBeLessThan(40);
    }
  });
});

describe('progress with several workers and a watermark', () => {
  it('shows each busy worker’s batch, the batches done and the watermark with what holds it', () => {
    const state = initialProgressState();
    const fold = (event: RunEvent, at: number) => applyEvent(state, event, at);
    fold({ type: 'run-started', runId: 'r1', resumed: false, batches: 5, objects: 5, bytes: 50 * MiB }, 0);
    fold(
      {
        type: 'schedule',
        workers: 2,
        reason: 'as configured',
        mode: 'historical',
        policy: 'progressive',
        order: 'time',
      },
      0,
    );
    fold({ type: 'worker-started', worker: 1, batch: 0, attempt: 1 }, 0);
    fold({ type: 'worker-started', worker: 2, batch: 1, attempt: 1 }, 500);
    expect(workerLines(state, 2000)).toEqual(['  worker 1: batch 1, 2.0 s', '  worker 2: batch 2, 1.5 s']);
    fold({ type: 'worker-finished', worker: 1, batch: 0, rows: 1000, seconds: 2 }, 2000);
    fold({ type: 'batch-committed', batch: 0, rowsSoFar: 1000, bytesSoFar: 10 * MiB, batchesSoFar: 1 }, 2000);
    fold(
      {
        type: 'watermark-advanced',
        watermark: '1734426000000000',
        text: '2024-12-17 09:00:00',
        prefix: 1,
        batches: 5,
        stalledBy: 1,
      },
      2000,
    );
    fold({ type: 'worker-started', worker: 1, batch: 2, attempt: 2 }, 2000);
    const line = statusLine(state, 2);
    expect(line).toContain('batches 1/5');
    expect(line).toContain('watermark 2024-12-17 09:00:00 (waiting for batch 2)');
    expect(line.endsWith('2 loading')).toBe(true);
    expect(workerLines(state, 3000)).toEqual([
      '  worker 1: batch 3 (attempt 2), 1.0 s',
      '  worker 2: batch 2, 2.5 s',
    ]);
    fold({ type: 'watermark-advanced', watermark: 'all', text: 'all', prefix: 5, batches: 5 }, 9000);
    expect(statusLine(state, 9)).toContain('watermark: every batch');
  });

  it('one worker: no worker lines (the status line is as before)', () => {
    const state = initialProgressState();
    applyEvent(state, { type: 'worker-started', worker: 1, batch: 0, attempt: 1 }, 0);
    expect(workerLines(state, 1000)).toEqual([]);
  });
});

describe('progress off a TTY', () => {
  it('prints plain lines without control characters, throttled to the interval plus the last batch', () => {
    const { out, err } = play({ json: false, tty: false, intervalSeconds: 2 });
    expect(out).toBe('');
    expect(err).not.toMatch(/[\r\x1b]/);
    expect(err.split('\n')).toEqual([
      'starting run r1: 6 objects, 30 MiB in 3 batches',
      'batches 1/3 · 1,000 rows · 10 MiB · 1,000 rows/s · 10.5 MB/s · ETA 2.0 s · next batch',
      'batch 2 attempt 1 failed: network reset — retrying',
      // batch 2 committed 1 s after the last line: within the 2 s interval, not printed; batch 3 is the last.
      'batches 3/3 · 3,000 rows · 30 MiB · 1,000 rows/s · 10.5 MB/s · ETA 0.0 s · swap',
      'swapping 2 unit(s) into the live tables',
      'batches 3/3 · 3,000 rows · 30 MiB · 938 rows/s · 9.8 MB/s · ETA 0.0 s · swap 2/2',
      'swap finished in 0.2 s',
      'run r1 finished: 3,000 rows in 3.2 s',
      '',
    ]);
  });

  it('warns on its own line about a batch whose rows reach before its footer statistics', () => {
    const stderr = fakeStream(false);
    const sink = createProgress({ json: false, quiet: false, stdout: fakeStream(false), stderr });
    sink({
      type: 'batch-outside-range',
      batch: 4,
      objects: ['s3://b/pypi/2024-12-17/x-again.parquet'],
      declaredStart: '2024-12-20 00:00:00',
      rowsFrom: '2024-12-17 00:00:00',
      slices: 1,
    });
    expect(stderr.text()).toBe(
      'warning: batch 5 (s3://b/pypi/2024-12-17/x-again.parquet) has rows from 2024-12-17 00:00:00, before ' +
        '2024-12-20 00:00:00 where the Parquet footer statistics of its objects say it begins — the statistics ' +
        'are wrong; 1 slice(s) it reaches may be swapped and compressed already and will be swapped again when ' +
        'it commits (its rows go in exactly once)\n',
    );
  });

  it('prints nothing with quiet', () => {
    const stderr = fakeStream(false);
    const sink = createProgress({ json: false, quiet: true, stdout: fakeStream(false), stderr });
    for (const [, e] of RUN) sink(e);
    expect(stderr.text()).toBe('');
  });
});

describe('progress with --json', () => {
  it('writes one parseable JSON object per event on stdout and nothing on stderr', () => {
    const { out, err } = play({ json: true, tty: true });
    expect(err).toBe('');
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(RUN.length);
    const parsed = lines.map((l) => JSON.parse(l) as RunEvent & { at: string });
    expect(parsed.map((e) => e.type)).toEqual(RUN.map(([, e]) => e.type));
    expect(parsed[0]).toEqual({ ...RUN[0]![1], at: '2023-11-14T22:13:20.000Z' });
    for (const e of parsed) expect(Number.isNaN(Date.parse(e.at))).toBe(false);
  });
});

describe('final report', () => {
  const report: RunReport = {
    runId: 'r1',
    resumed: false,
    table: 'default.pypi',
    batches: 3,
    objects: 6,
    bytes: 30 * MiB,
    rowsLoaded: 3000,
    retries: 1,
    swapUnits: 2,
    before: [
      { table: 'default.pypi', rows: 500, aggregates: {} },
      { table: 'default.pypi_downloads', rows: 10, aggregates: { 'sum(`count`)': 500 } },
    ],
    after: [
      { table: 'default.pypi', rows: 3600, aggregates: {} },
      { table: 'default.pypi_downloads', rows: 12, aggregates: { 'sum(`count`)': 3600 } },
    ],
    phases: { validate: 0.1, load: 2.5, swap: 0.2 },
    seconds: 3,
  };

  it('as text names every table, aggregate delta, phase and the verdict', () => {
    const text = formatReport(report);
    expect(text).toContain('default.pypi: rows 500 → 3,600 (+3,100)');
    expect(text).toContain('sum(`count`): 500 → 3,600 (+3,100)');
    expect(text).toContain('phases: validate 0.1 s, load 2.5 s, swap 0.2 s');
    expect(text).toContain('throughput 1,000 rows/s, 10.5 MB/s');
    expect(text).toContain(
      'verification: OK — default.pypi grew by 3,100 rows, 3,000 loaded (the rest arrived',
    );
  });

  it('as JSON carries the same figures and a MISMATCH when rows went missing', () => {
    const json = JSON.parse(JSON.stringify(reportJson(report))) as ReturnType<typeof reportJson>;
    expect(json.type).toBe('report');
    expect(json.verification.verdict).toBe('OK');
    expect(json.tables[1]?.aggregates['sum(`count`)']).toEqual({ before: 500, after: 3600, delta: 3100 });
    const short = { ...report, after: [{ table: 'default.pypi', rows: 3000, aggregates: {} }] };
    expect(reportJson(short).verification.verdict).toBe('MISMATCH');
  });
});
