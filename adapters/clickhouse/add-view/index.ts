/** Entry point of ClickHouse's add-view: the same drivers as the backfill adapter (chDB or HTTP). */
import type { ViewAdapterFactory } from '../../../src/adapter/view-contract.ts';
import { createClickHouseDriver } from '../index.ts';
import { ClickHouseViewAdapter } from './adapter.ts';

export const createClickHouseViewAdapter: ViewAdapterFactory = (target) =>
  new ClickHouseViewAdapter(target, createClickHouseDriver(target.url, target));
