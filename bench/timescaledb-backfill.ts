/**
 * `timescaledb-backfill`: on the embedded TimescaleDB (PGlite + TimescaleDB 2.23, child process), the engine's
 * backfill into a compressed hypertable vs the manual procedure of the TimescaleDB docs (seeds 000/002: pause the
 * compression job, decompress every chunk the backfill falls into, insert from a staging table, resume the job and
 * run it to recompress), on the same rows; and the engine's `strategy: decompress` vs `direct` (and the default
 * `auto`).
 *
 * Data: PyPI-shaped Parquet (fixtures/pypi.ts) on a local S3 server (s3rver, child process), 6 days × 10 files.
 * Every side starts from its own fresh hypertable (1-day chunks, segmentby project, orderby timestamp DESC)
 * holding the live rows — days 2–5 minus each day's first file — with every chunk compressed and a compression
 * policy (compress_after 7 days). The backfill brings days 0–1 whole (new chunks) and the first file of days 2–5
 * (late rows, ~11 % of each compressed chunk).
 * - engine: `runBackfill` with the TimescaleDB adapter (S3 → decode → INSERT … unnest into its staging table: the
 *   embedded server has no COPY → swap). Timed: the whole run, and its swap step (beginSwap → units →
 *   finishSwap, the `swap-finished` event), which is what replaces the manual procedure.
 * - manual: the same backfill rows already in an UNLOGGED staging table (filled before the clock starts); timed:
 *   from looking up and pausing the job to the end of `CALL run_job`.
 * Each round runs every side (the even rounds in reverse order); medians are reported, with the embedded server's CPU seconds (read from /proc),
 * which the shared machine disturbs less than wall time. Every side is verified: row count, content checksum
 * equal to the first side's, no uncompressed or partial chunk, policy scheduled again.
 * Summary: the engine's swap (strategy auto) in seconds and the speed-up manual ÷ engine. Target: ≥ 2 ×.
 */
import { join } from 'node:path';
import pg from 'pg';
import { openConnection } from '../adapters/timescaledb/connection.ts';
import { createTimescaleAdapter } from '../adapters/timescaledb/index.ts';
import { generatePypiParquet, PYPI_COLUMNS, PYPI_PG_COLUMNS, type GeneratedFile } from '../fixtures/pypi.ts';
import { uploadDirectory } from '../fixtures/upload.ts';
import type { RowChunk } from '../src/adapter/contract.ts';
import type { BackfillConfig } from '../src/config/types.ts';
import { defineConfig } from '../src/config/define.ts';
import { startLocalS3, type LocalS3Server } from '../src/local/s3-server.ts';
import { acquireEmbeddedTimescale } from '../src/local/timescaledb-server.ts';
import { readRowChunks } from '../src/parquet/rows.ts';
import { readSourceSchema } from '../src/parquet/schema.ts';
import { runBackfill, type RunReport } from '../src/runner/run.ts';
import { listObjects } from '../src/source/list-objects.ts';
import { resolveLocation } from '../src/source/location.ts';
import { s3AsyncBuffer } from '../src/source/range-reader.ts';
import { createS3Client } from '../src/source/s3-client.ts';
import type { SourceObject } from '../src/source/types.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { detail, median, scratchDir, summary, timed } from './common.ts';
import { descendantSeconds } from './support/cpu.ts';
import { createPgStaging } from './support/pg-staging.ts';

const DAYS = 6;
const FILES_PER_DAY = 10;
const ROWS_PER_FILE = 5_000;
const NEW_DAYS = 2;
const ROUNDS = 2;
const SIDES = ['manual', 'auto', 'decompress', 'direct'] as const;

const COLUMNS: readonly string[] = PYPI_COLUMNS;
const COLUMN_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');
const tableSql = (name: string, unlogged = false) =>
  `CREATE ${unlogged ? 'UNLOGGED ' : ''}TABLE ${name} (${PYPI_PG_COLUMNS})`;

type Side = 'manual' | 'auto' | 'decompress' | 'direct';

