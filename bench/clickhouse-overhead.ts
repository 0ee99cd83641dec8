/**
 * `clickhouse-overhead`: the engine's run (`runBackfill` with the ClickHouse adapter, server-side load) vs the
 * hand-written procedure of ClickHouse's backfilling guide — CREATE … AS, shadow MV, INSERT … SELECT FROM s3(),
 * MOVE PARTITION, DROP — on the same objects, on the same embedded ClickHouse (chDB, this process) reading
 * from a local S3 server (s3rver, child process). Runs alternate (hand, engine, hand, engine …) in fresh
 * databases; the summary is the median ratio. The engine runs with the schema's defaults (workers auto, batch.count
 * auto: 2 batches per worker) — what a user gets — and, for comparison, in one batch (batch.count 1); then 40
 * batches of one object with workers 4 vs 1. Then the swap step alone for 100 daily partitions.
 * Target: engine ≤ 1.05× hand-written; swap of 100 partitions ≤ 1 s.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ClickHouseAdapter } from '../adapters/clickhouse/adapter.ts';
import { ChdbDriver } from '../adapters/clickhouse/drivers/chdb.ts';
import { quoteIdent, quoteString } from '../adapters/clickhouse/sql/quote.ts';
import { generatePypiParquet, PYPI_STRUCTURE } from '../fixtures/pypi.ts';
import { uploadDirectory } from '../fixtures/upload.ts';
import { DEFAULT_BATCH } from '../src/config/defaults.ts';
import type { BackfillConfig, BatchConfig } from '../src/config/types.ts';
import { startLocalS3, type LocalS3Server } from '../src/local/s3-server.ts';
import { runBackfill, type RunReport } from '../src/runner/run.ts';
import { detail, median, scratchDir, summary, timed } from './common.ts';

const FILES = 50; // 000..009 live, 010..049 backfilled
const ROWS_PER_FILE = 40_000;
const DAYS = 5;
/** Rounds of the load comparison (`CLICKHOUSE_OVERHEAD_ROUNDS=0`: the 100-partition swap alone). */
const REPEATS = Number(process.env['CLICKHOUSE_OVERHEAD_ROUNDS'] ?? 3);
const SWAP_PARTITIONS = 100;

const q = quoteIdent;

async function createGuideTables(driver: ChdbDriver, db: string): Promise<void> {
  await driver.command(`CREATE DATABASE ${q(db)}`);
  await driver.command(
    `CREATE TABLE ${q(db)}.pypi (${PYPI_STRUCTURE}) ENGINE = MergeTree PARTITION BY toYYYYMMDD(timestamp) ORDER BY (project, timestamp)`,
  );
  await driver.command(
    `CREATE TABLE ${q(db)}.pypi_downloads (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project`,
  );
  await driver.command(
    `CREATE MATERIALIZED VIEW ${q(db)}.pypi_downloads_mv TO ${q(db)}.pypi_downloads ` +
      `AS SELECT project, count() AS count FROM ${q(db)}.pypi GROUP BY project`,
  );
}

function s3Call(s3: LocalS3Server, bucket: string, pattern: string): string {
  return `s3(${quoteString(`${s3.endpoint}/${bucket}/${pattern}`)}, ${quoteString(s3.accessKeyId)}, ${quoteString(s3.secretAccessKey)}, 'Parquet')`;
}

/** The guide's procedure, statement by statement. Returns the total and the swap (MOVE PARTITION) seconds. */
async function handWritten(
  driver: ChdbDriver,
  s3: LocalS3Server,
  db: string,
  bucket: string,
  pattern: string,
) {
  let swapSeconds = 0;
  const total = await timed(async () => {
    await driver.command(`CREATE TABLE ${q(db)}.pypi_v2 AS ${q(db)}.pypi`);
    await driver.command(`CREATE TABLE ${q(db)}.pypi_downloads_v2 AS ${q(db)}.pypi_downloads`);
    await driver.command(
      `CREATE MATERIALIZED VIEW ${q(db)}.pypi_downloads_mv_v2 TO ${q(db)}.pypi_downloads_v2 ` +
        `AS SELECT project, count() AS count FROM ${q(db)}.pypi_v2 GROUP BY project`,
    );
    await driver.command(`INSERT INTO ${q(db)}.pypi_v2 SELECT * FROM ${s3Call(s3, bucket, pattern)}`);
    const swap = await timed(async () => {
      const parts = await driver.query<{ p: string }>(
        `SELECT DISTINCT partition_id AS p FROM system.parts WHERE database = ${quoteString(db)} AND table = 'pypi_v2' AND active ORDER BY p`,
      );
      for (const { p } of parts) {
        await driver.command(
          `ALTER TABLE ${q(db)}.pypi_v2 MOVE PARTITION ID ${quoteString(p)} TO TABLE ${q(db)}.pypi`,
        );
      }
      await driver.command(
        `ALTER TABLE ${q(db)}.pypi_downloads_v2 MOVE PARTITION tuple() TO TABLE ${q(db)}.pypi_downloads`,
      );
      return parts.length;
    });
    swapSeconds = swap.seconds;
    await driver.command(`DROP TABLE ${q(db)}.pypi_downloads_mv_v2`);
    await driver.command(`DROP TABLE ${q(db)}.pypi_v2`);
    await driver.command(`DROP TABLE ${q(db)}.pypi_downloads_v2`);
    return swap.value;
  });
  return { seconds: total.seconds, swapSeconds, partitions: total.value };
}

