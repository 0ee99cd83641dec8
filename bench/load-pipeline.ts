/**
 * `load-pipeline`: the load step off the main thread, measured against `psql \copy` on the real TimescaleDB server
 * (test/support/postgres-server.ts `startTestPostgres({ timescaledb: true })`: TimescaleDB 2.28 on PostgreSQL 15,
 * fsync off), for today's fixture (fixtures/pypi.ts, ≈ 5 bytes per row) and the realistic one
 * (fixtures/pypi-realistic.ts, ≈ 26 bytes per row), in one run. The same rows, loaded five ways:
 *
 * - `psql \copy` of the rows as one CSV file (exported by chDB from the same Parquet, not timed) into an UNLOGGED
 *   table of the same columns — the reference;
 * - today's path: one Node thread downloads (ranged GETs from a local S3 server), decodes (readRowChunks) and
 *   encodes COPY text, over one connection — the TimescaleDB adapter's own `loadBatch` (adapters/timescaledb/
 *   load.ts) into its UNLOGGED staging table (BRIN on the batch column), one transaction, then BRIN summarize;
 * - the pipeline with workers 1, 2 and 4: the decode pool (src/workers/) with as many threads as workers decodes
 *   and encodes (the adapter's encoder module, adapters/timescaledb/copy-encoder.ts) off the main thread, the next
 *   object already decoding while the current one is sent; each worker loads its share of the objects as its own
 *   batch over its own connection (COPY into the same staging table, one transaction, then BRIN summarize).
 *
 * Sides run in a rotated order each round; medians of the rounds are printed side by side with ratios
 * (psql time ÷ side time: > 1 means faster than psql). Round 1 checks that every side's table holds exactly
 * psql's rows (EXCEPT ALL both ways, microseconds included); every round checks counts. CPU seconds of this
 * process (all threads, process.cpuUsage), of the PostgreSQL server (postmaster + backends) and of the S3 server /
 * psql children are read for every side (bench/support/cpu.ts): on a machine with few cores shared with other
 * work, wall-time ratios are bounded by the cores, and the CPU seconds say what each side would need.
 *
 *   npm run bench -- load-pipeline          (LOAD_PIPELINE_ROUNDS=1 for a quick look)
 */
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { from as copyFrom } from 'pg-copy-streams';
import type { PgConnection } from '../adapters/timescaledb/connection.ts';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../adapters/timescaledb/copy-binary.ts';
import { copyEncoderOptions, copyEncoderSpec, createEncoder } from '../adapters/timescaledb/copy-encoder.ts';
import { copyFormatOf } from '../adapters/timescaledb/load.ts';
import { PYPI_COLUMNS, PYPI_PG_COLUMNS } from '../fixtures/pypi.ts';
import type { RowChunk } from '../src/adapter/contract.ts';
import { readColumnarChunks } from '../src/parquet/columnar.ts';
import { readRowChunks } from '../src/parquet/rows.ts';
import { s3AsyncBuffer } from '../src/source/range-reader.ts';
import type { SourceObject } from '../src/source/types.ts';
import type { EncodedPiece } from '../src/workers/encoder.ts';
import { decodeThreadsFor } from '../src/workers/pool.ts';
import { detail, median, summary, timed } from './common.ts';
import { cpuSince, cpuSnapshot, postmasterOf, type CpuSnapshot } from './support/cpu.ts';
import { assertSameRows, countRows, split, warmDecodePool } from './support/load-sides.ts';
import { startLoadBench } from './support/load-bench.ts';
import { createPgStaging, type PgStaging } from './support/pg-staging.ts';
import {
  preparePypiFixture,
  pypiCompression,
  pypiFixtureTitle,
  type PypiFixture,
  type PypiFixtureName,
} from './support/pypi-fixture.ts';

const FILES = 10;
const ROWS_PER_FILE = 200_000;
const ROW_GROUP_ROWS = 100_000;
const ROUNDS = Number(process.env['LOAD_PIPELINE_ROUNDS'] ?? 3);
const WORKERS = [1, 2, 4] as const;
const TARGET = 1.2;

const COLUMNS = PYPI_COLUMNS;
const COLUMN_LIST = COLUMNS.map((c) => `"${c}"`).join(', ');

type Side = 'psql' | 'today' | `workers ${(typeof WORKERS)[number]}`;
const ALL_SIDES: readonly Side[] = ['psql', 'today', ...WORKERS.map((n) => `workers ${n}` as const)];
/** LOAD_PIPELINE_SIDES=psql,today,workers 2 runs some sides only (psql always runs first: it is the reference). */
const SIDES: readonly Side[] = process.env['LOAD_PIPELINE_SIDES']
  ? ALL_SIDES.filter((s) => s === 'psql' || process.env['LOAD_PIPELINE_SIDES']!.split(',').includes(s))
  : ALL_SIDES;
