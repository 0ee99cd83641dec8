/** The conformance suite on embedded ClickHouse (chDB). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseAdapter } from '../../adapters/clickhouse/adapter.ts';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import { PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { defineConformanceSuite } from './suite.ts';

defineConformanceSuite('clickhouse', async () => {
  const root = await mkdtemp(join(tmpdir(), 'shadowfill-conf-ch-'));
  const dir = join(root, 'ch');
  const driver = new ChdbDriver(dir);
  const scalar = async (sql: string) => (await driver.query<{ v: string }>(sql))[0]?.v ?? '';
  return {
    fixtureRunner: { queryAsync: (sql: string) => driver.command(sql) },
    createLiveTable: (name) =>
      driver.command(
        `CREATE TABLE default.\`${name}\` (${PYPI_STRUCTURE}) ENGINE = MergeTree PARTITION BY toYYYYMMDD(timestamp) ORDER BY (project, timestamp)`,
      ),
    insertLive: async (name, files) => {
      for (const f of files)
        await driver.command(
          `INSERT INTO default.\`${name}\` SELECT * FROM file(${quoteString(f.path)}, 'Parquet')`,
        );
    },
    rowCount: async (name) => Number(await scalar(`SELECT count() AS v FROM default.\`${name}\``)),
    contentHash: (name) =>
      scalar(
        `SELECT toString(groupBitXor(cityHash64(*))) || ':' || toString(count()) AS v FROM default.\`${name}\``,
      ),
    target: (name) => ({
      kind: 'clickhouse',
      url: `embedded:${dir}`,
      database: 'default',
      table: name,
      user: undefined,
      password: undefined,
    }),
    createAdapter: (config) => new ClickHouseAdapter(config, new ChdbDriver(dir)),
    stop: async () => {
      await driver.close();
      await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    },
  };
});
