/**
 * Configuration: byte sizes, loading YAML/JSON files, flags over file over environment over defaults, every
 * validation error (one line, names the field, never a secret), redaction, and the example configs.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatBytes, parseBytes } from '../../src/config/bytes.ts';
import { loadConfig, redactConfig, redactUrl, type ConfigFlags } from '../../src/config/load.ts';
import { defineConfig } from '../../src/config/define.ts';
import { configFields, configJsonSchema } from '../../src/config/schema.ts';
import { DEFAULT_ATTEMPTS, DEFAULT_BATCH } from '../../src/config/types.ts';
import { parseTimescaleOptions } from '../../adapters/timescaledb/options.ts';
import { ConfigError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'shadowfill-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

let fileCount = 0;
function configFile(text: string, name = 'backfill.yaml'): string {
  fileCount += 1;
  const sub = join(dir, String(fileCount));
  mkdirSync(sub, { recursive: true });
  const path = join(sub, name);
  writeFileSync(path, text);
  return path;
}

const SECRET = 'hunter2-SECRET-value';

const MINIMAL = `
target: { kind: clickhouse, url: 'embedded:./.data/ch', table: pypi }
source: { url: 's3://bucket/pypi/2024-12-17/*.parquet' }
`;

function load(options: { text?: string; name?: string; flags?: ConfigFlags; env?: NodeJS.ProcessEnv }) {
  return loadConfig({
    file: options.text === undefined ? undefined : configFile(options.text, options.name),
    flags: options.flags ?? {},
    env: options.env ?? {},
  });
}

/** The ConfigError thrown, checked to be one line and free of the secret. */
function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configErr = error as ConfigError;
    expect(configErr.code).toBe('CONFIG_INVALID');
    expect(configErr.exitCode).toBe(2);
    expect(configErr.message).not.toContain('\n');
    expect(configErr.message).not.toContain(SECRET);
    return configErr;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('parseBytes / formatBytes', () => {
  it.each([
    ['15GB', 15e9],
    ['15 GB', 15e9],
    ['15gb', 15e9],
    ['15G', 15e9],
    ['512MiB', 512 * 1024 ** 2],
    ['512 mib', 512 * 1024 ** 2],
    ['1.5KiB', 1536],
    ['2TiB', 2 * 1024 ** 4],
    ['1e9', 1e9],
    ['1E3', 1000],
    ['100', 100],
    ['100B', 100],
    ['0', 0],
  ] as const)('parses %s', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it('takes numbers as bytes and rounds fractions', () => {
    expect(parseBytes(1048576)).toBe(1048576);
    expect(parseBytes(1e9)).toBe(1e9);
    expect(parseBytes('0.5KB')).toBe(500);
    expect(parseBytes(10.6)).toBe(11);
  });

  it.each(['', 'GB', '15XB', '-1GB', '15 G B', 'abc', '1iB', '1,5GB'])('rejects %j', (text) => {
    expect(() => parseBytes(text)).toThrow(RangeError);
  });

  it('rejects negative, infinite and too large numbers', () => {
    expect(() => parseBytes(-1)).toThrow(/not a byte size/);
    expect(() => parseBytes(Infinity)).toThrow(/not a byte size/);
    expect(() => parseBytes('100PiB')).toThrow(/too large/);
  });

  it('formats with binary units and at most one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(15 * 1024 ** 3)).toBe('15 GiB');
    expect(formatBytes(512 * 1024 ** 2)).toBe('512 MiB');
    expect(formatBytes(1024 ** 2 - 1)).toBe('1 MiB');
    expect(parseBytes(formatBytes(15 * 1024 ** 3).replace(' ', ''))).toBe(15 * 1024 ** 3);
  });
});

