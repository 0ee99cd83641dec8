/**
 * The conformance suite on every TimescaleDB target (test/support/timescale-targets.ts): the embedded TimescaleDB
 * 2.23 (PGlite, child process) and a real TimescaleDB 2.28 server. Each live table is a hypertable with the PyPI
 * columns, 1-day chunks, compression (segmentby project, orderby timestamp) and a 7-day compression policy (its
 * first start a day away, so the real server's scheduler leaves the test's own compression alone); live rows are
 * inserted directly (read from the Parquet files by chDB's stateless API, an independent reader) and their chunks
 * compressed, as the policy would, so the suite's backfills land in compressed chunks and new ones.
 */
import pg from 'pg';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import { quoteIdent, quoteLiteral } from '../../adapters/timescaledb/sql/quote.ts';
import { quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import {
  startTimescale,
  TIMESCALE_TARGET_TEXT,
  TIMESCALE_TARGETS,
  type TimescaleTargetKind,
} from '../support/timescale-targets.ts';
import { defineConformanceSuite, type ConformanceHarness } from './suite.ts';

const COLUMNS = ['country_code', 'project', 'type', 'installer', 'python_minor', 'system', 'version'];

async function harness(kind: TimescaleTargetKind): Promise<ConformanceHarness> {
  const server = await startTimescale(kind, 'shadowfill-conf-tsdb-');
  const sql = new pg.Client(server.client);
  await sql.connect();
  await sql.query("SET TimeZone = 'UTC'");
  const chdb = await import('chdb');
  const scalar = async (text: string) => (await sql.query<{ v: string }>(text)).rows[0]?.v ?? '';
  return {
    createLiveTable: async (name) => {
      const table = quoteIdent(name);
      await sql.query(
        `CREATE TABLE ${table} ("timestamp" timestamptz NOT NULL, ${COLUMNS.map((c) => `${quoteIdent(c)} text`).join(', ')})`,
      );
      await sql.query(
        `SELECT create_hypertable(${quoteLiteral(table)}, by_range('timestamp', INTERVAL '1 day'))`,
      );
      await sql.query(
        `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'project', timescaledb.compress_orderby = '"timestamp"')`,
      );
      await sql.query(
        `SELECT add_compression_policy(${quoteLiteral(table)}, INTERVAL '7 days', initial_start => now() + INTERVAL '1 day')`,
      );
    },
    insertLive: async (name, files) => {
      const table = quoteIdent(name);
      for (const f of files) {
        const result = await chdb.queryAsync(
          `SELECT toUnixTimestamp(timestamp) AS epoch, ${COLUMNS.join(', ')} FROM file(${quoteString(f.path)}, 'Parquet')`,
          { format: 'JSONEachRow' },
        );
        const rows = result
          .text()
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => JSON.parse(line) as unknown);
        await sql.query(
          `INSERT INTO ${table} SELECT to_timestamp(r.epoch), ${COLUMNS.map((c) => `r.${quoteIdent(c)}`).join(', ')}
             FROM json_to_recordset($1::json) AS r(epoch bigint, ${COLUMNS.map((c) => `${quoteIdent(c)} text`).join(', ')})`,
          [JSON.stringify(rows)],
        );
      }
      // What the 7-day policy does to these (2024) days.
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
      url: server.url,
      database: 'public',
      table: name,
      user: undefined,
      password: undefined,
    }),
    defaults: { load: 'client' },
    createAdapter: (config) => createTimescaleAdapter(config),
    stop: async () => {
      await sql.end().catch(() => undefined);
      await server.stop();
    },
  };
}

for (const kind of TIMESCALE_TARGETS) {
  defineConformanceSuite(`timescaledb on ${TIMESCALE_TARGET_TEXT[kind]}`, () => harness(kind));
}
