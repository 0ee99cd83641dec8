/**
 * `shadowfill demo --target timescaledb`: the TimescaleDB docs' "backfill historical data on compressed chunks"
 * scenario end to end, on the embedded TimescaleDB (default) or a real TimescaleDB server (`url`), with a local S3
 * server (child process) under `--dir`.
 *
 * On a real server everything lives in the schema `shadowfill_demo` (tables, aggregate, journal): the demo creates
 * it, marked with a comment, and drops it again at the next demo only when it carries that mark — it never touches
 * anything else in the database. The server's scheduler runs the compression policy by itself there.
 *
 * 30 days of PyPI-shaped Parquet (4 files a day) ending yesterday (UTC). The `pypi` hypertable (1-day chunks,
 * compression segmentby project / orderby timestamp) with the continuous aggregate `pypi_daily` gets its "live"
 * data through the engine: every day except a 3-day outage, and without the first file of days 6..26. Then a
 * 7-day compression policy is added and run once, as the scheduler would: the chunks older than 7 days are
 * compressed. The backfill (the missing files: into compressed chunks, uncompressed recent chunks and the
 * gap) runs through `runBackfill`, and the demo prints the report and a verification read from the database.
 * The Parquet files are written with chDB's stateless API (this process opens no chDB session).
 */
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { describeUrl, serverConnectionString } from '../adapters/timescaledb/connection.ts';
import { qualified, quoteIdent, quoteLiteral } from '../adapters/timescaledb/sql/quote.ts';
import { generatePypiParquet, PYPI_PG_COLUMNS, type GeneratedFile } from './data/pypi.ts';
import { uploadDirectory } from './data/upload.ts';
import { createAdapter } from '../src/adapter/registry.ts';
import { formatCount, formatSeconds } from '../src/cli/format.ts';
import { formatReport, reportJson } from '../src/cli/report.ts';
import { loadConfig } from '../src/config/load.ts';
import { ConfigError, TargetError } from '../src/errors.ts';
import { acquireEmbeddedTimescale, type EmbeddedTimescaleLease } from '../src/local/timescaledb-server.ts';
import { startLocalS3, type LocalS3Server } from '../src/local/s3-server.ts';
import type { EventSink } from '../src/runner/events.ts';
import { runBackfill, type RunReport } from '../src/runner/run.ts';

