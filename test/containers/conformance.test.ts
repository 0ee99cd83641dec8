/**
 * The conformance suite (test/conformance/suite.ts) against the servers of docker-compose.yml, started with
 * testcontainers: ClickHouse over HTTP and TimescaleDB on PostgreSQL. The suite's object store is its own local
 * S3 server on this machine, which a container cannot reach, so both targets load with `load: client` (shadowfill
 * streams the objects); minio.test.ts covers the server-side load from MinIO. Skipped, in one line, where no
 * Docker engine answers.
 */
import { createReadStream } from 'node:fs';
import pg from 'pg';
import { createClickHouseAdapter } from '../../adapters/clickhouse/index.ts';
import { HttpDriver } from '../../adapters/clickhouse/drivers/http.ts';
import { quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import { quoteIdent, quoteLiteral } from '../../adapters/timescaledb/sql/quote.ts';
import { PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { defineConformanceSuite } from '../conformance/suite.ts';
import {
  clickhouseContainer,
  COMPOSE_PASSWORD,
  dockerEngine,
  skipWithoutDocker,
  timescaleContainer,
} from './docker.ts';

const engine = await dockerEngine();
const PASSWORD = COMPOSE_PASSWORD;

if (skipWithoutDocker('conformance on docker-compose servers', engine)) {
  defineConformanceSuite('clickhouse server (container)', async () => {
    const container = await clickhouseContainer().start();
    const url = `http://${container.getHost()}:${container.getMappedPort(8123)}`;
    const driver = new HttpDriver({ url, user: 'default', password: PASSWORD, database: 'default' });
    const scalar = async (sql: string) => (await driver.query<{ v: string }>(sql))[0]?.v ?? '';
    return {
      createLiveTable: (name) =>
        driver.command(
          `CREATE TABLE default.\`${name}\` (${PYPI_STRUCTURE}) ENGINE = MergeTree PARTITION BY toYYYYMMDD(timestamp) ORDER BY (project, timestamp)`,
        ),
      insertLive: async (name, files) => {
        for (const f of files)
          await driver.insertStream(`default.\`${name}\``, 'Parquet', createReadStream(f.path));
      },
      rowCount: async (name) => Number(await scalar(`SELECT count() AS v FROM default.\`${name}\``)),
      contentHash: (name) =>
        scalar(
          `SELECT toString(groupBitXor(cityHash64(*))) || ':' || toString(count()) AS v FROM default.\`${name}\``,
        ),
      target: (name) => ({
        kind: 'clickhouse',
        url,
        database: 'default',
        table: name,
        user: 'default',
        password: PASSWORD,
      }),
      defaults: { load: 'client' },
      createAdapter: (config) => createClickHouseAdapter(config),
      stop: async () => {
        await driver.close();
        await container.stop();
      },
    };
  });

  defineConformanceSuite('timescaledb server (container)', async () => {
    const container = await timescaleContainer().start();
    const url = `postgres://postgres:${PASSWORD}@${container.getHost()}:${container.getMappedPort(5432)}/shadowfill`;
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    await sql.query("SET TimeZone = 'UTC'");
    const chdb = await import('chdb');
    const columns = ['country_code', 'project', 'type', 'installer', 'python_minor', 'system', 'version'];
    const scalar = async (text: string) => (await sql.query<{ v: string }>(text)).rows[0]?.v ?? '';
    return {
      createLiveTable: async (name) => {
        const table = quoteIdent(name);
        await sql.query(
          `CREATE TABLE ${table} ("timestamp" timestamptz NOT NULL, ${columns.map((c) => `${quoteIdent(c)} text`).join(', ')})`,
        );
        await sql.query(
          `SELECT create_hypertable(${quoteLiteral(table)}, by_range('timestamp', INTERVAL '1 day'))`,
        );
        await sql.query(
          `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'project', timescaledb.compress_orderby = '"timestamp"')`,
        );
        await sql.query(`SELECT add_compression_policy(${quoteLiteral(table)}, INTERVAL '7 days')`);
      },
      insertLive: async (name, files) => {
        const table = quoteIdent(name);
        for (const f of files) {
          const result = await chdb.queryAsync(
            `SELECT toUnixTimestamp(timestamp) AS epoch, ${columns.join(', ')} FROM file(${quoteString(f.path)}, 'Parquet')`,
            { format: 'JSONEachRow' },
          );
          const rows = result
            .text()
            .split('\n')
            .filter((line) => line.length > 0)
            .map((line) => JSON.parse(line) as unknown);
          await sql.query(
            `INSERT INTO ${table} SELECT to_timestamp(r.epoch), ${columns.map((c) => `r.${quoteIdent(c)}`).join(', ')}
               FROM json_to_recordset($1::json) AS r(epoch bigint, ${columns.map((c) => `${quoteIdent(c)} text`).join(', ')})`,
            [JSON.stringify(rows)],
          );
        }
        await sql.query(
          `SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks(${quoteLiteral(table)}) c`,
        );
      },
      rowCount: async (name) => Number(await scalar(`SELECT count(*)::text AS v FROM ${quoteIdent(name)}`)),
      contentHash: (name) =>
        scalar(
          `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) || ':' || count(*) AS v FROM ${quoteIdent(name)} t`,
        ),
      target: (name) => ({
        kind: 'timescaledb',
        url,
        database: 'public',
        table: name,
        user: undefined,
        password: undefined,
      }),
      defaults: { load: 'client' },
      createAdapter: (config) => createTimescaleAdapter(config),
      stop: async () => {
        await sql.end().catch(() => undefined);
        await container.stop();
      },
    };
  });
}
