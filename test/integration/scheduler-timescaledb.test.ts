/**
 * The scheduler on TimescaleDB (real engines; the real TimescaleDB 2.28 server, and the embedded 2.23 where one
 * connection does): 8 days of PyPI-shaped Parquet, 2 files a day — the second file of each day is live (its chunk
 * compressed, as the policy would), the first is backfilled, one day per batch, so every batch reaches a
 * compressed chunk.
 * - workers 1, 2 and 4 leave the hypertable row-for-row identical (an md5 over every row), with 2 and 4 running
 *   swap-side steps on their finisher lanes, at most one per lane (one at a time with 1), on the embedded server
 *   too (its `auto` is 1: one connection);
 * - mode historical: chunks behind the watermark are compressed again while the last batch has not finished (the
 *   last batch's load waits until `timescaledb_information.chunks` shows it);
 * - mode catchup: a reader polling count(*) during the run sees only the value before and the value after;
 * - kill -9 with 4 workers (mid-batch, then at random events, in child processes): the next run ends exact, no
 *   duplicates, the policy restored, nothing of the run left;
 * - an object whose footer statistics lie (they say day 3, its rows are day 0): a warning names it, day 0's slice
 *   is swapped again once it commits, and the rows are exact;
 * - two processes of one configuration join one run; the one performing it is SIGKILLed mid-batch, the other takes
 *   it over and finishes it exactly, every batch loaded once.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import type { BatchSpec, RunContext, TargetAdapter } from '../../src/adapter/contract.ts';
import { defineConfig } from '../../src/config/define.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import { runBackfill, type RunReport } from '../../src/runner/run.ts';
import { generatePypiParquet, type GeneratedFile } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { shiftTimeStatistics } from '../support/lying-statistics.ts';
import { startTimescale, type TimescaleServer } from '../support/timescale-targets.ts';

const require = createRequire(import.meta.url);
const CHILD = fileURLToPath(new URL('../support/timescale-child.ts', import.meta.url));
const DAYS = 8;
const COLUMNS = ['country_code', 'project', 'type', 'installer', 'python_minor', 'system', 'version'];

let root: string;
let s3: LocalS3Server;
let live: GeneratedFile[];
let back: GeneratedFile[];
let real: TimescaleServer;
let sql: pg.Client;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'shadowfill-sched-tsdb-'));
  const common = { rowsPerFile: 1200, days: DAYS, filesPerDay: 2, rowGroupRows: 400 };
  const numbers = Array.from({ length: DAYS * 2 }, (_, i) => i);
  back = (
    await generatePypiParquet({
      dir: join(root, 'back'),
      files: numbers.filter((n) => n % 2 === 0),
      ...common,
    })
  ).files;
  live = (
    await generatePypiParquet({
      dir: join(root, 'live'),
      files: numbers.filter((n) => n % 2 === 1),
      ...common,
    })
  ).files;
  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['back', 'lie'] });
  await uploadDirectory(s3.endpoint, 'back', join(root, 'back'), {
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  real = await startTimescale('real', 'shadowfill-sched-');
  sql = new pg.Client(real.client);
  await sql.connect();
  await sql.query("SET TimeZone = 'UTC'");
}, 300_000);

afterAll(async () => {
  await sql?.end().catch(() => undefined);
  await real?.stop();
  await s3?.stop();
  if (root) rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

const rows = (files: readonly GeneratedFile[]) => files.reduce((n, f) => n + f.rows, 0);

/** A compressed hypertable `name` holding the live files, with a 7-day policy whose first run is a day away. */
async function createLive(client: pg.Client, name: string): Promise<void> {
  const t = `"${name}"`;
  await client.query(
    `CREATE TABLE ${t} ("timestamp" timestamptz NOT NULL, ${COLUMNS.map((c) => `${c} text`).join(', ')})`,
  );
  await client.query(`SELECT create_hypertable('${name}', by_range('timestamp', INTERVAL '1 day'))`);
  await client.query(
    `ALTER TABLE ${t} SET (timescaledb.compress, timescaledb.compress_segmentby = 'project', timescaledb.compress_orderby = '"timestamp"')`,
  );
  await client.query(
    `SELECT add_compression_policy('${name}', INTERVAL '7 days', initial_start => now() + INTERVAL '1 day')`,
  );
  const chdb = await import('chdb');
  for (const f of live) {
    const text = (
      await chdb.queryAsync(
        `SELECT toUnixTimestamp64Micro(timestamp) AS us, ${COLUMNS.join(', ')} FROM file('${f.path}', 'Parquet')`,
        { format: 'JSONEachRow' },
      )
    ).text();
    const list = text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as unknown);
    await client.query(
      `INSERT INTO ${t} SELECT to_timestamp(r.us::double precision / 1e6), ${COLUMNS.map((c) => `r.${c}`).join(', ')}
         FROM json_to_recordset($1::json) AS r(us bigint, ${COLUMNS.map((c) => `${c} text`).join(', ')})`,
      [JSON.stringify(list)],
    );
  }
  await client.query(`SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks('${name}') c`);
}

