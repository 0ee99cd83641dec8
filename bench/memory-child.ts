/**
 * Child of the `memory` benchmark: streams one Parquet object from S3 through the engine's client-side path
 * (`s3AsyncBuffer` + `readRowChunks`, as the runner's `streamRows`) again and again until `targetBytes` of
 * Parquet have passed, sampling its own RSS every 50 ms. Prints one JSON line per checkpoint:
 * `{"bytes":…, "rows":…, "peakRss":…, "rss":…, "seconds":…}`.
 * Usage: memory-child.ts <endpoint> <bucket> <key> <size> <targetBytes> <checkpoint,checkpoint,…>
 */
import { S3Client } from '@aws-sdk/client-s3';
import { readRowChunks } from '../src/parquet/rows.ts';
import { s3AsyncBuffer } from '../src/source/range-reader.ts';

const [endpoint, bucket, key, sizeText, targetText, checkpointsText] = process.argv.slice(2);
if (!endpoint || !bucket || !key || !sizeText || !targetText || !checkpointsText) {
  throw new Error('usage: memory-child.ts <endpoint> <bucket> <key> <size> <targetBytes> <checkpoints>');
}
const size = Number(sizeText);
const target = Number(targetText);
const checkpoints = checkpointsText.split(',').map(Number);
const client = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});
const object = { key, size, uri: `s3://${bucket}/${key}`, httpUrl: `${endpoint}/${bucket}/${key}` };

let peak = process.memoryUsage.rss();
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 50);
const start = Date.now();
let bytes = 0;
let rows = 0;
let next = 0;
while (bytes < target) {
  for await (const chunk of readRowChunks(s3AsyncBuffer(client, object), object)) {
    rows += chunk.numRows;
    peak = Math.max(peak, process.memoryUsage.rss());
  }
  bytes += size;
  // Checkpoints are reported at the end of the pass that crosses them.
  while (next < checkpoints.length && bytes >= checkpoints[next]!) {
    process.stdout.write(
      `${JSON.stringify({ bytes, rows, peakRss: peak, rss: process.memoryUsage.rss(), seconds: (Date.now() - start) / 1000 })}\n`,
    );
    next += 1;
  }
}
clearInterval(sampler);
client.destroy();
