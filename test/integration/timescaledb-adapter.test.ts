/**
 * The TimescaleDB adapter against every TimescaleDB target (test/support/timescale-targets.ts: the embedded
 * TimescaleDB 2.23 and a real TimescaleDB 2.28 server), driven in the order the engine calls it: createShadows →
 * prepareBatch → loadBatchFromStream → countLandedRows → commitBatch → beginSwap → listSwapUnits/swapUnit →
 * finishSwap → dropShadows. Each test builds its own hypertable: 1-day chunks, segmentby/orderby compression, a
 * 7-day compression policy that has not run yet (its first start a day away, so the real server's scheduler leaves
 * it alone), chunks older than 7 days compressed, a continuous aggregate, a primary key.
 */
import { describe, expect, it } from 'vitest';
import {
  chunkStates,
  TIMESCALE_TARGET_TEXT,
  TIMESCALE_TARGETS,
  useTimescale,
  type ChunkState,
  type TimescaleTargetKind,
} from '../support/timescale-targets.ts';
import type {
  LoadAttempt,
  RowChunk,
  RunContext,
  SwapState,
  TargetAdapter,
  TargetDescription,
} from '../../src/adapter/contract.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import {
  JournalError,
  SchemaMismatchError,
  SourceError,
  TargetError,
  VerifyError,
} from '../../src/errors.ts';
import { PreciseDate } from '../../src/parquet/values.ts';
import type { SourceColumn, SourceObject } from '../../src/source/types.ts';
import { openConnection, type PgConnection } from '../../adapters/timescaledb/connection.ts';
import { introspectHypertable } from '../../adapters/timescaledb/introspect.ts';
import { measureAll } from '../../adapters/timescaledb/measure.ts';

const DAY = 86_400_000;
const TEN_MINUTES = 600_000;
/** Midnight UTC 30 days ago: existing data covers days 0..29 (day 15 left empty: a gap without a chunk). */
const D0 = Math.floor(Date.now() / DAY) * DAY - 30 * DAY;
const GAP_DAY = 15;

