/**
 * `postgres-load`: Parquet on S3 → the TimescaleDB adapter's staging table on a real TimescaleDB server (2.28 on
 * Debian's PostgreSQL 15, test/support/postgres-server.ts: fsync off, trust auth) vs `psql \copy` of the same rows
 * as CSV, in one run, for today's fixture (fixtures/pypi.ts, ≈ 5 bytes per row, zstd, millisecond timestamps) and
 * the realistic one (fixtures/pypi-realistic.ts, ≈ 26 bytes per row, snappy, microsecond timestamps).
 *
 * Sides (each loads the same 10 files × 200,000 rows; their order rotates every round):
 * - `psql`: the rows exported once to CSV by chDB (not timed; full timestamp precision), then
 *   `psql -c "\copy … FROM file CSV"` into an UNLOGGED table of the same columns — the reference;
 * - `rows`: the load step as the runner drives it today: one thread reads (S3 range reads), decodes
 *   (readRowChunks) and encodes COPY text (the adapter's `loadBatch`, `rows` input), one connection;
 * - `workers N` (1, 2, 4): the encoded path (`streamInput: 'encoded'`) as the runner will call it — the engine's
 *   `encodedBatch` (src/workers/stream.ts) hands the adapter's `loadBatch` binary COPY pieces made by its encoder
 *   module (adapters/timescaledb/copy-encoder.ts) from columnar Parquet; N workers each load their share of the
 *   objects as one batch over their own connection, decoding in a pool of N threads (`workers 1`: no thread, on
 *   this one), as the scheduler's lanes will.
 * Every engine side writes into the adapter's UNLOGGED staging table (BRIN on the batch column) in one
 * transaction per batch, then summarizes the BRIN index, as the adapter does.
 *
 * Round 1 checks every side's table against psql's (EXCEPT ALL both ways, microseconds included); every round
 * checks counts. CPU seconds of this process (all threads), the PostgreSQL server (postmaster + backends) and the
 * children (S3 server, psql) come from /proc (support/cpu.ts): the machine has 2 cores shared with other work, so
 * wall-time ratios are bounded by what the other work leaves, and the CPU seconds say what each side needs.
 * Then, once per fixture, what the server alone takes (the same binary pieces, pre-encoded, from memory; into a
 * plain table and into the staging table) and what the staging table's BRIN index and autovacuum cost; and the
 * embedded TimescaleDB's load (INSERT … unnest, no COPY, no psql) as a second line.
 *
 *   npm run bench -- postgres-load    (BENCH_QUICK=1: a smoke run with 20× fewer rows and one round)
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { openConnection } from '../adapters/timescaledb/connection.ts';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../adapters/timescaledb/copy-binary.ts';
import { copyEncoderOptions, copyEncoderSpec } from '../adapters/timescaledb/copy-encoder.ts';
import { PYPI_COLUMNS, PYPI_PG_COLUMNS } from '../fixtures/pypi.ts';
import type { RowChunk } from '../src/adapter/contract.ts';
import { acquireEmbeddedTimescale } from '../src/local/timescaledb-server.ts';
import { readRowChunks } from '../src/parquet/rows.ts';
import { zstdDecoderName, zstdReady } from '../src/parquet/zstd.ts';
import { s3AsyncBuffer } from '../src/source/range-reader.ts';
import type { SourceObject } from '../src/source/types.ts';
import { encodedBatch } from '../src/workers/stream.ts';
import { detail, median, summary, timed } from './common.ts';
import { cpuSince, cpuSnapshot, postmasterOf, type CpuSnapshot } from './support/cpu.ts';
import { decodeThreadsFor } from '../src/workers/pool.ts';
import { assertSameRows, countRows, split, warmDecodePool } from './support/load-sides.ts';
import { startLoadBench } from './support/load-bench.ts';
import { createPgStaging, type PgStaging } from './support/pg-staging.ts';
import { psqlCopy } from './support/psql.ts';
import {
  preparePypiFixture,
  pypiFixtureTitle,
  type PypiFixture,
  type PypiFixtureName,
} from './support/pypi-fixture.ts';

/** `BENCH_QUICK=1`: a smoke run with 20× fewer rows and one round (the figures mean nothing). */
const QUICK = process.env['BENCH_QUICK'] === '1';
const FILES = 10;
const ROWS_PER_FILE = QUICK ? 10_000 : 200_000;
const ROW_GROUP_ROWS = QUICK ? 5_000 : 100_000;
const ROUNDS = Number(process.env['POSTGRES_LOAD_ROUNDS'] ?? (QUICK ? 1 : 3));
const WORKERS = [1, 2, 4] as const;
const TARGET = 1.2;
const COLUMNS = PYPI_COLUMNS;
const COLUMN_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');