export interface TimescaleDemoOptions {
  readonly dir: string;
  /**
   * `target.url` of a real TimescaleDB server (`postgres://user:password@host:5432/db`; the database needs the
   * timescaledb extension): the demo runs there, in the schema `shadowfill_demo`. Default: the embedded TimescaleDB
   * in `<dir>/timescaledb`.
   */
  readonly url?: string | undefined;
  /** Rows per Parquet file (120 files); default DEFAULT_ROWS_PER_FILE. */
  readonly rows: number | undefined;
  readonly onEvent?: EventSink;
  /** Human progress lines (stderr). */
  readonly log: (line: string) => void;
  /** Print the report and verification as JSON lines; default: `--json` on this process's command line. */
  readonly json?: boolean;
  /** Where the report goes; default process.stdout. */
  readonly out?: NodeJS.WritableStream;
  /** Aborting stops the backfill after the step in progress (the CLI's first Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** About a minute on the 2-core dev machine (see README "TimescaleDB"). */
export const DEFAULT_ROWS_PER_FILE = 6_000;

const DAYS = 30;
const FILES_PER_DAY = 4;
/** Days (0-based) the live pipeline missed entirely: the backfill creates their chunks. */
const GAP_DAYS: readonly number[] = [12, 13, 14];
/** Days whose first file the live pipeline missed (and the gap): what the backfill covers. */
const BACKFILL_FIRST_DAY = 6;
const BACKFILL_LAST_DAY = 26;
const COMPRESS_AFTER = '7 days';
const TABLE = 'pypi';
const AGGREGATE = 'pypi_daily';
/** The schema of the demo's objects on a real server (`public` on the embedded one, which is the demo's own). */
export const DEMO_SCHEMA = 'shadowfill_demo';
const DEMO_MARK = 'created by shadowfill demo --target timescaledb; dropped by the next demo';
const DAY_MS = 86_400_000;

/** Which files the live pipeline ingested and which the backfill brings. */
export function demoLayout(): { live: number[]; backfill: number[] } {
  const live: number[] = [];
  const backfill: number[] = [];
  for (let day = 0; day < DAYS; day += 1) {
    for (let slot = 0; slot < FILES_PER_DAY; slot += 1) {
      const file = day * FILES_PER_DAY + slot;
      const inWindow = day >= BACKFILL_FIRST_DAY && day <= BACKFILL_LAST_DAY;
      if (GAP_DAYS.includes(day) || (inWindow && slot === 0)) backfill.push(file);
      else live.push(file);
    }
  }
  return { live, backfill };
}

interface ChunkFacts {
  readonly name: string;
  /** First day of the chunk, `YYYY-MM-DD`. */
  readonly day: string;
  readonly compressed: boolean;
  readonly partial: boolean;
  readonly compressedChunkId: number | null;
}

interface Snapshot {
  readonly chunks: readonly ChunkFacts[];
  readonly jobId: number | undefined;
  readonly scheduled: boolean | undefined;
}

export interface TimescaleDemoVerification {
  readonly type: 'demo-verification';
  readonly target: 'timescaledb';
  readonly totalRows: number;
  readonly hypertableRows: number;
  readonly aggregateRows: number;
  /** (day, project, downloads) rows in which the aggregate and a recomputation from the raw table differ. */
  readonly aggregateDifferences: number;
  readonly compressedBefore: number;
  /** Chunks compressed before that are compressed (not partially) after. */
  readonly compressedAfter: number;
  /** Compressed chunks in the backfilled days whose compressed data was rebuilt (decompressed, compressed again). */
  readonly recompressed: number;
  /** Compressed chunks outside the backfilled days, and how many kept their compressed data (never decompressed). */
  readonly outsideRange: number;
  readonly outsideRangeUntouched: number;
  /** Chunks the backfill created, how many lie past compress_after, and how many of those are compressed. */
  readonly newChunks: number;
  readonly newChunksPastPolicy: number;
  readonly newChunksCompressed: number;
  readonly policyJob: number | null;
  readonly policyScheduledBefore: boolean | null;
  readonly policyScheduledAfter: boolean | null;
  readonly stagingTablesLeft: number;
  readonly ok: boolean;
}

export interface TimescaleDemoResult {
  readonly report: RunReport;
  readonly verification: TimescaleDemoVerification;
}

/** Runs the demo and prints the report and the verification; returns the exit code (0 when verified). */
export async function timescaleDemo(options: TimescaleDemoOptions): Promise<number> {
  const json = options.json ?? false;
  const out = options.out ?? process.stdout;
  const { report, verification } = await runTimescaleDemo(options);
  if (json) {
    out.write(`${JSON.stringify(reportJson(report))}\n`);
    out.write(`${JSON.stringify(verification)}\n`);
  } else {
    out.write(`${formatReport(report)}\n`);
    out.write(`${verificationText(verification)}\n`);
  }
  return verification.ok ? 0 : 1;
}

export async function runTimescaleDemo(options: TimescaleDemoOptions): Promise<TimescaleDemoResult> {
  const rowsPerFile = options.rows ?? DEFAULT_ROWS_PER_FILE;
  const root = resolve(options.dir);
  const log = options.log;
  await rm(root, { recursive: true, force: true });
  const dbDir = join(root, 'timescaledb');
  const layout = demoLayout();
  // Day 0 is 30 days before today (UTC): the last day is yesterday, so every aggregate bucket is complete.
  const firstDay = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - DAYS * DAY_MS)
    .toISOString()
    .slice(0, 10);

  const t0 = Date.now();
  const common = { rowsPerFile, day: firstDay, days: DAYS, filesPerDay: FILES_PER_DAY };
  const live = await generatePypiParquet({
    dir: join(root, 'parquet', 'live'),
    files: layout.live,
    ...common,
  });
  const back = await generatePypiParquet({
    dir: join(root, 'parquet', 'backfill'),
    files: layout.backfill,
    ...common,
  });
  const totalRows = live.totalRows + back.totalRows;
  log(
    `wrote ${live.files.length + back.files.length} Parquet files (${formatCount(totalRows)} rows, ${DAYS} days from ${firstDay}) in ${seconds(t0)}`,
  );