/** The checksum of the hypertable after a run with one worker (table w1, made by the first test or here). */
async function reference(): Promise<string> {
  const exists = await sql.query<{ t: string | null }>(`SELECT to_regclass('w1')::text AS t`);
  if (exists.rows[0]!.t === null) {
    await createLive(sql, 'w1');
    await run(config(real.url, 'w1', { workers: 1 }));
  }
  return checksum(sql, 'w1');
}

/** Every row of the table, hashed in one order, and the count. */
async function checksum(client: pg.Client, name: string): Promise<string> {
  const r = await client.query<{ v: string }>(
    `SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) || ':' || count(*) AS v FROM "${name}" t`,
  );
  return r.rows[0]!.v;
}

function config(url: string, table: string, extra: Partial<BackfillConfig> = {}): BackfillConfig {
  return defineConfig({
    target: { kind: 'timescaledb', url, table },
    source: {
      url: 's3://back/pypi/*/*.parquet',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    },
    batch: { files: 1, bytes: 1e12 },
    attempts: 1,
    ...extra,
  });
}

async function run(
  c: BackfillConfig,
  events: RunEvent[] = [],
  wrap: (adapter: TargetAdapter) => TargetAdapter = (a) => a,
): Promise<RunReport> {
  const adapter = createTimescaleAdapter(c);
  await adapter.connect();
  try {
    return await runBackfill(c, wrap(adapter), { onEvent: (e) => events.push(e) });
  } finally {
    await adapter.close();
  }
}

/** `adapter` counting its swap units and chunk compressions in flight (the most at once, and their lanes). */
function countSwapSide(
  adapter: TargetAdapter,
  counter: { now: number; max: number; lanes: Set<string> },
): TargetAdapter {
  const counted =
    <A extends unknown[]>(call: (run: RunContext, ...rest: A) => Promise<void>) =>
    async (run: RunContext, ...rest: A): Promise<void> => {
      counter.now += 1;
      counter.max = Math.max(counter.max, counter.now);
      counter.lanes.add(run.lane?.id ?? '');
      try {
        await call(run, ...rest);
      } finally {
        counter.now -= 1;
      }
    };
  return new Proxy(adapter, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      const bound = (value as (...a: unknown[]) => unknown).bind(target);
      if (property === 'swapUnit' || property === 'compressChunk')
        return counted(bound as (run: RunContext, ...rest: unknown[]) => Promise<void>);
      return bound;
    },
  });
}

/** `adapter` with `loadBatchFromStream` of batch `index` made to wait for `gate` first. */
function gateLoad(adapter: TargetAdapter, index: number, gate: () => Promise<void>): TargetAdapter {
  return gateLoadOf(adapter, (batch) => batch.index === index, gate);
}