describe('loadConfig: files', () => {
  const FULL_YAML = `
target: { kind: clickhouse, url: 'embedded:./.data/ch', database: analytics, table: pypi, user: loader, password: '${SECRET}' }
source:
  url: 's3://bucket/pypi/2024-12-17/1734393600-000000000{101..200}.parquet'
  endpoint: 'http://127.0.0.1:9000/'
  region: eu-west-1
  access_key_id: AKIAEXAMPLE
  secret_access_key: '${SECRET}'
  session_token: tok
filter: { column: timestamp, before: auto, after: '2024-12-01 00:00:00' }
batch: { files: 50, bytes: 512MiB }
views: [pypi_downloads_mv, other_mv]
settings: { max_insert_threads: 4, min_insert_block_size_rows: 1000000, async_insert: false, mode: fast }
load: server
attempts: 5
workers: 3
mode: historical
clickhouse: {}
`;

  const EXPECTED = {
    target: {
      kind: 'clickhouse',
      url: 'embedded:./.data/ch',
      database: 'analytics',
      table: 'pypi',
      user: 'loader',
      password: SECRET,
    },
    source: {
      url: 's3://bucket/pypi/2024-12-17/1734393600-000000000{101..200}.parquet',
      endpoint: 'http://127.0.0.1:9000',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: SECRET, sessionToken: 'tok' },
    },
    filter: { column: 'timestamp', before: 'auto', after: '2024-12-01 00:00:00' },
    batch: { files: 50, bytes: 512 * 1024 ** 2, count: 1 },
    views: ['pypi_downloads_mv', 'other_mv'],
    settings: {
      max_insert_threads: 4,
      min_insert_block_size_rows: 1000000,
      async_insert: false,
      mode: 'fast',
    },
    load: 'server',
    attempts: 5,
    workers: 3,
    mode: 'historical',
    targetOptions: {},
  };

  it('reads every field from YAML', () => {
    expect(load({ text: FULL_YAML })).toEqual(EXPECTED);
  });

  it('reads the same from JSON', () => {
    const json = JSON.stringify({
      target: {
        kind: 'clickhouse',
        url: 'embedded:./.data/ch',
        database: 'analytics',
        table: 'pypi',
        user: 'loader',
        password: SECRET,
      },
      source: {
        url: 's3://bucket/pypi/2024-12-17/1734393600-000000000{101..200}.parquet',
        endpoint: 'http://127.0.0.1:9000/',
        region: 'eu-west-1',
        access_key_id: 'AKIAEXAMPLE',
        secret_access_key: SECRET,
        session_token: 'tok',
      },
      filter: { column: 'timestamp', before: 'auto', after: '2024-12-01 00:00:00' },
      batch: { files: 50, bytes: '512MiB' },
      views: ['pypi_downloads_mv', 'other_mv'],
      settings: {
        max_insert_threads: 4,
        min_insert_block_size_rows: 1000000,
        async_insert: false,
        mode: 'fast',
      },
      load: 'server',
      attempts: 5,
      workers: 3,
      mode: 'historical',
    });
    expect(load({ text: json, name: 'backfill.json' })).toEqual(EXPECTED);
  });

  it('accepts numbers for byte sizes and text fields, and empty sections', () => {
    const config = load({
      text: `${MINIMAL}\nbatch: { bytes: 1e9 }\nfilter:\nsettings:\nviews: none\n`,
    });
    expect(config.batch).toEqual({ files: 100, bytes: 1e9, count: 'auto' });
    expect(config.filter).toBeUndefined();
    expect(config.settings).toEqual({});
    expect(config.views).toEqual([]);
    const numeric = load({
      text: `target: { kind: clickhouse, url: 'http://h:8123', table: 2024, password: 12345 }\nsource: { url: 's3://b/k' }`,
    });
    expect(numeric.target.table).toBe('2024');
    expect(numeric.target.password).toBe('12345');
  });

  it('takes views as a comma list, and filter bounds as numbers', () => {
    const config = load({
      text: `${MINIMAL}\nviews: 'a_mv, b_mv, a_mv'\nfilter: { column: id, after: 10, before: 20 }`,
    });
    expect(config.views).toEqual(['a_mv', 'b_mv']);
    expect(config.filter).toEqual({ column: 'id', after: '10', before: '20' });
    const range = load({
      text: `${MINIMAL}\nfilter: { column: ts, after: '2024-12-01', before: '2024-12-17T00:00:00Z' }`,
    });
    expect(range.filter).toEqual({ column: 'ts', after: '2024-12-01', before: '2024-12-17T00:00:00Z' });
  });
});

describe('loadConfig: defaults', () => {
  it('fills ClickHouse defaults', () => {
    expect(load({ text: MINIMAL })).toEqual({
      target: {
        kind: 'clickhouse',
        url: 'embedded:./.data/ch',
        database: 'default',
        table: 'pypi',
        user: undefined,
        password: undefined,
      },
      source: {
        url: 's3://bucket/pypi/2024-12-17/*.parquet',
        endpoint: undefined,
        region: 'us-east-1',
        credentials: undefined,
      },
      filter: undefined,
      batch: { files: 100, bytes: 15 * 1024 ** 3, count: 'auto' },
      views: 'auto',
      settings: {},
      load: 'server',
      attempts: 3,
      workers: 'auto',
      mode: 'historical',
      targetOptions: {},
    });
  });

  it('fills TimescaleDB defaults: public schema, client load', () => {
    const config = load({
      text: `target: { kind: timescaledb, url: 'postgres://localhost/db', table: pypi }\nsource: { url: 's3://b/k/*.parquet' }`,
    });
    expect(config.target.database).toBe('public');
    expect(config.load).toBe('client');
    expect(config.attempts).toBe(3);
  });

  it('reads target.schema as the TimescaleDB database', () => {
    const config = load({
      text: `target: { kind: timescaledb, url: 'postgres://localhost/db', schema: metrics, table: pypi }\nsource: { url: 's3://b/k' }`,
    });
    expect(config.target.database).toBe('metrics');
  });

  it('needs no file when flags give everything', () => {
    const config = load({
      flags: {
        'target.kind': 'timescaledb',
        'target.url': 'embedded:./.data/pg',
        'target.table': 'pypi',
        'source.url': 's3://b/k/*.parquet',
      },
    });
    expect(config.target).toMatchObject({ kind: 'timescaledb', url: 'embedded:./.data/pg', table: 'pypi' });
  });
});

