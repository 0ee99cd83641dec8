/**
 * `defineConfig`: a BackfillConfig built in code (the library API, tests, benchmarks) from only the fields that
 * matter. It goes through the same schema as `loadConfig`, so it gets the same defaults and the same checks
 * (a problem is a one-line ConfigError saying `in defineConfig()`).
 */
import { ConfigLayers } from './load.ts';
import type { BackfillConfig, SourceConfig, TargetConfig } from './types.ts';

export interface ConfigInput extends Partial<Omit<BackfillConfig, 'target' | 'source'>> {
  readonly target: Pick<TargetConfig, 'kind' | 'url' | 'table'> & Partial<TargetConfig>;
  readonly source: Pick<SourceConfig, 'url'> & Partial<SourceConfig>;
}

/** Drops `undefined` members (an explicit `undefined` means "unset"). */
function defined(object: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

export function defineConfig(input: ConfigInput): BackfillConfig {
  const { target, source, filter, batch, views, settings, load, attempts, targetOptions } = input;
  const layers = new ConfigLayers();
  layers.addTree(
    defined({
      target: defined({ ...target }),
      source: defined({
        url: source.url,
        endpoint: source.endpoint,
        server_endpoint: source.serverEndpoint,
        region: source.region,
        access_key_id: source.credentials?.accessKeyId,
        secret_access_key: source.credentials?.secretAccessKey,
        session_token: source.credentials?.sessionToken,
      }),
      filter: filter && defined({ ...filter }),
      batch,
      views,
      settings,
      load,
      attempts,
      [target.kind]: targetOptions && Object.keys(targetOptions).length > 0 ? targetOptions : undefined,
    }),
    { kind: 'code', name: 'defineConfig()' },
  );
  return layers.resolve(target.kind);
}
