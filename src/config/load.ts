/**
 * Builds the BackfillConfig from a YAML/JSON file, CLI flags and environment variables, and checks it against
 * the configuration schema (src/config/schema.ts). Precedence, field by field: flags (`--target.url`,
 * `--batch.files`, …) over the file over the environment (`AWS_*`, `CLICKHOUSE_*`, `DATABASE_URL`/`PG*`) over
 * defaults. Every problem is a one-line ConfigError naming the field, where its value was set and the fix; secret
 * values never appear in messages.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { envCredentials, envValues, envVariablesFor, type EnvValue } from './env.ts';
import { firstIssue, issueToError, redactUrl, SECRET_NAME, typeName, type Origin } from './messages.ts';
import { configSchema, knownKeys } from './schema.ts';
import type { BackfillConfig } from './types.ts';

export { redactUrl } from './messages.ts';

export type ConfigFlags = Readonly<Record<string, string | boolean | undefined>>;

export interface LoadConfigInput {
  /** Path of a YAML or JSON config file. */
  readonly file?: string | undefined;
  /**
   * Parsed CLI flags by name, with or without the leading `--`: `target.url`, `batch.files`,
   * `settings.max_insert_threads`, `views`, `load`, `attempts`, `workers`, `mode`, `<kind>.<option>`. Names without a dot that are
   * not config fields (`config`, `yes`, …) belong to the CLI and are ignored; `-` in names reads as `_`.
   */
  readonly flags?: ConfigFlags;
  readonly env?: NodeJS.ProcessEnv;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Top-level fields that are values, not sections. */
const SCALARS = new Set(['views', 'load', 'attempts', 'workers', 'mode']);
const SETTING_NUMBER = /^-?\d+(?:\.\d+)?$/;

/**
 * The configuration as one tree of values, with where each value came from. Later layers override earlier
 * ones, except the environment, which only fills what is unset.
 */
export class ConfigLayers {
  readonly tree: Record<string, unknown> = {};
  private readonly origins = new Map<string, Origin>();

  constructor(readonly fileName?: string) {}

  has(path: string): boolean {
    return this.get(path.split('.')) !== undefined;
  }

  get(path: readonly string[]): unknown {
    let node: unknown = this.tree;
    for (const key of path) {
      if (!isMapping(node)) return undefined;
      node = node[key];
    }
    return node;
  }

  /** Where the value at `path` (or its nearest parent) came from. */
  origin(path: readonly string[]): Origin | undefined {
    for (let n = path.length; n >= 0; n -= 1) {
      const found = this.origins.get(path.slice(0, n).join('.'));
      if (found) return found;
    }
    return undefined;
  }

  set(path: readonly string[], value: unknown, origin: Origin): void {
    let node = this.tree;
    for (const [i, key] of path.entries()) {
      this.origins.set(path.slice(0, i + 1).join('.'), origin);
      if (i === path.length - 1) {
        node[key] = value;
        return;
      }
      if (!isMapping(node[key])) node[key] = {};
      node = node[key] as Record<string, unknown>;
    }
  }

  /** A parsed file: sections (a section left empty, `filter:`, counts as absent). */
  addTree(tree: unknown, origin: Origin): void {
    if (tree === null || tree === undefined) return;
    if (!isMapping(tree)) {
      throw new ConfigError(
        `${origin.name} must be a mapping of sections (target:, source:, …), not a ${typeName(tree)}`,
      );
    }
    const walk = (value: unknown, path: string[]) => {
      if (isMapping(value) && (path.length === 1 ? !SCALARS.has(path[0] ?? '') : path[0] !== 'settings')) {
        this.origins.set(path.join('.'), origin);
        for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
      } else if (value !== undefined && !(value === null && path.length === 1)) {
        this.set(path, value, origin);
      }
    };
    for (const [key, value] of Object.entries(tree)) walk(value, [key]);
  }

  addFlags(flags: ConfigFlags): void {
    for (const [rawName, value] of Object.entries(flags)) {
      if (value === undefined) continue;
      const name = rawName.replace(/^--?/, '');
      const parts = name.split('.').map((part) => part.replace(/-/g, '_'));
      const [top = ''] = parts;
      const origin: Origin = { kind: 'flag', name: `--${name}`, parts };
      if (parts.length === 1) {
        if (SCALARS.has(top)) this.set(parts, value, origin);
        else if (knownKeys([]).includes(top)) {
          const example = knownKeys([top])[0] ?? 'name';
          throw new ConfigError(`flag --${name} needs a field after a dot, e.g. --${top}.${example}`);
        }
        // Anything else is one of the CLI's own flags.
        continue;
      }
      // Settings pass through to the database: flag text that reads as a number or boolean is one.
      let typed: unknown = value;
      if (top === 'settings' && typeof value === 'string') {
        if (SETTING_NUMBER.test(value.trim())) typed = Number(value);
        else if (value === 'true' || value === 'false') typed = value === 'true';
      }
      this.set(parts, typed, origin);
    }
  }