describe('loadConfig: flags override the file', () => {
  it('overrides any field, coerces types and reads kebab-case names', () => {
    const config = load({
      text: `${MINIMAL}\nbatch: { files: 50 }\nsettings: { max_insert_threads: 4 }\nviews: [a_mv]`,
      flags: {
        '--target.url': 'http://127.0.0.1:8123',
        'target.table': 'pypi_2',
        '--source.url': 's3://other/*.parquet',
        '--source.access-key-id': 'AKIAFLAG',
        '--source.secret-access-key': SECRET,
        '--filter.column': 'timestamp',
        '--filter.before': '2024-12-17',
        '--batch.files': '7',
        '--batch.bytes': '2GiB',
        '--batch.count': '6',
        '--settings.max_insert_threads': '8',
        '--settings.async_insert': true,
        '--settings.insert_deduplication_token': 'abc',
        '--views': 'x_mv,y_mv',
        '--load': 'client',
        '--attempts': '1',
        // The CLI's own flags are not config fields and are left alone.
        '--config': 'backfill.yaml',
        yes: true,
        'dry-run': true,
        'target.user': undefined,
      },
    });
    expect(config.target.url).toBe('http://127.0.0.1:8123');
    expect(config.target.table).toBe('pypi_2');
    expect(config.target.user).toBeUndefined();
    expect(config.source.url).toBe('s3://other/*.parquet');
    expect(config.source.credentials).toEqual({
      accessKeyId: 'AKIAFLAG',
      secretAccessKey: SECRET,
      sessionToken: undefined,
    });
    expect(config.filter).toEqual({ column: 'timestamp', before: '2024-12-17', after: undefined });
    expect(config.batch).toEqual({ files: 7, bytes: 2 * 1024 ** 3, count: 6 });
    expect(config.settings).toEqual({
      max_insert_threads: 8,
      async_insert: true,
      insert_deduplication_token: 'abc',
    });
    expect(config.views).toEqual(['x_mv', 'y_mv']);
    expect(config.load).toBe('client');
    expect(config.attempts).toBe(1);
    expect(config.targetOptions).toEqual({});
  });

  it('can switch target.kind from the command line', () => {
    const config = load({
      text: MINIMAL,
      flags: { 'target.kind': 'timescaledb', 'target.url': 'postgres://h/db' },
    });
    expect(config.target.kind).toBe('timescaledb');
    expect(config.load).toBe('client');
  });
});

describe('loadConfig: environment', () => {
  const AWS = {
    AWS_ACCESS_KEY_ID: 'AKIAENV',
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_SESSION_TOKEN: 'envtoken',
    AWS_DEFAULT_REGION: 'ap-south-1',
    AWS_ENDPOINT_URL: 'http://generic:9000',
  };

  it('fills the source from AWS_* variables', () => {
    const config = load({ text: MINIMAL, env: AWS });
    expect(config.source).toEqual({
      url: 's3://bucket/pypi/2024-12-17/*.parquet',
      endpoint: 'http://generic:9000',
      region: 'ap-south-1',
      credentials: { accessKeyId: 'AKIAENV', secretAccessKey: SECRET, sessionToken: 'envtoken' },
    });
  });

  it('prefers AWS_REGION and AWS_ENDPOINT_URL_S3 over the generic variables', () => {
    const config = load({
      text: MINIMAL,
      env: { ...AWS, AWS_REGION: 'eu-central-1', AWS_ENDPOINT_URL_S3: 'http://s3only:9000' },
    });
    expect(config.source.region).toBe('eu-central-1');
    expect(config.source.endpoint).toBe('http://s3only:9000');
  });

  it('lets file and flags win, and never mixes an env session token with configured keys', () => {
    const config = load({
      text: `${MINIMAL.replace("source: { url: 's3://bucket/pypi/2024-12-17/*.parquet' }", "source: { url: 's3://b/k', region: us-west-2, access_key_id: AKIAFILE, secret_access_key: filesecret }")}`,
      flags: { 'source.endpoint': 'http://flag:9000' },
      env: AWS,
    });
    expect(config.source.region).toBe('us-west-2');
    expect(config.source.endpoint).toBe('http://flag:9000');
    expect(config.source.credentials).toEqual({
      accessKeyId: 'AKIAFILE',
      secretAccessKey: 'filesecret',
      sessionToken: undefined,
    });
  });

  it('ignores a lone AWS key variable and empty variables', () => {
    const config = load({ text: MINIMAL, env: { AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_REGION: '' } });
    expect(config.source.credentials).toBeUndefined();
    expect(config.source.region).toBe('us-east-1');
  });

  it('fills ClickHouse connection fields from CLICKHOUSE_*', () => {
    const env = {
      CLICKHOUSE_URL: 'http://ch:8123',
      CLICKHOUSE_USER: 'u',
      CLICKHOUSE_PASSWORD: SECRET,
      PGUSER: 'pg',
    };
    const config = load({
      text: `target: { kind: clickhouse, table: pypi }\nsource: { url: 's3://b/k' }`,
      env,
    });
    expect(config.target).toMatchObject({ url: 'http://ch:8123', user: 'u', password: SECRET });
    const fileWins = load({
      text: `target: { kind: clickhouse, table: pypi, user: me }\nsource: { url: 's3://b/k' }`,
      env,
    });
    expect(fileWins.target.user).toBe('me');
    expect(fileWins.target.password).toBe(SECRET);
  });

  it('fills TimescaleDB connection fields from DATABASE_URL / PGUSER / PGPASSWORD', () => {
    const config = load({
      text: `target: { kind: timescaledb, table: pypi }\nsource: { url: 's3://b/k' }`,
      env: {
        DATABASE_URL: 'postgresql://db:5432/app',
        PGUSER: 'pg',
        PGPASSWORD: SECRET,
        CLICKHOUSE_USER: 'ch',
      },
    });
    expect(config.target).toMatchObject({ url: 'postgresql://db:5432/app', user: 'pg', password: SECRET });
  });
});