  const s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['live', 'backfill'] });
  let lease: EmbeddedTimescaleLease | undefined;
  try {
    const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    await uploadDirectory(s3.endpoint, 'live', join(root, 'parquet', 'live'), credentials);
    await uploadDirectory(s3.endpoint, 'backfill', join(root, 'parquet', 'backfill'), credentials);
    const t1 = Date.now();
    let db: DemoDatabase;
    if (options.url === undefined) {
      lease = await acquireEmbeddedTimescale({ directory: dbDir });
      const server = lease.server;
      db = {
        url: `embedded:${dbDir}`,
        schema: 'public',
        client: { host: server.host, port: server.port, user: 'postgres', database: 'postgres' },
        realServer: false,
      };
      log(
        `local S3 at ${s3.endpoint}; embedded TimescaleDB ${server.version} in ${dbDir} (started in ${seconds(t1)})`,
      );
    } else {
      db = await realServer(options.url);
      const version = await withSql(db, async (sql) => {
        const r = await sql.query<{ v: string }>(
          `SELECT extversion || ' on PostgreSQL ' || current_setting('server_version') AS v FROM pg_extension WHERE extname = 'timescaledb'`,
        );
        return r.rows[0]?.v;
      });
      if (version === undefined) {
        throw new TargetError(
          'TARGET_UNSUPPORTED',
          `the TimescaleDB extension is not installed in ${describeUrl(options.url)}: run CREATE EXTENSION timescaledb there, or run the demo without --target.url (embedded)`,
        );
      }
      await withSql(db, prepareDemoSchema);
      log(
        `local S3 at ${s3.endpoint}; TimescaleDB ${version} at ${describeUrl(options.url)}, schema ${DEMO_SCHEMA}`,
      );
    }
    await withSql(db, (sql) => createSchema(sql, db.schema));
    log(
      `created hypertable ${db.schema}.${TABLE} (1-day chunks, compression segmentby project, orderby timestamp) and continuous aggregate ${AGGREGATE}`,
    );

    const t2 = Date.now();
    const liveReport = await backfill(configFor(s3, db, 'live', 30));
    log(
      `live data: ${formatCount(liveReport.rowsLoaded)} rows of ${live.files.length} files (all days except ${dayList(GAP_DAYS, firstDay)}; ` +
        `without the first file of each day ${dayOf(BACKFILL_FIRST_DAY, firstDay)}..${dayOf(BACKFILL_LAST_DAY, firstDay)}) in ${seconds(t2)}`,
    );

    const t3 = Date.now();
    const jobId = await withSql(db, (sql) => compressAsThePolicyWould(sql, db.schema));
    const before = await withSql(db, (sql) => snapshot(sql, db.schema));
    log(
      `added compression policy job ${jobId} (compress_after ${COMPRESS_AFTER}) and ran it once with CALL run_job` +
        (db.realServer
          ? " (the server's scheduler runs it by itself too)"
          : ', as the scheduler would (the embedded server has no background workers)') +
        `: ${before.chunks.filter((c) => c.compressed).length} of ${before.chunks.length} chunks compressed in ${seconds(t3)}`,
    );

    const config = configFor(s3, db, 'backfill', 10);
    log(
      `backfilling ${back.files.length} files (${formatCount(back.totalRows)} rows): the first file of each day ` +
        `${dayOf(BACKFILL_FIRST_DAY, firstDay)}..${dayOf(BACKFILL_LAST_DAY, firstDay)} (compressed and uncompressed chunks) and the gap ${dayList(GAP_DAYS, firstDay)}`,
    );
    const report = await backfill(config, options.onEvent, log, options.signal);
    const verification = await withSql(db, (sql) => verify(sql, db.schema, before, totalRows, back.files));
    return { report, verification };
  } finally {
    // The server's stop() waits for its child's exit without keeping this process alive (the child is
    // unref'd); a timer does, or the process would end here with exit code 0 and no report.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await lease?.release();
      await s3.stop();
    } finally {
      clearInterval(keepAlive);
    }
  }
}

/** Where the demo's tables live and how to reach them. */
interface DemoDatabase {
  /** `target.url` for the engine. */
  readonly url: string;
  readonly schema: string;
  readonly client: pg.ClientConfig;
  readonly realServer: boolean;
}