/** LOAD_PIPELINE_FIXTURES=realistic runs one fixture only. */
const FIXTURES = (['today', 'realistic'] as const).filter(
  (f) =>
    !process.env['LOAD_PIPELINE_FIXTURES'] || process.env['LOAD_PIPELINE_FIXTURES'].split(',').includes(f),
);
const LABEL: Record<Side, string> = {
  psql: 'psql \\copy CSV (reference)',
  today: "today's path (1 thread, 1 conn)",
  'workers 1': 'pipeline, workers 1',
  'workers 2': 'pipeline, workers 2',
  'workers 4': 'pipeline, workers 4',
};

interface Fixture extends Pick<PypiFixture, 'generated' | 'csv' | 'location' | 'objects' | 'source'> {
  readonly name: PypiFixtureName;
  readonly title: string;
  readonly compression: string;
  readonly staging: PgStaging;
}

interface Measured {
  readonly seconds: number;
  readonly cpu: CpuSnapshot;
}

function psqlBinary(): string {
  const candidates = [
    process.env['PG_BIN'] ? join(process.env['PG_BIN'], 'psql') : undefined,
    '/usr/lib/postgresql/15/bin/psql',
  ];
  return candidates.find((c): c is string => c !== undefined && existsSync(c)) ?? 'psql';
}

/** `psql -c "\copy pypi_psql (…) FROM '<csv>' WITH (FORMAT csv)"`. */
function psqlCopy(url: string, csv: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      psqlBinary(),
      [
        url,
        '-v',
        'ON_ERROR_STOP=1',
        '-q',
        '-c',
        `\\copy pypi_psql (${COLUMN_LIST}) FROM '${csv}' WITH (FORMAT csv)`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`psql \\copy exited with code ${code}: ${stderr.trim()}`)),
    );
  });
}

/** The runner's stream for one batch today: each object's row groups decoded in order on this thread. */
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
 * One worker's batch: COPY of the pool's pieces into the staging table over the worker's own connection, as the
 * adapter's COPY path does (one transaction, synchronous_commit off, backpressure), then BRIN summarize.
 */