interface Outcome {
  readonly side: Side;
  /** The step that replaces the manual procedure (engine: swap; manual: pause → run_job). */
  readonly backfill: number;
  /** Embedded server CPU seconds during that step. */
  readonly serverCpu: number;
  /** Engine: the whole run; manual: the procedure. */
  readonly total: number;
  readonly text: string;
}

/** CPU seconds of the embedded TimescaleDB child so far. */
const serverCpu = () => descendantSeconds(/timescaledb-server-child/);

function fileNumbers(days: readonly number[], slots: readonly number[]): number[] {
  return days.flatMap((d) => slots.map((s) => d * FILES_PER_DAY + s));
}

/** A fresh hypertable `name` holding the live rows, every chunk compressed, with a compression policy. */
async function prepareHypertable(sql: pg.Client, name: string): Promise<void> {
  await sql.query(tableSql(name));
  await sql.query(`SELECT create_hypertable('${name}', by_range('timestamp', INTERVAL '1 day'))`);
  await sql.query(
    `ALTER TABLE ${name} SET (timescaledb.compress, timescaledb.compress_segmentby = 'project', timescaledb.compress_orderby = 'timestamp DESC')`,
  );
  await sql.query(`INSERT INTO ${name} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM live_rows`);
  await sql.query(`SELECT compress_chunk(c) FROM show_chunks('${name}') c`);
  await sql.query(`SELECT add_compression_policy('${name}', INTERVAL '7 days')`);
}

async function policyJob(sql: pg.Client, name: string): Promise<number> {
  const r = await sql.query<{ job_id: number }>(
    `SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = $1`,
    [name],
  );
  const id = r.rows[0]?.job_id;
  if (id === undefined) throw new Error(`no compression policy job for ${name}`);
  return id;
}

/** The seeds' manual procedure from a filled staging table. Returns the seconds of each step. */
async function manualProcedure(sql: pg.Client, name: string, staging: string) {
  const steps: Record<string, number> = {};
  const step = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const r = await timed(fn);
    steps[label] = r.seconds;
    return r.value;
  };
  const cpu = serverCpu();
  const total = await timed(async () => {
    const job = await step('pause', async () => {
      const id = await policyJob(sql, name);
      await sql.query('SELECT alter_job($1, scheduled => false)', [id]);
      return id;
    });
    const decompressed = await step('decompress', async () => {
      // Every compressed chunk the staged rows' time range touches (show_chunks(newer_than, older_than) in the docs).
      const r = await sql.query<{ n: number }>(
        `SELECT count(decompress_chunk(format('%I.%I', c.chunk_schema, c.chunk_name)::regclass)) :: int AS n
           FROM timescaledb_information.chunks c, (SELECT min("timestamp") AS lo, max("timestamp") AS hi FROM ${staging}) s
          WHERE c.hypertable_name = $1 AND c.is_compressed AND c.range_end > s.lo AND c.range_start <= s.hi`,
        [name],
      );
      return r.rows[0]?.n ?? 0;
    });
    await step('insert', () =>
      sql.query(`INSERT INTO ${name} (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM ${staging}`),
    );
    await step('resume + run_job', async () => {
      await sql.query('SELECT alter_job($1, scheduled => true)', [job]);
      await sql.query('CALL run_job($1)', [job]);
    });
    return decompressed;
  });
  return { seconds: total.seconds, cpu: serverCpu() - cpu, decompressed: total.value, steps };
}