  /** Fills unset fields from environment variables. */
  addEnv(values: ReadonlyMap<string, EnvValue>): void {
    for (const [path, found] of values) {
      if (!this.has(path)) this.set(path.split('.'), found.value, { kind: 'env', name: found.variable });
    }
  }

  /** Checks the tree against the schema: the config, or the first problem as a one-line ConfigError. */
  resolve(kind: string | undefined): BackfillConfig {
    return this.resolveWith(configSchema, kind);
  }

  /**
   * Checks the tree against another file form built from the same sections (add-view's view.yaml): the same
   * messages, origins and unknown-key suggestions (from `schema`'s own keys).
   */
  resolveWith<T>(schema: z.ZodType<T>, kind: string | undefined): T {
    const result = schema.safeParse(this.tree, { reportInput: true });
    if (result.success) return result.data;
    const issue = firstIssue(result.error.issues);
    if (!issue) throw new ConfigError('the configuration is invalid');
    throw issueToError(issue, {
      origin: (path) => this.origin(path),
      value: (path) => this.get(path),
      knownKeys: (path) => knownKeys(path, schema),
      envFor: (path) => envVariablesFor(path, kind),
      fileName: this.fileName,
    });
  }
}

function readConfigFile(path: string): unknown {
  const name = basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new ConfigError(`cannot read config file ${path}: ${reason} — check the path given to --config`, {
      cause: error,
    });
  }
  const document = parseDocument(text, { uniqueKeys: true });
  const [error] = document.errors;
  if (error) {
    // The first line says what and where; later lines quote the file, which may hold secrets.
    const summary = (error.message.split('\n')[0] ?? error.code).replace(/:$/, '');
    throw new ConfigError(`${name} is not valid YAML/JSON: ${summary} — fix the file`);
  }
  return document.toJS() as unknown;
}

export function loadConfig(input: LoadConfigInput): BackfillConfig {
  const { layers, kind } = readConfigLayers(input);
  return layers.resolve(kind);
}

/**
 * The file, the flags and the environment as one tree with origins (not checked yet), and the target kind it
 * names: what `loadConfig` resolves with the backfill schema, and add-view with its own.
 */
export function readConfigLayers(input: LoadConfigInput): {
  layers: ConfigLayers;
  kind: string | undefined;
} {
  const fileName = input.file === undefined ? undefined : basename(input.file);
  const layers = new ConfigLayers(fileName);
  if (input.file !== undefined && fileName !== undefined) {
    layers.addTree(readConfigFile(input.file), { kind: 'file', name: fileName });
  }
  layers.addFlags(input.flags ?? {});
  const kind = layers.get(['target', 'kind']);
  const env = input.env ?? {};
  if (typeof kind === 'string') {
    layers.addEnv(envValues(env, kind));
    if (!layers.has('source.access_key_id') && !layers.has('source.secret_access_key')) {
      layers.addEnv(envCredentials(env));
    }
  }
  return { layers, kind: typeof kind === 'string' ? kind : undefined };
}

function redactOptions(value: unknown, key = ''): unknown {
  if (key !== '' && SECRET_NAME.test(key) && (typeof value === 'string' || typeof value === 'number'))
    return '***';
  if (Array.isArray(value)) return value.map((v) => redactOptions(v));
  if (isMapping(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactOptions(v, k)]));
  return value;
}

/** A printable copy: passwords, keys and tokens become `***`, URL passwords too. */
export function redactConfig(config: BackfillConfig): BackfillConfig {
  const { credentials } = config.source;
  return {
    ...config,
    target: {
      ...config.target,
      url: redactUrl(config.target.url),
      password: config.target.password === undefined ? undefined : '***',
    },
    source: {
      ...config.source,
      endpoint: config.source.endpoint === undefined ? undefined : redactUrl(config.source.endpoint),
      credentials:
        credentials === undefined
          ? undefined
          : {
              accessKeyId: '***',
              secretAccessKey: '***',
              sessionToken: credentials.sessionToken === undefined ? undefined : '***',
            },
    },
    targetOptions: redactOptions(config.targetOptions) as Record<string, unknown>,
  };
}
