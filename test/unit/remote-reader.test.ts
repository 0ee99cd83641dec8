/**
 * A decode thread's reader (src/workers/remote-reader.ts) against a real HTTP server: ranges, a small object read
 * whole by one request, a store that ignores the range, a URL refused once (signed again), errors mapped as the
 * SDK's are — and never a URL in a message. Tests of ranged reads read as they do for objects above
 * WHOLE_OBJECT_BYTES (`wholeUpTo` 0).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.ts';
import type { SourceObject } from '../../src/source/types.ts';
import { remoteRangeReader, WHOLE_OBJECT_BYTES } from '../../src/workers/remote-reader.ts';

const BODY = Buffer.from(Array.from({ length: 200_000 }, (_, i) => i % 251));
let server: Server;
let base = '';
let deniedOnce = true;
let missingOnce = true;
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests += 1;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const xml = (status: number, code: string) => {
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0"?><Error><Code>${code}</Code><Message>${code} here</Message></Error>`);
    };
    if (path === '/missing') return xml(404, 'NoSuchKey');
    if (path === '/missing-once' && missingOnce) {
      missingOnce = false;
      return xml(404, 'NoSuchKey');
    }
    if (path === '/denied') return xml(403, 'AccessDenied');
    if (path === '/denied-once' && deniedOnce) {
      deniedOnce = false;
      return xml(403, 'AccessDenied');
    }
    if (path === '/ignore' || !range) {
      res.writeHead(200, { 'content-length': BODY.length });
      return res.end(BODY);
    }
    const [from, to] = [Number(range[1]), Number(range[2]) + 1];
    res.writeHead(206, { 'content-length': to - from });
    res.end(BODY.subarray(from, to));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const object: SourceObject = {
  key: 'k.parquet',
  size: BODY.length,
  uri: 's3://bucket/k.parquet',
  httpUrl: 'http://store/bucket/k.parquet',
};
const context = { endpoint: 'http://store', region: 'us-east-1', bucket: 'bucket' };

/** What `value` rejects with (or resolves to). */
async function failure(value: unknown): Promise<unknown> {
  try {
    return await value;
  } catch (error) {
    return error;
  }
}

function reader(path: string, wholeUpTo = 0) {
  const signed: string[] = [];
  const sign = async () => {
    const url = `${base}${path}?X-Amz-Credential=AKIASECRET&X-Amz-Signature=deadbeef`;
    signed.push(url);
    return url;
  };
  return { reader: remoteRangeReader(object, sign, context, wholeUpTo), signed };
}

describe('a decode thread reads its object with presigned URLs', () => {
  it('reads ranges into the caller’s buffer, one URL for several reads', async () => {
    const { reader: r, signed } = reader('/ok');
    const target = new Uint8Array(new ArrayBuffer(70_000), 0, 60_000);
    const filled = await r.sliceInto(100_000, target);
    expect(filled).toBe(target);
    expect(Buffer.from(filled).equals(BODY.subarray(100_000, 160_000))).toBe(true);
    expect(Buffer.from(await r.slice(-8)).equals(BODY.subarray(BODY.length - 8))).toBe(true);
    expect(signed).toHaveLength(1);
  });

  it('reads an object up to WHOLE_OBJECT_BYTES whole with its first read; later reads cost no request', async () => {
    expect(BODY.length).toBeLessThanOrEqual(WHOLE_OBJECT_BYTES);
    const { reader: r } = reader('/ok', WHOLE_OBJECT_BYTES);
    const before = requests;
    // As a Parquet reader goes: the footer at the end, then a row group's bytes into its own buffer.
    expect(Buffer.from(await r.slice(-8)).equals(BODY.subarray(BODY.length - 8))).toBe(true);
    const target = new Uint8Array(new ArrayBuffer(60_000));
    expect(Buffer.from(await r.sliceInto(4, target)).equals(BODY.subarray(4, 60_004))).toBe(true);
    expect(Buffer.from(await r.slice(199_990)).equals(BODY.subarray(199_990))).toBe(true);
    expect(requests - before).toBe(1);
    // Beyond the end is refused as a ranged read refuses it.
    const short = await failure(r.sliceInto(BODY.length - 5, new Uint8Array(10)));
    expect((short as SourceError).code).toBe('SOURCE_CORRUPT');
    // A larger object (or a lower limit) reads ranges: one request per read.
    const { reader: ranged } = reader('/ok', BODY.length - 1);
    const start = requests;
    await ranged.slice(-8);
    await ranged.slice(0, 10);
    expect(requests - start).toBe(2);
  });

  it('a small object whose whole read failed is read again by the next read', async () => {
    const { reader: r } = reader('/missing-once', WHOLE_OBJECT_BYTES);
    expect(((await failure(r.slice(0, 10))) as SourceError).code).toBe('SOURCE_EMPTY');
    expect(Buffer.from(await r.slice(10, 20)).equals(BODY.subarray(10, 20))).toBe(true);
  });

  it('a store that ignores the range: only the wanted bytes are kept', async () => {
    const { reader: r } = reader('/ignore');
    expect(Buffer.from(await r.slice(5, 70_005)).equals(BODY.subarray(5, 70_005))).toBe(true);
  });

  it('a URL refused once (expired, or credentials renewed) is signed again', async () => {
    deniedOnce = true;
    const { reader: r, signed } = reader('/denied-once');
    expect(Buffer.from(await r.slice(10, 20)).equals(BODY.subarray(10, 20))).toBe(true);
    expect(signed).toHaveLength(2);
  });

  it('errors are SourceErrors as the SDK’s are, naming the object, never the URL', async () => {
    const missing = await failure(reader('/missing').reader.slice(0, 10));
    expect(missing).toBeInstanceOf(SourceError);
    expect((missing as SourceError).code).toBe('SOURCE_EMPTY');
    expect((missing as Error).message).toContain('s3://bucket/k.parquet');
    const denied = await failure(reader('/denied').reader.slice(0, 10));
    expect((denied as SourceError).code).toBe('SOURCE_ACCESS_DENIED');
    const short = await failure(reader('/ok').reader.sliceInto(BODY.length - 5, new Uint8Array(10)));
    expect((short as SourceError).code).toBe('SOURCE_CORRUPT');
    for (const error of [missing, denied, short]) {
      expect((error as Error).message).not.toMatch(/AKIASECRET|deadbeef|127\.0\.0\.1/);
    }
  });

  it('an endpoint that refuses connections is SOURCE_UNREACHABLE after one more try', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    let signs = 0;
    const r = remoteRangeReader(
      object,
      async () => {
        signs += 1;
        return `http://127.0.0.1:${port}/k?X-Amz-Signature=deadbeef`;
      },
      context,
    );
    const error = await failure(r.slice(0, 10));
    expect((error as SourceError).code).toBe('SOURCE_UNREACHABLE');
    expect((error as Error).message).not.toMatch(/deadbeef/);
    expect(signs).toBe(1);
  });
});
