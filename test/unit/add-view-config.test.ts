import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadViewConfig,
  resolveSizes,
  viewConfigFields,
  viewConfigJsonSchema,
} from '../../src/addview/config.ts';
import { ConfigError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'shadowfill-view-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

function load(text: string, flags: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}) {
  const file = join(dir, 'view.yaml');
  writeFileSync(file, text);
  return loadViewConfig({ file, flags, env });
}

const CLICKHOUSE = `
target: { kind: clickhouse, url: http://ch:8123, table: pypi, password: s3cret }
view:
  name: per_day_mv
  to: per_day
  select: SELECT toStartOfHour(timestamp) AS hour, count() AS c FROM pypi GROUP BY hour
  cutoff_column: timestamp
settings: { max_memory_usage: 4000000000 }
`;

describe('add-view configuration', () => {
  it('reads the view section with zod and the shared sections as run does (env, defaults)', () => {
    const config = load(CLICKHOUSE, { 'view.window': '6 hours' }, { CLICKHOUSE_USER: 'alice' });
    expect(config.target).toMatchObject({
      kind: 'clickhouse',
      database: 'default',
      table: 'pypi',
      user: 'alice',
    });
    expect(config.source).toBeUndefined();
    expect(config.settings).toEqual({ max_memory_usage: 4000000000 });
    expect(config.view).toMatchObject({
      cutoff: 'auto',
      settle: '10 seconds',
      verify: 'full',
      window: '6 hours',
    });
    const sizes = resolveSizes(config, 'time', 'timestamp');
    expect(sizes.window).toBe(6n * 3_600_000_000n);
    expect(sizes.margin).toBe(60_000_000n);
  });

  it('says what is wrong in one line, naming where the value was set and never the password', () => {
    const messages = [
      () => load(CLICKHOUSE.replace('cutoff_column', 'cutof_column')),
      () => load(CLICKHOUSE.replace('  to: per_day\n', '')),
      () => load(CLICKHOUSE.replace('url: http://ch:8123', 'url: ftp://ch')),
      () =>
        load(
          CLICKHOUSE.replace('kind: clickhouse', 'kind: timescaledb')
            .replace('url: http://ch:8123', 'url: postgres://db/x')
            .replace(/settings.*\n/, ''),
        ),
      () => resolveSizes(load(CLICKHOUSE), 'number', 'id'),
      () => resolveSizes(load(CLICKHOUSE, { 'view.window': '6 hours' }), 'number', 'id'),
      () => load(CLICKHOUSE, { 'view.window': 'soon' }),
      () => load(CLICKHOUSE, { 'view.windw': '1' }),
      () => load('target: { kind: clickhouse, url: http://ch:8123, table: pypi }\n'),
      () =>
        load(
          CLICKHOUSE.replace('kind: clickhouse', 'kind: timescaledb').replace(
            'url: http://ch:8123',
            'url: postgres://db/x',
          ),
        ),
    ].map((fn) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('no error');
    });
    expect(messages).toEqual([
      'unknown key `view.cutof_column` in view.yaml — did you mean `view.cutoff_column`?',
      'missing `view.to` (the table the view writes to: ClickHouse views need a TO table) — set view.to in view.yaml or pass --view.to',
      '`target.url` is `ftp://ch` in view.yaml, not a clickhouse URL — use http(s)://host:8123 or embedded:<dir>',
      '`view.to` in view.yaml applies to clickhouse targets — remove it (a continuous aggregate stores its own rows and tracks changes itself)',
      'missing `view.window` — id holds ids: set view.window in view.yaml (a number of ids, e.g. 1000000) or pass --view.window',
      '`view.window` is `6 hours` from --view.window, but id holds ids — write a whole number of ids, e.g. 1000000',
      '`view.window` is `soon` from --view.window — write a duration like 1 day, 6 hours or 90 minutes, or a number of ids',
      'unknown flag `--view.windw` — did you mean `--view.window`?',
      'missing `view.name` (the new view’s name) — set view.name in view.yaml or pass --view.name',
      '`view.to` in view.yaml applies to clickhouse targets — remove it (a continuous aggregate stores its own rows and tracks changes itself)',
    ]);
    for (const m of messages) expect(m).not.toContain('s3cret');
  });

  it('history comes from object storage only when the file or a flag says so, not from AWS_* alone', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' };
    expect(load(CLICKHOUSE, {}, env).source).toBeUndefined();
    const withSource = load(CLICKHOUSE, { 'source.url': 's3://history/pypi/*.parquet' }, env);
    expect(withSource.source).toMatchObject({
      url: 's3://history/pypi/*.parquet',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    expect(() => load(`${CLICKHOUSE}source: { endpoint: 'http://s3:9000' }\n`)).toThrow(
      /^missing `source\.url` .* — set source\.url in view\.yaml or pass --source\.url$/,
    );
  });

  it('is one schema: flags for every field, and the committed schema/view.schema.json', () => {
    const paths = viewConfigFields().map((f) => f.path);
    for (const p of [
      'target.url',
      'source.url',
      'view.window',
      'view.refresh_policy.schedule_interval',
      'attempts',
    ]) {
      expect(paths).toContain(p);
    }
    const committed = JSON.parse(
      readFileSync(join(import.meta.dirname, '..', '..', 'schema', 'view.schema.json'), 'utf8'),
    ) as unknown;
    expect(committed).toEqual(viewConfigJsonSchema());
  });

  it('the example view.yaml loads and points editors at the schema', () => {
    const file = join(import.meta.dirname, '..', '..', 'fixtures', 'examples', 'add-view-clickhouse.yaml');
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe(
      '# yaml-language-server: $schema=../../schema/view.schema.json',
    );
    const config = loadViewConfig({ file, env: {} });
    expect(config.view).toMatchObject({ name: 'pypi_downloads_per_day_mv', cutoff_column: 'timestamp' });
  });
});
