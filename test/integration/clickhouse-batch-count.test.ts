/**
 * `batch.count` on ClickHouse (embedded chDB, s3rver): a run of the default configuration cuts a small listing into
 * 2 batches per worker (so loads overlap verification and commit), `plan` says so, and a run resumed with another
 * `workers` keeps the batches it started with (they are journaled in run-started, never cut again).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseAdapter } from '../../adapters/clickhouse/adapter.ts';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { ShadowfillError } from '../../src/errors.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import { planRun } from '../../src/runner/plan.ts';
import { ANY_DAY, BUCKET, startScenario, type Scenario } from '../support/clickhouse-scenario.ts';

let s: Scenario;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const URL = `s3://${BUCKET}/${ANY_DAY}{004..015}.parquet`;
/** The batch section as a user leaves it: nothing about files or count. */
const DEFAULTS = { batch: { bytes: '15GiB' } } as unknown as Parameters<Scenario['config']>[1];

beforeAll(async () => {
  // 16 files over 4 days, live 000..003, backfilled 004..015 (12 objects).
  s = await startScenario({ files: 16, rowsPerFile: 500, days: 4 });
}, 300_000);

afterAll(async () => {
  await s?.stop();
});

function batchesOf(events: readonly RunEvent[]): number[][] {
  const started = events.flatMap((e) => (e.type === 'batch-started' ? [[e.batch, e.objects]] : []));
  return started.sort((a, b) => a[0]! - b[0]!);
}

describe('batch.count on ClickHouse', () => {
  it('the default configuration loads 12 objects with 2 workers in 4 batches of 3, and plan says why', async () => {
    const db = 'count_default';
    await s.createGuideTables(db, { partitionBy: 'toYYYYMMDD(timestamp)' });
    await s.loadLive(db, range(0, 3));
    const config = s.config(db, { ...DEFAULTS, url: URL, workers: 2 });
    expect(config.batch.count).toBe('auto');
    const adapter = new ClickHouseAdapter(config, new ChdbDriver(s.chDir));
    await adapter.connect();
    const plan = await planRun(config, adapter).finally(() => adapter.close());
    expect(plan.batches.map((b) => b.objects.length)).toEqual([3, 3, 3, 3]);
    expect(plan.batchRule).toMatch(
      /^4 batches of about equal bytes \(batch\.count auto = at least 2 per worker × 2 workers\), each within batch\.files 100 \/ batch\.bytes 15 GiB$/,
    );
    const events: RunEvent[] = [];
    const report = await s.run(config, { onEvent: (e) => events.push(e) });
    expect(report.batches).toBe(4);
    expect(batchesOf(events)).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(await s.scalar(`SELECT count() FROM ${db}.pypi`)).toBe(s.rowsOf(range(0, 15)));
    expect(await s.scalar(`SELECT sum(count) FROM ${db}.pypi_downloads`)).toBe(s.rowsOf(range(0, 15)));
    // batch.files written down keeps its meaning: one batch of the 12.
    const explicit = s.config('count_default', { batch: { files: 100, bytes: 1e12 }, url: URL, workers: 2 });
    expect(explicit.batch.count).toBe(1);
  });

  it('a run resumed with other workers keeps the batches it started with (journaled), loading each row once', async () => {
    const db = 'count_resume';
    await s.createGuideTables(db, { partitionBy: 'toYYYYMMDD(timestamp)' });
    await s.loadLive(db, range(0, 3));
    const abort = new AbortController();
    const first: RunEvent[] = [];
    const stopped = await s
      .run(s.config(db, { ...DEFAULTS, url: URL, workers: 2 }), {
        signal: abort.signal,
        onEvent: (e) => {
          first.push(e);
          if (e.type === 'batch-committed') abort.abort();
        },
      })
      .catch((e: unknown) => e);
    expect((stopped as ShadowfillError).code).toBe('INTERRUPTED');
    expect(first.find((e) => e.type === 'run-started')).toMatchObject({ batches: 4 });
    const committedFirst = first.flatMap((e) => (e.type === 'batch-committed' ? [e.batch] : []));
    expect(committedFirst.length).toBeGreaterThan(0);
    expect(await s.scalar(`SELECT count() FROM ${db}.pypi`)).toBe(s.rowsOf(range(0, 3)));

    // With workers 1 a new run would be cut in 2 batches of 6; the resumed one keeps its 4 batches of 3.
    const config = s.config(db, { ...DEFAULTS, url: URL, workers: 1 });
    const adapter = new ClickHouseAdapter(config, new ChdbDriver(s.chDir));
    await adapter.connect();
    const plan = await planRun(config, adapter).finally(() => adapter.close());
    expect(plan.resumes).toBeDefined();
    expect(plan.batches.map((b) => b.objects.length)).toEqual([3, 3, 3, 3]);
    expect(plan.batchRule).toBe(`those of unfinished run ${plan.resumes}, fixed when it started`);
    const events: RunEvent[] = [];
    const report = await s.run(config, { onEvent: (e) => events.push(e) });
    expect(report.resumed).toBe(true);
    expect(report.batches).toBe(4);
    // Every batch committed once over the two invocations (a batch verified before the abort is committed, not
    // loaded again).
    const committedNow = events.flatMap((e) => (e.type === 'batch-committed' ? [e.batch] : []));
    expect([...committedFirst, ...committedNow].sort()).toEqual([0, 1, 2, 3]);
    expect(batchesOf(events).every(([, n]) => n === 3)).toBe(true);
    expect(await s.scalar(`SELECT count() FROM ${db}.pypi`)).toBe(s.rowsOf(range(0, 15)));
    expect(await s.scalar(`SELECT sum(count) FROM ${db}.pypi_downloads`)).toBe(s.rowsOf(range(0, 15)));
    expect(
      await s.scalar(`SELECT count() FROM (SELECT * FROM ${db}.pypi GROUP BY ALL HAVING count() > 1)`),
    ).toBe(0);
  });
});
