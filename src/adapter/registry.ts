/**
 * Maps `target.kind` to its adapter. The only place the engine names adapter folders: the adapters' factories
 * (loaded on demand, as they bring their drivers) and their configuration parts (option sections and defaults,
 * light modules that the configuration schema is built from).
 */
import type { TargetAdapter } from './contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import type { AdapterConfigSpec } from '../config/adapter-config.ts';
import { ConfigError } from '../errors.ts';
import { clickhouseConfig } from '../../adapters/clickhouse/options.ts';
import { timescaleConfig } from '../../adapters/timescaledb/options.ts';

/** Every target kind's configuration part, in the order they are listed to users. */
export const ADAPTER_CONFIGS: readonly AdapterConfigSpec[] = [clickhouseConfig, timescaleConfig];

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
        `target.kind ${String(config.target.kind)} is not supported — use ${ADAPTER_CONFIGS.map((a) => a.kind).join(' or ')}`,
      );
  }
}