async function realServer(url: string): Promise<DemoDatabase> {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError(
      `--target.url ${JSON.stringify(describeUrl(url))} is not a PostgreSQL URL: use postgres://user@host:5432/db, or leave it out for the embedded TimescaleDB`,
    );
  }
  return {
    url,
    schema: DEMO_SCHEMA,
    client: { connectionString: serverConnectionString({ url, user: undefined, password: undefined }) },
    realServer: true,
  };
}

/**
 * Drops what an earlier demo left in `shadowfill_demo` (only a schema carrying the demo's mark) and creates the
 * schema again, marked. Refuses a schema of that name the demo did not create.
 */
async function prepareDemoSchema(sql: pg.Client): Promise<void> {
  const found = await sql.query<{ mark: string | null }>(
    `SELECT obj_description(n.oid, 'pg_namespace') AS mark FROM pg_namespace n WHERE n.nspname = $1`,
    [DEMO_SCHEMA],
  );
  if (found.rows.length > 0) {
    if (found.rows[0]!.mark !== DEMO_MARK) {
      throw new ConfigError(
        `schema ${DEMO_SCHEMA} already exists and was not created by the demo: the demo will not touch it — drop it yourself or point --target.url at another database`,
      );
    }
    // Aggregate first, then the hypertable (its policies and chunks go with it), then the rest.
    await sql.query(`DROP MATERIALIZED VIEW IF EXISTS ${qualified(DEMO_SCHEMA, AGGREGATE)}`);
    await sql.query(`DROP TABLE IF EXISTS ${qualified(DEMO_SCHEMA, TABLE)}`);
    await sql.query(`DROP SCHEMA ${quoteIdent(DEMO_SCHEMA)} CASCADE`);
  }
  await sql.query(`CREATE SCHEMA ${quoteIdent(DEMO_SCHEMA)}`);
  await sql.query(`COMMENT ON SCHEMA ${quoteIdent(DEMO_SCHEMA)} IS ${quoteLiteral(DEMO_MARK)}`);
}

function configFor(s3: LocalS3Server, db: DemoDatabase, bucket: string, filesPerBatch: number) {
  return loadConfig({
    flags: {
      'target.kind': 'timescaledb',
      'target.url': db.url,
      'target.database': db.schema,
      'target.table': TABLE,
      'source.url': `s3://${bucket}/pypi/*/*.parquet`,
      'source.endpoint': s3.endpoint,
      'source.access_key_id': s3.accessKeyId,
      'source.secret_access_key': s3.secretAccessKey,
      'batch.files': String(filesPerBatch),
    },
    env: {},
  });
}

/** One run through the engine; with `log`, first prints what the adapter found (its describe() notes). */
async function backfill(
  config: ReturnType<typeof loadConfig>,
  onEvent?: EventSink,
  log?: (line: string) => void,
  signal?: AbortSignal,
): Promise<RunReport> {
  const adapter = await createAdapter(config);
  await adapter.connect();
  try {
    if (log) for (const note of (await adapter.describe()).notes) log(`  ${note}`);
    return await runBackfill(config, adapter, { onEvent, ...(signal ? { signal } : {}) });
  } finally {
    await adapter.close();
  }
}

/** Runs `fn` with a connection of its own, closed again before the engine needs the (one-session) server. */
async function withSql<T>(db: DemoDatabase, fn: (sql: pg.Client) => Promise<T>): Promise<T> {
  const sql = new pg.Client(db.client);
  await sql.connect();
  try {
    await sql.query("SET TimeZone = 'UTC'");
    return await fn(sql);
  } finally {
    await sql.end();
  }
}

async function createSchema(sql: pg.Client, schema: string): Promise<void> {
  const table = qualified(schema, TABLE);
  await sql.query(`CREATE TABLE ${table} (${PYPI_PG_COLUMNS})`);
  await sql.query(
    `SELECT create_hypertable(${quoteLiteral(table)}, by_range('timestamp', INTERVAL '1 day'))`,
  );
  await sql.query(
    `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'project',
       timescaledb.compress_orderby = '"timestamp"')`,
  );
  await sql.query(
    `CREATE MATERIALIZED VIEW ${qualified(schema, AGGREGATE)} WITH (timescaledb.continuous) AS
       SELECT time_bucket(INTERVAL '1 day', "timestamp") AS day, project, count(*) AS downloads
         FROM ${table} GROUP BY 1, 2 WITH NO DATA`,
  );
}

