/**
 * kill -9 at every journal event: a ClickHouse backfill (embedded chDB, s3rver) into a ReplacingMergeTree table
 * with a materialized view, `batch.files: 1`, run in a child process that SIGKILLs itself right before — and,
 * in a second pass, right after — each of its journal writes. Then a second process runs the same command. Every
 * time: the run completes, the live table holds each key once (FINAL), the view target's sum equals the rows
 * of the objects exactly (a batch loaded or swapped twice would show), and nothing of the run is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { defineConfig } from '../../src/config/define.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { generatePypiParquet, PYPI_STRUCTURE, type GeneratedFile } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';

const require = createRequire(import.meta.url);
const tsx = pathToFileURL(require.resolve('tsx')).href;
/** Runs a helper script in a child process; resolves with its stdout, exit status and the signal that ended it. */
const child = (script: string, args: readonly string[]) =>
  new Promise<{ stdout: string; stderr: string; status: number | null; signal: string | null }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', tsx, join(import.meta.dirname, '../support', script), ...args],
      { encoding: 'utf8', timeout: 120_000 },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: number; signal?: string }) | null;
        resolve({ stdout, stderr, status: e ? (e.code ?? null) : 0, signal: e?.signal ?? null });
      },
    );
  });

let root: string;
let s3: LocalS3Server;
let files: GeneratedFile[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shadowfill-kill-'));
  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['kill'] });
  // chDB in a child: this process must not bind a data directory (the runners' children open theirs).
  const generated = await generatePypiParquet({
    dir: join(root, 'parquet'),
    files: [0, 1, 2, 3],
    rowsPerFile: 400,
    days: 2,
    runner: {
      queryAsync: async (sql: string) => {
        const r = await child('chdb-exec.ts', [join(root, 'gen'), sql]);
        if (r.status !== 0) throw new Error(r.stderr);
      },
    },
  });
  files = [...generated.files];
  await uploadDirectory(s3.endpoint, 'kill', join(root, 'parquet'), {
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
}, 300_000);

