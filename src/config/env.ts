/**
 * Environment variables that fill configuration fields the file and the flags leave unset. Returns dotted
 * field paths (`source.region`, `target.password`) with the variable each value came from, so messages can
 * say where a bad value was set without repeating it.
 */
import type { TargetKind } from './types.ts';

export interface EnvValue {
  readonly value: string;
  /** The variable's name, e.g. `AWS_REGION`. */
  readonly variable: string;
}

/** The first of `names` that is set to a non-empty value. */
function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): EnvValue | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { value, variable: name };
  }
  return undefined;
}

/** Object-store fields: region, endpoint. Credentials come from `envCredentials` as a set. */
export function sourceEnv(env: NodeJS.ProcessEnv): Readonly<Record<string, EnvValue | undefined>> {
  return {
    'source.region': firstSet(env, ['AWS_REGION', 'AWS_DEFAULT_REGION']),
    'source.endpoint': firstSet(env, ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL']),
  };
}

/**
 * `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`), used only as a whole set: a session
 * token never joins keys configured elsewhere.
 */
export function envCredentials(
  env: NodeJS.ProcessEnv,
): { accessKeyId: string; secretAccessKey: string; sessionToken: string | undefined } | undefined {
  const accessKeyId = firstSet(env, ['AWS_ACCESS_KEY_ID'])?.value;
  const secretAccessKey = firstSet(env, ['AWS_SECRET_ACCESS_KEY'])?.value;
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined;
  return { accessKeyId, secretAccessKey, sessionToken: firstSet(env, ['AWS_SESSION_TOKEN'])?.value };
}

/** Connection fields of the target: `CLICKHOUSE_*` for ClickHouse, `DATABASE_URL`/`PG*` for TimescaleDB. */
export function targetEnv(
  env: NodeJS.ProcessEnv,
  kind: TargetKind,
): Readonly<Record<string, EnvValue | undefined>> {
  switch (kind) {
    case 'clickhouse':
      return {
        'target.url': firstSet(env, ['CLICKHOUSE_URL']),
        'target.user': firstSet(env, ['CLICKHOUSE_USER']),
        'target.password': firstSet(env, ['CLICKHOUSE_PASSWORD']),
      };
    case 'timescaledb':
      return {
        'target.url': firstSet(env, ['DATABASE_URL']),
        'target.user': firstSet(env, ['PGUSER']),
        'target.password': firstSet(env, ['PGPASSWORD']),
      };
  }
}

/** The variables consulted for a field, for "missing field" hints (`CLICKHOUSE_URL`, …). */
export function envVariablesFor(path: string, kind: TargetKind | undefined): readonly string[] {
  const names: Record<string, readonly string[]> = {
    'source.region': ['AWS_REGION', 'AWS_DEFAULT_REGION'],
    'source.endpoint': ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    'source.access_key_id': ['AWS_ACCESS_KEY_ID'],
    'source.secret_access_key': ['AWS_SECRET_ACCESS_KEY'],
    'target.url': kind === 'timescaledb' ? ['DATABASE_URL'] : kind === 'clickhouse' ? ['CLICKHOUSE_URL'] : [],
    'target.user': kind === 'timescaledb' ? ['PGUSER'] : kind === 'clickhouse' ? ['CLICKHOUSE_USER'] : [],
    'target.password':
      kind === 'timescaledb' ? ['PGPASSWORD'] : kind === 'clickhouse' ? ['CLICKHOUSE_PASSWORD'] : [],
  };
  return names[path] ?? [];
}
