/** Entry point of TimescaleDB's add-view (continuous aggregates): the same one-connection `pg` pool as the backfill adapter. */
import type { ViewAdapterFactory } from '../../../src/adapter/view-contract.ts';
import { ConfigError } from '../../../src/errors.ts';
import { TimescaleViewAdapter } from './adapter.ts';

export const createTimescaleViewAdapter: ViewAdapterFactory = (target) => {
  if (!/^(postgres|postgresql):\/\//.test(target.url) && !target.url.startsWith('embedded:')) {
    throw new ConfigError(
      'target.url is not a TimescaleDB URL: use postgres://user@host:5432/db or embedded:<dir>',
    );
  }
  return new TimescaleViewAdapter(target);
};
