/**
 * A restart of the database in the middle of a run: a ReplacingMergeTree table whose partition spans many
 * batches (`batch.files: 1`, 40 objects), stopped after batch 10; chDB's data directory is closed and opened
 * again (what a server restart does to runtime state such as SYSTEM STOP MERGES), the restarted engine merges
 * the run's shadow, and the run is resumed. The shadow must not have collapsed, and the result must be exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import type { RunOptions } from '../../src/runner/run.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { BUCKET, ANY_DAY, startScenario, type Scenario } from '../support/clickhouse-scenario.ts';

let s: Scenario;

beforeAll(async () => {
  s = await startScenario({ files: 40, rowsPerFile: 500, days: 1 });
}, 300_000);

afterAll(async () => {
  await s?.stop();
});

const run = (config: BackfillConfig, options?: RunOptions) => s.run(config, options);

describe('a restart of ClickHouse between batches', () => {
  it('a ReplacingMergeTree shadow does not collapse after a restart, and the resumed run is exact', async () => {
    await s.driver.command('CREATE DATABASE restart');
    await s.driver.command(
      `CREATE TABLE restart.pypi (${PYPI_STRUCTURE}) ENGINE = ReplacingMergeTree ORDER BY (project, country_code)`,
    );
    const config = s.config('restart', {
      url: `s3://${BUCKET}/${ANY_DAY}{000..039}.parquet`,
      batch: { files: 1, bytes: 1e12 },
    });
    const stopped = await run(config, {
      onEvent: (e) => {
        if (e.type === 'batch-committed' && e.batch === 9)
          throw new Error('the server goes down after batch 10');
      },
    }).catch((e: unknown) => e);
    expect((stopped as Error).message).toContain('goes down');

    // Restart: every session on the directory closes, then it is opened again.
    await s.driver.close();
    const restarted = new ChdbDriver(s.chDir);
    try {
      const [shadow] = await restarted.query<{ name: string }>(
        "SELECT name FROM system.tables WHERE database = 'restart' AND name LIKE 'pypi\\_v2\\_%' AND name NOT LIKE '%landing'",
      );
      const held = async () =>
        Number(
          (await restarted.query<{ n: string }>(`SELECT count() AS n FROM restart.\`${shadow!.name}\``))[0]
            ?.n,
        );
      const before = await held();
      expect(before).toBe(s.rowsOf(Array.from({ length: 10 }, (_, i) => i)));
      // What the restarted server does to the shadow on its own, now rather than some time later: merge it.
      await restarted.command(`OPTIMIZE TABLE restart.\`${shadow!.name}\` FINAL`);
      expect(await held()).toBe(before);

      const report = await run(config);
      expect(report.resumed).toBe(true);
      const all = Array.from({ length: 40 }, (_, i) => i);
      expect(report.rowsLoaded).toBe(s.rowsOf(all));
      const [row] = await restarted.query<{ live: string; expected: string }>(
        `SELECT (SELECT count() FROM restart.pypi FINAL) AS live, ` +
          `(SELECT count() FROM (SELECT DISTINCT project, country_code FROM file('${s.parquetDir}/pypi/*/*.parquet', 'Parquet'))) AS expected`,
      );
      expect(Number(row?.live)).toBe(Number(row?.expected));
      expect(Number(row?.expected)).toBeLessThan(s.rowsOf(all));
    } finally {
      await restarted.close();
    }
  });
});
