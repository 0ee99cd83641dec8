/**
 * Lanes on chDB (one query at a time per session): every lane loads on a session of its own — the default lane
 * too — so the run's own session (journal, lease, the other lanes' verification and commits) is never queued
 * behind an `INSERT … SELECT FROM s3()`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseAdapter } from '../../adapters/clickhouse/adapter.ts';
import type { ClickHouseDriver, Statement } from '../../adapters/clickhouse/driver.ts';
import { unbind } from '../../adapters/clickhouse/driver.ts';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { runBackfill } from '../../src/runner/run.ts';
import { ANY_DAY, BUCKET, startScenario, type Scenario } from '../support/clickhouse-scenario.ts';

let s: Scenario;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeAll(async () => {
  s = await startScenario({ files: 8, rowsPerFile: 300, days: 2 });
}, 300_000);

afterAll(async () => {
  await s?.stop();
});

/** A real chDB driver that records the statements it runs, and hands out recording forks. */
function recording(
  inner: ClickHouseDriver,
  name: string,
  log: { driver: string; sql: string }[],
): ClickHouseDriver {
  const note = (st: Statement) => log.push({ driver: name, sql: unbind(st).sql });
  let forks = 0;
  return {
    description: inner.description,
    command: (st, settings) => (note(st), inner.command(st, settings)),
    query: (st, settings) => (note(st), inner.query(st, settings)),
    insertStream: (t, f, b, settings) => inner.insertStream(t, f, b, settings),
    close: () => inner.close(),
    fork: () => recording(inner.fork!(), `${name}/fork${++forks}`, log),
  };
}

describe('ClickHouse lanes on chDB', () => {
  it.each([1, 2])(
    'workers %i: every load runs on a forked session, none on the run’s own',
    async (workers) => {
      const db = `lanes_${workers}`;
      await s.createGuideTables(db);
      const config = s.config(db, {
        url: `s3://${BUCKET}/${ANY_DAY}{002..007}.parquet`,
        batch: { files: 2, bytes: 1e12 },
        workers,
      });
      const log: { driver: string; sql: string }[] = [];
      const adapter = new ClickHouseAdapter(config, recording(new ChdbDriver(s.chDir), 'main', log));
      await adapter.connect();
      try {
        const report = await runBackfill(config, adapter);
        expect(report.batches).toBe(3);
      } finally {
        await adapter.close();
      }
      const loads = log.filter((l) => /^INSERT INTO \S+_landing\S* .*FROM s3\(/s.test(l.sql));
      expect(loads).toHaveLength(3);
      expect(loads.filter((l) => l.driver === 'main')).toEqual([]);
      expect(new Set(loads.map((l) => l.driver)).size).toBe(workers);
      expect(await s.scalar(`SELECT count() FROM ${db}.pypi`)).toBe(s.rowsOf(range(2, 7)));
      expect(await s.scalar(`SELECT sum(count) FROM ${db}.pypi_downloads`)).toBe(s.rowsOf(range(2, 7)));
    },
  );
});