type Side = 'psql' | 'rows' | `workers ${(typeof WORKERS)[number]}`;
const SIDES: readonly Side[] = ['psql', 'rows', ...WORKERS.map((n) => `workers ${n}` as const)];
const LABEL: Record<Side, string> = {
  psql: 'psql \\copy CSV (reference)',
  rows: 'rows → text COPY, 1 thread, 1 conn',
  'workers 1': 'encoded binary, workers 1 (no thread)',
  'workers 2': 'encoded binary, workers 2',
  'workers 4': 'encoded binary, workers 4',
};
/** POSTGRES_LOAD_FIXTURES=realistic runs one fixture only. */
const FIXTURES = (['today', 'realistic'] as const).filter(
  (f) =>
    !process.env['POSTGRES_LOAD_FIXTURES'] || process.env['POSTGRES_LOAD_FIXTURES'].split(',').includes(f),
);

interface Fixture extends Pick<PypiFixture, 'generated' | 'csv' | 'location' | 'objects' | 'source'> {
  readonly name: PypiFixtureName;
  readonly title: string;
  readonly psqlTable: string;
  /** One staging loader per connection (lane). */
  readonly lanes: readonly PgStaging[];
}

interface Measured {
  readonly seconds: number;
  readonly cpu: CpuSnapshot;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pad = (text: string, width: number) => text.padEnd(width);
const lpad = (text: string, width: number) => text.padStart(width);

/** The runner's stream for one batch today: each object's row groups decoded in order on this thread. */
async function* streamRows(client: S3Client, objects: readonly SourceObject[]): AsyncIterable<RowChunk> {
  for (const object of objects) {
    yield* readRowChunks(s3AsyncBuffer(client, object), object, { columns: [...COLUMNS] });
  }
}

/** COPY of pre-encoded binary pieces from memory on one connection: what the server alone takes. */
async function copyBinary(raw: pg.Client, table: string, pieces: readonly Uint8Array[]): Promise<void> {
  {
    const stream = raw.query(
      copyFrom(`COPY ${table} (${COLUMN_LIST}, _shadowfill_batch) FROM STDIN (FORMAT binary)`),
    );
    const done = new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', reject);
    });
    for (const piece of [BINARY_COPY_HEADER, ...pieces, BINARY_COPY_TRAILER]) {
      if (!stream.write(piece)) await new Promise((resolve) => stream.once('drain', resolve));
    }
    stream.end();
    await done;
  }
}

