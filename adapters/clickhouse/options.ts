/**
 * The ClickHouse adapter's part of the configuration: the kind's defaults (database `default`, `load: server`,
 * `CLICKHOUSE_*` variables) and its option section, `clickhouse:` in config files — empty for now: insert
 * settings go in the top-level `settings` section. Unknown keys are refused.
 */
import { z } from 'zod';
import type { AdapterConfigSpec } from '../../src/config/adapter-config.ts';

export const clickhouseConfig: AdapterConfigSpec = {
  kind: 'clickhouse',
  options: z.strictObject({}),
  defaultDatabase: 'default',
  defaultLoad: 'server',
  serverLoad: true,
  url: { pattern: /^https?:\/\/[^/]+/i, example: 'http(s)://host:8123' },
  env: {
    'target.url': ['CLICKHOUSE_URL'],
    'target.user': ['CLICKHOUSE_USER'],
    'target.password': ['CLICKHOUSE_PASSWORD'],
  },
  description: 'ClickHouse over HTTP, or embedded ClickHouse (chDB) with embedded:<dir>',
};