/** `adapter` with `loadBatchFromStream` of the batches `which` picks made to wait for `gate` first. */
function gateLoadOf(
  adapter: TargetAdapter,
  which: (batch: BatchSpec) => boolean,
  gate: () => Promise<void>,
): TargetAdapter {
  return new Proxy(adapter, {
    get(target, property) {
      if (property === 'loadBatchFromStream') {
        return async (runContext: RunContext, batch: BatchSpec, ...rest: unknown[]) => {
          if (which(batch)) await gate();
          return (target.loadBatchFromStream as (...a: unknown[]) => unknown).call(
            target,
            runContext,
            batch,
            ...rest,
          );
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('the scheduler on TimescaleDB', () => {
  it('workers 1, 2 and 4 leave the same rows, on the real server and the embedded one', async () => {
    const sums = new Map<string, string>();
    for (const workers of [1, 2, 4]) {
      const table = `w${workers}`;
      await createLive(sql, table);
      const events: RunEvent[] = [];
      // Swap-side steps in flight at once (finisher lanes: as many as the workers on a real server).
      const swapSide = { now: 0, max: 0, lanes: new Set<string>() };
      const report = await run(config(real.url, table, { workers }), events, (adapter) =>
        countSwapSide(adapter, swapSide),
      );
      expect(report.rowsLoaded).toBe(rows(back));
      expect(report.workers).toBe(workers);
      if (workers === 1) {
        expect(swapSide.max, 'one swap-side step at a time, on the run’s own connection').toBe(1);
        expect([...swapSide.lanes]).toEqual(['']);
      } else {
        // Swap-side steps run on the finisher lanes (how many overlap depends on when slices become final; a step
        // started while every lane is taken runs on the run's own connection).
        expect([...swapSide.lanes].some((lane) => /^f\d$/.test(lane))).toBe(true);
        for (const lane of swapSide.lanes) expect(lane).toMatch(new RegExp(`^(f[1-${workers}])?$`));
      }
      const started = new Set(
        events.filter((e) => e.type === 'worker-started').map((e) => (e as { worker: number }).worker),
      );
      expect(started.size).toBe(workers);
      sums.set(`real ${workers}`, await checksum(sql, table));
    }
    // The embedded server: `auto` is one worker (one connection), and the rows are the same.
    const embedded = await startTimescale('embedded', 'shadowfill-sched-emb-');
    try {
      const client = new pg.Client(embedded.client);
      await client.connect();
      await client.query("SET TimeZone = 'UTC'");
      await createLive(client, 'auto');
      await client.end();
      const events: RunEvent[] = [];
      const report = await run(config(embedded.url, 'auto'), events);
      expect(report.workers).toBe(1);
      expect(events.find((e) => e.type === 'schedule')).toMatchObject({
        workers: 1,
        reason: 'auto: the embedded TimescaleDB serves one connection',
        policy: 'progressive',
        order: 'time',
      });
      const check = new pg.Client(embedded.client);
      await check.connect();
      await check.query("SET TimeZone = 'UTC'");
      sums.set('embedded auto', await checksum(check, 'auto'));
      await check.end();
    } finally {
      await embedded.stop();
    }
    const values = [...sums.values()];
    expect(new Set(values).size, JSON.stringify(Object.fromEntries(sums))).toBe(1);
    expect(values[0]!.endsWith(`:${rows(live) + rows(back)}`)).toBe(true);
    // Every chunk compressed again, the policy resumed, nothing of the runs left.
    const open = await sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM timescaledb_information.chunks WHERE hypertable_name IN ('w1', 'w2', 'w4') AND NOT is_compressed`,
    );
    expect(open.rows[0]!.n).toBe('0');
    const paused = await sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM timescaledb_information.jobs WHERE hypertable_name IN ('w1', 'w2', 'w4') AND NOT scheduled`,
    );
    expect(paused.rows[0]!.n).toBe('0');
    const left = await sql.query(`SELECT relname FROM pg_class WHERE relname ~ '^w[124]_v2_'`);
    expect(left.rows).toEqual([]);
  });

  it('mode historical compresses chunks behind the watermark before the last batch finishes', async () => {
    await createLive(sql, 'hist');
    // A day's chunk holding more rows than its live file (backfilled rows arrived) and compressed again.
    const recompressed = async () =>
      (
        await sql.query<{ chunk: string }>(
          `SELECT c.chunk_name AS chunk FROM timescaledb_information.chunks c
            WHERE c.hypertable_name = 'hist' AND c.is_compressed
              AND (SELECT count(*) FROM "hist" h WHERE h."timestamp" >= c.range_start AND h."timestamp" < c.range_end) > ${live[0]!.rows}`,
        )
      ).rows.map((r) => r.chunk);
    let seen: string[] = [];
    let during = false;
    const events: RunEvent[] = [];
    const last = back.length - 1;
    const c = config(real.url, 'hist', { workers: 2, targetOptions: { strategy: 'decompress' } });
    const report = await run(c, events, (adapter) =>
      gateLoad(adapter, last, async () => {
        // The last batch may not load before a backfilled day's chunk was compressed again.
        for (let i = 0; i < 600 && seen.length === 0; i += 1) {
          seen = await recompressed();
          if (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        during = events.every((e) => !(e.type === 'worker-finished' && e.batch === last));
      }),
    );
    expect(report.rowsLoaded).toBe(rows(back));
    expect(
      seen.length,
      'a chunk holding backfilled rows was compressed again before the last batch loaded',
    ).toBeGreaterThan(0);
    expect(during).toBe(true);
    const watermarks = events.filter((e) => e.type === 'watermark-advanced');
    expect(watermarks.length).toBeGreaterThan(2);
    expect(watermarks.at(-1)).toMatchObject({ watermark: 'all', text: 'all', prefix: back.length });
    // Slices were swapped while batches were still loading: a swap unit finished before the last batch loaded.
    const firstUnit = events.findIndex((e) => e.type === 'swap-unit-done');
    const lastLoaded = events.findIndex((e) => e.type === 'batch-loaded' && e.batch === last);
    expect(firstUnit).toBeGreaterThan(-1);
    expect(firstUnit).toBeLessThan(lastLoaded);
    expect(await checksum(sql, 'hist')).toBe(await reference());
  });

  it('an object whose footer statistics lie about its time range: warned, its slice swapped again, rows exact', async () => {
    // A second copy of day 0's object whose statistics say it holds day 3: planned with day 3, it loads after day
    // 0's slice was swapped (and compressed) — its load waits until then.
    cpSync(join(root, 'back'), join(root, 'lie'), { recursive: true });
    const copy = back[0]!.key.replace(/\.parquet$/, '-again.parquet');
    cpSync(join(root, 'lie', back[0]!.key), join(root, 'lie', copy));
    shiftTimeStatistics(join(root, 'lie', copy), 'timestamp', 3 * 86_400_000);
    await uploadDirectory(s3.endpoint, 'lie', join(root, 'lie'), {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    await createLive(sql, 'lie');
    const events: RunEvent[] = [];
    const base = config(real.url, 'lie', { workers: 2, targetOptions: { strategy: 'decompress' } });
    const c = defineConfig({ ...base, source: { ...base.source, url: 's3://lie/pypi/*/*.parquet' } });
    const day0 = 'slice:20074'; // 2024-12-17 in days since the epoch: the first day of the fixture
    const swaps = () => events.filter((e) => e.type === 'swap-unit-done' && e.unit === day0).length;
    const report = await run(c, events, (adapter) =>
      gateLoadOf(
        adapter,
        (batch) => batch.objects.some((o) => o.key === copy),
        async () => {
          for (let i = 0; i < 600 && swaps() === 0; i += 1) await new Promise((r) => setTimeout(r, 100));
        },
      ),
    );
    expect(report.rowsLoaded).toBe(rows(back) + back[0]!.rows);
    const warned = events.filter((e) => e.type === 'batch-outside-range');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({
      declaredStart: '2024-12-20 00:00:00',
      rowsFrom: '2024-12-17 00:00:00',
      slices: 1,
    });
    expect(swaps(), 'day 0 was swapped before the lying batch loaded, and again after it committed').toBe(2);
    const perDay = await sql.query<{ d: string; n: string }>(
      `SELECT to_char("timestamp", 'YYYY-MM-DD') AS d, count(*)::text AS n FROM lie GROUP BY 1 ORDER BY 1`,
    );
    const days = Object.fromEntries(perDay.rows.map((r) => [r.d, Number(r.n)]));
    expect(days['2024-12-17']).toBe(live[0]!.rows + 2 * back[0]!.rows);
    expect(Object.values(days).reduce((a, b) => a + b, 0)).toBe(rows(live) + rows(back) + back[0]!.rows);
    const chunks = await sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM timescaledb_information.chunks WHERE hypertable_name = 'lie' AND NOT is_compressed`,
    );
    expect(chunks.rows[0]!.n).toBe('0');
  });

  it('mode catchup: a reader polling count(*) sees only the count before and the count after', async () => {
    await createLive(sql, 'catchup');
    const reader = new pg.Client(real.client);
    await reader.connect();
    const counts = new Set<number>();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const r = await reader.query<{ n: string }>(`SELECT count(*)::text AS n FROM "catchup"`);
        counts.add(Number(r.rows[0]!.n));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const events: RunEvent[] = [];
    try {
      const report = await run(config(real.url, 'catchup', { workers: 2, mode: 'catchup' }), events);
      expect(report.rowsLoaded).toBe(rows(back));
    } finally {
      polling = false;
      await poll;
      await reader.end();
    }
    expect([...counts].sort((a, b) => a - b)).toEqual([rows(live), rows(live) + rows(back)]);
    expect(events.find((e) => e.type === 'schedule')).toMatchObject({
      mode: 'catchup',
      policy: 'one-transaction',
    });
    // Every slice in one transaction: the units were reported after every batch was committed.
    const lastCommit = events.map((e) => e.type).lastIndexOf('batch-committed');
    expect(events.findIndex((e) => e.type === 'swap-unit-done')).toBeGreaterThan(lastCommit);
    expect(await checksum(sql, 'catchup')).toBe(await reference());
  });

  it('kill -9 with 4 workers, mid-batch and at random events: the next run ends exact, policy restored, nothing left', async () => {
    await createLive(sql, 'killed');
    const c = config(real.url, 'killed', { workers: 4, targetOptions: { strategy: 'decompress' } });
    const seed = Date.now();
    let random = seed;
    const next = (n: number) => {
      random = (random * 1103515245 + 12345) % 2 ** 31;
      return random % n;
    };
    const why = `seed ${seed}`;
    // 1. Killed in the middle of its first batch: four load transactions open, none committed.
    const first = startChild({ config: c, killMidBatch: true });
    first.arm();
    expect((await first.exit).signal, why).toBe('SIGKILL');
    expect(first.events.some((e) => e.type === 'killed-mid-batch')).toBe(true);
    await settle();
    const staged = await sql.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM pg_class WHERE relname ~ '^killed_v2_')::text AS n`,
    );
    expect(Number(staged.rows[0]!.n)).toBeGreaterThan(0); // the run's tables exist: it is resumed below
    const kills: number[] = [];
    // 2. Killed at random events, twice (loads, commits, the swap and the compression all emit events).
    for (let round = 0; round < 2; round += 1) {
      const at = 3 + next(40);
      kills.push(at);
      const child = startChild({ config: c, killAtEvent: at });
      const exit = await child.exit;
      const result = child.events.find((e) => e.type === 'result');
      // A run may end before the event it was to die at: then it is done, and so is the test's chain.
      if (exit.signal !== 'SIGKILL') {
        expect(
          result,
          `${why}, kills ${kills.join(', ')}: ${JSON.stringify(child.events.at(-1))}`,
        ).toMatchObject({
          ok: true,
        });
        break;
      }
      await settle();
    }
    // 3. The next run ends the run (or finds it finished).
    const last = startChild({ config: c });
    await last.exit;
    const result = last.events.find((e) => e.type === 'result');
    const context = `${why}, kills ${kills.join(', ')}: ${JSON.stringify(result)}`;
    expect(result?.ok === true || result?.code === 'NOTHING_TO_DO', context).toBe(true);
    expect(await checksum(sql, 'killed'), context).toBe(await reference());
    await expectClean('killed', context);
  });

  it('two processes join one run: the one performing it is SIGKILLed mid-batch, the other finishes it exactly', async () => {
    await createLive(sql, 'joint');
    const c = config(real.url, 'joint', { workers: 2, targetOptions: { strategy: 'decompress' } });
    // A loads two batches, then its next loads wait in the middle of their batch (claims held) until it is killed.
    const a = startChild({ config: c, killMidBatch: true, holdAfter: 2 });
    await a.until((e) => e.type === 'batch-verified');
    const b = startChild({ config: c, slowMs: 300 });
    const joined = await b.until((e) => e.type === 'run-joined');
    expect(joined.holder).toMatch(/^pid \d+ on /);
    // B loads batches beside A (A holds the claims of the two it is loading). B's loads may wait for A's swap to
    // index the staging table, which waits for A's held loads: B need only have started one.
    await b.until((e) => e.type === 'worker-started');
    // A dies in the middle of the batches it loads: their load transactions (and claims) are rolled back.
    a.arm();
    expect((await a.exit).signal, JSON.stringify(a.events.slice(-8))).toBe('SIGKILL');
    expect(a.events.some((e) => e.type === 'killed-mid-batch')).toBe(true);
    await b.exit;
    if (process.env.SHADOWFILL_DEBUG_EVENTS) {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(
        process.env.SHADOWFILL_DEBUG_EVENTS,
        JSON.stringify({ a: a.events, b: b.events }, null, 1),
      );
    }
    const result = b.events.find((e) => e.type === 'result');
    expect(result, JSON.stringify(b.events.slice(-5))).toMatchObject({ ok: true, rowsLoaded: rows(back) });
    expect(result?.joined).toMatchObject({ performedBy: false });
    expect(b.events.some((e) => e.type === 'lease-taken-over')).toBe(true);
    // Every batch loaded (written and verified) exactly once, by one process or the other: the checksum below says
    // so for the rows. (A worker that finds a batch's claim loaded by the other process finishes it without
    // writing: worker-finished, no batch-verified.)
    const loaded = [...a.events, ...b.events]
      .filter((e) => e.type === 'batch-verified')
      .map((e) => Number(e.batch))
      .sort((x, y) => x - y);
    // No batch verified twice. A batch whose load A committed just before its SIGKILL has no batch-verified event
    // (A died before printing it; B finds its claim loaded and writes nothing): at most A's two lanes' batches.
    expect(new Set(loaded).size).toBe(loaded.length);
    expect(loaded.length).toBeGreaterThanOrEqual(back.length - 2);
    const byA = a.events.filter((e) => e.type === 'batch-verified').length;
    expect(byA).toBeGreaterThan(0);
    expect(byA).toBeLessThan(back.length);
    expect(await checksum(sql, 'joint')).toBe(await reference());
    await expectClean('joint', 'after the run B finished');
  });
});

interface ChildEvent {
  readonly type: string;
  readonly [key: string]: unknown;
}

interface Child {
  readonly events: ChildEvent[];
  /** The first event (so far or to come) matching `test`. */
  until(test: (e: ChildEvent) => boolean): Promise<ChildEvent>;
  /** Arms `killMidBatch`. */
  arm(): void;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The engine in a child process (test/support/timescale-child.ts), its events read as they come. */
function startChild(job: {
  config: BackfillConfig;
  killAtEvent?: number;
  killMidBatch?: boolean;
  holdAfter?: number;
  slowMs?: number;
}): Child {
  const child = spawn(
    process.execPath,
    ['--import', pathToFileURL(require.resolve('tsx')).href, CHILD, JSON.stringify(job)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const events: ChildEvent[] = [];
  const waiting: { test: (e: ChildEvent) => boolean; resolve: (e: ChildEvent) => void }[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as ChildEvent;
    events.push(event);
    for (const w of [...waiting]) {
      if (w.test(event)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    events,
    until: (test) => {
      const seen = events.find(test);
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<ChildEvent>((resolve) => waiting.push({ test, resolve })),
        exit.then((e) => {
          throw new Error(`the engine child exited (${JSON.stringify(e)}) first: ${stderr.slice(-2000)}`);
        }),
      ]);
    },
    arm: () => child.stdin.write('arm\n'),
    exit: exit.then((e) => {
      child.stdin.destroy();
      return e;
    }),
  };
}

/** After a killed engine process: its sessions end (rolling back their transactions) once the server notices. */
async function settle(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const r = await sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    if (r.rows[0]!.n === '0') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the killed engine process left sessions open for 30 s');
}

/** The hypertable after a finished run: every chunk compressed, the policy scheduled, nothing of the run left. */
async function expectClean(table: string, context: string): Promise<void> {
  const open = await sql.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM timescaledb_information.chunks WHERE hypertable_name = $1 AND NOT is_compressed`,
    [table],
  );
  expect(open.rows[0]!.n, context).toBe('0');
  const jobs = await sql.query<{ scheduled: boolean }>(
    `SELECT scheduled FROM timescaledb_information.jobs WHERE hypertable_name = $1`,
    [table],
  );
  expect(jobs.rows, context).toEqual([{ scheduled: true }]);
  const left = await sql.query(`SELECT relname FROM pg_class WHERE relname LIKE $1`, [`${table}\\_v2\\_%`]);
  expect(left.rows, context).toEqual([]);
}
