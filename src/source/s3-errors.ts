/**
 * The mapping of S3 and network failures onto SourceError codes, with one-line messages that say what to check.
 * Credentials never appear in messages. No SDK here: decode threads map the failures of their own HTTP reads
 * (src/workers/remote-reader.ts) with it too.
 */
import { ShadowfillError, SourceError, oneLine } from '../errors.ts';
import { effectiveEndpoint } from './location.ts';
import type { ObjectStoreLocation } from './types.ts';

/** Where an error happened, for the message: the endpoint and bucket of the location. */
export type S3ErrorContext = Pick<ObjectStoreLocation, 'endpoint' | 'region' | 'bucket'>;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);
const ACCESS_NAMES = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
]);

/**
 * Maps an error from the S3 client (or the network below it) onto a SourceError. `what` names the operation
 * and its subject, e.g. `list s3://bucket/prefix` or `read s3://bucket/key`. An existing ShadowfillError is
 * returned unchanged when it already is a SourceError.
 */
export function mapS3Error(error: unknown, what: string, context?: S3ErrorContext): SourceError {
  if (error instanceof SourceError) return error;
  if (error instanceof ShadowfillError) {
    return new SourceError('SOURCE_CORRUPT', `${what}: ${oneLine(error)}`, { cause: error });
  }
  const facts = describe(error);
  const endpoint = context === undefined ? undefined : effectiveEndpoint(context);
  const at = endpoint === undefined ? 'the object store' : `object store at ${endpoint}`;

  if (facts.network) {
    return new SourceError(
      'SOURCE_UNREACHABLE',
      `cannot reach ${at} to ${what}: ${facts.summary} — check source.endpoint and that the store is running`,
      { cause: error },
    );
  }
  if (facts.name === 'CredentialsProviderError') {
    return new SourceError(
      'SOURCE_ACCESS_DENIED',
      `no credentials to ${what} — set source credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or source.access_key_id/source.secret_access_key)`,
      { cause: error },
    );
  }
  if (ACCESS_NAMES.has(facts.name) || facts.status === 403 || facts.status === 401) {
    return new SourceError(
      'SOURCE_ACCESS_DENIED',
      `${at} denied access to ${what} (${facts.name || `HTTP ${facts.status}`}) — check source credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or source.access_key_id/source.secret_access_key) and their permissions`,
      { cause: error },
    );
  }
  if (facts.name === 'NoSuchBucket') {
    const bucket = context === undefined ? '' : ` '${context.bucket}'`;
    return new SourceError(
      'SOURCE_EMPTY',
      `bucket${bucket} does not exist at ${endpoint ?? 'the object store'} (while trying to ${what}) — check source.url and source.endpoint`,
      { cause: error },
    );
  }
  if (facts.name === 'NoSuchKey') {
    return new SourceError(
      'SOURCE_EMPTY',
      `object not found while trying to ${what} — it was deleted or renamed since it was listed; check source.url`,
      { cause: error },
    );
  }
  if (facts.status === 404) {
    // A 404 without an S3 error code: the endpoint is not (or not only) an S3 API.
    return new SourceError(
      'SOURCE_UNREACHABLE',
      `${at} answered HTTP 404 without an S3 error to ${what} — check that source.endpoint is an S3-compatible store`,
      { cause: error },
    );
  }
  if (facts.name === 'InvalidRange' || facts.status === 416) {
    return new SourceError(
      'SOURCE_CORRUPT',
      `cannot ${what}: the requested byte range lies outside the object — it changed since it was listed`,
      { cause: error },
    );
  }
  return new SourceError(
    'SOURCE_UNREACHABLE',
    `${at} failed to ${what}: ${facts.summary} — retry later or check the store's health`,
    { cause: error },
  );
}

interface ErrorFacts {
  readonly name: string;
  readonly status: number | undefined;
  readonly network: boolean;
  /** One line, safe to print: error name/code and the first line of its message. */
  readonly summary: string;
}

function describe(error: unknown): ErrorFacts {
  if (!(error instanceof Error))
    return { name: '', status: undefined, network: false, summary: String(error) };
  const record = error as Error & {
    code?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    errors?: unknown;
  };
  const status =
    typeof record.$metadata?.httpStatusCode === 'number' ? record.$metadata.httpStatusCode : undefined;
  const codes = [record.code, ...(Array.isArray(record.errors) ? record.errors.map(errorCode) : [])].filter(
    (code): code is string => typeof code === 'string',
  );
  const causeCode = errorCode(record.cause);
  if (causeCode !== undefined) codes.push(causeCode);
  const networkCode = codes.find((code) => NETWORK_CODES.has(code));
  const name = typeof record.Code === 'string' ? record.Code : record.name;
  const network = networkCode !== undefined || (NETWORK_NAMES.has(record.name) && status === undefined);
  const message = oneLine(error) || networkCode || name;
  const label = networkCode ?? (name === 'Error' ? '' : name);
  const summary = label && !message.includes(label) ? `${label}: ${message}` : message;
  return { name: name === 'Error' ? '' : name, status, network, summary };
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