describe('loadConfig: errors', () => {
  it('names a mistyped top-level key and suggests the right one', () => {
    const error = configError(() =>
      load({
        text: `target: { kind: clickhouse, url: 'http://h:8123', table: t }\nsourse: { url: 's3://b/k' }`,
      }),
    );
    expect(error.message).toBe('unknown key `sourse` in backfill.yaml — did you mean `source`?');
  });

  it('names mistyped nested keys, camelCase ones too', () => {
    expect(configError(() => load({ text: `${MINIMAL}\nbatch: { flies: 3 }` })).message).toBe(
      'unknown key `batch.flies` in backfill.yaml — did you mean `batch.files`?',
    );
    expect(
      configError(() =>
        load({
          text: `target: { kind: clickhouse, url: 'http://h:8123', table: t }\nsource: { url: 's3://b/k', accessKeyId: x }`,
        }),
      ).message,
    ).toBe('unknown key `source.accessKeyId` in backfill.yaml — did you mean `source.access_key_id`?');
  });

  it('lists the known keys when nothing is close', () => {
    const error = configError(() => load({ text: `${MINIMAL}\nwhatever: 1`, name: 'my.yml' }));
    expect(error.message).toMatch(
      /^unknown key `whatever` in my\.yml — remove it \(known keys: target, source, .*\)$/,
    );
  });

  it('names mistyped flags', () => {
    expect(configError(() => load({ text: MINIMAL, flags: { '--target.tabel': 'x' } })).message).toBe(
      'unknown flag `--target.tabel` — did you mean `--target.table`?',
    );
    expect(configError(() => load({ text: MINIMAL, flags: { '--sourse.url': 'x' } })).message).toBe(
      'unknown flag `--sourse.url` — did you mean `--source.url`?',
    );
    expect(configError(() => load({ text: MINIMAL, flags: { '--batch': '3' } })).message).toMatch(
      /--batch needs a field/,
    );
    expect(configError(() => load({ text: MINIMAL, flags: { '--target.url': true } })).message).toBe(
      'flag --target.url needs a value',
    );
  });

  it('requires target.table, naming the file, the flag and how to fix it', () => {
    const error = configError(() =>
      load({ text: `target: { kind: clickhouse, url: 'http://h:8123' }\nsource: { url: 's3://b/k' }` }),
    );
    expect(error.message).toBe(
      'missing `target.table` (the live table to backfill) — set target.table in backfill.yaml or pass --target.table',
    );
  });

  it('requires target.url, pointing at the environment variable of the kind', () => {
    expect(
      configError(() =>
        load({ text: `target: { kind: timescaledb, table: t }\nsource: { url: 's3://b/k' }` }),
      ).message,
    ).toMatch(/^missing `target\.url` .* or set DATABASE_URL$/);
    expect(configError(() => load({ flags: { 'target.kind': 'clickhouse' } })).message).toMatch(
      /^missing `target\.url` .*set target\.url in a config file, pass --target\.url or set CLICKHOUSE_URL$/,
    );
  });

  it('requires target.kind and rejects other kinds', () => {
    expect(configError(() => load({ text: `target: { url: 'http://h:8123', table: t }` })).message).toMatch(
      /^missing `target\.kind` \(clickhouse or timescaledb\)/,
    );
    expect(
      configError(() => load({ text: `target: { kind: mysql, url: 'http://h', table: t }` })).message,
    ).toBe('`target.kind` is `mysql` in backfill.yaml — use clickhouse or timescaledb');
  });

  it('requires source.url and checks its shape', () => {
    expect(
      configError(() => load({ text: `target: { kind: clickhouse, url: 'http://h:8123', table: t }` }))
        .message,
    ).toMatch(/^missing `source\.url`/);
    expect(
      configError(() => load({ text: MINIMAL, flags: { 'source.url': 'ftp://bucket/k' } })).message,
    ).toBe('`source.url` is `ftp://bucket/k` from --source.url — write it like s3://bucket/path/*.parquet');
    // Path-style and virtual-hosted HTTP URLs are accepted (the source module resolves them).
    expect(
      load({ text: MINIMAL, flags: { 'source.url': 'https://bucket.s3.amazonaws.com/k/*.parquet' } }).source
        .url,
    ).toBe('https://bucket.s3.amazonaws.com/k/*.parquet');
  });

  it('checks target.url against the kind without printing its password', () => {
    const error = configError(() =>
      load({ text: MINIMAL, flags: { 'target.url': `postgres://me:${SECRET}@db:5432/app` } }),
    );
    expect(error.message).toBe(
      '`target.url` is `postgres://me:***@db:5432/app` from --target.url, not a clickhouse URL — use http(s)://host:8123 or embedded:<dir>',
    );
  });

  it('rejects batch.files below 1 and non-integers, and bad byte sizes', () => {
    expect(configError(() => load({ text: `${MINIMAL}\nbatch: { files: 0 }` })).message).toBe(
      '`batch.files` is `0` in backfill.yaml — use a whole number ≥ 1 (objects per batch)',
    );
    expect(configError(() => load({ text: MINIMAL, flags: { 'batch.files': '2.5' } })).message).toMatch(
      /^`batch\.files` is `2\.5` from --batch\.files/,
    );
    expect(configError(() => load({ text: `${MINIMAL}\nbatch: { bytes: 15XB }` })).message).toBe(
      '`batch.bytes` is `15XB` in backfill.yaml — use a size ≥ 1 byte like 15GB, 10GiB, 512MiB or 1e9',
    );
    expect(configError(() => load({ text: `${MINIMAL}\nattempts: 0` })).message).toMatch(
      /^`attempts` is `0`/,
    );
    expect(configError(() => load({ text: MINIMAL, flags: { workers: '0' } })).message).toBe(
      '`workers` is `0` from --workers — use a whole number ≥ 1 (batches loaded at once, or auto)',
    );
    expect(load({ text: MINIMAL, flags: { workers: '4' } }).workers).toBe(4);
    expect(load({ text: MINIMAL, flags: { workers: 'AUTO' } }).workers).toBe('auto');
    expect(configError(() => load({ text: `${MINIMAL}\nmode: fast` })).message).toBe(
      '`mode` is `fast` in backfill.yaml — use historical or catchup',
    );
  });

  it('rejects filter bounds without filter.column, and a column without bounds', () => {
    expect(configError(() => load({ text: `${MINIMAL}\nfilter: { before: auto }` })).message).toBe(
      '`filter.before` is set without `filter.column` — add filter.column (the column to compare, e.g. timestamp)',
    );
    expect(
      configError(() => load({ text: MINIMAL, flags: { 'filter.after': '2024-01-01' } })).message,
    ).toMatch(/^`filter\.after` is set without `filter\.column`/);
    expect(configError(() => load({ text: `${MINIMAL}\nfilter: { column: '' }` })).message).toMatch(
      /^`filter\.column` is empty/,
    );
    expect(configError(() => load({ text: `${MINIMAL}\nfilter: { column: timestamp }` })).message).toMatch(
      /^`filter\.column` is set without a bound/,
    );
  });

  it('rejects unreadable filter bounds and empty ranges', () => {
    expect(
      configError(() => load({ text: `${MINIMAL}\nfilter: { column: ts, after: yesterday }` })).message,
    ).toBe(
      '`filter.after` is `yesterday` in backfill.yaml — write a date-time like 2024-12-01 00:00:00 or a number',
    );
    expect(
      configError(() => load({ text: `${MINIMAL}\nfilter: { column: ts, after: auto }` })).message,
    ).toMatch(/^`filter\.after` is `auto`/);
    expect(
      configError(() =>
        load({
          text: `${MINIMAL}\nfilter: { column: ts, after: '2024-12-17', before: '2024-12-01 00:00:00' }`,
        }),
      ).message,
    ).toMatch(/^`filter\.after` \(2024-12-17\) is not earlier than `filter\.before`/);
  });

  it('rejects load: server for TimescaleDB and unknown load modes', () => {
    expect(
      configError(() =>
        load({
          text: `target: { kind: timescaledb, url: 'postgres://h/db', table: t }\nsource: { url: 's3://b/k' }\nload: server`,
        }),
      ).message,
    ).toMatch(/^`load: server` needs a target that reads S3 itself/);
    expect(configError(() => load({ text: `${MINIMAL}\nload: stream` })).message).toBe(
      '`load` is `stream` in backfill.yaml — use server or client',
    );
  });

  it('rejects half-configured credentials without printing them', () => {
    expect(
      configError(() => load({ text: MINIMAL, flags: { 'source.secret_access_key': SECRET } })).message,
    ).toBe(
      '`source.secret_access_key` is set but `source.access_key_id` is not — set both (or neither, to use AWS_* variables)',
    );
    expect(
      configError(() => load({ text: MINIMAL, flags: { 'source.session_token': SECRET } })).message,
    ).toMatch(/^`source\.session_token` is set without/);
    expect(
      configError(() =>
        load({ text: MINIMAL, flags: { 'source.access_key_id': [SECRET] as unknown as string } }),
      ).message,
    ).toBe('`source.access_key_id` from --source.access_key_id must be text, not a list');
  });

  it('rejects an adapter section for the other kind, bad setting names and bad shapes', () => {
    expect(configError(() => load({ text: `${MINIMAL}\ntimescaledb: { strategy: auto }` })).message).toBe(
      'section `timescaledb` in backfill.yaml applies to target.kind timescaledb, but target.kind is clickhouse — remove it or change target.kind',
    );
    expect(configError(() => load({ text: `${MINIMAL}\nsettings: { 'max threads': 2 }` })).message).toMatch(
      /^setting `max threads` in backfill\.yaml is not a setting name/,
    );
    expect(configError(() => load({ text: `${MINIMAL}\nsettings: { a: [1] }` })).message).toMatch(
      /must be a string, number or boolean/,
    );
    expect(configError(() => load({ text: `${MINIMAL}\nbatch: 5` })).message).toBe(
      '`batch` in backfill.yaml must be a mapping (batch: { … }), not a number',
    );
    expect(configError(() => load({ text: `- a\n- b` })).message).toMatch(
      /^backfill\.yaml must be a mapping of sections/,
    );
    expect(configError(() => load({ text: `${MINIMAL}\nviews: { a: 1 }` })).message).toMatch(
      /^`views` in backfill\.yaml must be auto, none or a list/,
    );
    expect(configError(() => load({ text: `${MINIMAL}\nviews: [a, '']` })).message).toMatch(
      /empty or non-text entry/,
    );
    expect(
      configError(() =>
        load({
          text: `target: { kind: clickhouse, url: 'http://h:8123', table: t, schema: s }\nsource: { url: 's3://b/k' }`,
        }),
      ).message,
    ).toMatch(/^`target\.schema` applies to timescaledb/);
  });

  it('reports unreadable files and YAML errors without quoting the file', () => {
    expect(
      configError(() => loadConfig({ file: join(dir, 'nope.yaml'), flags: {}, env: {} })).message,
    ).toMatch(/^cannot read config file .*nope\.yaml: it does not exist — check the path/);
    const error = configError(() =>
      load({ text: `target:\n  password: ${SECRET}\n  password: ${SECRET}\n` }),
    );
    expect(error.message).toMatch(
      /^backfill\.yaml is not valid YAML\/JSON: Map keys must be unique at line 3/,
    );
    const flow = configError(() => load({ text: `target: { kind: x\n password: ${SECRET}`, name: 'b.json' }));
    expect(flow.message).toMatch(/^b\.json is not valid YAML\/JSON: /);
  });

  it('never prints secrets when a secret field has the wrong type', () => {
    expect(
      configError(() =>
        load({ text: MINIMAL.replace('table: pypi', `table: pypi, password: ['${SECRET}']`) }),
      ).message,
    ).toBe('`target.password` in backfill.yaml must be text, not a list');
    expect(
      configError(() =>
        load({
          text: MINIMAL.replace(
            "url: 's3://bucket/pypi/2024-12-17/*.parquet'",
            `url: 's3://b/k', access_key_id: a, secret_access_key: { x: '${SECRET}' }`,
          ),
        }),
      ).message,
    ).toBe('`source.secret_access_key` in backfill.yaml must be text, not a mapping');
  });
});