function adapterTests(kind: TimescaleTargetKind): void {
  const db = useTimescale(kind, 'shadowfill-tsdb-');

  function config(table: string, targetOptions: Record<string, unknown> = {}): BackfillConfig {
    return db.config(table, targetOptions);
  }

  async function open(table: string, targetOptions: Record<string, unknown> = {}) {
    const cfg = config(table, targetOptions);
    const adapter = db.adapter(cfg);
    await adapter.connect();
    const target = await adapter.describe();
    return { adapter, cfg, target };
  }

  const SOURCE_COLUMNS: SourceColumn[] = [
    {
      name: 't',
      type: { kind: 'timestamp', unit: 'micros', utc: true },
      nullable: false,
      parquetType: 'INT64 TIMESTAMP(MICROS,true)',
    },
    { name: 'device', type: { kind: 'int', bits: 32, signed: true }, nullable: false, parquetType: 'INT32' },
    { name: 'v', type: { kind: 'float', bits: 64 }, nullable: true, parquetType: 'DOUBLE' },
    { name: 'note', type: { kind: 'string' }, nullable: true, parquetType: 'BYTE_ARRAY STRING' },
  ];

  function context(cfg: BackfillConfig, target: TargetDescription, runId: string): RunContext {
    return {
      runId,
      config: cfg,
      store: {
        url: cfg.source.url,
        bucket: 'bucket',
        keyPattern: 'backfill/*.parquet',
        endpoint: undefined,
        region: 'us-east-1',
        credentials: undefined,
      },
      target,
      filter: undefined,
      sourceColumns: SOURCE_COLUMNS,
    };
  }

  function object(key: string): SourceObject {
    return { key, size: 1000, uri: `s3://bucket/${key}`, httpUrl: `http://127.0.0.1:1/bucket/${key}` };
  }

  interface Row {
    t: Date;
    device: number;
    v: number | null;
    note: string | null;
  }

  /** Rows of `device` every 10 minutes over whole days (day numbers relative to D0). */
  function dayRows(days: readonly number[], device: number, value: (i: number) => number): Row[] {
    const rows: Row[] = [];
    for (const day of days) {
      for (let t = D0 + day * DAY; t < D0 + (day + 1) * DAY; t += TEN_MINUTES) {
        rows.push({ t: new Date(t), device, v: value(rows.length), note: `d${device} ${rows.length}` });
      }
    }
    return rows;
  }

  async function* chunksOf(key: string, rows: readonly Row[], rowsPerGroup = 100): AsyncIterable<RowChunk> {
    for (let start = 0, group = 0; start < rows.length; start += rowsPerGroup, group += 1) {
      const part = rows.slice(start, start + rowsPerGroup);
      yield {
        object: object(key),
        rowGroup: group,
        numRows: part.length,
        columns: new Map<string, ArrayLike<unknown>>([
          ['t', part.map((r) => r.t)],
          ['device', Int32Array.from(part.map((r) => r.device))],
          ['v', part.map((r) => r.v)],
          ['note', part.map((r) => r.note)],
        ]),
      };
    }
  }

  async function* concat(...parts: AsyncIterable<RowChunk>[]): AsyncIterable<RowChunk> {
    for (const part of parts) yield* part;
  }

  /** The hypertable every test starts from (see the file header); returns its row count. */
  async function createMetrics(table: string, { primaryKey = true } = {}): Promise<number> {
    const q = (text: string) => db.sql.query(text);
    await q(
      `CREATE TABLE ${table} (t timestamptz NOT NULL, device integer NOT NULL, v double precision, note text${primaryKey ? ', PRIMARY KEY (device, t)' : ''})`,
    );
    await q(`SELECT create_hypertable('${table}', by_range('t', INTERVAL '1 day'))`);
    await q(
      `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 't DESC')`,
    );
    await q(
      `INSERT INTO ${table} SELECT g, d, (extract(epoch FROM g) / 600)::int % 97 + d, 'existing'
       FROM generate_series(to_timestamp(${D0 / 1000}), to_timestamp(${(D0 + 30 * DAY) / 1000}) - INTERVAL '10 minutes', INTERVAL '10 minutes') g,
            generate_series(1, 3) d
      WHERE g < to_timestamp(${(D0 + GAP_DAY * DAY) / 1000}) OR g >= to_timestamp(${(D0 + (GAP_DAY + 1) * DAY) / 1000})`,
    );
    await q(
      `SELECT add_compression_policy('${table}', INTERVAL '7 days', initial_start => now() + INTERVAL '1 day')`,
    );
    await q(`SELECT compress_chunk(c) FROM show_chunks('${table}', older_than => INTERVAL '7 days') c`);
    await q(
      `CREATE MATERIALIZED VIEW ${table}_hourly WITH (timescaledb.continuous) AS
       SELECT time_bucket('1 hour', t) AS bucket, device, count(*) AS n, sum(v) AS total FROM ${table} GROUP BY 1, 2 WITH NO DATA`,
    );
    await q(`CALL refresh_continuous_aggregate('${table}_hourly', NULL, NULL)`);
    return count(table);
  }

  async function count(table: string, where = 'true'): Promise<number> {
    const r = await db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table} WHERE ${where}`);
    return Number(r.rows[0]!.n);
  }

  async function chunks(table: string): Promise<ChunkState[]> {
    return chunkStates(db.sql, table);
  }

  const dayOf = (c: ChunkState) => Math.round((c.start - D0) / DAY);

  async function policyScheduled(table: string): Promise<boolean> {
    const r = await db.sql.query<{ scheduled: boolean }>(
      `SELECT scheduled FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = $1`,
      [table],
    );
    return r.rows[0]!.scheduled;
  }

  /** The continuous aggregate minus a recomputation from the raw table, both ways: empty when they agree. */
  async function aggregateDifference(table: string, beforeMs?: number): Promise<number> {
    const until = beforeMs === undefined ? 'true' : `bucket < to_timestamp(${beforeMs / 1000})`;
    const recomputed = `SELECT * FROM (SELECT time_bucket('1 hour', t) AS bucket, device, count(*) AS n, sum(v) AS total FROM ${table} GROUP BY 1, 2) r WHERE ${until}`;
    const stored = `SELECT bucket, device, n, total FROM ${table}_hourly WHERE ${until}`;
    const r = await db.sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ((${recomputed} EXCEPT ALL ${stored}) UNION ALL (${stored} EXCEPT ALL ${recomputed})) d`,
    );
    return Number(r.rows[0]!.n);
  }

  async function loadBatch(
    adapter: TargetAdapter,
    run: RunContext,
    index: number,
    input: AsyncIterable<RowChunk>,
    attempt?: LoadAttempt,
  ) {
    const batch = { index, objects: [] };
    await adapter.prepareBatch(run, batch);
    const result = await adapter.loadBatchFromStream(run, batch, { kind: 'rows', chunks: input }, attempt);
    const landed = await adapter.countLandedRows(run, batch);
    await adapter.commitBatch(run, batch);
    return { result, landed };
  }

  /** The names of the run's tables (`<table>_v2_<run>`, `…_swap`, `…_claims`). */
  async function stagingTables(table: string): Promise<string[]> {
    const r = await db.sql.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE tablename LIKE $1 ORDER BY 1`,
      [`${table}\\_v2\\_%`],
    );
    return r.rows.map((x) => x.name);
  }

  /** The definitions of the staging table's indexes (`<table>_v2_<run>`), sorted. */
  async function stagingIndexes(table: string): Promise<string[]> {
    const r = await db.sql.query<{ def: string }>(
      `SELECT indexdef AS def FROM pg_indexes WHERE tablename LIKE $1 AND tablename NOT LIKE '%\\_swap' AND tablename NOT LIKE '%\\_claims' ORDER BY 1`,
      [`${table}\\_v2\\_%`],
    );
    return r.rows.map((x) => x.def);
  }

  async function swapAll(adapter: TargetAdapter, run: RunContext): Promise<SwapState> {
    const state = await adapter.beginSwap(run);
    for (const unit of await adapter.listSwapUnits(run)) await adapter.swapUnit(run, unit);
    await adapter.finishSwap(run, state);
    return state;
  }

  describe(`TimescaleDB adapter on ${TIMESCALE_TARGET_TEXT[kind]}`, () => {
    it('describes the hypertable: dimensions, compression, a policy that never ran, aggregates, unique indexes', async () => {
      await createMetrics('m_describe');
      const { adapter, target } = await open('m_describe');
      expect(target.serverVersion).toMatch(/^TimescaleDB 2\.\d+/);
      expect(target.table.engine).toBe('TimescaleDB hypertable');
      expect(target.table.columns.map((c) => c.name)).toEqual(['t', 'device', 'v', 'note']);
      const notes = target.notes.join('\n');
      expect(notes).toContain('time dimension t (timestamp with time zone), chunk interval 1 day');
      expect(notes).toContain('compression: segmentby device; orderby t DESC');
      expect(notes).toMatch(/compression policy: job \d+, compress_after 7 days, scheduled, never ran/);
      expect(notes).toContain('continuous aggregates: public.m_describe_hourly (bucket 01:00:00)');
      expect(notes).toContain('unique indexes: m_describe_pkey (device, t) primary key');
      expect(notes).toMatch(/chunks: 29 \(22 compressed\)/);
      expect(await adapter.minValue('t')).toBe(new Date(D0).toISOString().replace('.000Z', '.000000Z'));
      const measured = await adapter.measure(target);
      expect(measured[0]).toEqual({ table: 'public.m_describe', rows: 29 * 144 * 3, aggregates: {} });
      expect(measured[1]).toMatchObject({
        table: 'public.m_describe_hourly',
        aggregates: { 'sum(n)': 29 * 144 * 3 },
      });
      // Scoped to what a run can change: the source's range of t (days 3 and 4, from footer statistics).
      const iso = (ms: number) => new Date(ms).toISOString();
      const scoped = await adapter.measure(target, {
        ranges: {
          t: { kind: 'time', min: iso(D0 + 3 * DAY), max: iso(D0 + 5 * DAY - 1) },
          device: { kind: 'number', min: '1', max: '3' },
        },
      });
      expect(scoped[0]).toEqual({
        table: 'public.m_describe',
        scope: `t in [${iso(D0 + 3 * DAY)}, ${iso(D0 + 5 * DAY - 1)}]`,
        rows: 2 * 144 * 3,
        aggregates: {},
      });
      expect(scoped[1]).toMatchObject({
        table: 'public.m_describe_hourly',
        scope: expect.stringContaining('buckets (bucket) holding t in'),
        rows: 2 * 24 * 3,
        aggregates: { 'sum(n)': 2 * 144 * 3 },
      });
    });

    it('counts compressed rows from chunk metadata, heap rows of partial chunks included, exactly', async () => {
      await createMetrics('m_count');
      const { adapter, target } = await open('m_count');
      const iso = (ms: number) => new Date(ms).toISOString();
      // Late rows into compressed chunks: day 3 lies wholly inside the scope below (counted from metadata plus its
      // heap), day 5 is its boundary chunk (counted by scanning), day 20 is outside it.
      for (const day of [3, 5, 20]) {
        await db.sql.query(
          `INSERT INTO m_count (t, device, v, note) SELECT t + interval '1 second', device, v, note FROM m_count WHERE t >= $1 AND t < $2`,
          [iso(D0 + day * DAY), iso(D0 + day * DAY + 3_600_000)],
        );
      }
      const states = await chunkStates(db.sql, 'm_count');
      expect(states.filter((c) => c.partial).length).toBe(3);
      const count = async (where = 'true') =>
        Number(
          (await db.sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM m_count WHERE ${where}`))
            .rows[0]!.n,
        );
      const measured = await adapter.measure(target);
      expect(measured[0]!.rows).toBe(await count());
      expect(measured[0]!.rows).toBe(29 * 144 * 3 + 3 * 18);
      const lo = iso(D0 + 3 * DAY);
      const hi = iso(D0 + 5 * DAY + 12 * 3_600_000);
      const scoped = await adapter.measure(target, { ranges: { t: { kind: 'time', min: lo, max: hi } } });
      expect(scoped[0]!.rows).toBe(await count(`t >= '${lo}' AND t <= '${hi}'`));
      expect(scoped[0]!.rows).toBe(2 * 144 * 3 + 73 * 3 + 2 * 18);
      if (kind === 'real') {
        // The metadata path ran (no fallback to a scan of the whole range): the statements it sent say so.
        const sent: string[] = [];
        const conn = openConnection(config('m_count').target);
        await conn.connect();
        try {
          const recording: PgConnection = Object.assign(Object.create(conn) as PgConnection, {
            query: <R extends object>(sql: string, params?: readonly unknown[], what?: string) => {
              sent.push(sql);
              return conn.query<R>(sql, params, what);
            },
            transaction: <T>(fn: Parameters<PgConnection['transaction']>[0]) =>
              conn.transaction(
                (tx) =>
                  fn({
                    raw: tx.raw,
                    query: <R extends object>(sql: string, params?: readonly unknown[], what?: string) => {
                      sent.push(sql);
                      return tx.query<R>(sql, params, what);
                    },
                    execute: (sql: string, params?: readonly unknown[], what?: string) => {
                      sent.push(sql);
                      return tx.execute(sql, params, what);
                    },
                  }) as Promise<T>,
              ),
          });
          const ht = await introspectHypertable(conn, 'public', 'm_count', 'public.m_count');
          const again = await measureAll(recording, ht);
          expect(again[0]!.rows).toBe(measured[0]!.rows);
          expect(sent.some((q) => q.includes('_ts_meta_count'))).toBe(true);
          expect(
            sent.filter((q) => /^SELECT count\(\*\)::bigint AS n FROM "public"\."m_count"$/.test(q)),
          ).toEqual([]);
        } finally {
          await conn.close();
        }
      }
    });

    it('refuses a missing table and a plain table with a TargetError', async () => {
      await db.sql.query('CREATE TABLE m_plain (t timestamptz NOT NULL, v int)');
      const missing = db.adapter(config('m_nowhere'));
      await expect(missing.describe()).rejects.toMatchObject({
        code: 'TARGET_MISSING',
        message: expect.stringContaining('public.m_nowhere does not exist'),
      });
      const plain = db.adapter(config('m_plain'));
      await expect(plain.describe()).rejects.toMatchObject({
        code: 'TARGET_UNSUPPORTED',
        message: expect.stringContaining('not a hypertable'),
      });
    });

    it('backfills compressed chunks, uncompressed chunks and a gap; decompresses only the chunks it must', async () => {
      const table = 'm_full';
      const before = await createMetrics(table);
      const chunksBefore = await chunks(table);
      const { adapter, cfg, target } = await open(table, { strategy: 'decompress' });
      const run = context(cfg, target, 'run1');
      await adapter.journal.ensure();
      await adapter.createShadows(run);
      await adapter.createShadows(run); // idempotent

      const compressedDays = dayRows([5, 6], 4, (i) => i);
      const gapDays = dayRows([GAP_DAY], 4, (i) => i + 0.5);
      const recentDays = dayRows([27], 4, (i) => -i);
      const olderDays = dayRows([-2, -1], 4, (i) => i * 2);
      // One timestamp with microseconds, to check precision end to end.
      const precise = new PreciseDate(BigInt(D0 + 6 * DAY + 123) * 1_000_000n + 456_789n);
      compressedDays.push({ t: precise, device: 5, v: null, note: 'tab\there "quoted" \\ back\nline' });

      // Batch 0: a first attempt whose verification fails (its rows are discarded with its transaction), then the
      // retry the engine makes.
      const refused = await loadBatch(adapter, run, 0, chunksOf('a.parquet', compressedDays), {
        verify: async () => {
          throw new VerifyError('batch 1 landed too few rows (simulated)');
        },
      }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(VerifyError);
      expect(await adapter.countLandedRows(run, { index: 0, objects: [] })).toBe(0);
      const batch0 = await loadBatch(
        adapter,
        run,
        0,
        concat(chunksOf('a.parquet', compressedDays), chunksOf('b.parquet', gapDays)),
      );
      expect(batch0.result.rowsWritten).toBe(compressedDays.length + gapDays.length);
      expect(batch0.landed).toBe(compressedDays.length + gapDays.length);
      const batch1 = await loadBatch(
        adapter,
        run,
        1,
        concat(chunksOf('c.parquet', recentDays), chunksOf('d.parquet', olderDays)),
      );
      expect(batch1.landed).toBe(recentDays.length + olderDays.length);
      const added = compressedDays.length + gapDays.length + recentDays.length + olderDays.length;
      expect(await count(table)).toBe(before); // nothing live changed yet

      const state = await adapter.beginSwap(run);
      expect(await policyScheduled(table)).toBe(false);
      expect(state).toMatchObject({ strategy: 'decompress', rows: added, slices: 6 });
      const planned = (state['chunks'] as { chunk: string; how: string }[]).map((c) => c.chunk).sort();
      const expectedDecompressed = chunksBefore
        .filter((c) => c.compressed && [5, 6].includes(dayOf(c)))
        .map((c) => c.name);
      expect(planned).toEqual(expectedDecompressed.map((n) => `_timescaledb_internal.${n}`).sort());

      // Autovacuum leaves the staging table alone (append-only, analyzed by the swap itself).
      const options = await db.sql.query<{ relname: string; reloptions: string[] }>(
        `SELECT relname, reloptions FROM pg_class WHERE relname LIKE 'm_full_v2_%' AND relkind = 'r' AND reloptions IS NOT NULL`,
      );
      expect(options.rows).toEqual([
        { relname: expect.stringMatching(/^m_full_v2_/), reloptions: ['autovacuum_enabled=off'] },
      ]);
      // A few rows in a few pages: the BRIN on (batch, time) finds the slices, no b-tree on time is built.
      expect(await stagingIndexes(table)).toEqual([
        expect.stringMatching(/USING brin \(_shadowfill_batch, t\) WITH \(pages_per_range='32'\)$/),
      ]);
      // The columns batches and slices are found by are analyzed from a small sample; no other column's target changes.
      const targets = await db.sql.query<{ attname: string; target: number }>(
        `SELECT a.attname, a.attstattarget::int AS target FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid ` +
          `WHERE c.relname LIKE 'm\\_full\\_v2\\_%' AND c.relname NOT LIKE '%\\_swap' AND c.relname NOT LIKE '%\\_claims' ` +
          `AND c.relkind = 'r' AND a.attnum > 0 AND a.attstattarget >= 0 ORDER BY 1`,
      );
      expect(targets.rows).toEqual([
        { attname: '_shadowfill_batch', target: 10 },
        { attname: 't', target: 10 },
      ]);

      const units = await adapter.listSwapUnits(run);
      expect(units.map((u) => u.id)).toHaveLength(6);
      expect(units[0]!.description).toMatch(
        /^t \[\d{4}-\d\d-\d\d, \d{4}-\d\d-\d\d\) 144 rows → public\.m_full$/,
      );
      for (const unit of units) await adapter.swapUnit(run, unit);
      await adapter.swapUnit(run, units[0]!); // a finished unit again changes nothing
      expect(await adapter.listSwapUnits(run)).toEqual([]);
      await adapter.finishSwap(run, state);
      await adapter.finishSwap(run, state); // idempotent

      expect(await count(table)).toBe(before + added);
      expect(await count(table, 'device IN (4, 5)')).toBe(added);
      const stored = await db.sql.query<{ t: string; note: string; v: number | null }>(
        `SELECT t::text AS t, note, v FROM ${table} WHERE device = 5`,
      );
      expect(stored.rows).toEqual([
        {
          t: `${new Date(D0 + 6 * DAY + 123).toISOString().slice(0, 19).replace('T', ' ')}.123456+00`,
          note: 'tab\there "quoted" \\ back\nline',
          v: null,
        },
      ]);

      const chunksAfter = await chunks(table);
      const byName = new Map(chunksAfter.map((c) => [c.name, c]));
      for (const c of chunksBefore) {
        const after = byName.get(c.name)!;
        if (c.compressed) {
          expect(after.compressed, `${c.name} (day ${dayOf(c)}) compressed after`).toBe(true);
          expect(after.partial).toBe(false);
          // Decompressing and compressing again creates a new compressed chunk: only days 5 and 6 may differ.
          if ([5, 6].includes(dayOf(c))) expect(after.compressedChunkId).not.toBe(c.compressedChunkId);
          else
            expect(after.compressedChunkId, `${c.name} (day ${dayOf(c)}) untouched`).toBe(
              c.compressedChunkId,
            );
        } else {
          expect(after.compressed, `${c.name} (day ${dayOf(c)}) stays uncompressed`).toBe(false);
        }
      }
      const created = chunksAfter.filter((c) => !chunksBefore.some((b) => b.name === c.name));
      expect(created.map(dayOf).sort((a, b) => a - b)).toEqual([-2, -1, GAP_DAY]);
      expect(created.every((c) => c.compressed)).toBe(true); // past compress_after: compressed like the policy would
      expect(await policyScheduled(table)).toBe(true);
      expect(await aggregateDifference(table)).toBe(0);

      await adapter.dropShadows(run);
      await adapter.dropShadows(run);
      const left = await db.sql.query(`SELECT relname FROM pg_class WHERE relname LIKE 'm_full_v2_%'`);
      expect(left.rows).toEqual([]);
    });

    it('strategy direct writes into compressed chunks without decompressing and recompresses them', async () => {
      const table = 'm_direct';
      const before = await createMetrics(table);
      const { adapter, cfg, target } = await open(table, { strategy: 'direct' });
      const run = context(cfg, target, 'run-direct');
      await adapter.createShadows(run);
      const rows = dayRows([3, 20, GAP_DAY], 4, (i) => i);
      await loadBatch(adapter, run, 0, chunksOf('x.parquet', rows));
      const state = await swapAll(adapter, run);
      expect((state['chunks'] as { how: string }[]).every((c) => c.how === 'direct')).toBe(true);
      expect(await count(table)).toBe(before + rows.length);
      const after = await chunks(table);
      expect(after.filter((c) => [3, 20].includes(dayOf(c))).every((c) => c.compressed && !c.partial)).toBe(
        true,
      );
      expect(await policyScheduled(table)).toBe(true);
      expect(await aggregateDifference(table)).toBe(0);
      await adapter.dropShadows(run);
    });

    for (const directCompress of [true, false]) {
      it(`direct_compress_insert ${directCompress}: slices that only create chunks past compress_after are ${directCompress ? 'written compressed' : 'inserted uncompressed'}, then compressed in order; two sessions moving the same slices at once move them once`, async () => {
        const table = `m_created_${directCompress}`;
        const before = await createMetrics(table, { primaryKey: false });
        const chunksBefore = await chunks(table);
        const { adapter, cfg, target } = await open(table, { direct_compress_insert: directCompress });
        // What `plan` says about it.
        expect(target.notes.find((n) => n.startsWith('direct compress inserts'))).toMatch(
          !directCompress
            ? /^direct compress inserts: not used \(direct_compress_insert: false\)$/
            : kind === 'real'
              ? /writes them compressed, its rows in the compression order \("device", "t" DESC NULLS FIRST\)/
              : /^direct compress inserts: not used \(continuous aggregates on TimescaleDB 2\.23/,
        );
        const run = context(cfg, target, `run-created-${directCompress}`);
        await adapter.createShadows(run);
        // Days -3..-1 and the gap: new chunks older than compress_after (7 days); day 32: a new chunk newer than
        // it; day 3: an existing compressed chunk.
        const days = [-3, -2, -1, GAP_DAY, 32, 3];
        const rows = dayRows(days, 4, (i) => i);
        const later = dayRows(days, 5, (i) => -i);
        const second =
          kind === 'real' ? await open(table, { direct_compress_insert: directCompress }) : undefined;
        /**
         * Every slice to move, moved; on the real server by a second session (another process's adapter) too, at
         * the same moment: each slice's record is locked while it moves, so one waits and then finds nothing left.
         */
        const moveAll = async () => {
          const units = await adapter.listSwapUnits(run);
          expect(units).toHaveLength(days.length);
          for (const unit of units)
            await Promise.all([adapter.swapUnit(run, unit), second?.adapter.swapUnit(run, unit)]);
          for (const unit of units) await adapter.swapUnit(run, unit); // again: nothing left to move
        };
        /** Ordered reads through the compressed batches' metadata, per day: a batch out of order shows here. */
        const orderedReads = async (device: number, expected: readonly Row[]) => {
          for (const day of days) {
            const lo = D0 + day * DAY;
            const range = `device = ${device} AND t >= to_timestamp(${lo / 1000}) AND t < to_timestamp(${(lo + DAY) / 1000})`;
            const times = expected
              .map((r) => r.t.getTime())
              .filter((t) => t >= lo && t < lo + DAY)
              .sort((a, b) => a - b);
            for (const direction of ['DESC', 'ASC'] as const) {
              const read = await db.sql.query<{ t: Date }>(
                `SELECT t FROM ${table} WHERE ${range} ORDER BY t ${direction} LIMIT 3`,
              );
              const want = direction === 'DESC' ? times.slice(-3).reverse() : times.slice(0, 3);
              expect(
                read.rows.map((r) => r.t.getTime()),
                `day ${day} ${direction}`,
              ).toEqual(want);
            }
          }
        };
        await loadBatch(adapter, run, 0, chunksOf('n.parquet', rows));
        const state = await adapter.beginSwap(run);
        await moveAll();
        expect(await count(table)).toBe(before + rows.length);
        await orderedReads(4, rows);
        const swapped = await chunks(table);
        const created = swapped.filter((c) => !chunksBefore.some((b) => b.name === c.name));
        expect(created.map(dayOf).sort((a, b) => a - b)).toEqual([-3, -2, -1, GAP_DAY, 32]);
        // The embedded TimescaleDB 2.23 has direct compress inserts but not on a hypertable with continuous
        // aggregates (2.24 added that): there the slices are inserted uncompressed.
        const served = directCompress && kind === 'real';
        for (const c of created) {
          const past = dayOf(c) !== 32;
          expect(c.compressed, `day ${dayOf(c)} compressed right after its slice moved`).toBe(past && served);
          // Sent in the compression order (segmentby device, orderby t DESC): nothing to recompress.
          if (c.compressed) expect(c.unordered, `day ${dayOf(c)} in order`).toBe(false);
        }
        // A batch committed later, into the same slices (historical mode moves a slice again for it).
        await loadBatch(adapter, run, 1, chunksOf('o.parquet', later));
        await moveAll();
        await second?.adapter.close();
        expect(await count(table)).toBe(before + rows.length + later.length);
        await adapter.finishSwap(run, state);
        const after = await chunks(table);
        for (const c of after.filter((c) => !chunksBefore.some((b) => b.name === c.name))) {
          expect(
            { day: dayOf(c), compressed: c.compressed, unordered: c.unordered, partial: c.partial },
            'after the swap: the chunks the policy would compress are compressed in order, the newer one is not',
          ).toEqual({ day: dayOf(c), compressed: dayOf(c) !== 32, unordered: false, partial: false });
        }
        expect(await count(table, 'device = 4')).toBe(rows.length);
        expect(await count(table, 'device = 5')).toBe(later.length);
        await orderedReads(4, rows);
        await orderedReads(5, later);
        expect(await policyScheduled(table)).toBe(true);
        expect(await aggregateDifference(table)).toBe(0);
        await adapter.dropShadows(run);
      });
    }

    it('finds each slice by the BRIN when the staged rows lie in time order, builds a b-tree on time when they do not', async () => {
      // 35 devices × 6 new days every 10 minutes (30,240 rows, about 8 BRIN ranges): device after device, every
      // day's rows lie all over the batch; sorted by time, each day's rows lie together.
      const days = [30, 31, 32, 33, 34, 35];
      const byDevice = Array.from({ length: 35 }, (_, d) => dayRows(days, 10 + d, (i) => i)).flat();
      const byTime = [...byDevice].sort((a, b) => a.t.getTime() - b.t.getTime() || a.device - b.device);
      for (const [table, rows, btree] of [
        ['m_layout_time', byTime, false],
        ['m_layout_device', byDevice, true],
      ] as const) {
        const before = await createMetrics(table);
        const { adapter, cfg, target } = await open(table);
        const run = context(cfg, target, 'run1');
        await adapter.journal.ensure();
        await adapter.createShadows(run);
        const loaded = await loadBatch(adapter, run, 0, chunksOf('a.parquet', rows, 5_000));
        expect(loaded.landed).toBe(rows.length);
        // The first batch gave the staging table statistics: a later batch's rows are found by the BRIN, not by
        // reading every staged row (the plan without statistics is a sequential scan).
        const [staging] = (await stagingTables(table)).filter((t) => !/_(swap|claims)$/.test(t));
        const plan = await db.sql.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT count(*) FROM "${staging}" WHERE _shadowfill_batch = 1`,
        );
        expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('Bitmap Index Scan');
        await swapAll(adapter, run);
        const indexes = await stagingIndexes(table);
        expect(indexes.some((d) => d.includes('USING btree (t)'))).toBe(btree);
        expect(indexes.some((d) => d.includes('USING brin (_shadowfill_batch, t)'))).toBe(true);
        expect(await count(table)).toBe(before + rows.length);
        expect(await count(table, 'device >= 10')).toBe(rows.length);
        await adapter.dropShadows(run);
      }
    });

    it('moves a slice only when its staged rows are exactly what the claims count; else nothing of it moves', async () => {
      const table = 'm_claimed';
      const rows = dayRows([30, 31], 10, (i) => i);
      const before = await createMetrics(table);
      const { adapter, cfg, target } = await open(table);
      const run = context(cfg, target, 'run1');
      await adapter.journal.ensure();
      await adapter.createShadows(run);
      await loadBatch(adapter, run, 0, chunksOf('a.parquet', rows, 5_000));
      // A row of day 31 leaves the staging table behind the claims' back.
      const [staging] = (await stagingTables(table)).filter((t) => !/_(swap|claims)$/.test(t));
      await db.sql.query(
        `DELETE FROM "${staging}" WHERE ctid = (SELECT ctid FROM "${staging}" WHERE t >= $1 LIMIT 1)`,
        [new Date(D0 + 31 * DAY).toISOString()],
      );
      await adapter.beginSwap(run);
      const units = await adapter.listSwapUnits(run);
      expect(units).toHaveLength(2);
      await adapter.swapUnit(run, units[0]!);
      const error = await adapter.swapUnit(run, units[1]!).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(VerifyError);
      expect((error as VerifyError).retryable).toBe(false);
      expect((error as Error).message).toMatch(
        /^moving t \[\d{4}-\d\d-\d\d, \d{4}-\d\d-\d\d\) into public\.m_claimed: \d+ rows of batches 1 are staged in .* but their claims in .* count \d+; the slice was not moved/,
      );
      // Day 30 moved; day 31 did not, not even in part.
      expect(await count(table, 'device >= 10')).toBe(rows.length / 2);
      expect(await count(table)).toBe(before + rows.length / 2);
      await adapter.dropShadows(run);
    });

    describe('on_conflict against the primary key', () => {
      // Device 1 already has a row every 10 minutes: day 2 is compressed, day 25 is not.
      const conflicting = () => dayRows([2, 25], 1, (i) => 1000 + i);
      const fresh = () => dayRows([2, 25], 4, (i) => i);

      async function prepare(table: string, options: Record<string, unknown>) {
        const before = await createMetrics(table);
        const { adapter, cfg, target } = await open(table, options);
        const run = context(cfg, target, `run-${table}`);
        await adapter.createShadows(run);
        await loadBatch(
          adapter,
          run,
          0,
          concat(chunksOf('f.parquet', fresh()), chunksOf('c.parquet', conflicting())),
        );
        return { adapter, run, before };
      }

      const sumDevice1 = async (table: string) =>
        Number(
          (await db.sql.query<{ s: string }>(`SELECT sum(v)::text AS s FROM ${table} WHERE device = 1`))
            .rows[0]!.s,
        );

      it('error: every colliding key is found before the swap; the hypertable, its chunks and the policy stay untouched', async () => {
        const table = 'm_conflict_error';
        const { adapter, run, before } = await prepare(table, {
          on_conflict: 'error',
          strategy: 'decompress',
        });
        const sumBefore = await sumDevice1(table);
        const chunksBefore = await chunks(table);
        const error = await adapter.beginSwap(run).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TargetError);
        expect((error as TargetError).nativeCode).toBe('23505');
        // Device 1 already has a row every 10 minutes on days 2 and 25: 2 × 144 keys collide.
        expect((error as Error).message).toMatch(
          /^on_conflict: error — 288 staged keys of public\.m_conflict_error on unique index m_conflict_error_pkey already exist in the table or twice in the source, e\.g\. \(device, t\) = \(1, \d{4}-.*\); nothing was swapped and public\.m_conflict_error is unchanged: run again with on_conflict: nothing/,
        );
        expect(await count(table)).toBe(before);
        expect(await sumDevice1(table)).toBe(sumBefore);
        expect(await chunks(table)).toEqual(chunksBefore); // nothing decompressed
        expect(await policyScheduled(table)).toBe(true); // never paused
        expect((await adapter.listSwapUnits(run)).length).toBe(2); // everything still staged
        await adapter.dropShadows(run);
      });

      it('error: a key live ingestion writes after the check stops the swap with the swapped part settled and says how to finish', async () => {
        const table = 'm_conflict_race';
        const before = await createMetrics(table);
        const { adapter, cfg, target } = await open(table, { on_conflict: 'error', strategy: 'decompress' });
        const run = context(cfg, target, 'run-race');
        await adapter.createShadows(run);
        const rows = dayRows([2, 10, 25], 4, (i) => i);
        await loadBatch(adapter, run, 0, chunksOf('r.parquet', rows));
        const state = await adapter.beginSwap(run); // no collision yet
        // Live ingestion writes one of the staged keys (device 4, day 10, 00:00) meanwhile.
        await db.sql.query(
          `INSERT INTO ${table} VALUES (to_timestamp(${(D0 + 10 * DAY) / 1000}), 4, -1, 'live')`,
        );
        const units = await adapter.listSwapUnits(run);
        expect(units).toHaveLength(3);
        await adapter.swapUnit(run, units[0]!); // day 2
        const error = await adapter.swapUnit(run, units[1]!).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((error as TargetError).nativeCode).toBe('23505');
        expect((error as Error).message).toMatch(
          /^on_conflict: error — t \[\d{4}-\d\d-\d\d, \d{4}-\d\d-\d\d\) of public\.m_conflict_race collides with a row written after the pre-check \(live ingestion\) \(Key \(device, t\)=\(4, .*\) already exists\); that slice was not changed; 1 slice was moved \(t \[.*\)\), their chunks compressed again and public\.m_conflict_race_hourly refreshed over them; 2 slices stay staged in m_conflict_race_v2_run_race\. To finish: remove the colliding live rows and run the same command again, or run it again with on_conflict: nothing or update/,
        );
        await adapter.recover(run, state); // what the engine does after a failed unit
        expect(await policyScheduled(table)).toBe(true);
        expect(await count(table)).toBe(before + 1 + 144); // the live row and day 2
        const day2 = (await chunks(table)).find((c) => dayOf(c) === 2)!;
        expect(day2).toMatchObject({ compressed: true, partial: false });
        // The aggregate is right for everything before the colliding slice (day 10 holds the live row).
        expect(await aggregateDifference(table, D0 + 10 * DAY)).toBe(0);

        // Finish as the message says: remove the live row, run again (here: the remaining units).
        await db.sql.query(`DELETE FROM ${table} WHERE note = 'live'`);
        for (const unit of await adapter.listSwapUnits(run)) await adapter.swapUnit(run, unit);
        await adapter.finishSwap(run, state);
        expect(await count(table)).toBe(before + rows.length);
        expect(await aggregateDifference(table)).toBe(0);
        expect(await policyScheduled(table)).toBe(true);
        await adapter.dropShadows(run);
      });

      it('nothing: colliding rows are skipped, new rows inserted', async () => {
        const table = 'm_conflict_nothing';
        const { adapter, run, before } = await prepare(table, { on_conflict: 'nothing' });
        const sumBefore = await sumDevice1(table);
        await swapAll(adapter, run);
        expect(await count(table)).toBe(before + fresh().length);
        expect(await sumDevice1(table)).toBe(sumBefore);
        expect(await aggregateDifference(table)).toBe(0);
        expect(await policyScheduled(table)).toBe(true);
        await adapter.dropShadows(run);
      });

      it('update: colliding rows take the staged values (the latest batch wins), new rows inserted', async () => {
        const table = 'm_conflict_update';
        const { adapter, run, before } = await prepare(table, {
          on_conflict: 'update',
          update_columns: ['v'],
        });
        // A second batch stages the same keys again with other values: the later batch must win.
        const again = dayRows([2], 1, (i) => 5000 + i);
        await loadBatch(adapter, run, 1, chunksOf('g.parquet', again));
        await swapAll(adapter, run);
        expect(await count(table)).toBe(before + fresh().length);
        const day25 = dayRows([25], 1, () => 0).length;
        const expected =
          again.reduce((n, r) => n + r.v!, 0) +
          conflicting()
            .slice(-day25)
            .reduce((n, r) => n + r.v!, 0);
        const updated = await db.sql.query<{ s: string; notes: string }>(
          `SELECT sum(v)::text AS s, count(DISTINCT note)::text AS notes FROM ${table} WHERE device = 1 AND (t < to_timestamp(${(D0 + 3 * DAY) / 1000}) AND t >= to_timestamp(${(D0 + 2 * DAY) / 1000}) OR t >= to_timestamp(${(D0 + 25 * DAY) / 1000}) AND t < to_timestamp(${(D0 + 26 * DAY) / 1000}))`,
        );
        expect(Number(updated.rows[0]!.s)).toBe(expected);
        expect(updated.rows[0]!.notes).toBe('1'); // update_columns: only v changed, note kept 'existing'
        expect(await aggregateDifference(table)).toBe(0);
        await adapter.dropShadows(run);
      });
    });

    it('recover() after a killed invocation restores the paused policy; the resumed swap completes', async () => {
      const table = 'm_recover';
      const before = await createMetrics(table);
      const first = await open(table);
      const run = context(first.cfg, first.target, 'run-crash');
      await first.adapter.createShadows(run);
      const rows = dayRows([4, 12], 4, (i) => i);
      await loadBatch(first.adapter, run, 0, chunksOf('k.parquet', rows));
      await first.adapter.beginSwap(run);
      expect(await policyScheduled(table)).toBe(false);
      // The process "dies" before the engine could journal the swap state: the next one has none to hand back.
      await first.adapter.close();

      const second = await open(table);
      await second.adapter.recover(run, undefined);
      expect(await policyScheduled(table)).toBe(true);
      const units = await second.adapter.listSwapUnits(run);
      expect(units).toHaveLength(2);
      if (kind === 'real') {
        // Two finisher lanes resuming at once both pause the policy again: the second must not record the job as
        // the first left it (unscheduled) as its prior state, or the run would end with the policy off.
        const third = await open(table);
        await Promise.all([second.adapter.swapUnit(run, units[0]!), third.adapter.swapUnit(run, units[1]!)]);
        await third.adapter.close();
        expect(await policyScheduled(table)).toBe(false); // paused again while the swap goes on
      } else {
        await second.adapter.swapUnit(run, units[0]!);
        expect(await policyScheduled(table)).toBe(false); // paused again while the swap goes on
        await second.adapter.swapUnit(run, units[1]!);
      }
      await second.adapter.finishSwap(run, {});
      expect(await policyScheduled(table)).toBe(true);
      expect(await count(table)).toBe(before + rows.length);
      expect(
        (await chunks(table)).filter((c) => dayOf(c) < 23).every((c) => c.compressed && !c.partial),
      ).toBe(true);
      await second.adapter.dropShadows(run);
    });

    it('refuses to decompress beyond max_decompressed_bytes before touching the policy', async () => {
      const table = 'm_headroom';
      await createMetrics(table);
      const { adapter, cfg, target } = await open(table, {
        max_decompressed_bytes: '1KiB',
        strategy: 'decompress',
      });
      const run = context(cfg, target, 'run-headroom');
      await adapter.createShadows(run);
      await loadBatch(
        adapter,
        run,
        0,
        chunksOf(
          'h.parquet',
          dayRows([3], 4, (i) => i),
        ),
      );
      await expect(adapter.beginSwap(run)).rejects.toThrow(
        /would decompress 1 chunk\(s\) needing .* above max_decompressed_bytes 1\.0 KiB/,
      );
      expect(await policyScheduled(table)).toBe(true);
      await adapter.dropShadows(run);
    });

    it('a source failure mid-load rolls the batch back and reports the source error', async () => {
      const table = 'm_source_error';
      await createMetrics(table);
      const { adapter, cfg, target } = await open(table);
      const run = context(cfg, target, 'run-src');
      await adapter.createShadows(run);
      async function* broken(): AsyncIterable<RowChunk> {
        yield* chunksOf(
          'ok.parquet',
          dayRows([3], 4, (i) => i),
        );
        throw new SourceError(
          'SOURCE_CORRUPT',
          's3://bucket/bad.parquet is not a readable Parquet file: page checksum mismatch',
        );
      }
      const batch = { index: 0, objects: [] };
      await adapter.prepareBatch(run, batch);
      await expect(
        adapter.loadBatchFromStream(run, batch, { kind: 'rows', chunks: broken() }),
      ).rejects.toBeInstanceOf(SourceError);
      expect(await adapter.countLandedRows(run, batch)).toBe(0);
      // A value that does not fit names object, column and row group.
      async function* tooBig(): AsyncIterable<RowChunk> {
        yield {
          object: object('big.parquet'),
          rowGroup: 7,
          numRows: 1,
          columns: new Map<string, ArrayLike<unknown>>([
            ['t', [new Date(D0)]],
            ['device', [2n ** 40n]],
            ['v', [1]],
            ['note', ['x']],
          ]),
        };
      }
      const error = await adapter
        .loadBatchFromStream(run, batch, { kind: 'rows', chunks: tooBig() })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaMismatchError);
      expect((error as Error).message).toBe(
        's3://bucket/big.parquet column "device" row group 7: value 1099511627776 is out of range for integer (column "device" of public.m_source_error) — change the column type or fix those rows in the source',
      );
      // On the INSERT path the server does not say which column refused a value: the adapter finds out.
      async function* notANumber(): AsyncIterable<RowChunk> {
        yield {
          object: object('nan.parquet'),
          rowGroup: 2,
          numRows: 2,
          columns: new Map<string, ArrayLike<unknown>>([
            ['t', [new Date(D0), new Date(D0 + 1000)]],
            ['device', [1, 2]],
            ['v', [1, 'twelve']],
            ['note', ['x', 'y']],
          ]),
        };
      }
      const refused = await adapter
        .loadBatchFromStream(run, batch, { kind: 'rows', chunks: notANumber() })
        .catch((e: unknown) => e);
      expect((refused as Error).message).toBe(
        's3://bucket/nan.parquet column "v" row group 2: public.m_source_error refused a value: invalid input syntax for type double precision: "twelve" — change the column type or fix those rows in the source',
      );
      expect(await adapter.countLandedRows(run, batch)).toBe(0);
      await adapter.dropShadows(run);
    });

    it('checkSchema names impossible, extra and missing columns; on_conflict update needs a unique index', async () => {
      const { adapter, target } = await open('m_describe', {
        on_conflict: 'update',
        conflict_columns: ['t'],
      });
      const problems = adapter.checkSchema(target, [
        { name: 't', type: { kind: 'int', bits: 64, signed: true }, nullable: false, parquetType: 'INT64' },
        {
          name: 'v',
          type: { kind: 'list', element: { kind: 'float', bits: 64 } },
          nullable: true,
          parquetType: 'LIST<DOUBLE>',
        },
        { name: 'extra', type: { kind: 'string' }, nullable: true, parquetType: 'BYTE_ARRAY STRING' },
      ]);
      expect(problems).toEqual([
        'column "t" of the source is INT64 but public.m_describe."t" is timestamp with time zone: an integer without a TIMESTAMP annotation has no unit (seconds? milliseconds?) — change the column type or convert the source',
        'column "v" of the source is LIST<DOUBLE> but public.m_describe."v" is double precision: no conversion exists — change the column type or convert the source',
        'column "extra" of the source has no column in public.m_describe: add it (ALTER TABLE public.m_describe ADD COLUMN …) or remove it from the source objects',
        'column "device" of public.m_describe is NOT NULL without a default and the source has no such column: add it to the source objects or give the column a default',
        'on_conflict: update matches no unique index of public.m_describe on (t) — unique indexes: m_describe_pkey (device, t); fix conflict_columns',
      ]);
      const fine = await open('m_describe');
      expect(fine.adapter.checkSchema(fine.target, SOURCE_COLUMNS)).toEqual([]);
    });

    it('plans every statement, naming the compressed chunks in the filter range that may be decompressed', async () => {
      const { adapter, cfg, target } = await open('m_describe');
      const iso = (day: number) =>
        new Date(D0 + day * DAY).toISOString().replace('T', ' ').replace('.000Z', '+00');
      const run = {
        ...context(cfg, target, 'run-plan'),
        filter: { column: 't', after: iso(4), before: iso(7) },
      };
      const plan = await adapter.planStatements(run, [{ index: 0, objects: [object('a.parquet')] }]);
      const phases = [...new Set(plan.map((s) => s.phase))];
      expect(phases).toEqual(['validate', 'prepare', 'load', 'verify', 'commit', 'swap', 'cleanup']);
      const decompress = plan.filter((s) => s.sql.includes('decompress_chunk'));
      expect(decompress).toHaveLength(3);
      expect(decompress.map((s) => s.title.split(' ')[2])).toEqual(
        (await chunks('m_describe'))
          .filter((c) => [4, 5, 6].includes(dayOf(c)))
          .map((c) => `_timescaledb_internal.${c.name}`),
      );
      const all = plan.map((s) => s.sql).join('\n');
      expect(all).toContain('CREATE UNLOGGED TABLE IF NOT EXISTS "public"."m_describe_v2_run_plan"');
      expect(all).toContain(
        db.kind === 'embedded'
          ? 'INSERT INTO "public"."m_describe_v2_run_plan"' // no COPY on the embedded server: the unnest path
          : 'COPY "public"."m_describe_v2_run_plan"',
      );
      // Bound values are in params, as the run binds them; the text is the one the run sends.
      const pause = plan.find((s) => s.sql === 'SELECT alter_job($1, scheduled => false)');
      expect(pause?.params?.$1).toMatch(/^\d+$/);
      expect(decompress.map((s) => s.params?.$1)).toEqual(
        decompress.map((s) => `'"_timescaledb_internal"."${s.title.split(' ')[2]!.split('.')[1]}"'`),
      );
      expect(all).not.toMatch(/…|<[a-z_]+>/);
      expect(all).toContain(
        'FROM "public"."m_describe_v2_run_plan" WHERE "t" >= :slice_start AND "t" < :slice_end',
      );
      expect(all).toContain(`CALL refresh_continuous_aggregate('"public"."m_describe_hourly"'`);
    });

    it('keeps the journal in <schema>.shadowfill_journal', async () => {
      const { adapter } = await open('m_describe');
      await adapter.journal.ensure();
      await adapter.journal.ensure();
      const event = {
        runId: 'r1',
        fingerprint: 'fp',
        seq: 1,
        at: '2024-01-01T00:00:00.000Z',
        kind: 'run-started' as const,
        batch: -1,
        unit: '',
        data: '{"a":1}',
      };
      await adapter.journal.append(event);
      await adapter.journal.append({ ...event, seq: 2, kind: 'batch-loaded', batch: 0, data: '' });
      await adapter.journal.append({ ...event, runId: 'r0', at: '2023-12-31T00:00:00.000Z' });
      await expect(adapter.journal.append(event)).rejects.toBeInstanceOf(JournalError);
      expect((await adapter.journal.readRun('r1')).map((e) => [e.seq, e.kind, e.batch, e.data])).toEqual([
        [1, 'run-started', -1, '{"a":1}'],
        [2, 'batch-loaded', 0, ''],
      ]);
      expect((await adapter.journal.readByFingerprint('fp')).map((e) => `${e.runId}/${e.seq}`)).toEqual([
        'r0/1',
        'r1/1',
        'r1/2',
      ]);
    });
  });
}

for (const kind of TIMESCALE_TARGETS) adapterTests(kind);
