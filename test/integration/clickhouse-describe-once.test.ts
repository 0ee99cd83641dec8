/**
 * The source's types are read once (embedded chDB + s3rver): validation's cast probe and the loads' cast guard
 * both need the types ClickHouse infers from the first object (`DESCRIBE TABLE s3(…)`), and share one answer.
 * Counted on the statements the adapter sends through its driver.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ClickHouseAdapter } from '../../adapters/clickhouse/adapter.ts';
import { unbind, type ClickHouseDriver } from '../../adapters/clickhouse/driver.ts';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
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

const describes = (sent: readonly string[]) => sent.filter((q) => q.startsWith('DESCRIBE TABLE s3(')).length;

it('a run describes the source once: the validation probe and the loads share the answer', async () => {
  await s.createGuideTables('once');
  const config = s.config('once', { url: `s3://${BUCKET}/${ANY_DAY}{000..003}.parquet`, load: 'server' });
  const sent: string[] = [];
  const adapter = new ClickHouseAdapter(config, recording(new ChdbDriver(s.chDir), sent));
  await adapter.connect();
  try {
    const report = await runBackfill(config, adapter);
    expect(report.rowsLoaded).toBe(s.rowsOf([0, 1, 2, 3]));
  } finally {
    await adapter.close();
  }
  expect(describes(sent)).toBe(1);
  expect(await s.scalar('SELECT count() FROM once.pypi')).toBe(s.rowsOf([0, 1, 2, 3]));
});

it('plan describes the source once too', async () => {
  await s.createGuideTables('planned');
  const config = s.config('planned', { url: `s3://${BUCKET}/${ANY_DAY}{000..003}.parquet`, load: 'server' });
  const sent: string[] = [];
  const adapter = new ClickHouseAdapter(config, recording(new ChdbDriver(s.chDir), sent));
  await adapter.connect();
  try {
    const plan = await planRun(config, adapter);
    expect(plan.statements.some((p) => p.sql.includes('INSERT INTO'))).toBe(true);
  } finally {
    await adapter.close();
  }
  expect(describes(sent)).toBe(1);
});