describe('redactConfig', () => {
  it('replaces passwords, keys, tokens and URL passwords with ***', () => {
    const config = load({
      text: `target: { kind: timescaledb, url: 'postgres://me:${SECRET}@db/app?sslpassword=${SECRET}&x=1', table: t, password: '${SECRET}' }
source: { url: 's3://b/k', endpoint: 'http://u:${SECRET}@minio:9000', access_key_id: AKIA, secret_access_key: '${SECRET}', session_token: '${SECRET}' }
timescaledb: { strategy: direct }`,
    });
    const redacted = redactConfig({
      ...config,
      targetOptions: { strategy: 'auto', nested: { api_key: SECRET }, password: SECRET },
    });
    expect(JSON.stringify(redacted)).not.toContain(SECRET);
    expect(redacted.target.url).toBe('postgres://me:***@db/app?sslpassword=***&x=1');
    expect(redacted.target.password).toBe('***');
    expect(redacted.source.endpoint).toBe('http://u:***@minio:9000');
    expect(redacted.source.credentials).toEqual({
      accessKeyId: '***',
      secretAccessKey: '***',
      sessionToken: '***',
    });
    expect(redacted.targetOptions).toEqual({ strategy: 'auto', nested: { api_key: '***' }, password: '***' });
    // The original is untouched.
    expect(config.target.password).toBe(SECRET);
  });

  it('leaves configs without secrets as they are', () => {
    const config = load({ text: MINIMAL });
    expect(redactConfig(config)).toEqual(config);
    expect(redactUrl('http://127.0.0.1:9000')).toBe('http://127.0.0.1:9000');
  });
});

