/**
 * `postgres-load`: Parquet → PostgreSQL through the engine's client-side path vs `psql \copy` of the same rows as
 * CSV, both into the same real TimescaleDB server (2.28 on Debian's PostgreSQL 15, test/support/postgres-server.ts:
 * fsync off, trust auth); the embedded TimescaleDB's figure (INSERT path, no COPY, no psql) as a second line.
 *
 * The load step: the adapter's load as the runner drives it for one batch: `readRowChunks` over `s3AsyncBuffer`
 * range reads from a local S3 server (s3rver, child process) → the adapter's `loadBatch` (COPY text format, one
 * transaction, `synchronous_commit = off`) into the adapter's UNLOGGED staging table, then its BRIN summarize. The psql side: the same rows exported to one CSV file by chDB from the same Parquet files
 * (not timed), then `psql -c "\copy … FROM file CSV"` into an UNLOGGED table of the same columns (timed: the
 * psql process's wall time). Each round runs psql, the engine, and a what-if: the engine with timestamps
 * formatted the cheap way (support/fast-timestamp.ts). Summary: median engine rows/s and psql ÷ engine time.
 * Round 1 checks that each table holds exactly psql's rows (EXCEPT ALL both ways); every round checks counts.
 * CPU seconds of Node, PostgreSQL and the S3 server / psql are read from /proc (support/cpu.ts): the machine
 * is shared, so CPU seconds show what limits each side better than wall time.
 *
 * Then where the engine's time goes, on the same files: decode only (S3 + readRowChunks), decode + encode to
 * COPY text (the loader's loop, not sent), the server taking that pre-encoded text from Node on one connection
 * (into a table without indexes, and into the staging table), and the adapter's loader on two connections at
 * once (half the files each).
 *
 * End to end into a hypertable: `runBackfill` (validate, load, swap) into an empty hypertable vs `psql \copy` of the
 * CSV straight into an identical empty hypertable (2 rounds). Target (reached in the scheduler issue): load
 * ≥ 1.2 × psql.
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openConnection, type PgConnection } from '../adapters/timescaledb/connection.ts';
import { createTimescaleAdapter } from '../adapters/timescaledb/index.ts';
import { defineConfig } from '../src/config/define.ts';
import { acquireEmbeddedTimescale } from '../src/local/timescaledb-server.ts';
import { runBackfill } from '../src/runner/run.ts';
import { copyField, encoderFor } from '../adapters/timescaledb/encode.ts';
import { generatePypiParquet, PYPI_COLUMNS, PYPI_PG_COLUMNS } from '../fixtures/pypi.ts';
import { uploadDirectory } from '../fixtures/upload.ts';
import type { RowChunk } from '../src/adapter/contract.ts';
import { startLocalS3 } from '../src/local/s3-server.ts';
import { readRowChunks } from '../src/parquet/rows.ts';
import { readSourceSchema } from '../src/parquet/schema.ts';
import { listObjects } from '../src/source/list-objects.ts';
import { resolveLocation } from '../src/source/location.ts';
import { s3AsyncBuffer } from '../src/source/range-reader.ts';
import { createS3Client } from '../src/source/s3-client.ts';
import type { SourceColumn, SourceObject } from '../src/source/types.ts';
import { startTestPostgres } from '../test/support/postgres-server.ts';
import { detail, median, scratchDir, summary, timed } from './common.ts';
import { cpuSince, cpuSnapshot, postmasterOf, type CpuSnapshot } from './support/cpu.ts';
import { preformatTimestamps } from './support/fast-timestamp.ts';
import { createPgStaging, type PgStaging } from './support/pg-staging.ts';
import { exportPypiCsv, psqlCopy } from './support/psql.ts';

/** `BENCH_QUICK=1`: a smoke run with 20× fewer rows and one round (the figures mean nothing). */
const QUICK = process.env['BENCH_QUICK'] === '1';
const FILES = 10;
const ROWS_PER_FILE = QUICK ? 10_000 : 200_000;
const ROW_GROUP_ROWS = QUICK ? 5_000 : 100_000;
const ROUNDS = QUICK ? 1 : 3;
/** Rows per COPY write in adapters/timescaledb/load.ts (COPY_PIECE_ROWS). */
const COPY_PIECE_ROWS = 4096;

const COLUMNS = PYPI_COLUMNS;
const TABLE_SQL = `CREATE TABLE pypi (${PYPI_PG_COLUMNS})`;
const COLUMN_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');

const rate = (rows: number, seconds: number) =>
  `${Math.round(rows / seconds).toLocaleString('en-US')} rows/s`;