/** Adds the 7-day compression policy and runs its job once (the embedded server has no background workers). */
async function compressAsThePolicyWould(sql: pg.Client, schema: string): Promise<number> {
  const added = await sql.query<{ job: number }>(
    `SELECT add_compression_policy(${quoteLiteral(qualified(schema, TABLE))}, INTERVAL '${COMPRESS_AFTER}') AS job`,
  );
  const job = added.rows[0]!.job;
  await sql.query(`CALL run_job($1)`, [job]);
  return job;
}

async function snapshot(sql: pg.Client, schema: string): Promise<Snapshot> {
  const chunks = await sql.query<{ name: string; day: string; status: number; cid: number | null }>(
    `SELECT c.table_name AS name, to_char(ds.range_start, 'YYYY-MM-DD') AS day, c.status,
            c.compressed_chunk_id AS cid
       FROM timescaledb_information.chunks ds
       JOIN _timescaledb_catalog.chunk c ON c.schema_name = ds.chunk_schema AND c.table_name = ds.chunk_name
      WHERE ds.hypertable_schema = $2 AND ds.hypertable_name = $1
      ORDER BY ds.range_start`,
    [TABLE, schema],
  );
  const job = await sql.query<{ job_id: number; scheduled: boolean }>(
    `SELECT job_id, scheduled FROM timescaledb_information.jobs
      WHERE hypertable_schema = $2 AND hypertable_name = $1 AND proc_name = 'policy_compression'`,
    [TABLE, schema],
  );
  return {
    chunks: chunks.rows.map((r) => ({
      name: r.name,
      day: r.day,
      compressed: (r.status & 1) === 1,
      partial: (r.status & 8) === 8,
      compressedChunkId: r.cid,
    })),
    jobId: job.rows[0]?.job_id,
    scheduled: job.rows[0]?.scheduled,
  };
}

