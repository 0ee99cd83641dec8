/**
 * How long and how often the engine waits on the object store, for every reader of it: the main thread's S3
 * client (s3-client.ts) and the decode threads' ranged GETs (src/workers/remote-reader.ts). No SDK here.
 */

/** Fail fast on an endpoint that does not answer: one retry, a short connect timeout. */
export const S3_ATTEMPTS = 2;
export const S3_CONNECT_TIMEOUT_MS = 5_000;
/** A socket idle this long (no bytes either way) is abandoned. */
export const S3_IDLE_TIMEOUT_MS = 120_000;
