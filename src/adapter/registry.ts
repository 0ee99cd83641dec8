/** Maps `target.kind` to its adapter. The only place the engine names adapter folders. */
import type { TargetAdapter } from './contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import { ConfigError } from '../errors.ts';

export async function createAdapter(config: BackfillConfig): Promise<TargetAdapter> {
  switch (config.target.kind) {
    case 'clickhouse': {
      const { createClickHouseAdapter } = await import('../../adapters/clickhouse/index.ts');
      return createClickHouseAdapter(config);
    }
    case 'timescaledb': {
      const { createTimescaleAdapter } = await import('../../adapters/timescaledb/index.ts');
      return createTimescaleAdapter(config);
    }
    default:
      throw new ConfigError(
        `target.kind ${String(config.target.kind)} is not supported — use clickhouse or timescaledb`,
      );
  }
}
