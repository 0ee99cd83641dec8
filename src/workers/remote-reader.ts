/**
 * A decode thread's reader of one object in the store: ranged GETs (node:http, keep-alive) on URLs the pool presigns
 * on the main thread (pool.ts answers each `sign` message with the main thread's S3 client). So a decode thread
 * loads no object store client — the AWS SDK costs a thread about 0.2 s of start and 12 MiB — and holds no
 * credentials, while the bytes still arrive in the thread that decodes them, into its reusable buffers (the
 * socket's garbage stays in the thread's small young generation, not in the main thread's).
 *
 * A URL is valid `PRESIGN_SECONDS`; a reader uses one for its object's reads during half of that, then signs again
 * (so a task held back by a slow consumer never reads with an expired one), and signs again once after a 403. Failures map onto SourceError as the SDK's do (src/source/s3-errors.ts); a network failure is tried once
 * more, as the main thread's client does. URLs never appear in messages (they carry the access key id).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { clampOffset, shortRead, type RangeReader } from '../source/range-access.ts';
import { mapS3Error, type S3ErrorContext } from '../source/s3-errors.ts';
import { S3_ATTEMPTS, S3_CONNECT_TIMEOUT_MS, S3_IDLE_TIMEOUT_MS } from '../source/s3-limits.ts';
import type { SourceObject } from '../source/types.ts';

/** How long a presigned URL is valid: long enough for one ranged read to start. */
export const PRESIGN_SECONDS = 900;

/**
 * Objects up to this size are read whole by their first read, and every later read is served from memory: the
 * footer and the row groups then cost one request, not two or more one after the other (a small object's bytes
 * arrive in about the time its first byte does; a thread holds at most one such object per task).
 */
export const WHOLE_OBJECT_BYTES = 1024 * 1024;

/** A presigned GET URL of the object, made now by the main thread. */
export type SignRequest = () => Promise<string>;

export function remoteRangeReader(
  object: SourceObject,
  sign: SignRequest,
  context: S3ErrorContext,
  wholeUpTo = WHOLE_OBJECT_BYTES,
): RangeReader {
  const byteLength = object.size;
  // One URL for the object's reads while it is fresh (signed again after half its validity, or after a 403: an
  // expired URL, or credentials the main thread has renewed since).
  let url: { readonly text: Promise<string>; readonly until: number } | undefined;
  const current = (renew: boolean): Promise<string> => {
    if (renew || !url || Date.now() > url.until) {
      const text = sign();
      url = { text, until: Date.now() + (PRESIGN_SECONDS * 1000) / 2 };
      text.catch(() => (url = undefined));
    }
    return url.text;
  };
  const fetchRange = async (from: number, target: Uint8Array<ArrayBuffer>): Promise<void> => {
    const to = from + target.length;
    const what = `read bytes ${from}-${to - 1} of ${object.uri}`;
    if (to > byteLength) throw shortRead(what, byteLength - from, target.length, byteLength);
    let renew = false;
    for (let attempt = 1; ; attempt++) {
      try {
        await fetchInto(await current(renew), from, target, what, byteLength);
        return;
      } catch (error) {
        const mapped = mapS3Error(error, what, context);
        const denied = error instanceof HttpError && error.$metadata.httpStatusCode === 403;
        const network = mapped.code === 'SOURCE_UNREACHABLE' && !(error instanceof HttpError);
        if (attempt >= S3_ATTEMPTS || !(denied || network)) throw mapped;
        renew = denied;
      }
    }
  };
  let whole: Promise<Uint8Array<ArrayBuffer>> | undefined;
  const read = async (from: number, target: Uint8Array<ArrayBuffer>): Promise<void> => {
    if (byteLength > wholeUpTo) return fetchRange(from, target);
    if (from + target.length > byteLength) return fetchRange(from, target); // refused there, with its message
    if (!whole) {
      const bytes = new Uint8Array(byteLength);
      whole = fetchRange(0, bytes).then(() => bytes);
      whole.catch(() => (whole = undefined));
    }
    target.set((await whole).subarray(from, from + target.length));
  };
  return {
    byteLength,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const from = clampOffset(start, byteLength);
      const to = end === undefined ? byteLength : clampOffset(end, byteLength);
      if (to <= from) return new ArrayBuffer(0);
      const bytes = new Uint8Array(to - from);
      await read(from, bytes);
      return bytes.buffer;
    },
    async sliceInto(start: number, target: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
      if (target.length > 0) await read(clampOffset(start, byteLength), target);
      return target;
    },
  };
}

/** An S3 error response, shaped as the SDK reports one (`Code`, `$metadata.httpStatusCode`) for mapS3Error. */
class HttpError extends Error {
  constructor(
    readonly Code: string | undefined,
    readonly $metadata: { readonly httpStatusCode: number },
    message: string,
  ) {
    super(message);
  }
}

async function fetchInto(
  url: string,
  from: number,
  target: Uint8Array<ArrayBuffer>,
  what: string,
  size: number,
): Promise<void> {
  const to = from + target.length;
  const response = await get(url, `bytes=${from}-${to - 1}`);
  try {
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
      const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
      throw new HttpError(code, { httpStatusCode: status }, message ?? `HTTP ${status}`);
    }
    // A store that ignores the range answers 200 with the whole object: only the wanted bytes are kept.
    let skip = status === 206 ? 0 : from;
    let at = 0;
    for await (const chunk of response) {
      let bytes = chunk as Uint8Array;
      if (skip > 0) {
        const dropped = Math.min(skip, bytes.length);
        skip -= dropped;
        bytes = bytes.subarray(dropped);
      }
      if (at + bytes.length > target.length) {
        if (status === 206) {
          // More than the range asked for: the object changed; nothing is read past it.
          at += bytes.length;
          break;
        }
        // The whole object (the range ignored): the wanted bytes are complete.
        target.set(bytes.subarray(0, target.length - at), at);
        at = target.length;
        break;
      }
      target.set(bytes, at);
      at += bytes.length;
    }
    if (at !== target.length) throw shortRead(what, at, target.length, size);
  } finally {
    // A body read to its end leaves the connection to the agent for the next read; one broken off closes it.
    if (!response.complete) response.destroy();
  }
}

/** Keep-alive agents of this thread (one connection pool per thread, as the SDK's client keeps). */
const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 50 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
};

/** A GET of `url` with a Range header; resolves with the response once its headers arrived. */
function get(url: string, range: string): Promise<IncomingMessage> {
  return new Promise<IncomingMessage>((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    const request = (secure ? httpsRequest : httpRequest)(
      target,
      { method: 'GET', headers: { Range: range }, agent: secure ? agents.https : agents.http },
      resolve,
    );
    const fail = (code: string, message: string) =>
      request.destroy(Object.assign(new Error(message), { code }));
    request.setTimeout(S3_IDLE_TIMEOUT_MS, () => fail('ETIMEDOUT', 'the connection was idle too long'));
    request.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => fail('ETIMEDOUT', 'connecting timed out'), S3_CONNECT_TIMEOUT_MS);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    request.on('error', reject);
    request.end();
  });
}
