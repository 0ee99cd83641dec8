/**
 * Random access to one Parquet object as hyparquet's AsyncBuffer: ranged GetObject requests for objects in
 * the store, file reads for local files. The Parquet reader fetches footers and row groups through these; row
 * groups of objects in the store can be streamed into buffers the reader reuses (`sliceInto`).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { asyncBufferFromFile, type AsyncBuffer } from 'hyparquet';
import { clampOffset, shortRead, type RangeReader } from './range-access.ts';
import { SourceError, oneLine } from '../errors.ts';
import { mapS3Error, type S3ErrorContext } from './s3-client.ts';
import type { SourceObject } from './types.ts';

export type { AsyncBuffer, RangeReader };
export { isRangeReader } from './range-access.ts';

/** An AsyncBuffer over `object`; `slice(start, end)` fetches bytes [start, end) with one ranged GET. */
export function s3AsyncBuffer(client: S3Client, object: SourceObject, context?: S3ErrorContext): RangeReader {
  const byteLength = object.size;
  const get = (from: number, to: number) =>
    client.send(
      new GetObjectCommand({ Bucket: bucketOf(object), Key: object.key, Range: `bytes=${from}-${to - 1}` }),
    );
  const short = (what: string, got: number, wanted: number) => shortRead(what, got, wanted, byteLength);
  return {
    byteLength,
    async sliceInto(start: number, target: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
      const from = clampOffset(start, byteLength);
      const to = from + target.length;
      if (target.length === 0) return target;
      const what = `read bytes ${from}-${to - 1} of ${object.uri}`;
      if (to > byteLength) throw short(what, byteLength - from, target.length);
      let at = 0;
      try {
        const response = await get(from, to);
        if (response.Body === undefined) throw new Error('the response has no body');
        const body = response.Body as Partial<AsyncIterable<Uint8Array>>;
        const chunks: AsyncIterable<Uint8Array> =
          typeof body[Symbol.asyncIterator] === 'function'
            ? (body as AsyncIterable<Uint8Array>)
            : once(await response.Body.transformToByteArray());
        for await (const chunk of chunks) {
          if (at + chunk.length > target.length) {
            // More than asked for: the store ignored the range or the object changed; nothing is read past it.
            at += chunk.length;
            break;
          }
          target.set(chunk, at);
          at += chunk.length;
        }
      } catch (error) {
        throw mapS3Error(error, what, context ?? contextOf(object));
      }
      if (at !== target.length) throw short(what, at, target.length);
      return target;
    },
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const from = clampOffset(start, byteLength);
      const to = end === undefined ? byteLength : clampOffset(end, byteLength);
      if (to <= from) return new ArrayBuffer(0);
      const what = `read bytes ${from}-${to - 1} of ${object.uri}`;
      let bytes: Uint8Array;
      try {
        const response = await get(from, to);
        if (response.Body === undefined) throw new Error('the response has no body');
        bytes = await response.Body.transformToByteArray();
      } catch (error) {
        throw mapS3Error(error, what, context ?? contextOf(object));
      }
      if (bytes.byteLength !== to - from) throw short(what, bytes.byteLength, to - from);
      return toArrayBuffer(bytes);
    },
  };
}

/** An AsyncBuffer over a local file (fixtures, `file:` sources). */
export async function fileAsyncBuffer(path: string): Promise<AsyncBuffer> {
  try {
    return await asyncBufferFromFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new SourceError(
      code === 'ENOENT' ? 'SOURCE_EMPTY' : 'SOURCE_ACCESS_DENIED',
      `cannot open local file ${path}: ${oneLine(error)} — check the path and its permissions`,
      { cause: error },
    );
  }
}

/** The bucket of an object, from its `s3://bucket/key` URI. */
export function bucketOf(object: Pick<SourceObject, 'uri'>): string {
  const match = /^s3:\/\/([^/]+)\//.exec(object.uri);
  if (!match?.[1]) throw new Error(`object URI '${object.uri}' is not of the form s3://bucket/key`);
  return match[1];
}

/** Error context derived from the object itself: its bucket and the endpoint of its path-style URL. */
export function contextOf(object: Pick<SourceObject, 'uri' | 'httpUrl'>): S3ErrorContext {
  const bucket = bucketOf(object);
  const marker = object.httpUrl.indexOf(`/${encodeURIComponent(bucket)}/`);
  const endpoint = marker > 0 ? object.httpUrl.slice(0, marker) : new URL(object.httpUrl).origin;
  return { endpoint, region: '', bucket };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer;
  }
  return bytes.slice().buffer as ArrayBuffer;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}