/** The runner's client-side stream for one batch: each object's row groups, decoded, in order. */
async function* streamRows(
  client: S3Client,
  objects: readonly SourceObject[],
  columns: readonly string[],
): AsyncIterable<RowChunk> {
  for (const object of objects) {
    yield* readRowChunks(s3AsyncBuffer(client, object), object, { columns: [...columns] });
  }
}

/**
 * Decoded rows encoded to COPY text as the adapter's loader does (encode.ts encoders, `copyField`, pieces of 4096
 * rows, each turned into bytes as the COPY stream does), kept instead of sent.
 */
function encodeChunk(
  chunk: RowChunk,
  encoders: readonly ((v: unknown) => string | null)[],
  columns: readonly string[],
  out: Buffer[],
): void {
  const values = columns.map((c) => chunk.columns.get(c)!);
  for (let start = 0; start < chunk.numRows; start += COPY_PIECE_ROWS) {
    const end = Math.min(chunk.numRows, start + COPY_PIECE_ROWS);
    let text = '';
    for (let i = start; i < end; i++) {
      for (let c = 0; c < values.length; c++) {
        if (c > 0) text += '\t';
        text += copyField(encoders[c]!(values[c]![i] ?? null));
      }
      text += '\t0\n';
    }
    out.push(Buffer.from(text));
  }
}

/** COPY of already encoded text from Node on one connection into `table`: what the server takes in. */
async function copyText(url: string, table: string, pieces: readonly Buffer[]): Promise<void> {
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  try {
    const stream = raw.query(copyFrom(`COPY ${table} (${COLUMN_LIST}, _shadowfill_batch) FROM STDIN`));
    const done = new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
    });
    for (const piece of pieces) {
      if (!stream.write(piece)) await new Promise((resolve) => stream.once('drain', resolve));
    }
    stream.end();
    await done;
  } finally {
    await raw.end();
  }
}

/** The adapter's load step on the embedded TimescaleDB (its INSERT … unnest path), one round: a second line. */
async function embeddedLine(
  root: string,
  client: S3Client,
  objects: readonly SourceObject[],
  source: SourceColumn[],
  totalRows: number,
): Promise<void> {
  const dbDir = join(root, 'embedded');
  const lease = await acquireEmbeddedTimescale({ directory: dbDir });
  const db = openConnection({
    kind: 'timescaledb',
    url: `embedded:${dbDir}`,
    database: 'public',
    table: 'pypi',
    user: undefined,
    password: undefined,
  });
  try {
    await db.connect();
    await db.query(TABLE_SQL);
    const staging = await createPgStaging(db, 'public', 'pypi', 'timestamp', source, 'bench', 'insert');
    const load = await timed(() => staging.load(0, streamRows(client, objects, COLUMNS)));
    if (load.value.rowsWritten !== totalRows)
      throw new Error(`the embedded load wrote ${load.value.rowsWritten} rows, expected ${totalRows}`);
    detail(
      `embedded TimescaleDB ${lease.server.version}: adapter load step (INSERT … unnest, ${totalRows.toLocaleString('en-US')} rows) ${load.seconds.toFixed(2)} s (${rate(totalRows, load.seconds)}); no psql there`,
    );
    summary(
      'postgres-load/embedded',
      totalRows / load.seconds,
      'rows/s',
      undefined,
      'embedded TimescaleDB (PGlite, INSERT … unnest: no COPY, no psql to compare with)',
    );
  } finally {
    await db.close();
    await lease.release();
  }
}

async function rowCount(sql: pg.Client, table: string): Promise<number> {
  const r = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(r.rows[0]?.n);
}