function engineConfig(
  s3: LocalS3Server,
  chDir: string,
  db: string,
  bucket: string,
  pattern: string,
  batch: BatchConfig,
  workers: number | 'auto' = 'auto',
): BackfillConfig {
  return {
    workers,
    target: {
      kind: 'clickhouse',
      url: `embedded:${chDir}`,
      database: db,
      table: 'pypi',
      user: undefined,
      password: undefined,
    },
    source: {
      url: `s3://${bucket}/${pattern}`,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    },
    filter: undefined,
    batch,
    views: 'auto',
    settings: {},
    load: 'server',
    attempts: 1,
    targetOptions: {},
  };
}

async function engine(
  chDir: string,
  config: BackfillConfig,
): Promise<{ seconds: number; swapSeconds: number; report: RunReport }> {
  let swapSeconds = 0;
  const adapter = new ClickHouseAdapter(config, new ChdbDriver(chDir));
  await adapter.connect();
  try {
    const run = await timed(() =>
      runBackfill(config, adapter, {
        onEvent: (e) => {
          if (e.type === 'swap-finished') swapSeconds = e.seconds;
        },
      }),
    );
    return { seconds: run.seconds, swapSeconds, report: run.value };
  } finally {
    await adapter.close();
  }
}

async function count(driver: ChdbDriver, sql: string): Promise<number> {
  const [row] = await driver.query<{ n: string }>(`SELECT toString((${sql})) AS n`);
  return Number(row?.n);
}