afterAll(async () => {
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

interface Outcome {
  ok: boolean;
  writes: number;
  kinds: string[];
  resumed?: boolean;
  code?: string;
  message?: string;
  values?: Record<string, string>;
}

function job(dir: string, extra: Record<string, unknown>, workers: number | 'auto' = 'auto') {
  const config = defineConfig({
    workers,
    target: { kind: 'clickhouse', url: `embedded:${dir}`, database: 'k', table: 'pypi' },
    source: {
      url: 's3://kill/pypi/**.parquet',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    },
    batch: { files: 1, bytes: 1e12 },
    attempts: 1,
  });
  return JSON.stringify({
    dir,
    config,
    setup: [
      'CREATE DATABASE IF NOT EXISTS k',
      `CREATE TABLE IF NOT EXISTS k.pypi (${PYPI_STRUCTURE}) ENGINE = ReplacingMergeTree ` +
        'PARTITION BY toYYYYMMDD(timestamp) ORDER BY (project, country_code)',
      'CREATE TABLE IF NOT EXISTS k.downloads (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project',
      'CREATE MATERIALIZED VIEW IF NOT EXISTS k.downloads_mv TO k.downloads AS SELECT project, count() AS count FROM k.pypi GROUP BY project',
    ],
    queries: {
      final: 'SELECT count() FROM k.pypi FINAL',
      downloads: 'SELECT sum(count) FROM k.downloads',
      leftovers:
        "SELECT count() FROM system.tables WHERE database = 'k' AND (name LIKE '%\\\\_v2\\\\_%' OR name LIKE 'shadowfill\\\\_lease%')",
    },
    ...extra,
  });
}

function parse(stdout: string): Outcome {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as Outcome;
}

describe('kill -9 at every journal event (ReplacingMergeTree, batch.files: 1)', () => {
  const total = () => files.reduce((n, f) => n + f.rows, 0);
  let clean: Outcome;
  let keys: number;

  beforeAll(async () => {
    // One lane: the journal writes come in one order, so write k of the reference is write k of every run.
    // (Several lanes: the 4-worker test below, at random writes.)
    clean = parse((await child('kill-at-event.ts', [job(join(root, 'clean'), {}, 1)])).stdout);
    keys = Number(clean.values?.final);
  }, 300_000);

  it('runs to the end without a kill (the reference)', () => {
    expect(clean.ok).toBe(true);
    expect(keys).toBeLessThan(total()); // the data really has duplicate keys
    expect(clean.values).toEqual({ final: String(keys), downloads: String(total()), leftovers: '0' });
    expect(clean.writes).toBeGreaterThanOrEqual(12);
  });

  let runs = 0;

  /** Kills the first process at write `k`, runs the command again in a second one, checks the result. */
  async function killAndRerun(
    when: 'before' | 'after',
    k: number,
    workers: number | 'auto' = 1,
    reference: Outcome = clean,
    seed = '',
  ): Promise<void> {
    const dir = join(root, `ch-${when}-${k}-${workers}-${(runs += 1)}`);
    const what = `${seed}${when} write ${k} (${reference.kinds[k - 1]})`;
    const killed = await child('kill-at-event.ts', [job(dir, { killAt: k, when }, workers)]);
    expect(killed.signal, `${what}: ${killed.stdout.slice(-1500)} ${killed.stderr.slice(-1500)}`).toBe(
      'SIGKILL',
    );
    const next = parse((await child('kill-at-event.ts', [job(dir, {}, workers)])).stdout);
    // Killed once the run was journaled as finished: the next process has nothing to do.
    if (when === 'after' && k === reference.writes)
      expect(next, what).toMatchObject({ code: 'NOTHING_TO_DO' });
    else expect(next, `${what}: ${next.message ?? ''}`).toMatchObject({ ok: true, rowsLoaded: total() });
    expect(next.values, what).toEqual({ final: String(keys), downloads: String(total()), leftovers: '0' });
  }

  /** Every write, two at a time. */
  async function everyWrite(when: 'before' | 'after'): Promise<void> {
    const points = Array.from({ length: clean.writes }, (_, i) => i + 1);
    const lanes = [0, 1].map(async (lane) => {
      for (let i = lane; i < points.length; i += 2) await killAndRerun(when, points[i]!);
    });
    await Promise.all(lanes);
  }

  it(
    'killed right before each journal write (the step done, not yet journaled)',
    () => everyWrite('before'),
    1_200_000,
  );
  it('killed right after each journal write', () => everyWrite('after'), 1_200_000);

  /** Kills a 2-lane process at the point `kill` names, runs the command again with 2 lanes, checks the result. */
  async function killTwoLanes(what: string, kill: Record<string, unknown>): Promise<boolean> {
    const dir = join(root, `ch2-${(runs += 1)}`);
    const killed = await child('kill-at-event.ts', [job(dir, kill, 2)]);
    if (killed.signal !== 'SIGKILL') {
      expect(parse(killed.stdout), `${what}: the run ended before the kill point`).toMatchObject({
        ok: true,
      });
      return false;
    }
    const next = parse((await child('kill-at-event.ts', [job(dir, {}, 2)])).stdout);
    expect(next, `${what}: ${next.message ?? ''}`).toMatchObject({ ok: true, rowsLoaded: total() });
    expect(next.values, what).toEqual({ final: String(keys), downloads: String(total()), leftovers: '0' });
    return true;
  }

  it('with 2 workers: killed right before each batch-loaded write (the other lane loading or committing), the next process ends the run exactly', async () => {
    // A clean-clone CI run once saw the rerun's view-target shadow check fail after a kill here (2 lanes); 24
    // kill points by step kind (before and after each batch-loaded, batch-committing and batch-committed) did
    // not reproduce it; these 4 stay as the regression test.
    for (let nth = 1; nth <= files.length; nth += 1) {
      const killed = await killTwoLanes(`before batch-loaded #${nth}`, {
        killAtKind: { kind: 'batch-loaded', nth },
        when: 'before',
      });
      expect(killed).toBe(true);
    }
  }, 600_000);

  it('with 2 workers: killed in the middle of a commit (after a partition move), the next process ends the run exactly', async () => {
    // Each batch moves its landing's two day partitions of k.pypi, then k.downloads' one: a kill after move 1 or 2
    // of a commit leaves it half done (the shadow holds part of the batch) while the other lane holds a loaded one.
    for (const nth of [1, 2, 4, 5]) {
      const killed = await killTwoLanes(`after partition move #${nth}`, {
        killAtStatement: { match: 'MOVE PARTITION', nth },
        when: 'after',
      });
      expect(killed).toBe(true);
    }
  }, 600_000);

  it('with 4 workers (every batch loading at once): killed at random journal writes, the next process ends the run exactly', async () => {
    const four = parse((await child('kill-at-event.ts', [job(join(root, 'four-clean'), {}, 4)])).stdout);
    expect(four.ok).toBe(true);
    expect(four.values).toEqual({ final: String(keys), downloads: String(total()), leftovers: '0' });
    const seed = Date.now();
    let random = seed;
    const next = (n: number) => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % n;
    };
    // Right before each batch-committed: the landing was moved into the shadow, other lanes hold loaded batches;
    // the next process must finish that commit before any other (the shadow check would see its rows early).
    for (let k = 1; k <= four.writes; k += 1) {
      if (four.kinds[k - 1] === 'batch-committed') await killAndRerun('before', k, 4, four);
    }
    for (let i = 0; i < 3; i += 1) {
      const when = next(2) === 0 ? 'before' : 'after';
      await killAndRerun(when, 1 + next(four.writes), 4, four, `seed ${seed}: `);
    }
  }, 1_200_000);
});
