/**
 * `defineConfig`: a BackfillConfig from only the fields that matter, with the same defaults as `loadConfig`
 * (for programs that build configurations in code: the library API, tests, benchmarks). No validation beyond
 * types; `loadConfig` is the path for user input.
 */
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_BATCH,
  type BackfillConfig,
  type SourceConfig,
  type TargetConfig,
} from './types.ts';

export interface ConfigInput extends Partial<Omit<BackfillConfig, 'target' | 'source'>> {
  readonly target: Pick<TargetConfig, 'kind' | 'url' | 'table'> & Partial<TargetConfig>;
  readonly source: Pick<SourceConfig, 'url'> & Partial<SourceConfig>;
}

export function defineConfig(input: ConfigInput): BackfillConfig {
  const { target, source, ...rest } = input;
  return {
    filter: undefined,
    batch: DEFAULT_BATCH,
    views: 'auto',
    settings: {},
    load: target.kind === 'timescaledb' ? 'client' : 'server',
    attempts: DEFAULT_ATTEMPTS,
    targetOptions: {},
    ...rest,
    target: {
      database: target.kind === 'timescaledb' ? 'public' : 'default',
      user: undefined,
      password: undefined,
      ...target,
    },
    source: { endpoint: undefined, region: 'us-east-1', credentials: undefined, ...source },
  };
}
