/**
 * Environment variables that fill configuration fields the file and the flags leave unset — one table, read by
 * the loader, by "missing field" messages and by `--help`. Values come back with the variable they came from, so
 * messages can say where a bad value was set without repeating it.
 */
import { ADAPTER_CONFIGS } from '../adapter/registry.ts';

export interface EnvValue {
  readonly value: string;
  /** The variable's name, e.g. `AWS_REGION`. */
  readonly variable: string;
}

/** Object-store fields, for every kind. The first variable set wins. */
const SOURCE_ENV: Readonly<Record<string, readonly string[]>> = {
  'source.region': ['AWS_REGION', 'AWS_DEFAULT_REGION'],
  'source.endpoint': ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
};

/**
 * Credentials, used only as a whole set (`AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY`, + `AWS_SESSION_TOKEN`)
 * and only when neither key is configured otherwise: a session token never joins keys configured elsewhere.
 */
const CREDENTIAL_ENV: Readonly<Record<string, string>> = {
  'source.access_key_id': 'AWS_ACCESS_KEY_ID',
  'source.secret_access_key': 'AWS_SECRET_ACCESS_KEY',
  'source.session_token': 'AWS_SESSION_TOKEN',
};

function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): EnvValue | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { value, variable: name };
  }
  return undefined;
}

/** The variables consulted for a field (`CLICKHOUSE_URL`, …); for target fields, of `kind` or of every kind. */
export function envVariablesFor(path: string, kind?: string): readonly string[] {
  const source = SOURCE_ENV[path] ?? (CREDENTIAL_ENV[path] ? [CREDENTIAL_ENV[path]] : undefined);
  if (source) return source;
  const names: string[] = [];
  for (const adapter of ADAPTER_CONFIGS) {
    if (kind !== undefined && adapter.kind !== kind) continue;
    names.push(...(adapter.env[path as keyof typeof adapter.env] ?? []));
  }
  return names;
}

/** Field path → value from the environment, for a target of `kind`. */
export function envValues(env: NodeJS.ProcessEnv, kind: string): Map<string, EnvValue> {
  const values = new Map<string, EnvValue>();
  const adapter = ADAPTER_CONFIGS.find((a) => a.kind === kind);
  const tables: Readonly<Record<string, readonly string[] | undefined>>[] = [SOURCE_ENV, adapter?.env ?? {}];
  for (const table of tables) {
    for (const [path, names] of Object.entries(table)) {
      const found = names && firstSet(env, names);
      if (found) values.set(path, found);
    }
  }
  return values;
}

/** The credential set from the environment, as field paths, or nothing unless both keys are set. */
export function envCredentials(env: NodeJS.ProcessEnv): Map<string, EnvValue> {
  const values = new Map<string, EnvValue>();
  for (const [path, name] of Object.entries(CREDENTIAL_ENV)) {
    const found = firstSet(env, [name]);
    if (found) values.set(path, found);
  }
  if (!values.has('source.access_key_id') || !values.has('source.secret_access_key')) values.clear();
  return values;
}
