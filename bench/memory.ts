/**
 * `memory`: peak RSS of the engine's client-side load path while it streams ≥ 2 GB of Parquet: the encoded path
 * with 4 workers (4 lanes at once sharing the decode pool the runner starts — min(4, CPU cores) threads: S3 range
 * reads, columnar decoding and binary COPY encoding off the main thread; `encodedBatch`), then, as a second line, today's runner path on one thread
 * (S3 range reads + `readRowChunks`). A ~93 MB PyPI file with row groups of 1M rows (uncompressed pages, so the
 * file is large for its rows) is generated with the fixture generator (chDB, this process), put on a local S3
 * server (s3rver, child process) and streamed again and again by a separate child process that samples its own
 * RSS (memory-child.ts, built into dist/bench/ and run by plain Node as `shadowfill run` runs — no tsx loader in the
 * decode threads; one process, so every thread's memory counts); RSS is printed at 0.5, 1 and 2 GB.
 * Target: peak ≤ 300 MiB with 4 workers, and flat as bytes grow.
 * SHADOWFILL_BENCH_MEMORY_GB sets the total (default 2).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generatePypiParquet } from '../fixtures/pypi.ts';
import { uploadDirectory } from '../fixtures/upload.ts';
import { startLocalS3 } from '../src/local/s3-server.ts';
import { detail, scratchDir, summary, timed } from './common.ts';
import { buildLibrary } from './support/built.ts';

const GB = 1e9;
const TOTAL = Number(process.env.SHADOWFILL_BENCH_MEMORY_GB ?? '2') * GB;
const ROWS = 17_000_000;
const ROW_GROUP_ROWS = 1_000_000;
const TARGET_RSS = 300 * 1024 ** 2;

interface Checkpoint {
  bytes: number;
  rows: number;
  peakRss: number;
  rss: number;
  seconds: number;
}

async function main(): Promise<void> {
  const dir = await scratchDir('memory');
  const s3 = await startLocalS3({ directory: join(dir.path, 's3'), buckets: ['memory'] });
  try {
    const gen = await timed(() =>
      generatePypiParquet({
        dir: join(dir.path, 'parquet'),
        files: [0],
        rowsPerFile: ROWS,
        rowGroupRows: ROW_GROUP_ROWS,
        compression: 'none',
      }),
    );
    const file = gen.value.files[0]!;
    await uploadDirectory(s3.endpoint, 'memory', join(dir.path, 'parquet'), {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    detail(
      `one file of ${(file.bytes / 1e6).toFixed(0)} MB: ${file.rows.toLocaleString('en-US')} rows in row groups of ` +
        `${ROW_GROUP_ROWS.toLocaleString('en-US')} (uncompressed pages; generated in ${gen.seconds.toFixed(1)} s), streamed from local S3 ` +
        `${Math.ceil(TOTAL / file.bytes)} times`,
    );
    const checkpoints = [0.5 * GB, 1 * GB, 2 * GB].filter((c) => c <= TOTAL);
    if (!checkpoints.includes(TOTAL)) checkpoints.push(TOTAL);
    buildLibrary();
    for (const mode of ['workers 4', 'rows'] as const) {
      detail(
        mode === 'rows'
          ? "today's runner path (rows: S3 range reads + readRowChunks on one thread):"
          : 'encoded path, 4 workers (4 lanes, decode pool of min(4, CPU cores) threads, binary COPY pieces):',
      );
      const child = spawn(
        process.execPath,
        [
          // Built (dist/bench/memory-child.js, support/built.ts) and run by plain Node, as `shadowfill run` runs:
          // under tsx every decode thread would load and run tsx's loader too.
          fileURLToPath(new URL('../dist/bench/memory-child.js', import.meta.url)),
          s3.endpoint,
          'memory',
          file.key,
          String(file.bytes),
          String(TOTAL),
          checkpoints.join(','),
          mode,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
      );
      const results: Checkpoint[] = [];
      for await (const line of createInterface({ input: child.stdout })) {
        const c = JSON.parse(line) as Checkpoint;
        results.push(c);
        detail(
          `  after ${(c.bytes / GB).toFixed(2)} GB (${c.rows.toLocaleString('en-US')} rows, ${c.seconds.toFixed(0)} s): ` +
            `peak RSS ${(c.peakRss / 1024 ** 2).toFixed(0)} MiB, RSS now ${(c.rss / 1024 ** 2).toFixed(0)} MiB`,
        );
      }
      const code = await new Promise<number | null>((resolve) =>
        child.exitCode !== null ? resolve(child.exitCode) : child.on('close', resolve),
      );
      const last = results.at(-1);
      if (code !== 0 || !last) throw new Error(`memory-child (${mode}) exited with code ${code}`);
      const first = results[0]!;
      const growth = last.peakRss / first.peakRss;
      detail(
        `  ${(last.rows / last.seconds / 1e6).toFixed(2)}M rows/s, ${(last.bytes / last.seconds / 1e6).toFixed(1)} MB/s of Parquet`,
      );
      summary(
        mode === 'rows' ? 'memory/rows' : 'memory',
        last.peakRss / 1024 ** 2,
        `MiB peak RSS over ${(last.bytes / GB).toFixed(1)} GB`,
        growth,
        `${mode === 'rows' ? "today's runner path, one thread" : '4 workers (encoded path)'}; peak at the last checkpoint / at the first; ` +
          `target ≤ 300 MiB: ${last.peakRss <= TARGET_RSS ? 'met' : 'NOT met'}`,
      );
    }
  } finally {
    await s3.stop();
    await dir.remove();
  }
}

await main();
