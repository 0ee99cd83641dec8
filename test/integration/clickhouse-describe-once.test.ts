/**
 * The source's types are read once (embedded chDB + s3rver): validation's cast probe and the loads' cast guard
 * both need the types ClickHouse infers from the first object (`DESCRIBE TABLE s3(…)`), and share one answer.
 * Counted on the statements the adapter sends through its driver.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClickHouseAdapter } from '../../adapters/clickhouse/adapter.ts';
import { unbind, type ClickHouseDriver } from '../../adapters/clickhouse/driver.ts';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { planRun } from '../../src/runner/plan.ts';
import { runBackfill } from '../../src/runner/run.ts';
import { ANY_DAY, BUCKET, startScenario, type Scenario } from '../support/clickhouse-scenario.ts';

let s: Scenario;

beforeAll(async () => {
  s = await startScenario({ files: 4, rowsPerFile: 200, days: 1 });
}, 300_000);

afterAll(async () => {
  await s?.stop();
});

/** `driver`, recording the text of every statement it (and every lane forked from it) is sent. */
function recording(driver: ClickHouseDriver, sent: string[]): ClickHouseDriver {
  return {
    description: driver.description,
    command: (statement, settings) => {
      sent.push(unbind(statement).sql);
      return driver.command(statement, settings);
    },
    query: (statement, settings) => {
      sent.push(unbind(statement).sql);
      return driver.query(statement, settings);
    },
    insertStream: (table, format, body, settings) => driver.insertStream(table, format, body, settings),
    close: () => driver.close(),
    ...(driver.fork ? { fork: () => recording(driver.fork!(), sent) } : {}),
  };
}

/** The `DESCRIBE TABLE s3(…)` statements sent while `use` works with an adapter on the guide's tables in `database`. */
async function describesWhile(
  database: string,
  use: (adapter: ClickHouseAdapter, config: BackfillConfig) => Promise<void>,
): Promise<number> {
  await s.createGuideTables(database);
  const config = s.config(database, { url: `s3://${BUCKET}/${ANY_DAY}{000..003}.parquet`, load: 'server' });
  const sent: string[] = [];
  const adapter = new ClickHouseAdapter(config, recording(new ChdbDriver(s.chDir), sent));
  await adapter.connect();
  try {
    await use(adapter, config);
  } finally {
    await adapter.close();
  }
  return sent.filter((q) => q.startsWith('DESCRIBE TABLE s3(')).length;
}

it('a run describes the source once: the validation probe and the loads share the answer', async () => {
  const describes = await describesWhile('once', async (adapter, config) => {
    const report = await runBackfill(config, adapter);
    expect(report.rowsLoaded).toBe(s.rowsOf([0, 1, 2, 3]));
  });
  expect(describes).toBe(1);
  expect(await s.scalar('SELECT count() FROM once.pypi')).toBe(s.rowsOf([0, 1, 2, 3]));
});

it('plan describes the source once too', async () => {
  const describes = await describesWhile('planned', async (adapter, config) => {
    const plan = await planRun(config, adapter);
    expect(plan.statements.some((p) => p.sql.includes('INSERT INTO'))).toBe(true);
  });
  expect(describes).toBe(1);
});