/** Row count, chunks left uncompressed or partial, policy state and a content checksum of `name`. */
async function verify(sql: pg.Client, name: string) {
  const rows = await sql.query<{ n: string; sum: string }>(
    `SELECT count(*) AS n, sum(hashtext(concat_ws('|', ${COLUMN_LIST}))::numeric)::text AS sum FROM ${name}`,
  );
  const chunks = await sql.query<{ total: number; uncompressed: number; partial: number }>(
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE c.status & 1 = 0)::int AS uncompressed,
            count(*) FILTER (WHERE c.status & 8 <> 0)::int AS partial
       FROM _timescaledb_catalog.chunk c JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
      WHERE h.table_name = $1 AND NOT c.dropped`,
    [name],
  );
  const job = await sql.query<{ scheduled: boolean }>(
    `SELECT scheduled FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = $1`,
    [name],
  );
  return {
    rows: Number(rows.rows[0]?.n),
    checksum: rows.rows[0]?.sum ?? '',
    chunks: chunks.rows[0]!,
    scheduled: job.rows[0]?.scheduled === true,
  };
}

function engineConfig(dbDir: string, s3: LocalS3Server, table: string, strategy: Side): BackfillConfig {
  return defineConfig({
    target: { kind: 'timescaledb', url: `embedded:${dbDir}`, table },
    source: {
      url: 's3://backfill/pypi/*/*.parquet',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    },
    batch: { files: 1000, bytes: 1e12 },
    attempts: 1,
    targetOptions: { strategy },
  });
}

async function engineRun(config: BackfillConfig) {
  const adapter = createTimescaleAdapter(config);
  await adapter.connect();
  let swapSeconds = 0;
  let swapCpu = 0;
  const decompressed: string[] = [];
  const compressed: string[] = [];
  try {
    const report: RunReport = await runBackfill(config, adapter, {
      onEvent: (e) => {
        if (e.type === 'batch-committed') swapCpu = serverCpu();
        if (e.type === 'swap-finished') {
          swapSeconds = e.seconds;
          swapCpu = serverCpu() - swapCpu;
        }
        if (e.type === 'chunk-decompressed') decompressed.push(e.chunk);
        if (e.type === 'chunk-compressed') compressed.push(e.chunk);
      },
    });
    const notes = (await adapter.describe()).notes;
    return { report, swapSeconds, swapCpu, decompressed, compressed, notes };
  } finally {
    await adapter.close();
  }
}

/** An S3 client on `bucket` of the local store and its objects in key order, as the engine lists them. */
async function openBucket(
  s3: LocalS3Server,
  bucket: string,
): Promise<{ client: S3Client; objects: SourceObject[] }> {
  const location = resolveLocation({
    url: `s3://${bucket}/pypi/*/*.parquet`,
    endpoint: s3.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const client = createS3Client(location);
  try {
    return { client, objects: await listObjects(client, location) };
  } catch (error) {
    client.destroy();
    throw error;
  }
}

/** The rows of every object in `bucket`, decoded from S3 in key order (the engine's reader). */
async function* rowsOf(s3: LocalS3Server, bucket: string): AsyncIterable<RowChunk> {
  const { client, objects } = await openBucket(s3, bucket);
  try {
    for (const object of objects) {
      yield* readRowChunks(s3AsyncBuffer(client, object), object, { columns: COLUMNS });
    }
  } finally {
    client.destroy();
  }
}

async function sourceColumns(s3: LocalS3Server, bucket: string) {
  const { client, objects } = await openBucket(s3, bucket);
  try {
    const first = objects[0]!;
    const schema = await readSourceSchema(s3AsyncBuffer(client, first), first);
    return COLUMNS.map((name) => schema.columns.find((c) => c.name === name)!);
  } finally {
    client.destroy();
  }
}

const sum = (files: readonly GeneratedFile[]) => files.reduce((n, f) => n + f.rows, 0);