describe('example configs', () => {
  const examples = join(import.meta.dirname, '..', '..', 'fixtures', 'examples');

  it('clickhouse-docker.yaml loads', () => {
    const config = loadConfig({ file: join(examples, 'clickhouse-docker.yaml'), flags: {}, env: {} });
    expect(config.target).toMatchObject({ kind: 'clickhouse', url: 'http://localhost:8123', table: 'pypi' });
    expect(config.source).toMatchObject({ endpoint: 'http://localhost:9000', region: 'us-east-1' });
    expect(config.source.url).toMatch(/^s3:\/\/pypi\/pypi\/2024-12-17\//);
    expect(config.batch).toEqual({ files: 100, bytes: 15e9, count: 1 });
    expect(config.load).toBe('server');
    expect(config.source.serverEndpoint).toBe('http://minio:9000');
  });

  it('timescaledb-docker.yaml loads', () => {
    const config = loadConfig({ file: join(examples, 'timescaledb-docker.yaml'), flags: {}, env: {} });
    expect(config.target).toMatchObject({ kind: 'timescaledb', database: 'public', table: 'pypi' });
    expect(config.load).toBe('client');
    expect(config.targetOptions).toMatchObject({ strategy: 'auto', on_conflict: 'nothing' });
  });
});

describe('adapter option sections', () => {
  const TSDB = `target: { kind: timescaledb, url: 'postgres://h/db', table: t }\nsource: { url: 's3://b/k' }`;

  it('checks the TimescaleDB section when the file is read, and fills its defaults', () => {
    const config = load({ text: `${TSDB}\ntimescaledb: { strategy: direct, conflict_columns: 'a, b' }` });
    expect(config.targetOptions).toEqual({
      strategy: 'direct',
      direct_max_fraction: 0.25,
      on_conflict: 'error',
      conflict_columns: ['a', 'b'],
      max_decompressed_bytes: 10 * 1024 ** 3,
      load_method: 'auto',
      insert_rows: 10_000,
      direct_compress_insert: true,
      progressive_recompress: true,
    });
    expect(parseTimescaleOptions(config.targetOptions)).toMatchObject({
      strategy: 'direct',
      conflictColumns: ['a', 'b'],
    });
  });

  it('reads byte sizes with the one parser everywhere: 10Gi, 10GiB, 15GB, 1e9', () => {
    for (const [text, bytes] of [
      ['10Gi', 10 * 1024 ** 3],
      ['10GiB', 10 * 1024 ** 3],
      ['15GB', 15e9],
      ['1e9', 1e9],
    ] as const) {
      expect(
        load({ text: `${TSDB}\ntimescaledb: { max_decompressed_bytes: ${text} }` }).targetOptions
          .max_decompressed_bytes,
      ).toBe(bytes);
      expect(load({ text: MINIMAL, flags: { 'batch.bytes': text } }).batch.bytes).toBe(bytes);
      expect(parseTimescaleOptions({ max_decompressed_bytes: text }).maxDecompressedBytes).toBe(bytes);
    }
  });

  it('refuses unknown and mistyped options with a suggestion, naming the origin', () => {
    expect(configError(() => load({ text: `${TSDB}\ntimescaledb: { on_conflcit: nothing }` })).message).toBe(
      'unknown key `timescaledb.on_conflcit` in backfill.yaml — did you mean `timescaledb.on_conflict`?',
    );
    expect(configError(() => load({ text: TSDB, flags: { 'timescaledb.stratgy': 'direct' } })).message).toBe(
      'unknown flag `--timescaledb.stratgy` — did you mean `--timescaledb.strategy`?',
    );
    expect(configError(() => load({ text: TSDB, flags: { 'timescaledb.strategy': 'fast' } })).message).toBe(
      '`timescaledb.strategy` is `fast` from --timescaledb.strategy — use decompress or direct or auto',
    );
    expect(
      configError(() => load({ text: `${TSDB}\ntimescaledb: { max_decompressed_bytes: lots }` })).message,
    ).toBe(
      '`timescaledb.max_decompressed_bytes` is `lots` in backfill.yaml — use a size like 15GB, 10GiB, 512MiB or 1e9',
    );
    expect(configError(() => load({ text: `${TSDB}\ntimescaledb: { update_columns: [v] }` })).message).toBe(
      '`timescaledb.update_columns` in backfill.yaml needs on_conflict: update — set on_conflict: update or remove update_columns',
    );
    expect(configError(() => load({ text: `${MINIMAL}\nclickhouse: { merge_wait: 30s }` })).message).toBe(
      'unknown key `clickhouse.merge_wait` in backfill.yaml — remove it (`clickhouse` takes no keys)',
    );
    expect(() => parseTimescaleOptions({ stratgy: 'x' })).toThrow(
      /unknown TimescaleDB target option "stratgy"/,
    );
  });

  it('names an environment variable as the origin of a bad value', () => {
    expect(configError(() => load({ text: MINIMAL, env: { AWS_ENDPOINT_URL: 'ftp://x' } })).message).toBe(
      '`source.endpoint` is `ftp://x` from $AWS_ENDPOINT_URL — write it like http://127.0.0.1:9000',
    );
    expect(
      configError(() =>
        load({
          text: `target: { kind: clickhouse, table: t }\nsource: { url: 's3://b/k' }`,
          env: { CLICKHOUSE_URL: `postgres://u:${SECRET}@h/db` },
        }),
      ).message,
    ).toBe(
      '`target.url` is `postgres://u:***@h/db` from $CLICKHOUSE_URL, not a clickhouse URL — use http(s)://host:8123 or embedded:<dir>',
    );
  });
});

describe('defineConfig', () => {
  it('fills the same defaults as loadConfig, from the same schema', () => {
    const config = defineConfig({
      target: { kind: 'clickhouse', url: 'embedded:./.data/ch', table: 'pypi' },
      source: { url: 's3://bucket/pypi/2024-12-17/*.parquet' },
    });
    expect(config).toEqual(load({ text: MINIMAL }));
    expect(config.batch).toEqual(DEFAULT_BATCH);
    expect(config.attempts).toBe(DEFAULT_ATTEMPTS);
    expect(DEFAULT_BATCH).toEqual({ files: 100, bytes: 15 * 1024 ** 3, count: 'auto' });
  });

  it('maps credentials and adapter options, and refuses bad input in one line', () => {
    const config = defineConfig({
      target: { kind: 'timescaledb', url: 'embedded:./x', table: 't' },
      source: {
        url: 's3://b/k',
        serverEndpoint: 'http://minio:9000/',
        credentials: { accessKeyId: 'a', secretAccessKey: SECRET, sessionToken: undefined },
      },
      filter: { column: 'ts', before: 'auto', after: undefined },
      targetOptions: { strategy: 'direct' },
    });
    expect(config.source).toMatchObject({
      serverEndpoint: 'http://minio:9000',
      credentials: { accessKeyId: 'a', secretAccessKey: SECRET, sessionToken: undefined },
    });
    expect(config.load).toBe('client');
    expect(config.targetOptions).toMatchObject({ strategy: 'direct' });
    expect(
      configError(() =>
        defineConfig({
          target: { kind: 'timescaledb', url: 'embedded:./x', table: 't' },
          source: { url: 's3://b/k' },
          targetOptions: { strategy: 'sideways' },
        }),
      ).message,
    ).toBe('`timescaledb.strategy` is `sideways` in defineConfig() — use decompress or direct or auto');
    expect(
      configError(() =>
        defineConfig({
          target: { kind: 'clickhouse', url: 'embedded:./x', table: 't' },
          source: { url: 's3://b/k' },
          batch: { files: 0, bytes: 1 },
        }),
      ).message,
    ).toBe('`batch.files` is `0` in defineConfig() — use a whole number ≥ 1 (objects per batch)');
  });
});

describe('JSON Schema', () => {
  const schema = configJsonSchema() as {
    properties: Record<string, { properties?: Record<string, Record<string, unknown>>; required?: string[] }>;
    required: string[];
    additionalProperties: boolean;
  };

  it('describes every section, refuses unknown keys and shows defaults and enums', () => {
    expect(Object.keys(schema.properties)).toEqual([
      'target',
      'source',
      'filter',
      'batch',
      'views',
      'settings',
      'load',
      'attempts',
      'workers',
      'mode',
      'clickhouse',
      'timescaledb',
    ]);
    expect(schema.required).toEqual(['target', 'source']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.target?.required).toEqual(['kind', 'url', 'table']);
    expect(schema.properties.target?.properties?.kind).toMatchObject({ enum: ['clickhouse', 'timescaledb'] });
    expect(schema.properties.batch?.properties?.files).toMatchObject({
      type: 'integer',
      minimum: 1,
      default: 100,
    });
    expect(schema.properties.batch?.properties?.bytes).toMatchObject({ default: '15GiB' });
    expect(schema.properties.timescaledb?.properties?.strategy).toMatchObject({
      enum: ['decompress', 'direct', 'auto'],
      default: 'auto',
    });
    expect(JSON.stringify(schema)).not.toContain('"required":["files"');
    expect(schema.properties.workers).toMatchObject({ default: 'auto' });
    expect(schema.properties.mode).toMatchObject({ enum: ['historical', 'catchup'], default: 'historical' });
  });

  it('is the committed schema/backfill.schema.json (regenerate with `shadowfill config schema`)', () => {
    const committed = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'schema', 'backfill.schema.json'), 'utf8'),
    ) as unknown;
    expect(committed).toEqual(schema);
  });

  it('the example configs point editors at it', () => {
    for (const name of ['clickhouse-docker.yaml', 'timescaledb-docker.yaml']) {
      const text = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'examples', name), 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../schema/backfill.schema.json');
    }
  });

  it('lists every field for the CLI flags', () => {
    const paths = configFields().map((f) => f.path);
    expect(paths).toContain('target.url');
    expect(paths).toContain('batch.files');
    expect(paths).toContain('views');
    expect(paths).toContain('timescaledb.max_decompressed_bytes');
    expect(paths).not.toContain('settings');
  });
});
