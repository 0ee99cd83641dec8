/**
 * The TimescaleDB adapter on hypertables of other shapes, on every TimescaleDB target (the embedded 2.23 and a real
 * 2.28 server): a `timestamp` (without time zone) time dimension plus a hash space dimension (only the space partition that receives rows is decompressed)
 * with a hierarchical continuous aggregate and no compression policy; and an integer time dimension with an
 * integer_now function and an integer compress_after.
 */
import { describe, expect, it } from 'vitest';
import {
  chunkStates as readChunkStates,
  TIMESCALE_TARGET_TEXT,
  TIMESCALE_TARGETS,
  useTimescale,
  type TimescaleTargetKind,
} from '../support/timescale-targets.ts';
import type { RowChunk, RunContext, TargetAdapter } from '../../src/adapter/contract.ts';
import type { SourceColumn } from '../../src/source/types.ts';

function dimensionTests(kind: TimescaleTargetKind): void {
  const db = useTimescale(kind, 'shadowfill-tsdb-dims-');

  async function open(
    table: string,
    sourceColumns: SourceColumn[],
    targetOptions: Record<string, unknown> = {},
  ) {
    const config = db.config(table, targetOptions, 's3://b/*.parquet');
    const adapter = db.adapter(config);
    const target = await adapter.describe();
    const run: RunContext = {
      runId: `run-${table}`,
      config,
      store: {
        url: config.source.url,
        bucket: 'b',
        keyPattern: '*.parquet',
        endpoint: undefined,
        region: 'us-east-1',
        credentials: undefined,
      },
      target,
      filter: undefined,
      sourceColumns,
    };
    return { adapter, run, target };
  }

  async function* rows(columns: Record<string, unknown[]>): AsyncIterable<RowChunk> {
    const numRows = Object.values(columns)[0]!.length;
    yield {
      object: { key: 'x.parquet', size: 1, uri: 's3://b/x.parquet', httpUrl: 'http://x/b/x.parquet' },
      rowGroup: 0,
      numRows,
      columns: new Map(Object.entries(columns)),
    };
  }

  async function backfill(adapter: TargetAdapter, run: RunContext, input: AsyncIterable<RowChunk>) {
    await adapter.createShadows(run);
    const batch = { index: 0, objects: [] };
    await adapter.prepareBatch(run, batch);
    await adapter.loadBatchFromStream(run, batch, { kind: 'rows', chunks: input });
    const landed = await adapter.countLandedRows(run, batch);
    await adapter.commitBatch(run, batch);
    const state = await adapter.beginSwap(run);
    for (const unit of await adapter.listSwapUnits(run)) await adapter.swapUnit(run, unit);
    await adapter.finishSwap(run, state);
    await adapter.dropShadows(run);
    return { landed, state };
  }

  /** Chunk states by chunk name. */
  async function chunkStates(table: string) {
    return new Map((await readChunkStates(db.sql, table)).map((c) => [c.name, c]));
  }

  const count = async (table: string) =>
    Number((await db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]!.n);

  describe(`TimescaleDB adapter on other hypertable shapes, on ${TIMESCALE_TARGET_TEXT[kind]}`, () => {
    it('timestamp + hash space dimension: decompresses only the space partition that receives rows', async () => {
      await db.sql.query(
        `CREATE TABLE sp (t timestamp NOT NULL, device integer NOT NULL, v double precision)`,
      );
      await db.sql.query(`SELECT create_hypertable('sp', by_range('t', INTERVAL '1 day'))`);
      await db.sql.query(`SELECT add_dimension('sp', by_hash('device', 2))`);
      await db.sql.query(
        `ALTER TABLE sp SET (timescaledb.compress, timescaledb.compress_segmentby = 'device')`,
      );
      await db.sql.query(
        `INSERT INTO sp SELECT g, d, d FROM generate_series('2024-01-01'::timestamp, '2024-01-10 23:00', INTERVAL '1 hour') g, generate_series(1, 8) d`,
      );
      await db.sql.query(`SELECT compress_chunk(c) FROM show_chunks('sp') c`);
      await db.sql.query(
        `CREATE MATERIALIZED VIEW sp_hourly WITH (timescaledb.continuous) AS SELECT time_bucket('1 hour', t) AS b, device, count(*) AS n FROM sp GROUP BY 1, 2 WITH NO DATA`,
      );
      await db.sql.query(
        `CREATE MATERIALIZED VIEW sp_daily WITH (timescaledb.continuous) AS SELECT time_bucket('1 day', b) AS d, sum(n) AS n FROM sp_hourly GROUP BY 1 WITH NO DATA`,
      );
      await db.sql.query(`CALL refresh_continuous_aggregate('sp_hourly', NULL, NULL)`);
      await db.sql.query(`CALL refresh_continuous_aggregate('sp_daily', NULL, NULL)`);
      // Two devices that hash into the same one of the two space partitions.
      const hashes = await db.sql.query<{ d: number; h: string }>(
        `SELECT d, _timescaledb_functions.get_partition_hash(d)::text AS h FROM generate_series(1, 8) d`,
      );
      const low = hashes.rows.filter((r) => Number(r.h) < 2 ** 30).map((r) => r.d);
      expect(low.length).toBeGreaterThanOrEqual(2);
      const devices = low.slice(0, 2);
      const before = await count('sp');
      const chunksBefore = await chunkStates('sp');

      const { adapter, run, target } = await open(
        'sp',
        [
          {
            name: 't',
            type: { kind: 'timestamp', unit: 'millis', utc: false },
            nullable: false,
            parquetType: 'INT64 TIMESTAMP(MILLIS,false)',
          },
          {
            name: 'device',
            type: { kind: 'int', bits: 32, signed: true },
            nullable: false,
            parquetType: 'INT32',
          },
          { name: 'v', type: { kind: 'float', bits: 64 }, nullable: true, parquetType: 'DOUBLE' },
        ],
        { strategy: 'decompress' },
      );
      expect(target.notes.join('\n')).toContain('space dimension device (2 partitions)');
      expect(target.notes.join('\n')).toContain('compression policy: none');
      const times: Date[] = [];
      const devs: number[] = [];
      for (let h = 0; h < 24; h++) {
        for (const d of devices) {
          times.push(new Date(Date.UTC(2024, 0, 3, h, 30)));
          devs.push(d);
        }
      }
      const { landed, state } = await backfill(
        adapter,
        run,
        rows({ t: times, device: devs, v: devs.map(() => 0.5) }),
      );
      expect(landed).toBe(48);
      expect(await count('sp')).toBe(before + 48);
      const decompressed = (state['chunks'] as { chunk: string }[]).map((c) => c.chunk.split('.')[1]!);
      expect(decompressed).toHaveLength(1);
      const after = await chunkStates('sp');
      for (const [name, c] of chunksBefore) {
        expect(after.get(name)!.compressed).toBe(true);
        if (decompressed.includes(name))
          expect(after.get(name)!.compressedChunkId).not.toBe(c.compressedChunkId);
        else expect(after.get(name)!.compressedChunkId, `${name} untouched`).toBe(c.compressedChunkId);
      }
      // Both aggregate levels were refreshed over the backfilled range.
      const daily = await db.sql.query<{ n: string }>(`SELECT n::text FROM sp_daily WHERE d = '2024-01-03'`);
      expect(daily.rows).toEqual([{ n: String(24 * 8 + 48) }]);
      const hourly = await db.sql.query<{ n: string }>(`SELECT sum(n)::text AS n FROM sp_hourly`);
      expect(hourly.rows).toEqual([{ n: String(before + 48) }]);
    });

    it('integer time with integer_now and an integer compress_after', async () => {
      await db.sql.query(`CREATE TABLE it (t bigint NOT NULL, v integer NOT NULL)`);
      await db.sql.query(`SELECT create_hypertable('it', by_range('t', 1000))`);
      await db.sql.query(
        `CREATE FUNCTION it_now() RETURNS bigint LANGUAGE sql STABLE AS 'SELECT coalesce(max(t), 0) FROM it'`,
      );
      await db.sql.query(`SELECT set_integer_now_func('it', 'it_now')`);
      await db.sql.query(`ALTER TABLE it SET (timescaledb.compress, timescaledb.compress_orderby = 't')`);
      await db.sql.query(`INSERT INTO it SELECT g, 1 FROM generate_series(10000, 19999, 10) g`);
      await db.sql.query(
        `SELECT add_compression_policy('it', compress_after => 3000::bigint, initial_start => now() + INTERVAL '1 day')`,
      );
      await db.sql.query(`SELECT compress_chunk(c) FROM show_chunks('it', older_than => it_now() - 3000) c`);
      const before = await count('it');
      const { adapter, run, target } = await open('it', [
        { name: 't', type: { kind: 'int', bits: 64, signed: true }, nullable: false, parquetType: 'INT64' },
        { name: 'v', type: { kind: 'int', bits: 32, signed: true }, nullable: false, parquetType: 'INT32' },
      ]);
      expect(target.notes.join('\n')).toMatch(/chunk interval 1000;?/);
      // 5000..5999 is a gap before the data (a new chunk past compress_after); 12005.. lands in compressed chunks.
      const ts = [
        ...Array.from({ length: 100 }, (_, i) => BigInt(5000 + i * 10)),
        ...Array.from({ length: 50 }, (_, i) => BigInt(12005 + i * 10)),
      ];
      await backfill(adapter, run, rows({ t: ts, v: ts.map(() => 2) }));
      expect(await count('it')).toBe(before + 150);
      const states = [...(await chunkStates('it')).values()];
      expect(states.filter((c) => c.partial)).toEqual([]);
      const compressed = await db.sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'it' AND is_compressed AND range_end_integer <= 17000`,
      );
      expect(compressed.rows[0]!.n).toBe('7'); // 5000-5999 (new, past integer_now() − 3000) and 10000-15999
      const scheduled = await db.sql.query<{ s: boolean }>(
        `SELECT scheduled AS s FROM timescaledb_information.jobs WHERE hypertable_name = 'it' AND proc_name = 'policy_compression'`,
      );
      expect(scheduled.rows).toEqual([{ s: true }]);
    });
  });
}

for (const kind of TIMESCALE_TARGETS) dimensionTests(kind);
