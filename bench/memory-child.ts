/**
 * Child of the `memory` benchmark: streams one Parquet object from S3 again and again until `targetBytes` of
 * Parquet have passed, sampling its own RSS (every thread's memory: one process) every 50 ms, in one of two modes:
 * - `workers N`: the encoded load path as the runner will drive it with N workers — N lanes at once, each
 *   streaming the object through `encodedBatch` with the decode pool the runner starts for N workers (one thread
 *   per lane up to the machine's cores: `decodeThreadsFor`; S3 range reads, columnar decoding,
 *   binary COPY encoding of the TimescaleDB adapter's encoder module off the main thread); the pieces are
 *   dropped where a connection would send them, and released (their buffers go back to the decode threads);
 * - `rows`: today's runner path on one thread (`s3AsyncBuffer` + `readRowChunks`, as `streamRows`).
 * Prints one JSON line per checkpoint: `{"bytes":…, "rows":…, "peakRss":…, "rss":…, "seconds":…}`.
 * Usage: memory-child.ts <endpoint> <bucket> <key> <size> <targetBytes> <checkpoint,…> <rows | workers N>
 */
import { readFileSync } from 'node:fs';
import { copyEncoderOptions, copyEncoderSpec } from '../adapters/timescaledb/copy-encoder.ts';
import { readRowChunks } from '../src/parquet/rows.ts';
import { readSourceSchema } from '../src/parquet/schema.ts';
import { resolveLocation } from '../src/source/location.ts';
import { s3AsyncBuffer } from '../src/source/range-reader.ts';
import { createS3Client } from '../src/source/s3-client.ts';
import { DecodePool, decodeThreadsFor } from '../src/workers/pool.ts';
import { encodedBatch } from '../src/workers/stream.ts';

const [endpoint, bucket, key, sizeText, targetText, checkpointsText, mode = 'rows'] = process.argv.slice(2);
if (!endpoint || !bucket || !key || !sizeText || !targetText || !checkpointsText) {
  throw new Error(
    'usage: memory-child.ts <endpoint> <bucket> <key> <size> <targetBytes> <checkpoints> [mode]',
  );
}
const size = Number(sizeText);
const target = Number(targetText);
const checkpoints = checkpointsText.split(',').map(Number);
const location = resolveLocation({
  url: `s3://${bucket}/${key}`,
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const client = createS3Client(location);
const object = { key, size, uri: `s3://${bucket}/${key}`, httpUrl: `${endpoint}/${bucket}/${key}` };

let peak = process.memoryUsage.rss();
// SHADOWFILL_BENCH_MEMORY_TRACE=1: RSS every second on stderr (where in the run the peak is).
const trace = process.env.SHADOWFILL_BENCH_MEMORY_TRACE ? { last: 0, max: 0 } : undefined;
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss();
  peak = Math.max(peak, rss);
  if (!trace) return;
  trace.max = Math.max(trace.max, rss);
  const now = Date.now();
  if (now - trace.last < 1000) return;
  trace.last = now;
  process.stderr.write(
    `    [${((now - start) / 1000).toFixed(1)} s] RSS max ${(trace.max / 1024 ** 2).toFixed(0)} MiB over the last second, ${rows.toLocaleString('en-US')} rows\n`,
  );
  trace.max = 0;
}, 50);
const start = Date.now();
let bytes = 0;
let rows = 0;
let next = 0;

/** After each pass: checkpoints are reported at the end of the pass that crosses them. */
function passed(): void {
  if (trace) smapsSummary();
  bytes += size;
  while (next < checkpoints.length && bytes >= checkpoints[next]!) {
    process.stdout.write(
      `${JSON.stringify({ bytes, rows, peakRss: peak, rss: process.memoryUsage.rss(), seconds: (Date.now() - start) / 1000 })}\n`,
    );
    next += 1;
  }
}

/** Trace mode: the resident mappings above 4 MiB and the main isolate's heap figures. */
function smapsSummary(): void {
  const text = readFileSync('/proc/self/smaps', 'utf8');
  const big: string[] = [];
  let head = '';
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) head = line;
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m && Number(m[1]) > 4096) big.push(`${(Number(m[1]) / 1024).toFixed(0)} MiB ${head.slice(0, 120)}`);
  }
  const u = process.memoryUsage();
  const mib = (n: number) => `${(n / 1024 ** 2).toFixed(0)}`;
  process.stderr.write(
    `    rss ${mib(u.rss)} heapTotal ${mib(u.heapTotal)} heapUsed ${mib(u.heapUsed)} external ${mib(u.external)} arrayBuffers ${mib(u.arrayBuffers)} MiB; mappings > 4 MiB:\n      ${big.join('\n      ')}\n`,
  );
}

if (mode === 'rows') {
  while (bytes < target) {
    for await (const chunk of readRowChunks(s3AsyncBuffer(client, object), object)) {
      rows += chunk.numRows;
      peak = Math.max(peak, process.memoryUsage.rss());
    }
    passed();
  }
} else {
  const workers = Number(mode.split(' ')[1] ?? 4);
  // Sized as the runner sizes it (src/runner/run.ts): one thread per lane up to the machine's cores.
  const threads = decodeThreadsFor(workers, true)?.threads ?? 1;
  process.stderr.write(
    `  (decode pool of ${threads} thread${threads === 1 ? '' : 's'} for ${workers} lanes)\n`,
  );
  const pool = new DecodePool({ threads });
  const schema = await readSourceSchema(s3AsyncBuffer(client, object), object);
  const mapping = schema.columns.map((c) => ({
    source: c,
    target: { name: c.name, type: c.name === 'timestamp' ? 'timestamp with time zone' : 'text' },
  }));
  let started = 0;
  const lane = async (n: number): Promise<void> => {
    // Each lane takes the next pass while passes are left (bytes are counted when a pass ends).
    while (started * size < target) {
      started += 1;
      for await (const piece of encodedBatch({
        pool,
        client,
        location,
        objects: [object],
        columns: schema.columns.map((c) => c.name),
        filter: undefined,
        encoder: copyEncoderSpec(copyEncoderOptions(mapping, n, 'public.pypi')),
      })) {
        rows += piece.rows;
        peak = Math.max(peak, process.memoryUsage.rss());
        // Written: the piece's buffer goes back to its decode thread (as the COPY loader does after a write).
        piece.release?.();
      }
      passed();
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, n) => lane(n)));
  const stats = pool.pieceBufferStats();
  process.stderr.write(
    `  (piece buffers: ${stats.allocated} allocated, ${stats.reused} pieces reused one, ${stats.unpooled} too small to pool)\n`,
  );
  await pool.close();
}
clearInterval(sampler);
client.destroy();
