import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadViewConfig, resolveSizes } from '../../src/addview/config.ts';
import { ConfigError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'shadowfill-view-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

  it('says what is wrong in one line, naming the file and never the password', () => {
    const messages = [
      () => load(CLICKHOUSE.replace('cutoff_column', 'cutof_column')),
      () => load(CLICKHOUSE.replace('  to: per_day\n', '')),
      () => load(CLICKHOUSE.replace('url: http://ch:8123', 'url: ftp://ch')),
      () =>
        load(
          CLICKHOUSE.replace('kind: clickhouse', 'kind: timescaledb').replace(
            'url: http://ch:8123',
            'url: postgres://db/x',
          ),
        ),
      () => resolveSizes(load(CLICKHOUSE), 'number', 'id'),
    ].map((fn) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('no error');
    });
    expect(messages[0]).toMatch(
      /^unknown key `view\.cutof_column` in view\.yaml — remove it \(known: name, select, to/,
    );
    expect(messages[1]).toMatch(/^missing `view\.to` in view\.yaml — name the table the view writes to/);
    expect(messages[2]).toMatch(/`target\.url` is `ftp:\/\/ch` in view\.yaml, not a clickhouse URL/);
    expect(messages[3]).toMatch(/^`view\.to` in view\.yaml applies to clickhouse targets/);
    expect(messages[4]).toMatch(/^missing `view\.window` in view\.yaml — id holds ids/);
    for (const m of messages) expect(m).not.toContain('s3cret');
  });
});
