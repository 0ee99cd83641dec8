/**
 * The object-store side against a real S3 server (s3rver in a child process): listing with globs, ranged and
 * full reads, and the mapping of failures (wrong credentials, closed port, missing bucket) onto SourceError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort as closedPort } from '../support/ports.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { resolveLocation } from '../../src/source/location.ts';
import { createS3Client, mapS3Error } from '../../src/source/s3-client.ts';
import { listObjects } from '../../src/source/list-objects.ts';
import { fileAsyncBuffer, s3AsyncBuffer } from '../../src/source/range-reader.ts';
import { readObject } from '../../src/source/read-object.ts';
import { SourceError } from '../../src/errors.ts';
import type { ObjectStoreLocation, SourceObject } from '../../src/source/types.ts';

const BUCKET = 'lake';
const DAY = 'pypi/2024-12-17';
const wanted = (n: number) => `${DAY}/1734393600-000000000${n}.parquet`;
const KEYS = [
  ...[101, 102, 103, 104, 105, 106].map(wanted),
  `${DAY}/1734393600-000000000099.parquet`, // decoy: below the range
  `${DAY}/1734393600-000000000101.parquet.tmp`, // decoy: suffix
  `${DAY}/nested/1734393600-000000000102.parquet`, // decoy: deeper than `*` reaches
  'pypi/2024-12-18/1734480000-000000000101.parquet', // another day
  'pypi/2024-12-18/1734480000-000000000102.csv',
  'other/readme.txt',
];

let server: LocalS3Server;
let directory: string;
const contents = new Map<string, Buffer>();

function locationFor(pattern: string, overrides: Partial<ObjectStoreLocation> = {}): ObjectStoreLocation {
  return {
    ...resolveLocation({
      url: `s3://${BUCKET}/${pattern}`,
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    }),
    ...overrides,
  };
}

async function rejection(promise: Promise<unknown>): Promise<SourceError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'shadowfill-source-s3-'));
  server = await startLocalS3({ directory: join(directory, 's3'), buckets: [BUCKET] });
  const uploader = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  for (const [index, key] of KEYS.entries()) {
    const body = randomBytes(1000 + index * 37);
    contents.set(key, body);
    await uploader.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  }
  // One larger object for streaming (several chunks).
  const large = randomBytes(3 * 1024 * 1024 + 17);
  contents.set('big/blob.bin', large);
  await uploader.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big/blob.bin', Body: large }));
  uploader.destroy();
});

afterAll(async () => {
  await server?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

describe('listObjects', () => {
  it('lists a numeric range, in key order, with sizes, URIs and path-style URLs', async () => {
    const location = locationFor(`${DAY}/1734393600-000000000{101..105}.parquet`);
    const client = createS3Client(location);
    const objects = await listObjects(client, location);
    expect(objects.map((o) => o.key)).toEqual([101, 102, 103, 104, 105].map(wanted));
    const first = objects[0]!;
    expect(first.size).toBe(contents.get(first.key)!.length);
    expect(first.uri).toBe(`s3://${BUCKET}/${first.key}`);
    expect(first.httpUrl).toBe(`${server.endpoint}/${BUCKET}/${first.key}`);
    expect(first.etag).toMatch(/^[0-9a-f]{32}$/);
    client.destroy();
  });

  it('lists `*` within one level only, and `**` across levels', async () => {
    const star = locationFor(`${DAY}/*.parquet`);
    const client = createS3Client(star);
    expect((await listObjects(client, star)).map((o) => o.key)).toEqual([
      `${DAY}/1734393600-000000000099.parquet`,
      ...[101, 102, 103, 104, 105, 106].map(wanted),
    ]);
    const deep = await listObjects(client, locationFor(`${DAY}/**.parquet`));
    expect(deep.map((o) => o.key)).toContain(`${DAY}/nested/1734393600-000000000102.parquet`);
    expect(deep).toHaveLength(8);
    client.destroy();
  });

  it('lists alternations across prefixes', async () => {
    const location = locationFor(
      'pypi/{2024-12-17/*-{000000000106,000000000099}.parquet,2024-12-18/*.parquet}',
    );
    const client = createS3Client(location);
    expect((await listObjects(client, location)).map((o) => o.key)).toEqual([
      `${DAY}/1734393600-000000000099.parquet`,
      wanted(106),
      'pypi/2024-12-18/1734480000-000000000101.parquet',
    ]);
    client.destroy();
  });

  it('fails with SOURCE_EMPTY naming the pattern when nothing matches', async () => {
    const location = locationFor(`${DAY}/1734393600-000000000{200..300}.parquet`);
    const client = createS3Client(location);
    const error = await rejection(listObjects(client, location));
    expect(error.code).toBe('SOURCE_EMPTY');
    expect(error.message).toContain(
      `no object matches s3://${BUCKET}/${DAY}/1734393600-000000000{200..300}.parquet`,
    );
    expect(error.message).toContain('source.url');
    client.destroy();
  });

  it('fails with SOURCE_EMPTY naming the bucket when the bucket does not exist', async () => {
    const location = { ...locationFor('x/*'), bucket: 'no-such-bucket' };
    const client = createS3Client(location);
    const error = await rejection(listObjects(client, location));
    expect(error.code).toBe('SOURCE_EMPTY');
    expect(error.message).toContain("bucket 'no-such-bucket' does not exist");
    client.destroy();
  });

  it('fails with SOURCE_ACCESS_DENIED on wrong credentials, without printing them', async () => {
    const location = locationFor(`${DAY}/*.parquet`, {
      credentials: { accessKeyId: 'WRONGKEY', secretAccessKey: 'wrong-secret-value' },
    });
    const client = createS3Client(location);
    const error = await rejection(listObjects(client, location));
    expect(error.code).toBe('SOURCE_ACCESS_DENIED');
    expect(error.message).toMatch(/check source credentials \(AWS_ACCESS_KEY_ID/);
    expect(error.message).not.toContain('wrong-secret-value');
    expect(error.message).not.toContain('\n');
    client.destroy();
  });

  it('fails with SOURCE_UNREACHABLE within seconds when nothing listens at the endpoint', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const location = locationFor(`${DAY}/*.parquet`, { endpoint });
    const client = createS3Client(location);
    const started = Date.now();
    const error = await rejection(listObjects(client, location));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.code).toBe('SOURCE_UNREACHABLE');
    expect(error.message).toContain(`cannot reach object store at ${endpoint}`);
    expect(error.message).toContain('check source.endpoint');
    client.destroy();
  });
});

describe('reading objects', () => {
  let objects: SourceObject[];
  let location: ObjectStoreLocation;

  beforeAll(async () => {
    location = locationFor('{big/blob.bin,pypi/2024-12-17/1734393600-000000000101.parquet}');
    const client = createS3Client(location);
    objects = await listObjects(client, location);
    client.destroy();
  });

  it('returns exact bytes for ranged reads, including the tail and empty ranges', async () => {
    const client = createS3Client(location);
    const object = objects.find((o) => o.key === wanted(101))!;
    const expected = contents.get(object.key)!;
    const buffer = s3AsyncBuffer(client, object);
    expect(buffer.byteLength).toBe(expected.length);
    const middle = await buffer.slice(10, 110);
    expect(Buffer.from(middle).equals(expected.subarray(10, 110))).toBe(true);
    const tail = await buffer.slice(expected.length - 8);
    expect(Buffer.from(tail).equals(expected.subarray(expected.length - 8))).toBe(true);
    const whole = await buffer.slice(0, expected.length);
    expect(Buffer.from(whole).equals(expected)).toBe(true);
    expect((await buffer.slice(5, 5)).byteLength).toBe(0);
    client.destroy();
  });

  it('streams a whole object with the exact bytes', async () => {
    const client = createS3Client(location);
    const object = objects.find((o) => o.key === 'big/blob.bin')!;
    const chunks: Uint8Array[] = [];
    for await (const chunk of readObject(client, object)) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(contents.get('big/blob.bin')!)).toBe(true);
    client.destroy();
  });

  it('maps a vanished object and a changed size onto SourceErrors naming the object', async () => {
    const client = createS3Client(location);
    const object = objects.find((o) => o.key === wanted(101))!;
    const gone: SourceObject = { ...object, key: 'gone.parquet', uri: `s3://${BUCKET}/gone.parquet` };
    const missing = await rejection(s3AsyncBuffer(client, gone).slice(0, 4) as Promise<ArrayBuffer>);
    expect(missing.code).toBe('SOURCE_EMPTY');
    expect(missing.message).toContain(`s3://${BUCKET}/gone.parquet`);
    const grown: SourceObject = { ...object, size: object.size + 100 };
    const short = await rejection(
      (async () => {
        for await (const _chunk of readObject(client, grown));
      })(),
    );
    expect(short.code).toBe('SOURCE_CORRUPT');
    expect(short.message).toContain(object.uri);
    client.destroy();
  });

  it('reads local files through the same AsyncBuffer interface', async () => {
    const path = join(directory, 'local.bin');
    const bytes = randomBytes(4096);
    writeFileSync(path, bytes);
    const buffer = await fileAsyncBuffer(path);
    expect(buffer.byteLength).toBe(4096);
    expect(Buffer.from(await buffer.slice(100, 200)).equals(bytes.subarray(100, 200))).toBe(true);
    const missing = await rejection(fileAsyncBuffer(join(directory, 'nope.bin')));
    expect(missing.code).toBe('SOURCE_EMPTY');
  });
});

// s3rver does not verify SigV4 signatures, so the codes only real S3 sends are checked on the mapping itself.
describe('mapS3Error', () => {
  const context = { endpoint: undefined, region: 'eu-west-1', bucket: 'lake' };
  const s3Error = (name: string, status: number) =>
    new S3ServiceException({
      name,
      $fault: 'client',
      $metadata: { httpStatusCode: status },
      message: `${name} text`,
    });

  it('maps signature and permission failures to SOURCE_ACCESS_DENIED', () => {
    for (const name of ['SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken']) {
      const mapped = mapS3Error(s3Error(name, 403), 'list s3://lake/x/*', context);
      expect(mapped.code).toBe('SOURCE_ACCESS_DENIED');
      expect(mapped.message).toContain('object store at https://s3.eu-west-1.amazonaws.com denied access');
      expect(mapped.message).toContain(name);
    }
  });

  it('maps connect timeouts to SOURCE_UNREACHABLE and keeps the cause', () => {
    const timeout = Object.assign(new Error('Connection timeout after 5000 ms'), { name: 'TimeoutError' });
    const mapped = mapS3Error(timeout, 'read s3://lake/k', context);
    expect(mapped.code).toBe('SOURCE_UNREACHABLE');
    expect(mapped.cause).toBe(timeout);
  });
});
