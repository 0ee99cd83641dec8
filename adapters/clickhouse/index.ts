/** Entry point of the ClickHouse adapter: picks the driver from `target.url` and builds the adapter. */
import { resolve } from 'node:path';
import type { AdapterFactory } from '../../src/adapter/contract.ts';
import { ConfigError } from '../../src/errors.ts';
import { ClickHouseAdapter } from './adapter.ts';
import type { ClickHouseDriver } from './driver.ts';
import { ChdbDriver } from './drivers/chdb.ts';
import { HttpDriver } from './drivers/http.ts';

export function createClickHouseDriver(
  url: string,
  target: { user?: string | undefined; password?: string | undefined; database: string },
): ClickHouseDriver {
  if (url.startsWith('embedded:')) {
    const dir = url.slice('embedded:'.length);
    if (!dir)
      throw new ConfigError('target.url embedded: needs a data directory, e.g. embedded:./.data/clickhouse');
    return new ChdbDriver(resolve(dir));
  }
  if (/^https?:\/\//.test(url)) {
    return new HttpDriver({ url, user: target.user, password: target.password, database: target.database });
  }
  throw new ConfigError(
    `target.url ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))} is not http(s)://… or embedded:<dir> — fix target.url`,
  );
}

export const createClickHouseAdapter: AdapterFactory = (config) =>
  new ClickHouseAdapter(config, createClickHouseDriver(config.target.url, config.target));