async function verify(
  sql: pg.Client,
  schema: string,
  before: Snapshot,
  totalRows: number,
  backfilled: readonly GeneratedFile[],
): Promise<TimescaleDemoVerification> {
  const after = await snapshot(sql, schema);
  const table = qualified(schema, TABLE);
  const count = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
  const aggregate = await sql.query<{ n: string; diff: string }>(
    `WITH raw AS (SELECT time_bucket(INTERVAL '1 day', "timestamp") AS day, project, count(*) AS downloads
                    FROM ${table} GROUP BY 1, 2),
          agg AS (SELECT day, project, downloads FROM ${qualified(schema, AGGREGATE)})
     SELECT (SELECT count(*) FROM agg)::text AS n,
            ((SELECT count(*) FROM (SELECT * FROM raw EXCEPT ALL SELECT * FROM agg) a) +
             (SELECT count(*) FROM (SELECT * FROM agg EXCEPT ALL SELECT * FROM raw) b))::text AS diff`,
  );
  const staging = await sql.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname = $2 AND c.relname LIKE $1`,
    [`${TABLE}\\_v2\\_%`, schema],
  );
  // Days (YYYY-MM-DD) that received backfilled rows: the key's directory is the file's day.
  const backfilledDays = new Set(backfilled.map((f) => f.key.split('/')[1]));
  const afterByName = new Map(after.chunks.map((c) => [c.name, c]));
  const beforeNames = new Set(before.chunks.map((c) => c.name));
  const compressedBefore = before.chunks.filter((c) => c.compressed);
  const stillCompressed = compressedBefore.filter((c) => {
    const now = afterByName.get(c.name);
    return now !== undefined && now.compressed && !now.partial;
  });
  const recompressed = compressedBefore.filter(
    (c) => backfilledDays.has(c.day) && afterByName.get(c.name)?.compressedChunkId !== c.compressedChunkId,
  );
  const outside = compressedBefore.filter((c) => !backfilledDays.has(c.day));
  const untouched = outside.filter((c) => afterByName.get(c.name)?.compressedChunkId === c.compressedChunkId);
  const newChunks = after.chunks.filter((c) => !beforeNames.has(c.name));
  // Past compress_after: the chunk ended more than 7 days ago (1-day chunks).
  const policyBoundary = Date.now() - 7 * DAY_MS;
  const pastPolicy = newChunks.filter((c) => Date.parse(`${c.day}T00:00:00Z`) + DAY_MS <= policyBoundary);
  const pastCompressed = pastPolicy.filter((c) => c.compressed && !c.partial);
  const hypertableRows = Number(count.rows[0]?.n ?? -1);
  const aggregateDifferences = Number(aggregate.rows[0]?.diff ?? -1);
  const v = {
    type: 'demo-verification' as const,
    target: 'timescaledb' as const,
    totalRows,
    hypertableRows,
    aggregateRows: Number(aggregate.rows[0]?.n ?? 0),
    aggregateDifferences,
    compressedBefore: compressedBefore.length,
    compressedAfter: stillCompressed.length,
    recompressed: recompressed.length,
    outsideRange: outside.length,
    outsideRangeUntouched: untouched.length,
    newChunks: newChunks.length,
    newChunksPastPolicy: pastPolicy.length,
    newChunksCompressed: pastCompressed.length,
    policyJob: after.jobId ?? null,
    policyScheduledBefore: before.scheduled ?? null,
    policyScheduledAfter: after.scheduled ?? null,
    stagingTablesLeft: Number(staging.rows[0]?.n ?? -1),
  };
  const ok =
    v.hypertableRows === v.totalRows &&
    v.aggregateDifferences === 0 &&
    v.aggregateRows > 0 &&
    v.compressedBefore > 0 &&
    v.compressedAfter === v.compressedBefore &&
    v.outsideRangeUntouched === v.outsideRange &&
    v.newChunks > 0 &&
    v.newChunksCompressed === v.newChunksPastPolicy &&
    v.policyJob !== null &&
    v.policyScheduledBefore === true &&
    v.policyScheduledAfter === true &&
    v.stagingTablesLeft === 0;
  return { ...v, ok };
}

const mark = (ok: boolean): string => (ok ? 'OK' : 'MISMATCH');

export function verificationText(v: TimescaleDemoVerification): string {
  return [
    'demo verification (read back from the database):',
    `  rows: all files have ${formatCount(v.totalRows)} rows; count(*) of ${TABLE} = ${formatCount(v.hypertableRows)} → ${mark(v.hypertableRows === v.totalRows)}`,
    `  continuous aggregate ${AGGREGATE}: ${formatCount(v.aggregateRows)} (day, project) rows, ${formatCount(v.aggregateDifferences)} differ from a recomputation over ${TABLE} → ${mark(v.aggregateDifferences === 0 && v.aggregateRows > 0)}`,
    `  compressed chunks: ${v.compressedBefore} before, ${v.compressedAfter} of them fully compressed after ` +
      `(${v.recompressed} were decompressed and compressed again) → ${mark(v.compressedBefore > 0 && v.compressedAfter === v.compressedBefore)}`,
    `  chunks outside the backfilled days: ${v.outsideRangeUntouched} of ${v.outsideRange} compressed chunks never decompressed → ${mark(v.outsideRangeUntouched === v.outsideRange)}`,
    `  new chunks (the gap): ${v.newChunks}, ${v.newChunksPastPolicy} past compress_after ${COMPRESS_AFTER}, ${v.newChunksCompressed} of those compressed → ${mark(v.newChunks > 0 && v.newChunksCompressed === v.newChunksPastPolicy)}`,
    `  compression policy job ${v.policyJob ?? '?'}: scheduled before ${v.policyScheduledBefore}, after ${v.policyScheduledAfter} → ${mark(v.policyScheduledBefore === true && v.policyScheduledAfter === true)}`,
    `  staging tables left: ${v.stagingTablesLeft} → ${mark(v.stagingTablesLeft === 0)}`,
    `demo verification: ${mark(v.ok)}`,
  ].join('\n');
}

function dayOf(day: number, firstDay: string): string {
  return new Date(Date.parse(`${firstDay}T00:00:00Z`) + day * DAY_MS).toISOString().slice(0, 10);
}

function dayList(days: readonly number[], firstDay: string): string {
  return days.map((d) => dayOf(d, firstDay)).join(', ');
}

function seconds(since: number): string {
  return formatSeconds((Date.now() - since) / 1000);
}