/** The adapter's load step on the embedded TimescaleDB (INSERT … unnest path) for one file: a second line. */
async function embeddedLine(root: string, client: S3Client, fixture: Fixture): Promise<void> {
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
    await db.query(`CREATE TABLE pypi (${PYPI_PG_COLUMNS})`);
    const staging = await createPgStaging(db, 'public', 'pypi', 'timestamp', fixture.source, 'emb', 'insert');
    const objects = fixture.objects.slice(0, 1);
    const rows = ROWS_PER_FILE;
    const load = await timed(() => staging.load(0, { kind: 'rows', chunks: streamRows(client, objects) }));
    if (load.value.rowsWritten !== rows)
      throw new Error(`the embedded load wrote ${load.value.rowsWritten} rows`);
    detail(
      `embedded TimescaleDB ${lease.server.version}: adapter load step (rows → INSERT … unnest; no COPY, no psql there) of one file of ${fixture.name}'s fixture, ` +
        `${int(rows)} rows: ${fmt(load.seconds)} s (${int(rows / load.seconds)} rows/s)`,
    );
    summary(
      'postgres-load/embedded',
      rows / load.seconds,
      'rows/s',
      undefined,
      'embedded TimescaleDB (PGlite, INSERT … unnest: no COPY, no psql to compare with)',
    );
  } finally {
    await db.close();
    await lease.release();
  }
}

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const bench = await startLoadBench('postgres-load', FIXTURES);
  const { dir, s3, server, sql, clients, pools, connection } = bench;
  try {
    const lanes = await Promise.all(Array.from({ length: Math.max(...WORKERS) }, connection));
    await zstdReady();
    const backend = await lanes[0]!.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const postmaster = postmasterOf(backend[0]!.pid);
    detail(
      `TimescaleDB ${bench.timescaledb} on ${server.version} (fsync off); ${cpus().length} cores shared with other work ` +
        `(load average ${fmt(load0)} at the start); ZSTD pages decoded by ${zstdDecoderName()}`,
    );

    // ---- fixtures: the same 10 files × 200,000 rows, today's and realistic ----
    const fixtures: Fixture[] = [];
    for (const name of FIXTURES) {
      const f = await preparePypiFixture({
        name,
        dir: dir.path,
        s3,
        files: FILES,
        rowsPerFile: ROWS_PER_FILE,
        rowGroupRows: ROW_GROUP_ROWS,
      });
      clients.push(f.client);
      const { csv, location, objects, source } = f;
      const table = `pypi_${name}`;
      const psqlTable = `pypi_psql_${name}`;
      await sql.query(`CREATE TABLE ${table} (${PYPI_PG_COLUMNS})`);
      await sql.query(`CREATE UNLOGGED TABLE ${psqlTable} (LIKE ${table} INCLUDING DEFAULTS)`);
      const staging: PgStaging[] = [];
      for (const lane of lanes) {
        // One staging table per fixture; every lane's loader writes into it over its own connection.
        staging.push(await createPgStaging(lane, 'public', table, 'timestamp', source, 'bench'));
      }
      const title = pypiFixtureTitle(name, f, ROW_GROUP_ROWS);
      detail(`${title}; generated in ${fmt(f.seconds, 1)} s`);
      fixtures.push({
        name,
        title,
        generated: f.generated,
        csv,
        location,
        objects,
        source,
        psqlTable,
        lanes: staging,
      });
    }

    // ---- decode pools, started and warmed before timing (a run keeps its pool for its whole life) ----
    for (const n of WORKERS.filter((w) => w > 1)) {
      // The pool the runner starts for n workers: one thread per worker up to the machine's cores.
      const threads = decodeThreadsFor(n, true)?.threads ?? 1;
      const f = fixtures[0]!;
      const warm = await warmDecodePool(threads, f, f.lanes[0]!);
      pools.set(n, warm.pool);
      detail(
        `decode pool of ${threads} thread(s) for ${n} workers started in ${fmt(warm.seconds)} s (once per run; not timed below)`,
      );
    }

    const measured = async (fn: () => Promise<unknown>): Promise<Measured> => {
      const before = cpuSnapshot(postmaster);
      const run = await timed(fn);
      return { seconds: run.seconds, cpu: cpuSince(before, cpuSnapshot(postmaster)) };
    };
    const results = new Map<string, Measured[]>();
    for (const fixture of fixtures) {
      const rows = fixture.generated.totalRows;
      const stagingTable = `"${fixture.lanes[0]!.staging}"`;
      const client = clients[fixtures.indexOf(fixture)]!;
      for (let round = 0; round < ROUNDS; round++) {
        const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length]!);
        if (round === 0) order.sort((a, b) => (a === 'psql' ? -1 : b === 'psql' ? 1 : 0));
        const line: string[] = [];
        for (const side of order) {
          await sql.query(side === 'psql' ? `TRUNCATE ${fixture.psqlTable}` : `TRUNCATE ${stagingTable}`);
          await sql.query('CHECKPOINT');
          let result: Measured;
          if (side === 'psql') {
            result = await measured(() => psqlCopy(server.url, fixture.psqlTable, fixture.csv));
          } else if (side === 'rows') {
            result = await measured(() =>
              fixture.lanes[0]!.load(0, { kind: 'rows', chunks: streamRows(client, fixture.objects) }),
            );
          } else {
            const n = Number(side.split(' ')[1]);
            const pool = pools.get(n);
            result = await measured(async () => {
              const written = await Promise.all(
                split(fixture.objects, n).map((objects, lane) => {
                  const staging = fixture.lanes[lane]!;
                  return staging.load(lane, {
                    kind: 'encoded',
                    pieces: encodedBatch({
                      pool,
                      client,
                      location: fixture.location,
                      objects,
                      columns: COLUMNS,
                      filter: undefined,
                      encoder: copyEncoderSpec(copyEncoderOptions(staging.mapping, lane, 'public.pypi')),
                    }),
                  });
                }),
              );
              const total = written.reduce((a, b) => a + b.rowsWritten, 0);
              if (total !== rows) throw new Error(`${side} wrote ${total} rows, expected ${rows}`);
            });
          }
          const table = side === 'psql' ? fixture.psqlTable : stagingTable;
          const landed = await countRows(sql, table);
          if (landed !== rows) throw new Error(`${fixture.name} ${side}: ${table} holds ${landed} rows`);
          if (round === 0 && side !== 'psql') await assertSameRows(sql, stagingTable, fixture.psqlTable);
          const key = `${fixture.name}/${side}`;
          results.set(key, [...(results.get(key) ?? []), result]);
          line.push(`${side} ${fmt(result.seconds)} s`);
        }
        detail(
          `${fixture.name} round ${round + 1}: ${line.join(', ')}${round === 0 ? ' — every side verified to hold exactly psql’s rows' : ''}`,
        );
      }
    }

    // ---- what the server alone takes, and what the staging table's BRIN index and autovacuum cost ----
    const serverOnly = new Map<string, string>();
    // A backend's CPU is read while it lives (a closed one's only once the postmaster has reaped it).
    const raw = new pg.Client({ connectionString: server.url });
    await raw.connect();
    for (const fixture of fixtures) {
      const client = clients[fixtures.indexOf(fixture)]!;
      const pieces: Uint8Array[] = [];
      for await (const piece of encodedBatch({
        pool: undefined,
        client,
        location: fixture.location,
        objects: fixture.objects,
        columns: COLUMNS,
        filter: undefined,
        encoder: copyEncoderSpec(copyEncoderOptions(fixture.lanes[0]!.mapping, 0, 'public.pypi')),
      }))
        pieces.push(piece.bytes);
      const stagingTable = `"${fixture.lanes[0]!.staging}"`;
      const plain = `pypi_plain_${fixture.name}`;
      await sql.query(`CREATE UNLOGGED TABLE ${plain} (LIKE ${stagingTable} INCLUDING DEFAULTS)`);
      const variants: [string, string, string | undefined][] = [
        ['into a table without indexes', plain, undefined],
        [
          'into the staging table (BRIN on the batch column, autovacuum off, as the adapter creates it)',
          stagingTable,
          undefined,
        ],
        [
          'into the staging table with autovacuum on for it',
          stagingTable,
          `ALTER TABLE ${stagingTable} SET (autovacuum_enabled = on)`,
        ],
      ];
      const texts: string[] = [];
      for (const [label, table, prepare] of variants) {
        await sql.query(`TRUNCATE ${table}`);
        if (prepare) await sql.query(prepare);
        await sql.query('CHECKPOINT');
        const m = await measured(() => copyBinary(raw, table, pieces));
        texts.push(
          `${label} ${fmt(m.seconds)} s, PostgreSQL CPU ${fmt(m.cpu.postgres)} s (${fmt((m.cpu.postgres / fixture.generated.totalRows) * 1e6)} µs/row)`,
        );
      }
      await sql.query(`ALTER TABLE ${stagingTable} SET (autovacuum_enabled = off)`);
      await sql.query(`DROP TABLE ${plain}`);
      await sql.query(`TRUNCATE ${stagingTable}`);
      serverOnly.set(fixture.name, texts.join('; '));
    }
    await raw.end();

    // ---- side by side ----
    const load1 = loadavg()[0]!;
    const best = new Map<string, { side: Side; ratio: number; rowsPerSecond: number; psql: number }>();
    for (const fixture of fixtures) {
      const rows = fixture.generated.totalRows;
      const med = (side: Side, f: (m: Measured) => number) =>
        median(results.get(`${fixture.name}/${side}`)!.map(f));
      const psql = med('psql', (m) => m.seconds);
      const psqlCpu = med('psql', (m) => m.cpu.self + m.cpu.postgres + m.cpu.children);
      detail('');
      detail(fixture.title);
      detail(
        `${pad('side', 40)}${lpad('wall s', 8)}${lpad('rows/s', 12)}${lpad('vs psql', 9)}   ` +
          `${lpad('CPU s: Node', 11)}${lpad('Postgres', 9)}${lpad('S3/psql', 9)}${lpad('total', 7)}${lpad('CPU vs psql', 13)}${lpad('Node µs/row', 13)}`,
      );
      for (const side of SIDES) {
        const wall = med(side, (m) => m.seconds);
        const node = med(side, (m) => m.cpu.self);
        const total = med(side, (m) => m.cpu.self + m.cpu.postgres + m.cpu.children);
        detail(
          `${pad(LABEL[side], 40)}${lpad(fmt(wall), 8)}${lpad(int(rows / wall), 12)}${lpad(`${fmt(psql / wall)} ×`, 9)}   ` +
            `${lpad(fmt(node, 1), 11)}${lpad(
              fmt(
                med(side, (m) => m.cpu.postgres),
                1,
              ),
              9,
            )}${lpad(
              fmt(
                med(side, (m) => m.cpu.children),
                1,
              ),
              9,
            )}` +
            `${lpad(fmt(total, 1), 7)}${lpad(`${fmt(psqlCpu / total)} ×`, 13)}${lpad(fmt((node / rows) * 1e6), 13)}`,
        );
        if (side.startsWith('workers')) {
          const ratio = psql / wall;
          const current = best.get(fixture.name);
          if (!current || ratio > current.ratio)
            best.set(fixture.name, { side, ratio, rowsPerSecond: rows / wall, psql });
        }
      }
      detail(
        `server alone, the same binary pieces from memory, one connection: ${serverOnly.get(fixture.name)}`,
      );
    }
    detail('');
    detail(
      `medians of ${ROUNDS} round(s); "vs psql" = psql wall ÷ side wall (> 1: faster than psql); "CPU vs psql" = psql's total CPU ÷ the ` +
        `side's. ${cpus().length} cores shared with other work: load average ${fmt(load0)} at the start, ${fmt(load1)} at the end.`,
    );

    for (const fixture of fixtures) {
      const b = best.get(fixture.name)!;
      summary(
        fixture.name === 'today' ? 'postgres-load' : 'postgres-load/realistic',
        b.rowsPerSecond,
        'rows/s',
        b.ratio,
        `real TimescaleDB server, ${fixture.name === 'today' ? "today's" : 'realistic'} fixture: engine load step (encoded binary COPY, ${b.side}) ` +
          `vs psql \\copy CSV at ${int(fixture.generated.totalRows / b.psql)} rows/s; target ≥ ${TARGET} ×: ${b.ratio >= TARGET ? 'met' : 'NOT met'} ` +
          `(load average ${fmt(load0)} → ${fmt(load1)})`,
      );
    }

    // ---- second line: the embedded TimescaleDB (INSERT … unnest; no COPY, no psql there) ----
    await embeddedLine(dir.path, clients[0]!, fixtures[0]!);
  } finally {
    await bench.close();
  }
}

await main();