async function main(): Promise<void> {
  const dir = await scratchDir('postgres-load');
  const s3 = await startLocalS3({ directory: join(dir.path, 's3'), buckets: ['load'] });
  const server = await startTestPostgres({ timescaledb: true });
  const connections: PgConnection[] = [];
  const clients: S3Client[] = [];
  const sql = new pg.Client({ connectionString: server.url });
  const target = {
    kind: 'timescaledb' as const,
    url: server.url,
    database: 'public',
    table: 'pypi',
    user: undefined,
    password: undefined,
  };
  const connection = () => {
    const c = openConnection(target);
    connections.push(c);
    return c;
  };
  try {
    // ---- data: Parquet files on S3, and the same rows as one CSV for psql ----
    const parquetDir = join(dir.path, 'parquet');
    const gen = await timed(() =>
      generatePypiParquet({
        dir: parquetDir,
        files: Array.from({ length: FILES }, (_, i) => i),
        rowsPerFile: ROWS_PER_FILE,
        rowGroupRows: ROW_GROUP_ROWS,
        days: 2,
      }),
    );
    const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
    await uploadDirectory(s3.endpoint, 'load', parquetDir, credentials);
    const totalRows = gen.value.totalRows;
    const parquetBytes = gen.value.files.reduce((n, f) => n + f.bytes, 0);
    const csv = join(dir.path, 'pypi.csv');
    const exported = await timed(() => exportPypiCsv(`${parquetDir}/pypi/*/*.parquet`, csv));
    detail(
      `${FILES} PyPI files × ${ROWS_PER_FILE.toLocaleString('en-US')} rows (row groups of ${ROW_GROUP_ROWS.toLocaleString('en-US')}, zstd): ` +
        `${totalRows.toLocaleString('en-US')} rows, ${(parquetBytes / 1e6).toFixed(1)} MB of Parquet ` +
        `(generated in ${gen.seconds.toFixed(1)} s; CSV for psql exported by chDB in ${exported.seconds.toFixed(1)} s)`,
    );

    // ---- target: Debian PostgreSQL, the adapter's staging table and psql's table ----
    await sql.connect();
    await sql.query(TABLE_SQL);
    await sql.query(`CREATE UNLOGGED TABLE pypi_psql (LIKE pypi INCLUDING DEFAULTS)`);
    const location = resolveLocation({
      url: `s3://load/pypi/*/*.parquet`,
      endpoint: s3.endpoint,
      region: 'us-east-1',
      credentials,
    });
    const client = createS3Client(location);
    clients.push(client);
    const objects = await listObjects(client, location);
    const schema = await readSourceSchema(s3AsyncBuffer(client, objects[0]!), objects[0]!);
    const source: SourceColumn[] = COLUMNS.map((name) => schema.columns.find((c) => c.name === name)!);
    const db = connection();
    await db.connect();
    const staging: PgStaging = await createPgStaging(db, 'public', 'pypi', 'timestamp', source, 'bench');
    const extension = await db.query<{ v: string }>(
      `SELECT extversion AS v FROM pg_extension WHERE extname = 'timescaledb'`,
    );
    detail(
      `TimescaleDB ${extension[0]?.v ?? '?'} on ${server.version}; engine: COPY into UNLOGGED ${staging.staging} (+ BRIN summarize); psql: \\copy CSV into UNLOGGED pypi_psql`,
    );

    const backend = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const postmaster = postmasterOf(backend[0]!.pid);
    const cpuText = (c: CpuSnapshot) =>
      `CPU: Node ${c.self.toFixed(1)} s, PostgreSQL ${c.postgres.toFixed(1)} s, S3 server/psql ${c.children.toFixed(1)} s`;
    const measured = async <T>(fn: () => Promise<T>) => {
      const before = cpuSnapshot(postmaster);
      const run = await timed(fn);
      return { ...run, cpu: cpuSince(before, cpuSnapshot(postmaster)) };
    };
    const sameRows = async (table: string): Promise<void> => {
      const diff = await sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM ((SELECT ${COLUMN_LIST} FROM ${table} EXCEPT ALL SELECT ${COLUMN_LIST} FROM pypi_psql)
         UNION ALL (SELECT ${COLUMN_LIST} FROM pypi_psql EXCEPT ALL SELECT ${COLUMN_LIST} FROM ${table})) d`,
      );
      if (Number(diff.rows[0]?.n) !== 0) {
        throw new Error(`${table} and pypi_psql differ in ${diff.rows[0]?.n} rows`);
      }
    };
    const stagingTable = `"${staging.staging}"`;

    const engineSeconds: number[] = [];
    const fastSeconds: number[] = [];
    const psqlSeconds: number[] = [];
    const cpus: Record<'engine' | 'fast' | 'psql', CpuSnapshot[]> = { engine: [], fast: [], psql: [] };
    for (let round = 0; round < ROUNDS; round++) {
      await sql.query('TRUNCATE pypi_psql');
      await sql.query('CHECKPOINT');
      const psql = await measured(() => psqlCopy(server.url, 'pypi_psql', csv));
      if ((await rowCount(sql, 'pypi_psql')) !== totalRows)
        throw new Error(`psql \\copy did not load ${totalRows} rows`);
      const loads: string[] = [];
      for (const variant of ['engine', 'fast'] as const) {
        await staging.truncate();
        await sql.query('CHECKPOINT');
        const rows = streamRows(client, objects, COLUMNS);
        const load = await measured(() =>
          staging.load(round, variant === 'engine' ? rows : preformatTimestamps(rows, 'timestamp')),
        );
        const landed = await rowCount(sql, stagingTable);
        if (load.value.rowsWritten !== totalRows || landed !== totalRows) {
          throw new Error(
            `round ${round + 1} (${variant}): wrote ${load.value.rowsWritten}, table has ${landed}; expected ${totalRows}`,
          );
        }
        if (round === 0) await sameRows(stagingTable);
        (variant === 'engine' ? engineSeconds : fastSeconds).push(load.seconds);
        cpus[variant].push(load.cpu);
        loads.push(
          `${variant === 'engine' ? 'engine' : 'what-if fast timestamps'} ${load.seconds.toFixed(2)} s (${rate(totalRows, load.seconds)}; ${cpuText(load.cpu)})`,
        );
      }
      psqlSeconds.push(psql.seconds);
      cpus.psql.push(psql.cpu);
      detail(
        `round ${round + 1}: psql \\copy ${psql.seconds.toFixed(2)} s (${rate(totalRows, psql.seconds)}; ${cpuText(psql.cpu)})`,
      );
      for (const line of loads) detail(`         ${line}`);
      if (round === 0) detail('         (round 1: each table verified to hold exactly the rows psql loaded)');
    }
    const engine = median(engineSeconds);
    const fast = median(fastSeconds);
    const psql = median(psqlSeconds);
    detail(
      `median: psql \\copy ${psql.toFixed(2)} s, engine ${engine.toFixed(2)} s (${(psql / engine).toFixed(2)} ×), ` +
        `what-if fast timestamps ${fast.toFixed(2)} s (${(psql / fast).toFixed(2)} ×)`,
    );
    const cpuMedian = (k: keyof typeof cpus, f: (c: CpuSnapshot) => number) =>
      median(cpus[k].map(f)).toFixed(1);
    detail(
      `median CPU seconds (Node / PostgreSQL / S3 server or psql): psql \\copy ${cpuMedian('psql', (c) => c.self)} / ${cpuMedian('psql', (c) => c.postgres)} / ${cpuMedian('psql', (c) => c.children)}, ` +
        `engine ${cpuMedian('engine', (c) => c.self)} / ${cpuMedian('engine', (c) => c.postgres)} / ${cpuMedian('engine', (c) => c.children)}, ` +
        `what-if ${cpuMedian('fast', (c) => c.self)} / ${cpuMedian('fast', (c) => c.postgres)} / ${cpuMedian('fast', (c) => c.children)}`,
    );

    // ---- where the engine's time goes ----
    await staging.truncate();
    const decodeOnly = await measured(async () => {
      let n = 0;
      for await (const chunk of streamRows(client, objects, COLUMNS)) n += chunk.numRows;
      return n;
    });
    const encoders = source.map((c) => encoderFor('text', c.type));
    encoders[0] = encoderFor('timestamp with time zone', source[0]!.type);
    const pieces: Buffer[] = [];
    const decodeEncode = await measured(async () => {
      for await (const chunk of streamRows(client, objects, COLUMNS))
        encodeChunk(chunk, encoders, COLUMNS, pieces);
    });
    const textBytes = pieces.reduce((n, t) => n + t.byteLength, 0);
    await sql.query(`CREATE UNLOGGED TABLE pypi_text (LIKE ${stagingTable})`);
    const copyPlain = await measured(() => copyText(server.url, 'pypi_text', pieces));
    await staging.truncate();
    const copyStaging = await measured(() => copyText(server.url, stagingTable, pieces));
    pieces.length = 0;
    await staging.truncate();
    const second = connection();
    await second.connect();
    const secondStaging = await createPgStaging(second, 'public', 'pypi', 'timestamp', source, 'bench');
    const half = Math.ceil(objects.length / 2);
    const parallel = await measured(() =>
      Promise.all([
        staging.load(0, streamRows(client, objects.slice(0, half), COLUMNS)),
        secondStaging.load(1, streamRows(client, objects.slice(half), COLUMNS)),
      ]),
    );
    const parallelRows = parallel.value.reduce((n, r) => n + r.rowsWritten, 0);
    if (parallelRows !== totalRows)
      throw new Error(`two connections wrote ${parallelRows} rows, expected ${totalRows}`);
    const perCpu = (rows: number, seconds: number) =>
      `${Math.round(rows / seconds).toLocaleString('en-US')} rows per Node CPU-second`;
    detail(
      `decode only (S3 range reads + readRowChunks): ${decodeOnly.seconds.toFixed(2)} s, Node CPU ${decodeOnly.cpu.self.toFixed(1)} s ` +
        `(${perCpu(totalRows, decodeOnly.cpu.self)})`,
    );
    detail(
      `decode + encode to COPY text (the loader's loop, not sent): ${decodeEncode.seconds.toFixed(2)} s, Node CPU ${decodeEncode.cpu.self.toFixed(1)} s ` +
        `(encode alone ≈ ${perCpu(totalRows, decodeEncode.cpu.self - decodeOnly.cpu.self)}; ${(textBytes / 1e6).toFixed(0)} MB of COPY text)`,
    );
    detail(
      `server taking that pre-encoded COPY text from Node, one connection, into a table without indexes: ${copyPlain.seconds.toFixed(2)} s, ` +
        `${rate(totalRows, copyPlain.seconds)} (${cpuText(copyPlain.cpu)}); into the staging table (BRIN on the batch column): ` +
        `${copyStaging.seconds.toFixed(2)} s, ${rate(totalRows, copyStaging.seconds)} (${cpuText(copyStaging.cpu)})`,
    );
    detail(
      `adapter loader on two connections at once (${half} files each): ${parallel.seconds.toFixed(2)} s, ${rate(totalRows, parallel.seconds)} (${cpuText(parallel.cpu)})`,
    );

    // ---- end to end into a hypertable: the engine's whole run vs psql \copy straight into the hypertable ----
    const e2e: { engine: number; psql: number }[] = [];
    for (let round = 0; round < 2; round++) {
      for (const side of ['psql', 'engine'] as const) {
        const table = `pypi_e2e_${side}_${round}`;
        await sql.query(`CREATE TABLE ${table} (LIKE pypi)`);
        await sql.query(`SELECT create_hypertable('${table}', by_range('timestamp', INTERVAL '1 day'))`);
        await sql.query('CHECKPOINT');
        let seconds: number;
        if (side === 'psql') {
          seconds = await psqlCopy(server.url, table, csv);
        } else {
          const config = defineConfig({
            target: { kind: 'timescaledb', url: server.url, table },
            source: {
              url: 's3://load/pypi/*/*.parquet',
              endpoint: s3.endpoint,
              credentials,
            },
            batch: { files: 1000, bytes: 1e12 },
            attempts: 1,
          });
          const adapter = createTimescaleAdapter(config);
          await adapter.connect();
          try {
            const run = await timed(() => runBackfill(config, adapter));
            seconds = run.seconds;
            const phases = Object.entries(run.value.phases)
              .map(([k, v]) => `${k} ${v.toFixed(2)}`)
              .join(', ');
            detail(`end to end round ${round + 1}: engine run ${seconds.toFixed(2)} s (${phases})`);
          } finally {
            await adapter.close();
          }
        }
        if ((await rowCount(sql, table)) !== totalRows)
          throw new Error(`${table} does not hold ${totalRows} rows`);
        if (side === 'psql')
          detail(`end to end round ${round + 1}: psql \\copy into the hypertable ${seconds.toFixed(2)} s`);
        e2e[round] = { ...(e2e[round] ?? { engine: 0, psql: 0 }), [side]: seconds };
        await sql.query(`DROP TABLE ${table}`);
      }
    }
    const e2eEngine = median(e2e.map((r) => r.engine));
    const e2ePsql = median(e2e.map((r) => r.psql));
    detail(
      `end to end into an empty hypertable, median of 2: psql \\copy ${e2ePsql.toFixed(2)} s, engine run ${e2eEngine.toFixed(2)} s (${(e2ePsql / e2eEngine).toFixed(2)} ×)`,
    );

    const ratio = psql / engine;
    summary(
      'postgres-load',
      totalRows / engine,
      'rows/s',
      ratio,
      `real TimescaleDB server: engine load step (adapter COPY loader, one connection) vs psql \\copy CSV at ${rate(totalRows, psql)}; target ≥ 1.2 ×: ${ratio >= 1.2 ? 'met' : 'NOT met'}`,
    );

    // ---- second line: the embedded TimescaleDB (INSERT … unnest; no COPY, no psql there) ----
    await embeddedLine(dir.path, client, objects, source, totalRows);
  } finally {
    for (const c of clients) c.destroy();
    await sql.end().catch(() => undefined);
    for (const c of connections) await c.close().catch(() => undefined);
    await server.stop();
    await s3.stop();
    await dir.remove();
  }
}

await main();
