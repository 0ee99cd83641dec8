/**
 * Reused buffers of the load path, on real Parquet (chDB-written PyPI files) from a real S3 server (s3rver):
 * - a decode thread encodes pieces into a few buffers that come back when the consumer releases each piece
 *   (EncodedPiece.release transfers it back: the consumer's view is detached), and the bytes are exactly those of
 *   fresh buffers; a consumer that never releases gets a new buffer per piece;
 * - row groups streamed into a BufferPool: two buffers (the current group and the prefetched one) serve every row
 *   group of an object, with the same values as a read without the pool.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyEncoderOptions, copyEncoderSpec } from '../../adapters/timescaledb/copy-encoder.ts';
import { PYPI_COLUMNS } from '../../fixtures/pypi.ts';
import { generateRealisticPypiParquet } from '../../fixtures/pypi-realistic.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { BufferPool } from '../../src/parquet/buffer-pool.ts';
import { materialize, readColumnarChunks } from '../../src/parquet/columnar.ts';
import { readSourceSchema } from '../../src/parquet/schema.ts';
import { listObjects } from '../../src/source/list-objects.ts';
import { resolveLocation } from '../../src/source/location.ts';
import { s3AsyncBuffer } from '../../src/source/range-reader.ts';
import { createS3Client } from '../../src/source/s3-client.ts';
import type { ObjectStoreLocation, SourceObject } from '../../src/source/types.ts';
import type { EncoderSpec } from '../../src/workers/encoder.ts';
import { DecodePool } from '../../src/workers/pool.ts';
import { encodedBatch } from '../../src/workers/stream.ts';

let server: LocalS3Server;
let directory: string;
let client: S3Client;
let location: ObjectStoreLocation;
let objects: SourceObject[];
let spec: EncoderSpec;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'shadowfill-buffers-'));
  server = await startLocalS3({ directory: join(directory, 's3'), buckets: ['buffers'] });
  const credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  await generateRealisticPypiParquet({
    dir: join(directory, 'parquet'),
    files: [0, 1, 2],
    rowsPerFile: 40_000,
    rowGroupRows: 10_000,
  });
  await uploadDirectory(server.endpoint, 'buffers', join(directory, 'parquet'), credentials);
  location = resolveLocation({
    url: 's3://buffers/pypi/*/*.parquet',
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials,
  });
  client = createS3Client(location);
  objects = await listObjects(client, location);
  const schema = await readSourceSchema(s3AsyncBuffer(client, objects[0]!), objects[0]!);
  const mapping = PYPI_COLUMNS.map((name) => {
    const source = schema.columns.find((c) => c.name === name)!;
    return { source, target: { name, type: name === 'timestamp' ? 'timestamp with time zone' : 'text' } };
  });
  spec = copyEncoderSpec(copyEncoderOptions(mapping, 7, 'public.pypi'));
  expect((spec.options as { format: string }).format).toBe('binary');
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

/** Hash and count of the batch's pieces; `release` says whether each piece is released once hashed. */
async function drain(
  pool: DecodePool | undefined,
  release: boolean,
): Promise<{ sha: string; pieces: number; rows: number; detached: number; releasable: number }> {
  const hash = createHash('sha256');
  let pieces = 0;
  let rows = 0;
  let detached = 0;
  let releasable = 0;
  // Row groups of 10,000 rows → pieces of 5,000 rows (≈ 0.5 MB of binary tuples, above the smallest pooled size)
  const pieceRows = 5000;
  for await (const piece of encodedBatch({
    pool,
    client,
    location,
    objects,
    columns: PYPI_COLUMNS,
    filter: undefined,
    encoder: spec,
    pieceRows,
  })) {
    hash.update(piece.bytes);
    pieces += 1;
    rows += piece.rows;
    if (piece.release) releasable += 1;
    if (release && piece.release) {
      const view = piece.bytes;
      piece.release();
      if (view.byteLength === 0) detached += 1;
    }
  }
  return { sha: hash.digest('hex'), pieces, rows, detached, releasable };
}

describe('reused buffers of the load path', () => {
  it('a decode thread reuses the piece buffers its consumer releases; the bytes are those of fresh buffers', async () => {
    const reference = await drain(undefined, false);
    expect(reference.rows).toBe(120_000);

    const pool = new DecodePool({ threads: 1 });
    try {
      const released = await drain(pool, true);
      expect(released.sha).toBe(reference.sha);
      expect(released.rows).toBe(120_000);
      expect(released.releasable).toBe(released.pieces);
      // release() transferred each buffer back to its thread: this thread's view is detached.
      expect(released.detached).toBe(released.pieces);
      const stats = pool.pieceBufferStats();
      // At most the pieces in flight (the credit window, 4) plus the ones being encoded, sent and written.
      expect(stats.allocated).toBeLessThanOrEqual(8);
      expect(stats.reused).toBe(released.pieces - stats.allocated);
      expect(stats.unpooled).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('a consumer that never releases gets a new buffer per piece (nothing is overwritten under it)', async () => {
    const pool = new DecodePool({ threads: 1 });
    try {
      const kept = await drain(pool, false);
      const stats = pool.pieceBufferStats();
      expect(stats.reused).toBe(0);
      expect(stats.allocated).toBe(kept.pieces);
    } finally {
      await pool.close();
    }
  });

  it('on the main thread (no decode pool) released pieces are reused too, with the same bytes', async () => {
    const fresh = await drain(undefined, false);
    const released = await drain(undefined, true);
    expect(released.sha).toBe(fresh.sha);
    expect(released.releasable).toBe(released.pieces);
    expect(released.detached).toBe(0); // same thread: nothing is transferred
  });

  it('row groups streamed into a BufferPool: two buffers serve every group, values unchanged', async () => {
    const object = objects[0]!;
    const read = async (buffers?: BufferPool) => {
      const hash = createHash('sha256');
      let groups = new Set<number>();
      for await (const chunk of readColumnarChunks(s3AsyncBuffer(client, object), object, {
        columns: [...PYPI_COLUMNS],
        raw: [...PYPI_COLUMNS],
        ...(buffers ? { buffers } : {}),
      })) {
        groups = groups.add(chunk.rowGroup);
        for (const name of PYPI_COLUMNS) {
          hash.update(JSON.stringify(materialize(chunk, chunk.columns.get(name)!), (_, v) => String(v)));
        }
      }
      return { sha: hash.digest('hex'), groups: groups.size };
    };
    const plain = await read();
    const pool = new BufferPool();
    const pooled = await read(pool);
    expect(plain.groups).toBe(4);
    expect(pooled.sha).toBe(plain.sha);
    const stats = pool.stats();
    // One range per group here (the selected columns are adjacent): the current group's and the prefetched one's.
    expect(stats.allocated).toBe(2);
    expect(stats.reused).toBe(plain.groups - 2);
  });
});