async function copyPieces(
  db: PgConnection,
  staging: PgStaging,
  pieces: AsyncIterable<EncodedPiece>,
): Promise<number> {
  const rows = await db.transaction(async (client) => {
    await client.query('SET LOCAL synchronous_commit = off');
    // The format the encoder chose for these columns (binary where every column has a binary writer), as load.ts.
    const binary = copyFormatOf({ mapping: staging.mapping }) === 'binary';
    const stream = client.raw.query(
      copyFrom(
        `${staging.statements.copyInto(staging.mapping.map((m) => m.target))}${binary ? ' (FORMAT binary)' : ''}`,
      ),
    );
    let failure: unknown;
    const done = new Promise<void>((resolve, reject) => {
      stream.once('finish', resolve);
      stream.once('error', (error) => {
        failure = error;
        reject(error);
      });
    });
    done.catch(() => undefined);
    const write = async (bytes: Uint8Array) => {
      if (!stream.write(bytes)) {
        await new Promise<void>((resolve) => {
          stream.once('drain', resolve);
          done.then(resolve, resolve);
        });
      }
    };
    try {
      if (binary) await write(BINARY_COPY_HEADER);
      for await (const piece of pieces) {
        if (failure) break;
        await write(piece.bytes);
      }
      if (!failure && binary) await write(BINARY_COPY_TRAILER);
      if (!failure) stream.end();
      await done;
    } catch (error) {
      if (!failure) stream.destroy(error instanceof Error ? error : new Error(String(error)));
      await done.catch(() => undefined);
      throw error;
    }
    return stream.rowCount;
  });
  await db.query(staging.statements.summarizeBatchIndex(), [], 'summarizing the batch index');
  return rows;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pad = (text: string, width: number) => text.padEnd(width);
const lpad = (text: string, width: number) => text.padStart(width);

async function main(): Promise<void> {
  const load0 = loadavg()[0]!;
  const bench = await startLoadBench('load-pipeline', ['today', 'realistic']);
  const { dir, s3, server, sql, clients, pools, connection } = bench;
  try {
    await sql.query(`CREATE TABLE pypi (${PYPI_PG_COLUMNS})`);
    await sql.query(`CREATE UNLOGGED TABLE pypi_psql (LIKE pypi INCLUDING DEFAULTS)`);
    const db = await connection();
    const lanes = await Promise.all(WORKERS.slice(-1).flatMap((n) => Array.from({ length: n }, connection)));
    const backend = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const postmaster = postmasterOf(backend[0]!.pid);
    detail(
      `${server.version}, TimescaleDB ${bench.timescaledb} (fsync off); machine: ${cpus().length} cores shared with other work ` +
        `(load average ${fmt(load0)} at start) — wall-time ratios are bounded by the cores; CPU seconds per side below`,
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
      const { generated, csv, location, objects, source } = f;
      const staging = await createPgStaging(db, 'public', 'pypi', 'timestamp', source, name);
      const compression = pypiCompression(name);
      const csvBytes = statSync(csv).size;
      const title = `${pypiFixtureTitle(name, f, ROW_GROUP_ROWS)}; CSV for psql ${fmt(csvBytes / 1e6, 0)} MB`;
      detail(title);
      fixtures.push({ name, title, generated, compression, csv, location, objects, staging, source });
    }

    // ---- decode pools, started and warmed before timing (a run keeps its pool for its whole life) ----
    for (const n of WORKERS.filter((w) => SIDES.includes(`workers ${w}`))) {
      // The pool the runner starts for n workers: one thread per worker up to the machine's cores.
      const threads = decodeThreadsFor(n, true)?.threads ?? 1;
      const f = fixtures[0]!;
      const warm = await warmDecodePool(threads, f, f.staging);
      pools.set(n, warm.pool);
      detail(
        `decode pool of ${threads} thread(s) for ${n} worker(s) started in ${fmt(warm.seconds)} s (not timed below)`,
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
      const stagingTable = `"${fixture.staging.staging}"`;
      for (let round = 0; round < ROUNDS; round++) {
        const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length]!);
        const line: string[] = [];
        for (const side of order) {
          await sql.query(side === 'psql' ? 'TRUNCATE pypi_psql' : `TRUNCATE ${stagingTable}`);
          await sql.query('CHECKPOINT');
          let result: Measured;
          if (side === 'psql') {
            result = await measured(() => psqlCopy(server.url, fixture.csv));
          } else if (side === 'today') {
            result = await measured(() =>
              fixture.staging.load(0, {
                kind: 'rows',
                chunks: streamRows(clients[0]!, fixture.objects, COLUMNS),
              }),
            );
          } else {
            const n = Number(side.split(' ')[1]);
            const pool = pools.get(n)!;
            const groups = split(fixture.objects, n);
            result = await measured(async () => {
              const written = await Promise.all(
                groups.map((objects, lane) =>
                  copyPieces(
                    lanes[lane]!,
                    fixture.staging,
                    pool.decodeObjects(objects, {
                      location: fixture.location,
                      columns: COLUMNS,
                      encoder: copyEncoderSpec(
                        copyEncoderOptions(fixture.staging.mapping, lane, 'public.pypi'),
                      ),
                    }),
                  ),
                ),
              );
              const total = written.reduce((a, b) => a + b, 0);
              if (total !== rows) throw new Error(`${side} wrote ${total} rows, expected ${rows}`);
            });
          }
          const table = side === 'psql' ? 'pypi_psql' : stagingTable;
          const landed = await countRows(sql, table);
          if (landed !== rows)
            throw new Error(`${fixture.name} ${side}: ${table} holds ${landed} rows, expected ${rows}`);
          if (round === 0 && side !== 'psql') {
            // psql ran first in round 1, so its table holds the reference rows
            await assertSameRows(sql, stagingTable, 'pypi_psql');
          }
          const key = `${fixture.name}/${side}`;
          results.set(key, [...(results.get(key) ?? []), result]);
          line.push(`${side} ${fmt(result.seconds)} s`);
        }
        detail(
          `${fixture.name} round ${round + 1}: ${line.join(', ')}${round === 0 ? ' — every side verified to hold exactly psql’s rows' : ''}`,
        );
      }
      await fixture.staging.truncate();
    }

    // ---- where Node's time goes, on this thread (CPU seconds; no database) ----
    const costs = new Map<string, { decode: number; encode: number }>();
    for (const fixture of fixtures) {
      const encoder = createEncoder(copyEncoderOptions(fixture.staging.mapping, 0, 'public.pypi'));
      const pass = async (encode: boolean) => {
        const before = cpuSnapshot(postmaster);
        // Read as the decode workers read for this encoder (encode-object.ts): columnar with its raw columns.
        for (const object of fixture.objects) {
          const buffer = s3AsyncBuffer(clients[0]!, object);
          const chunks =
            encoder.input === 'columnar'
              ? readColumnarChunks(buffer, object, { columns: [...COLUMNS], raw: encoder.raw ?? [] })
              : readRowChunks(buffer, object, { columns: [...COLUMNS] });
          for await (const chunk of chunks) {
            if (encode)
              for (let s = 0; s < chunk.numRows; s += 16_384)
                encoder.encode(chunk, s, Math.min(chunk.numRows, s + 16_384));
          }
        }
        return cpuSince(before, cpuSnapshot(postmaster)).self;
      };
      const decode = await pass(false);
      const both = await pass(true);
      costs.set(fixture.name, { decode, encode: both - decode });
    }

    // ---- side by side ----
    const load1 = loadavg()[0]!;
    for (const fixture of fixtures) {
      const rows = fixture.generated.totalRows;
      const med = (side: Side, f: (m: Measured) => number) =>
        median(results.get(`${fixture.name}/${side}`)!.map(f));
      const psql = med('psql', (m) => m.seconds);
      const psqlCpu = med('psql', (m) => m.cpu.self + m.cpu.postgres + m.cpu.children);
      detail('');
      detail(fixture.title);
      const cost = costs.get(fixture.name)!;
      detail(
        `Node CPU on one thread, no database: decode (S3 range reads + readRowChunks) ${fmt((cost.decode / rows) * 1e6)} µs/row, ` +
          `encode to COPY text ${fmt((cost.encode / rows) * 1e6)} µs/row`,
      );
      detail(
        `${pad('side', 34)}${lpad('wall s', 8)}${lpad('rows/s', 12)}${lpad('vs psql', 9)}   ` +
          `${lpad('CPU s: Node', 11)}${lpad('Postgres', 9)}${lpad('S3/psql', 9)}${lpad('total', 7)}${lpad('CPU vs psql', 13)}${lpad('cores busy', 12)}`,
      );
      for (const side of SIDES) {
        const wall = med(side, (m) => m.seconds);
        const node = med(side, (m) => m.cpu.self);
        const postgres = med(side, (m) => m.cpu.postgres);
        const children = med(side, (m) => m.cpu.children);
        const total = med(side, (m) => m.cpu.self + m.cpu.postgres + m.cpu.children);
        detail(
          `${pad(LABEL[side], 34)}${lpad(fmt(wall), 8)}${lpad(int(rows / wall), 12)}${lpad(`${fmt(psql / wall)} ×`, 9)}   ` +
            `${lpad(fmt(node, 1), 11)}${lpad(fmt(postgres, 1), 9)}${lpad(fmt(children, 1), 9)}${lpad(fmt(total, 1), 7)}` +
            `${lpad(`${fmt(psqlCpu / total)} ×`, 13)}${lpad(fmt(total / wall, 1), 12)}`,
        );
      }
    }
    detail('');
    detail(
      `medians of ${ROUNDS} round(s); "vs psql" = psql wall ÷ side wall (> 1: faster than psql); "CPU vs psql" = psql's total CPU ÷ ` +
        `the side's; "cores busy" = total CPU ÷ wall. ${cpus().length} cores shared with other helpers (load average ${fmt(load0)} → ${fmt(load1)}): ` +
        `psql leaves a core idle (its server backend parses CSV on one), the pipeline can only gain what the second core gives.`,
    );
    for (const fixture of fixtures) {
      const rows = fixture.generated.totalRows;
      const runs = (side: Side) => results.get(`${fixture.name}/${side}`);
      const med = (side: Side, f: (m: Measured) => number = (m) => m.seconds) => median(runs(side)!.map(f));
      const psql = med('psql');
      // Not measured: what the CPU seconds above would allow with a core for every thread and every backend.
      for (const n of WORKERS.filter((w) => runs(`workers ${w}`))) {
        const side = `workers ${n}` as const;
        const node = med(side, (m) => m.cpu.self);
        const server = med(side, (m) => m.cpu.postgres);
        const floor = Math.max(node / n, server / n);
        detail(
          `${fixture.name}, workers ${n}: CPU per row ${fmt((node / rows) * 1e6)} µs in Node (decode + encode, all threads), ` +
            `${fmt((server / rows) * 1e6)} µs in PostgreSQL; projection with ${2 * n} free cores (one per thread and per backend, ` +
            `perfect overlap; NOT measured): ≈ ${fmt(floor)} s = ${fmt(psql / floor)} × psql`,
        );
      }
      const workerSides = WORKERS.filter((w) => runs(`workers ${w}`));
      if (workerSides.length === 0) continue;
      const best = workerSides
        .map((n) => ({ n, seconds: med(`workers ${n}`) }))
        .sort((a, b) => a.seconds - b.seconds)[0]!;
      const ratio = psql / best.seconds;
      const today = runs('today') ? `today's path ${fmt(psql / med('today'))} ×; ` : '';
      summary(
        `load-pipeline/${fixture.name}`,
        rows / best.seconds,
        'rows/s',
        ratio,
        `best pipeline (workers ${best.n}) vs psql \\copy CSV at ${int(rows / psql)} rows/s (${today}` +
          `${fmt(fixture.generated.files.reduce((n, f) => n + f.bytes, 0) / rows, 1)} bytes/row); target ≥ ${TARGET} ×: ` +
          `${ratio >= TARGET ? 'met' : 'NOT met'} on ${cpus().length} shared cores`,
      );
    }
  } finally {
    await bench.close();
  }
}

await main();
