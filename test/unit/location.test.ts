import { describe, expect, it } from 'vitest';
import { objectHttpUrl, objectUri, resolveLocation } from '../../src/source/location.ts';
import { ConfigError } from '../../src/errors.ts';
import type { SourceConfig } from '../../src/config/types.ts';

function source(url: string, extra: Partial<SourceConfig> = {}): SourceConfig {
  return { url, endpoint: undefined, region: 'us-east-1', credentials: undefined, ...extra };
}

describe('resolveLocation', () => {
  it('reads s3:// URLs, taking the endpoint from source.endpoint', () => {
    const location = resolveLocation(
      source('s3://data/pypi/2024-12-17/1734393600-000000000{101..200}.parquet', {
        endpoint: 'http://127.0.0.1:9000/',
        credentials: { accessKeyId: 'k', secretAccessKey: 's' },
      }),
    );
    expect(location).toEqual({
      url: 's3://data/pypi/2024-12-17/1734393600-000000000{101..200}.parquet',
      bucket: 'data',
      keyPattern: 'pypi/2024-12-17/1734393600-000000000{101..200}.parquet',
      endpoint: 'http://127.0.0.1:9000',
      region: 'us-east-1',
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
    expect(resolveLocation(source('s3://b/k/*.parquet')).endpoint).toBeUndefined();
  });

  it('reads path-style http(s) URLs: the endpoint is scheme://host:port unless source.endpoint is set', () => {
    const location = resolveLocation(source('http://127.0.0.1:4569/bucket/a/b?.parquet'));
    expect(location.endpoint).toBe('http://127.0.0.1:4569');
    expect(location.bucket).toBe('bucket');
    expect(location.keyPattern).toBe('a/b?.parquet');
    const overridden = resolveLocation(
      source('https://minio.local/bucket/x/*', { endpoint: 'http://10.0.0.5:9000' }),
    );
    expect(overridden.endpoint).toBe('http://10.0.0.5:9000');
  });

  it('reads AWS virtual-hosted and path-style URLs, taking the region from the host', () => {
    const virtual = resolveLocation(
      source('https://my.bucket.s3.eu-west-1.amazonaws.com/logs/{a,b}/*.parquet'),
    );
    expect(virtual).toMatchObject({
      bucket: 'my.bucket',
      keyPattern: 'logs/{a,b}/*.parquet',
      endpoint: undefined,
      region: 'eu-west-1',
    });
    expect(resolveLocation(source('https://b.s3.amazonaws.com/k')).region).toBe('us-east-1');
    expect(resolveLocation(source('https://b.s3-us-west-2.amazonaws.com/k')).region).toBe('us-west-2');
    const pathStyle = resolveLocation(source('https://s3.ap-south-1.amazonaws.com/bkt/k/*.parquet'));
    expect(pathStyle).toMatchObject({
      bucket: 'bkt',
      keyPattern: 'k/*.parquet',
      endpoint: undefined,
      region: 'ap-south-1',
    });
  });

  it('rejects URLs without bucket or key pattern, and bad endpoints, with ConfigError', () => {
    for (const url of [
      's3://',
      's3://bucket',
      's3://bucket/',
      'ftp://x/y',
      'data/*.parquet',
      'http:///b/k',
    ]) {
      expect(() => resolveLocation(source(url)), url).toThrow(ConfigError);
    }
    expect(() => resolveLocation(source('s3://bucket/'))).toThrow(/names no objects/);
    expect(() => resolveLocation(source('s3://b/k', { endpoint: 'localhost:9000' }))).toThrow(
      /source.endpoint/,
    );
  });
});

describe('object addresses', () => {
  const local = resolveLocation(source('s3://data/x/*', { endpoint: 'http://127.0.0.1:9000' }));
  const aws = resolveLocation(source('s3://data/x/*', { region: 'eu-central-1' }));

  it('builds s3:// URIs', () => {
    expect(objectUri(local, 'a/b c.parquet')).toBe('s3://data/a/b c.parquet');
  });

  it('builds path-style URLs with each key segment percent-encoded', () => {
    expect(objectHttpUrl(local, 'pypi/2024-12-17/f-001.parquet')).toBe(
      'http://127.0.0.1:9000/data/pypi/2024-12-17/f-001.parquet',
    );
    expect(objectHttpUrl(local, 'a b/c?d{1}*#%.parquet')).toBe(
      'http://127.0.0.1:9000/data/a%20b/c%3Fd%7B1%7D%2A%23%25.parquet',
    );
    expect(objectHttpUrl(aws, 'k/v.parquet')).toBe('https://s3.eu-central-1.amazonaws.com/data/k/v.parquet');
  });
});

describe('server endpoint', () => {
  it('gives the database its own endpoint for object URLs while listing uses source.endpoint', async () => {
    const { resolveLocation, objectHttpUrl } = await import('../../src/source/location.ts');
    const location = resolveLocation({
      url: 's3://pypi/a/*.parquet',
      endpoint: 'http://localhost:9000',
      serverEndpoint: 'http://minio:9000/',
      region: 'us-east-1',
      credentials: undefined,
    });
    expect(location.endpoint).toBe('http://localhost:9000');
    expect(objectHttpUrl(location, 'a/x 1.parquet')).toBe('http://minio:9000/pypi/a/x%201.parquet');
  });
});
