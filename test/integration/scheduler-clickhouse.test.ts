/**
 * The scheduler on ClickHouse (embedded chDB, s3rver): workers 1, 2 and 4 — each worker with its own landing tables
 * and shadow views — leave the live table and its view target row-for-row identical (a hash over every row, the
 * view's sums), with every batch loaded once and nothing of the run left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/runner/events.ts';
import { BUCKET, startScenario, type Scenario } from '../support/clickhouse-scenario.ts';

let s: Scenario;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeAll(async () => {
  // 16 files over 4 days (4 a day), live 000..003, backfilled 004..015 one file per batch: 12 batches.
  s = await startScenario({ files: 16, rowsPerFile: 600, days: 4 });
}, 300_000);

afterAll(async () => {
  await s?.stop();
});

/** Every row of the table and its view target, hashed in one order, with the counts. */
async function checksum(db: string): Promise<string> {
  const [row] = await s.driver.query<{ v: string }>(
    `SELECT concat(toString((SELECT cityHash64(groupArray(h)) FROM (SELECT cityHash64(*) AS h FROM \`${db}\`.pypi ORDER BY h))),
       ':', toString((SELECT count() FROM \`${db}\`.pypi)),
       ':', toString((SELECT cityHash64(groupArray((project, c))) FROM (SELECT project, sum(count) AS c FROM \`${db}\`.pypi_downloads GROUP BY project ORDER BY project)))) AS v`,
  );
  return row!.v;
}

describe('the scheduler on ClickHouse', () => {
  it('workers 1, 2 and 4 leave the same rows in the table and its view target', async () => {
    const sums = new Map<number, string>();
    for (const workers of [1, 2, 4]) {
      const db = `w${workers}`;
      await s.createGuideTables(db, { partitionBy: 'toYYYYMMDD(timestamp)' });
      await s.loadLive(db, range(0, 3));
      const events: RunEvent[] = [];
      const report = await s.run(
        s.config(db, {
          url: `s3://${BUCKET}/pypi/*/*-000000000{004..015}.parquet`,
          batch: { files: 1, bytes: 1e12 },
          workers,
        }),
        { onEvent: (e) => events.push(e) },
      );
      expect(report.rowsLoaded).toBe(s.rowsOf(range(4, 15)));
      expect(report.workers).toBe(workers);
      expect(events.find((e) => e.type === 'schedule')).toMatchObject({ workers, policy: 'after-all' });
      const started = new Set(events.flatMap((e) => (e.type === 'worker-started' ? [e.worker] : [])));
      expect(started.size).toBe(workers);
      // Every batch verified and committed once.
      const verified = events.flatMap((e) => (e.type === 'batch-verified' ? [e.batch] : []));
      expect(verified.sort((a, b) => a - b)).toEqual(range(0, 11));
      const committed = events.flatMap((e) => (e.type === 'batch-committed' ? [e.batch] : []));
      expect(committed.sort((a, b) => a - b)).toEqual(range(0, 11));
      expect(await s.scalar(`SELECT count() FROM ${db}.pypi`)).toBe(s.rowsOf(range(0, 15)));
      expect(await s.scalar(`SELECT sum(count) FROM ${db}.pypi_downloads`)).toBe(s.rowsOf(range(0, 15)));
      const left = await s.driver.query<{ name: string }>(
        `SELECT name FROM system.tables WHERE database = '${db}' AND name LIKE '%\\_v2\\_%'`,
      );
      expect(left).toEqual([]);
      sums.set(workers, await checksum(db));
    }
    expect(new Set(sums.values()).size, JSON.stringify(Object.fromEntries(sums))).toBe(1);
  });
});