async function main(): Promise<void> {
  const dir = await scratchDir('tsdb-backfill');
  const dbDir = join(dir.path, 'tsdb');
  const s3 = await startLocalS3({ directory: join(dir.path, 's3'), buckets: ['live', 'backfill'] });
  const lease = await acquireEmbeddedTimescale({ directory: dbDir });
  const sql = new pg.Client({
    host: lease.server.host,
    port: lease.server.port,
    user: 'postgres',
    database: 'postgres',
  });
  const staging = openConnection({
    kind: 'timescaledb',
    url: `embedded:${dbDir}`,
    database: 'public',
    table: 'rows',
    user: undefined,
    password: undefined,
  });
  try {
    // ---- data ----
    const common = {
      rowsPerFile: ROWS_PER_FILE,
      days: DAYS,
      filesPerDay: FILES_PER_DAY,
      rowGroupRows: 5_000,
    };
    const liveDays = Array.from({ length: DAYS - NEW_DAYS }, (_, i) => NEW_DAYS + i);
    const gen = await timed(async () => ({
      live: await generatePypiParquet({
        dir: join(dir.path, 'live'),
        files: fileNumbers(
          liveDays,
          Array.from({ length: FILES_PER_DAY - 1 }, (_, i) => i + 1),
        ),
        ...common,
      }),
      back: await generatePypiParquet({
        dir: join(dir.path, 'backfill'),
        files: [
          ...fileNumbers(
            Array.from({ length: NEW_DAYS }, (_, i) => i),
            Array.from({ length: FILES_PER_DAY }, (_, i) => i),
          ),
          ...fileNumbers(liveDays, [0]),
        ],
        ...common,
      }),
    }));
    const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    await uploadDirectory(s3.endpoint, 'live', join(dir.path, 'live'), credentials);
    await uploadDirectory(s3.endpoint, 'backfill', join(dir.path, 'backfill'), credentials);
    const liveRows = sum(gen.value.live.files);
    const backRows = sum(gen.value.back.files);
    const lateRows = liveDays.length * ROWS_PER_FILE;
    detail(
      `${lease.server.version} embedded; PyPI-shaped rows, ${DAYS} daily chunks × ${FILES_PER_DAY} files × ${ROWS_PER_FILE.toLocaleString('en-US')} rows ` +
        `(generated in ${gen.seconds.toFixed(1)} s)`,
    );
    detail(
      `live: ${liveRows.toLocaleString('en-US')} rows in ${liveDays.length} compressed chunks; backfill: ${backRows.toLocaleString('en-US')} rows = ` +
        `${(backRows - lateRows).toLocaleString('en-US')} into ${NEW_DAYS} new days + ${lateRows.toLocaleString('en-US')} late rows ` +
        `(${((ROWS_PER_FILE / ((FILES_PER_DAY - 1) * ROWS_PER_FILE)) * 100).toFixed(0)} % of each compressed chunk)`,
    );

    // ---- the rows once in plain tables (via the adapter's loader), copied into each side's tables ----
    await sql.connect();
    await staging.connect();
    const source = await sourceColumns(s3, 'live');
    await sql.query(tableSql('rows'));
    const live = await createPgStaging(staging, 'public', 'rows', 'timestamp', source, 'live', 'insert');
    const back = await createPgStaging(staging, 'public', 'rows', 'timestamp', source, 'back', 'insert');
    const liveLoad = await timed(() => live.load(0, rowsOf(s3, 'live')));
    const backLoad = await timed(() => back.load(0, rowsOf(s3, 'backfill')));
    await sql.query(`ALTER TABLE "${live.staging}" RENAME TO live_rows`);
    await sql.query(`ALTER TABLE "${back.staging}" RENAME TO backfill_rows`);
    await staging.close();
    detail(
      `live and backfill rows staged once in plain tables with the adapter's loader (S3 → INSERT … unnest): ` +
        `${liveLoad.seconds.toFixed(1)} s and ${backLoad.seconds.toFixed(1)} s (${Math.round(backRows / backLoad.seconds).toLocaleString('en-US')} rows/s)`,
    );

    const outcomes: Outcome[] = [];
    let expected: { rows: number; checksum: string } | undefined;
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternate the order (round 2 runs the sides backwards) so that no side always runs first or last.
      for (const side of round % 2 === 1 ? SIDES : [...SIDES].reverse()) {
        const name = `pypi_${side}_${round}`;
        const setup = await timed(() => prepareHypertable(sql, name));
        let outcome: Outcome;
        if (side === 'manual') {
          await sql.query(tableSql('manual_staging', true));
          await sql.query(
            `INSERT INTO manual_staging (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM backfill_rows`,
          );
          const m = await manualProcedure(sql, name, 'manual_staging');
          await sql.query('DROP TABLE manual_staging');
          const steps = Object.entries(m.steps)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', ');
          outcome = {
            side,
            backfill: m.seconds,
            serverCpu: m.cpu,
            total: m.seconds,
            text: `manual procedure ${m.seconds.toFixed(2)} s, server CPU ${m.cpu.toFixed(1)} s (${m.decompressed} chunks decompressed; ${steps})`,
          };
        } else {
          const e = await engineRun(engineConfig(dbDir, s3, name, side));
          const phases = Object.entries(e.report.phases)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(', ');
          const strategyNote = e.notes.find((n) => n.startsWith('strategy')) ?? '';
          outcome = {
            side,
            backfill: e.swapSeconds,
            serverCpu: e.swapCpu,
            total: e.report.seconds,
            text:
              `engine strategy ${side}: run ${e.report.seconds.toFixed(2)} s, swap ${e.swapSeconds.toFixed(2)} s, swap server CPU ${e.swapCpu.toFixed(1)} s ` +
              `(${e.decompressed.length} chunks decompressed; ${phases})` +
              (side === 'auto' && round === 1 && strategyNote ? ` — ${strategyNote}` : ''),
          };
        }
        const v = await verify(sql, name);
        expected ??= { rows: v.rows, checksum: v.checksum };
        if (
          v.rows !== liveRows + backRows ||
          v.checksum !== expected.checksum ||
          v.chunks.uncompressed !== 0 ||
          v.chunks.partial !== 0 ||
          v.chunks.total !== DAYS ||
          !v.scheduled
        ) {
          throw new Error(
            `${name} after the backfill: ${v.rows} rows (expected ${liveRows + backRows}), checksum ${v.checksum === expected.checksum ? 'equal' : 'DIFFERENT'}, ` +
              `${v.chunks.total} chunks (${v.chunks.uncompressed} uncompressed, ${v.chunks.partial} partial), policy ${v.scheduled ? 'scheduled' : 'PAUSED'}`,
          );
        }
        detail(`round ${round}: ${outcome.text} — setup ${setup.seconds.toFixed(1)} s; verified`);
        outcomes.push(outcome);
        await sql.query(`DROP TABLE ${name}`);
      }
    }
    detail(
      `verified after every side: ${(liveRows + backRows).toLocaleString('en-US')} rows with the same content checksum, ${DAYS} chunks all compressed (none partial), policy scheduled`,
    );

    const med = (side: Side, f: (o: Outcome) => number) =>
      median(outcomes.filter((o) => o.side === side).map(f));
    const swap = (side: Side) => med(side, (o) => o.backfill);
    const cpu = (side: Side) => med(side, (o) => o.serverCpu);
    const manual = swap('manual');
    const auto = swap('auto');
    detail(
      `median of ${ROUNDS}: manual procedure ${manual.toFixed(2)} s (server CPU ${cpu('manual').toFixed(1)} s); engine swap step: ` +
        (['auto', 'decompress', 'direct'] as const)
          .map(
            (side) =>
              `${side} ${swap(side).toFixed(2)} s (CPU ${cpu(side).toFixed(1)} s, ${(manual / swap(side)).toFixed(2)} ×)`,
          )
          .join(', '),
    );
    detail(
      `strategy decompress ÷ direct: ${(swap('decompress') / swap('direct')).toFixed(2)} × wall, ${(cpu('decompress') / cpu('direct')).toFixed(2)} × server CPU`,
    );
    const autoRun = med('auto', (o) => o.total);
    detail(
      `end to end from Parquet on S3: engine run (auto) ${autoRun.toFixed(2)} s vs manual = staging load with the same loader ${backLoad.seconds.toFixed(2)} s + procedure ` +
        `${manual.toFixed(2)} s = ${(backLoad.seconds + manual).toFixed(2)} s (${((backLoad.seconds + manual) / autoRun).toFixed(2)} ×)`,
    );
    const speedup = manual / auto;
    summary(
      'timescaledb-backfill',
      auto,
      's',
      speedup,
      `engine swap (strategy auto) vs the manual procedure from the same staged rows, speed-up manual ÷ engine; target ≥ 2 ×: ${speedup >= 2 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await staging.close().catch(() => undefined);
    await sql.end().catch(() => undefined);
    await lease.release();
    await s3.stop();
    await dir.remove();
  }
}

await main();
