/**
 * Streams one object's whole body with bounded memory (the HTTP response is consumed chunk by chunk, with
 * backpressure). Fails with SOURCE_CORRUPT when the byte count differs from the listed size.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SourceError } from '../errors.ts';
import { bucketOf, contextOf } from './range-reader.ts';
import { mapS3Error, type S3ErrorContext } from './s3-client.ts';
import type { SourceObject } from './types.ts';

export async function* readObject(
  client: S3Client,
  object: SourceObject,
  context?: S3ErrorContext,
): AsyncGenerator<Uint8Array, void, undefined> {
  const errorContext = context ?? contextOf(object);
  const what = `read ${object.uri}`;
  let body: AsyncIterable<Uint8Array> & { destroy?: () => void };
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucketOf(object), Key: object.key }));
    if (response.Body === undefined || !(Symbol.asyncIterator in response.Body)) {
      throw new Error('the response body is not a stream');
    }
    body = response.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
  } catch (error) {
    throw mapS3Error(error, what, errorContext);
  }
  let received = 0;
  let finished = false;
  try {
    try {
      for await (const chunk of body) {
        received += chunk.byteLength;
        yield chunk;
      }
    } catch (error) {
      throw mapS3Error(error, what, errorContext);
    }
    finished = true;
  } finally {
    // Stop the download when the consumer leaves early.
    if (!finished) body.destroy?.();
  }
  if (received !== object.size) {
    throw new SourceError(
      'SOURCE_CORRUPT',
      `${what} returned ${received} bytes instead of the listed ${object.size} — the object changed since it was listed; start a new run`,
    );
  }
}