async function main(): Promise<void> {
  const dir = await scratchDir('ch-overhead');
  const s3 = await startLocalS3({ directory: join(dir.path, 's3'), buckets: ['overhead', 'swap'] });
  const chDir = join(dir.path, 'clickhouse');
  const driver = new ChdbDriver(chDir);
  const creds = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  try {
    const runner = { queryAsync: (sql: string) => driver.command(sql) };
    const gen = await timed(() =>
      generatePypiParquet({
        dir: join(dir.path, 'overhead'),
        files: Array.from({ length: FILES }, (_, i) => i),
        rowsPerFile: ROWS_PER_FILE,
        days: DAYS,
        runner,
      }),
    );
    await uploadDirectory(s3.endpoint, 'overhead', join(dir.path, 'overhead'), creds);
    const backfilled = gen.value.files.filter((f) => !/00[0-9]\.parquet$/.test(f.key));
    const backfillRows = backfilled.reduce((n, f) => n + f.rows, 0);
    const backfillBytes = backfilled.reduce((n, f) => n + f.bytes, 0);
    detail(
      `${FILES} files × ${ROWS_PER_FILE.toLocaleString('en-US')} rows over ${DAYS} days (generated in ${gen.seconds.toFixed(1)} s); ` +
        `live {000..009}, backfill {010..049}: ${backfillRows.toLocaleString('en-US')} rows, ${(backfillBytes / 1e6).toFixed(1)} MB`,
    );
    const live = `pypi/*/*-000000000{000..009}.parquet`;
    const pattern = `pypi/*/*-000000000{010..049}.parquet`;

    const hand: number[] = [];
    const eng: number[] = [];
    const engOne: number[] = [];
    const lanes = { 1: [] as number[], 4: [] as number[] };
    for (let r = 0; r < REPEATS; r += 1) {
      for (const side of ['hand', 'engine', 'engine-one', 'engine-w1', 'engine-w4'] as const) {
        const db = `${side.replace('-', '_')}_${r}`;
        await createGuideTables(driver, db);
        await driver.command(`INSERT INTO ${q(db)}.pypi SELECT * FROM ${s3Call(s3, 'overhead', live)}`);
        let line: string;
        if (side === 'hand') {
          const h = await handWritten(driver, s3, db, 'overhead', pattern);
          hand.push(h.seconds);
          line = `hand-written ${h.seconds.toFixed(2)} s (MOVE PARTITION × ${h.partitions} + view target: ${h.swapSeconds.toFixed(3)} s)`;
        } else if (side === 'engine-w1' || side === 'engine-w4') {
          // One object per batch (40 batches): workers 1 vs 4 lanes loading at once.
          const n = side === 'engine-w1' ? 1 : 4;
          const e = await engine(
            chDir,
            engineConfig(s3, chDir, db, 'overhead', pattern, { files: 1, bytes: 1e12, count: 1 }, n),
          );
          lanes[n].push(e.seconds);
          line = `engine, ${e.report.batches} batches of 1 object, workers ${n}: ${e.seconds.toFixed(2)} s (swap ${e.swapSeconds.toFixed(3)} s)`;
        } else {
          // The engine as a user runs it (the schema's batch defaults: batch.count auto), and in one batch.
          const batch = side === 'engine' ? DEFAULT_BATCH : { ...DEFAULT_BATCH, count: 1 };
          const e = await engine(chDir, engineConfig(s3, chDir, db, 'overhead', pattern, batch));
          (side === 'engine' ? eng : engOne).push(e.seconds);
          const phases = Object.entries(e.report.phases)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', ');
          line = `engine (${e.report.batches} batch${e.report.batches > 1 ? 'es' : ''}) ${e.seconds.toFixed(2)} s (swap ${e.swapSeconds.toFixed(3)} s; ${phases})`;
        }
        const rows = await count(driver, `SELECT count() FROM ${q(db)}.pypi`);
        const sum = await count(driver, `SELECT sum(count) FROM ${q(db)}.pypi_downloads`);
        if (rows !== gen.value.totalRows || sum !== gen.value.totalRows) {
          throw new Error(
            `${db}: pypi has ${rows} rows and pypi_downloads sums to ${sum}, expected ${gen.value.totalRows}`,
          );
        }
        detail(`round ${r + 1}: ${line} — verified ${rows.toLocaleString('en-US')} rows`);
        await driver.command(`DROP DATABASE ${q(db)}`);
      }
    }
    const h = median(hand);
    const e = median(eng);
    const eo = median(engOne);
    const w1 = median(lanes[1]);
    const w4 = median(lanes[4]);
    if (REPEATS > 0) {
      detail(
        `median hand-written ${h.toFixed(2)} s, engine (defaults) ${e.toFixed(2)} s (${(e / h).toFixed(2)} ×), engine in one batch (batch.count 1) ${eo.toFixed(2)} s (${(eo / h).toFixed(2)} ×)`,
      );
      // Each round runs the sides back to back: its own ratio is less exposed to load that comes and goes.
      const perRound = hand.map((x, r) => eng[r]! / x);
      detail(
        `per-round ratios engine (defaults) ÷ hand-written: ${perRound.map((x) => x.toFixed(2)).join(', ')} (median ${median(perRound).toFixed(2)} ×)`,
      );
      detail(
        `median with 40 batches of 1 object: workers 1 ${w1.toFixed(2)} s, workers 4 ${w4.toFixed(2)} s (${(w1 / w4).toFixed(2)} × faster; ${cpus().length} cores)`,
      );
      detail(
        `engine throughput ${Math.round(backfillRows / e).toLocaleString('en-US')} rows/s, hand-written ${Math.round(backfillRows / h).toLocaleString('en-US')} rows/s`,
      );
    }

    // ---- swap of 100 daily partitions ----
    const swapGen = await generatePypiParquet({
      dir: join(dir.path, 'swap'),
      files: Array.from({ length: SWAP_PARTITIONS }, (_, i) => i),
      rowsPerFile: 1000,
      days: SWAP_PARTITIONS,
      runner,
    });
    await uploadDirectory(s3.endpoint, 'swap', join(dir.path, 'swap'), creds);
    await createGuideTables(driver, 'swap_engine');
    const es = await engine(
      chDir,
      engineConfig(s3, chDir, 'swap_engine', 'swap', 'pypi/*/*.parquet', { ...DEFAULT_BATCH, count: 1 }),
    );
    if (es.report.swapUnits !== SWAP_PARTITIONS + 1)
      throw new Error(`expected ${SWAP_PARTITIONS + 1} swap units, got ${es.report.swapUnits}`);
    const swapRows = await count(driver, 'SELECT count() FROM swap_engine.pypi');
    if (swapRows !== swapGen.totalRows)
      throw new Error(`swap_engine.pypi has ${swapRows} rows, expected ${swapGen.totalRows}`);
    await createGuideTables(driver, 'swap_hand');
    const hs = await handWritten(driver, s3, 'swap_hand', 'swap', 'pypi/*/*.parquet');
    detail(
      `swap of ${SWAP_PARTITIONS} daily partitions + 1 view target: engine ${es.swapSeconds.toFixed(3)} s ` +
        `(${((es.swapSeconds / (SWAP_PARTITIONS + 1)) * 1000).toFixed(1)} ms per unit incl. journal), hand-written MOVE PARTITION loop ${hs.swapSeconds.toFixed(3)} s`,
    );
    summary(
      'clickhouse-overhead/swap-100',
      es.swapSeconds,
      's',
      es.swapSeconds / hs.swapSeconds,
      `target ≤ 1 s: ${es.swapSeconds <= 1 ? 'met' : 'NOT met'}`,
    );
    if (REPEATS === 0) return;
    summary(
      'clickhouse-overhead/workers',
      w4,
      's',
      w4 / w1,
      `40 batches of 1 object, workers 4 vs workers 1 (${w1.toFixed(2)} s)`,
    );
    summary(
      'clickhouse-overhead',
      e,
      's',
      e / h,
      `engine (defaults) vs hand-written guide procedure, target ≤ 1.05 ×: ${e / h <= 1.05 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await driver.close();
    await s3.stop();
    await dir.remove();
  }
}

await main();
