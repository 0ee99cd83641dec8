/** Maps `target.kind` to its add-view adapter. The only place add-view names adapter folders. */
import type { ViewAdapter, ViewTargetConnection } from '../adapter/view-contract.ts';
import { ConfigError } from '../errors.ts';
import type { ViewConfig } from './config.ts';

/** How to reach the target, with the secrets its messages must never show. */
export function viewConnection(config: ViewConfig): ViewTargetConnection {
  const secrets = [config.target.password, config.source?.credentials?.secretAccessKey].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  return { ...config.target, secrets };
}

export async function createViewAdapter(config: ViewConfig): Promise<ViewAdapter> {
  const connection = viewConnection(config);
  switch (config.target.kind) {
    case 'clickhouse': {
      const { createClickHouseViewAdapter } = await import('../../adapters/clickhouse/add-view/index.ts');
      return createClickHouseViewAdapter(connection);
    }
    case 'timescaledb': {
      const { createTimescaleViewAdapter } = await import('../../adapters/timescaledb/add-view/index.ts');
      return createTimescaleViewAdapter(connection);
    }
    default:
      throw new ConfigError(
        `target.kind ${String(config.target.kind)} is not supported — use clickhouse or timescaledb`,
      );
  }
}
