/**
 * Turns the configured source URL into an ObjectStoreLocation (bucket, key pattern, endpoint, region), and
 * builds the URIs and path-style HTTP URLs of single objects.
 *
 * Accepted URLs:
 *   s3://bucket/key-pattern                               (endpoint from source.endpoint, else AWS S3)
 *   http(s)://host[:port]/bucket/key-pattern              (path style; endpoint http(s)://host[:port])
 *   https://bucket.s3.<region>.amazonaws.com/key-pattern  (AWS virtual-hosted style)
 *   https://s3.<region>.amazonaws.com/bucket/key-pattern  (AWS path style)
 * The key pattern is taken as written (no percent-decoding), because `?`, `{` and `}` are glob syntax.
 */
import { ConfigError } from '../errors.ts';
import type { SourceConfig } from '../config/types.ts';
import type { ObjectStoreLocation } from './types.ts';

const URL_SHAPE = /^(s3|https?):\/\/([^/]*)\/?(.*)$/i;
/** `bucket.s3.region.amazonaws.com`, `bucket.s3-region.amazonaws.com`, `bucket.s3.amazonaws.com`. */
const AWS_VIRTUAL_HOST = /^(.+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/i;
/** `s3.region.amazonaws.com`, `s3-region.amazonaws.com`, `s3.amazonaws.com`. */
const AWS_PATH_HOST = /^s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/i;

export function resolveLocation(source: SourceConfig): ObjectStoreLocation {
  const url = source.url.trim();
  const shape = URL_SHAPE.exec(url);
  if (!shape) {
    throw new ConfigError(
      `source.url '${url}' is not an object-store URL — use s3://bucket/key-pattern or http(s)://host:port/bucket/key-pattern`,
    );
  }
  const scheme = (shape[1] ?? '').toLowerCase();
  const authority = shape[2] ?? '';
  const path = shape[3] ?? '';
  const configuredEndpoint = source.endpoint === undefined ? undefined : normalizeEndpoint(source.endpoint);

  let bucket: string;
  let keyPattern: string;
  let endpoint: string | undefined;
  let region = source.region;
  const host = authority.replace(/:\d+$/, '');
  const virtualHost = scheme === 'https' ? AWS_VIRTUAL_HOST.exec(host) : null;
  const awsPathHost = scheme === 'https' ? AWS_PATH_HOST.exec(host) : null;

  if (scheme === 's3') {
    bucket = authority;
    keyPattern = path;
    endpoint = configuredEndpoint;
  } else if (awsPathHost) {
    [bucket, keyPattern] = splitBucket(path);
    endpoint = configuredEndpoint;
    region = awsRegion(awsPathHost[1]) ?? region;
  } else if (virtualHost) {
    bucket = virtualHost[1] ?? '';
    keyPattern = path;
    endpoint = configuredEndpoint;
    region = awsRegion(virtualHost[2]) ?? region;
  } else {
    if (host.length === 0)
      throw new ConfigError(`source.url '${url}' has no host — write ${scheme}://host:port/bucket/key`);
    [bucket, keyPattern] = splitBucket(path);
    endpoint = configuredEndpoint ?? `${scheme}://${authority}`;
  }

  if (bucket.length === 0) {
    throw new ConfigError(`source.url '${url}' names no bucket — write s3://bucket/key-pattern`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(bucket)) {
    throw new ConfigError(`source.url '${url}' has an invalid bucket name '${bucket}' — check source.url`);
  }
  if (keyPattern.length === 0) {
    throw new ConfigError(
      `source.url '${url}' names no objects — add a key pattern such as s3://${bucket}/path/*.parquet`,
    );
  }
  const serverEndpoint =
    source.serverEndpoint === undefined ? undefined : normalizeEndpoint(source.serverEndpoint);
  return { url, bucket, keyPattern, endpoint, serverEndpoint, region, credentials: source.credentials };
}

/** `s3://bucket/key`, for messages and journal entries. */
export function objectUri(location: Pick<ObjectStoreLocation, 'bucket'>, key: string): string {
  return `s3://${location.bucket}/${key}`;
}

/** The endpoint requests go to: the configured one, or AWS S3's regional endpoint. */
export function effectiveEndpoint(location: Pick<ObjectStoreLocation, 'endpoint' | 'region'>): string {
  return location.endpoint ?? `https://s3.${location.region}.amazonaws.com`;
}

/**
 * Path-style HTTP URL of one object (endpoint/bucket/key) as the database reads it (through
 * `serverEndpoint` when set), each key segment percent-encoded (RFC 3986).
 */
export function objectHttpUrl(
  location: Pick<ObjectStoreLocation, 'endpoint' | 'serverEndpoint' | 'region' | 'bucket'>,
  key: string,
): string {
  const encodedKey = key.split('/').map(encodeKeySegment).join('/');
  const endpoint = location.serverEndpoint ?? effectiveEndpoint(location);
  return `${endpoint}/${encodeKeySegment(location.bucket)}/${encodedKey}`;
}

/** encodeURIComponent, plus the sub-delimiters it leaves alone (`!'()*`), so no glob character survives. */
function encodeKeySegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function splitBucket(path: string): [string, string] {
  const slash = path.indexOf('/');
  return slash < 0 ? [path, ''] : [path.slice(0, slash), path.slice(slash + 1)];
}

/** The region in an AWS host name; `s3.amazonaws.com` (no region) is us-east-1. */
function awsRegion(fromHost: string | undefined): string | undefined {
  if (fromHost === undefined) return 'us-east-1';
  // `s3-external-1.amazonaws.com` names no region: keep the configured one.
  if (fromHost.toLowerCase().startsWith('external')) return undefined;
  return fromHost.toLowerCase();
}

function normalizeEndpoint(endpoint: string): string {
  const trimmed = endpoint.trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/i.test(trimmed)) {
    throw new ConfigError(
      `source.endpoint '${endpoint}' is not an http(s) URL — write it like http://127.0.0.1:9000`,
    );
  }
  return trimmed;
}
