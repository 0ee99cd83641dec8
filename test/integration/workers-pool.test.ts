/**
 * The decode pool (src/workers/) against a real S3 server (s3rver) and real Parquet (chDB-written PyPI files):
 * worker threads produce exactly the COPY text the TimescaleDB loader writes on the main thread, in object order,
 * and binary COPY tuples equal to ones written independently from the decoded values;
 * typed errors keep their code across the thread boundary; a consumer that stops early frees its worker; a
 * worker that dies fails its task and is replaced.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  copyEncoderOptions,
  copyEncoderSpec,
  type CopyFormat,
} from '../../adapters/timescaledb/copy-encoder.ts';
import { copyField, encoderFor } from '../../adapters/timescaledb/encode.ts';
import { generatePypiParquet, PYPI_COLUMNS } from '../../fixtures/pypi.ts';
import { generateRealisticPypiParquet } from '../../fixtures/pypi-realistic.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { ShadowfillError } from '../../src/errors.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { readRowChunks } from '../../src/parquet/rows.ts';
import { readSourceSchema } from '../../src/parquet/schema.ts';
import { epochMicros } from '../../src/parquet/values.ts';
import { listObjects } from '../../src/source/list-objects.ts';
import { resolveLocation } from '../../src/source/location.ts';
import { s3AsyncBuffer } from '../../src/source/range-reader.ts';
import { createS3Client } from '../../src/source/s3-client.ts';
import type { ObjectStoreLocation, SourceColumn, SourceObject } from '../../src/source/types.ts';
import type { EncodedPiece, EncoderSpec } from '../../src/workers/encoder.ts';
import { DecodePool } from '../../src/workers/pool.ts';

let server: LocalS3Server;
let directory: string;
let client: S3Client;
const sets: Record<'today' | 'realistic', { location: ObjectStoreLocation; objects: SourceObject[] }> =
  {} as never;
const pool = new DecodePool({ threads: 2 });

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'shadowfill-workers-'));
  server = await startLocalS3({ directory: join(directory, 's3'), buckets: ['today', 'realistic'] });
  const credentials = { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  const options = { files: [0, 1, 2], rowsPerFile: 30_000, rowGroupRows: 10_000 };
  await generatePypiParquet({ dir: join(directory, 'today'), ...options });
  await generateRealisticPypiParquet({ dir: join(directory, 'realistic'), ...options });
  for (const name of ['today', 'realistic'] as const) {
    await uploadDirectory(server.endpoint, name, join(directory, name), credentials);
    const location = resolveLocation({
      url: `s3://${name}/pypi/*/*.parquet`,
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials,
    });
    client ??= createS3Client(location);
    sets[name] = { location, objects: await listObjects(client, location) };
  }
});

afterAll(async () => {
  await pool.close();
  client?.destroy();
  await server?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function columnsOf(object: SourceObject): Promise<SourceColumn[]> {
  const schema = await readSourceSchema(s3AsyncBuffer(client, object), object);
  return PYPI_COLUMNS.map((name) => schema.columns.find((c) => c.name === name)!);
}

/** The target columns of the benchmark's table: timestamptz and text. */
function targetType(name: string): string {
  return name === 'timestamp' ? 'timestamp with time zone' : 'text';
}

async function specFor(object: SourceObject, batch: number, format?: CopyFormat): Promise<EncoderSpec> {
  const source = await columnsOf(object);
  return copyEncoderSpec(
    copyEncoderOptions(
      source.map((s) => ({ source: s, target: { name: s.name, type: targetType(s.name) } })),
      batch,
      'public.pypi',
      format,
    ),
  );
}

/** The COPY text load.ts writes for these objects, encoded on this thread (encode.ts encoders, copyField). */
async function mainThreadText(objects: readonly SourceObject[], batch: number): Promise<string> {
  const source = await columnsOf(objects[0]!);
  const encoders = source.map((c) => encoderFor(targetType(c.name), c.type));
  let text = '';
  for (const object of objects) {
    for await (const chunk of readRowChunks(s3AsyncBuffer(client, object), object, {
      columns: [...PYPI_COLUMNS],
    })) {
      const values = source.map((c) => chunk.columns.get(c.name)!);
      for (let i = 0; i < chunk.numRows; i++) {
        text += values.map((v, c) => copyField(encoders[c]!(v[i] ?? null))).join('\t');
        text += `\t${batch}\n`;
      }
    }
  }
  return text;
}

/**
 * The binary COPY tuples of these objects, written independently of copy-binary.ts from readRowChunks' values:
 * per row a field count, then each field's length and bytes (timestamps as µs since 2000, text as UTF-8).
 */
async function mainThreadBinary(objects: readonly SourceObject[], batch: number): Promise<Buffer> {
  const source = await columnsOf(objects[0]!);
  const parts: Buffer[] = [];
  for (const object of objects) {
    for await (const chunk of readRowChunks(s3AsyncBuffer(client, object), object, {
      columns: [...PYPI_COLUMNS],
    })) {
      const values = source.map((c) => chunk.columns.get(c.name)!);
      for (let i = 0; i < chunk.numRows; i++) {
        const head = Buffer.alloc(2);
        head.writeInt16BE(source.length + 1);
        parts.push(head);
        values.forEach((column, c) => {
          const value = column[i];
          let bytes: Buffer;
          if (source[c]!.name === 'timestamp') {
            bytes = Buffer.alloc(8);
            bytes.writeBigInt64BE(epochMicros(value as Date) - 946_684_800_000_000n);
          } else bytes = Buffer.from(value as string, 'utf8');
          const length = Buffer.alloc(4);
          length.writeInt32BE(bytes.length);
          parts.push(length, bytes);
        });
        const tail = Buffer.alloc(8);
        tail.writeInt32BE(4);
        tail.writeInt32BE(batch, 4);
        parts.push(tail);
      }
    }
  }
  return Buffer.concat(parts);
}

async function collect(pieces: AsyncIterable<EncodedPiece>): Promise<{ text: string; rows: number }> {
  const decoder = new TextDecoder();
  let text = '';
  let rows = 0;
  for await (const piece of pieces) {
    text += decoder.decode(piece.bytes);
    rows += piece.rows;
  }
  return { text, rows };
}

describe('decode pool', () => {
  for (const name of ['today', 'realistic'] as const) {
    it(`${name} fixture: the workers' COPY text equals the main thread's, byte for byte, in object order`, async () => {
      const { location, objects } = sets[name];
      const encoder = await specFor(objects[0]!, 7, 'text');
      const pooled = await collect(
        pool.decodeObjects(objects, { location, columns: PYPI_COLUMNS, encoder, pieceRows: 4096 }, 2),
      );
      expect(pooled.rows).toBe(90_000);
      const reference = await mainThreadText(objects, 7);
      expect(pooled.text.length).toBe(reference.length);
      expect(pooled.text === reference).toBe(true);
    });
  }

  for (const name of ['today', 'realistic'] as const) {
    it(`${name} fixture: binary COPY tuples from the workers equal ones written from the decoded values`, async () => {
      const { location, objects } = sets[name];
      const encoder = await specFor(objects[0]!, 7);
      expect((encoder.options as ReturnType<typeof copyEncoderOptions>).format).toBe('binary');
      const parts: Uint8Array[] = [];
      let rows = 0;
      for await (const piece of pool.decodeObjects(
        objects,
        { location, columns: PYPI_COLUMNS, encoder, pieceRows: 5000 },
        2,
      )) {
        parts.push(piece.bytes);
        rows += piece.rows;
      }
      expect(rows).toBe(90_000);
      const pooled = Buffer.concat(parts);
      const reference = await mainThreadBinary(objects, 7);
      expect(pooled.length).toBe(reference.length);
      expect(pooled.equals(reference)).toBe(true);
    });
  }

  it('keeps the error code across the thread boundary (a missing column is SCHEMA_MISMATCH)', async () => {
    const { location, objects } = sets.today;
    const spec = await specFor(objects[0]!, 0);
    const options = spec.options as ReturnType<typeof copyEncoderOptions>;
    const broken: EncoderSpec = {
      module: spec.module,
      options: { ...options, columns: [...options.columns, { ...options.columns[1]!, source: 'nope' }] },
    };
    const error = await collect(
      pool.decode({ location, object: objects[0]!, columns: PYPI_COLUMNS, encoder: broken }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShadowfillError);
    expect((error as ShadowfillError).code).toBe('SCHEMA_MISMATCH');
    expect((error as Error).message).toMatch(/has no column "nope"/);
  });

  it('a missing object fails with the source error of the main thread (SOURCE_CORRUPT or SOURCE_EMPTY)', async () => {
    const { location, objects } = sets.today;
    const encoder = await specFor(objects[0]!, 0);
    const ghost = { ...objects[0]!, key: 'pypi/none.parquet', uri: 's3://today/pypi/none.parquet' };
    const error = await collect(
      pool.decode({ location, object: ghost, columns: PYPI_COLUMNS, encoder }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShadowfillError);
    expect((error as ShadowfillError).code).toMatch(/^SOURCE_/);
    expect((error as Error).message).toContain('s3://today/pypi/none.parquet');
    // The thread read with a presigned URL: the message names the object, never the URL or its credentials.
    expect((error as Error).message).not.toMatch(/X-Amz|Signature|S3RVER|https?:\/\/[^ ]*\?/);
  });

  it('a consumer that stops early frees its worker for the next task', async () => {
    const { location, objects } = sets.today;
    const encoder = await specFor(objects[0]!, 0);
    for (let round = 0; round < 3; round++) {
      for await (const piece of pool.decodeObjects(
        objects,
        { location, columns: PYPI_COLUMNS, encoder, pieceRows: 1000, window: 1 },
        2,
      )) {
        expect(piece.rows).toBe(1000);
        break;
      }
    }
    const whole = await collect(
      pool.decode({ location, object: objects[1]!, columns: PYPI_COLUMNS, encoder }),
    );
    expect(whole.rows).toBe(30_000);
  });

  it('a worker that dies fails its task with the object named, and is replaced', async () => {
    const { location, objects } = sets.today;
    const dying: EncoderSpec = {
      module: `data:text/javascript,${encodeURIComponent('export function createEncoder() { process.exit(3); }')}`,
      options: {},
    };
    const error = await collect(
      pool.decode({ location, object: objects[2]!, columns: PYPI_COLUMNS, encoder: dying }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShadowfillError);
    expect((error as Error).message).toMatch(
      /decode worker reading s3:\/\/today\/.* stopped \(exit code 3\)/,
    );
    const encoder = await specFor(objects[0]!, 0);
    const after = await collect(
      pool.decode({ location, object: objects[2]!, columns: PYPI_COLUMNS, encoder }),
    );
    expect(after.rows).toBe(30_000);
  });
});
