/**
 * Builds the BackfillConfig from a YAML/JSON file, CLI flags and environment variables, and checks every
 * field. Precedence, field by field: flags (`--target.url`, `--batch.files`, …) over the file over the
 * environment (`AWS_*`, `CLICKHOUSE_*`, `DATABASE_URL`/`PG*`) over defaults. Every problem is a one-line
 * ConfigError naming the field, where it was set and the fix; secret values never appear in messages.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.ts';
import type { ObjectStoreCredentials } from '../source/types.ts';
import { parseBytes } from './bytes.ts';
import { envCredentials, envVariablesFor, sourceEnv, targetEnv, type EnvValue } from './env.ts';
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_BATCH,
  type BackfillConfig,
  type FilterConfig,
  type LoadMode,
  type SourceConfig,
  type TargetConfig,
  type TargetKind,
} from './types.ts';

export type ConfigFlags = Readonly<Record<string, string | boolean | undefined>>;

export interface LoadConfigInput {
  /** Path of a YAML or JSON config file. */
  readonly file?: string | undefined;
  /**
   * Parsed CLI flags by name, with or without the leading `--`: `target.url`, `batch.files`,
   * `settings.max_insert_threads`, `views`, `load`, `attempts`, `<kind>.<option>`. Names without a dot that are
   * not config fields (`config`, `yes`, …) belong to the CLI and are ignored; `-` in names reads as `_`.
   */
  readonly flags: ConfigFlags;
  readonly env: NodeJS.ProcessEnv;
}

const TARGET_KINDS: readonly TargetKind[] = ['clickhouse', 'timescaledb'];
const LOAD_MODES: readonly LoadMode[] = ['server', 'client'];

/** Fields of the closed sections. `schema` is TimescaleDB's name for `database`. */
const SECTIONS: Readonly<Record<string, readonly string[]>> = {
  target: ['kind', 'url', 'database', 'schema', 'table', 'user', 'password'],
  source: [
    'url',
    'endpoint',
    'server_endpoint',
    'region',
    'access_key_id',
    'secret_access_key',
    'session_token',
  ],
  filter: ['column', 'before', 'after'],
  batch: ['files', 'bytes'],
};
const SCALARS: readonly string[] = ['views', 'load', 'attempts'];
/** Sections taking any key: ClickHouse settings and the adapter options (one per target kind). */
const OPEN_SECTIONS: readonly string[] = ['settings', ...TARGET_KINDS];
const TOP_LEVEL: readonly string[] = [...Object.keys(SECTIONS), ...SCALARS, ...OPEN_SECTIONS];

const SECRET_FIELDS = new Set([
  'target.password',
  'source.access_key_id',
  'source.secret_access_key',
  'source.session_token',
]);
const SECRET_OPTION = /pass|secret|token|key|credential/i;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;

type Origin =
  | { readonly kind: 'file'; readonly name: string }
  | { readonly kind: 'flag'; readonly name: string }
  | { readonly kind: 'env'; readonly name: string };

interface Entry {
  readonly value: unknown;
  readonly origin: Origin;
}

// ---------------------------------------------------------------------------------------------------------
// Messages

function where(origin: Origin): string {
  switch (origin.kind) {
    case 'file':
      return `in ${origin.name}`;
    case 'flag':
      return `from ${origin.name}`;
    case 'env':
      return `from $${origin.name}`;
  }
}

/** `postgres://u:secret@h/db?password=x` → `postgres://u:***@h/db?password=***`. */
export function redactUrl(url: string): string {
  return url
    .replace(/(\/\/[^/@:]*:)[^@/]*@/, '$1***@')
    .replace(/([?&][^=&]*(?:pass|pwd|secret|token|key)[^=&]*=)[^&]*/gi, '$1***');
}

/** A value for a message: secrets never, URLs redacted, long text cut. */
function shown(path: string, value: unknown): string {
  if (SECRET_FIELDS.has(path) || SECRET_OPTION.test(path.split('.').pop() ?? '')) return '(hidden)';
  const text = typeof value === 'string' ? redactUrl(value) : (JSON.stringify(value) ?? String(value));
  return `\`${text.length > 60 ? `${text.slice(0, 57)}...` : text}\``;
}

/** Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.MAX_SAFE_INTEGER;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The known name closest to `word` (ignoring case, `_` and `-`), if it is close enough to be a typo. */
function closest(word: string, known: readonly string[]): string | undefined {
  const plain = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  const exact = known.find((k) => plain(k) === plain(word));
  if (exact) return exact;
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(plain(word), plain(name));
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(word.length / 3)) ? best.name : undefined;
}

/**
 * `path` is unknown; its last part is compared with `known`. For flags, `rest` are the parts after the
 * unknown one (`--sourse.url`: path [sourse], rest [url]) and are kept in the suggestion.
 */
function unknownKey(
  path: readonly string[],
  known: readonly string[],
  origin: Origin,
  rest: readonly string[] = [],
): ConfigError {
  const parent = path.slice(0, -1);
  const guess = closest(path[path.length - 1] ?? '', known);
  const full = [...path, ...rest].join('.');
  const guessFull = guess === undefined ? undefined : [...parent, guess, ...rest].join('.');
  if (origin.kind === 'flag') {
    const fix = guessFull
      ? `did you mean \`--${guessFull}\`?`
      : `known: ${known.map((k) => `--${[...parent, k].join('.')}`).join(', ')}`;
    return new ConfigError(`unknown flag \`--${full}\` — ${fix}`);
  }
  const fix = guessFull ? `did you mean \`${guessFull}\`?` : `remove it (known keys: ${known.join(', ')})`;
  return new ConfigError(`unknown key \`${full}\` ${where(origin)} — ${fix}`);
}

// ---------------------------------------------------------------------------------------------------------
// Reading the file and the flags into one flat map of dotted paths

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  return Array.isArray(value)
    ? 'list'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'mapping'
        : typeof value;
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
    throw new ConfigError(`${name} is not valid YAML/JSON: ${summary} — fix the file`, { cause: error });
  }
  return document.toJS() as unknown;
}

class Fields {
  readonly entries = new Map<string, Entry>();

  constructor(readonly fileName: string | undefined) {}

  set(path: string, value: unknown, origin: Origin): void {
    if (value === null || value === undefined) return;
    this.entries.set(path, { value, origin });
  }

  get(path: string): Entry | undefined {
    return this.entries.get(path);
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  /** Entries under `section.` as [key after the section, entry]. */
  under(section: string): [string, Entry][] {
    const prefix = `${section}.`;
    return [...this.entries]
      .filter(([p]) => p.startsWith(prefix))
      .map(([p, e]) => [p.slice(prefix.length), e]);
  }

  addFile(tree: unknown, name: string): void {
    const origin: Origin = { kind: 'file', name };
    if (!isMapping(tree)) {
      if (tree === null || tree === undefined) return;
      throw new ConfigError(
        `${name} must be a mapping of sections (target:, source:, …), not a ${typeName(tree)}`,
      );
    }
    for (const [key, value] of Object.entries(tree)) {
      if (SCALARS.includes(key)) {
        this.set(key, value, origin);
        continue;
      }
      const fields = SECTIONS[key];
      if (!fields && !OPEN_SECTIONS.includes(key)) throw unknownKey([key], TOP_LEVEL, origin);
      if (value === null) continue;
      if (!isMapping(value)) {
        throw new ConfigError(
          `\`${key}\` ${where(origin)} must be a mapping (${key}: { … }), not a ${typeName(value)}`,
        );
      }
      for (const [field, fieldValue] of Object.entries(value)) {
        if (fields && !fields.includes(field)) throw unknownKey([key, field], fields, origin);
        this.set(`${key}.${field}`, fieldValue, origin);
      }
    }
  }

  addFlags(flags: ConfigFlags): void {
    for (const [rawName, value] of Object.entries(flags)) {
      if (value === undefined) continue;
      const name = rawName.replace(/^--?/, '');
      const parts = name.split('.').map((part) => part.replace(/-/g, '_'));
      const [top = ''] = parts;
      const origin: Origin = { kind: 'flag', name: `--${name}` };
      if (parts.length === 1) {
        if (SCALARS.includes(top)) this.set(top, value, origin);
        else if (SECTIONS[top] || OPEN_SECTIONS.includes(top)) {
          throw new ConfigError(
            `flag --${name} needs a field after a dot, e.g. --${top}.${SECTIONS[top]?.[0] ?? 'name'}`,
          );
        }
        // Anything else is one of the CLI's own flags.
        continue;
      }
      const fields = SECTIONS[top];
      if (fields) {
        if (parts.length !== 2 || !fields.includes(parts[1] ?? ''))
          throw unknownKey(parts.slice(0, 2), fields, origin);
      } else if (!OPEN_SECTIONS.includes(top)) {
        throw unknownKey(
          [top],
          TOP_LEVEL.filter((k) => !SCALARS.includes(k)),
          origin,
          parts.slice(1),
        );
      }
      this.set(parts.join('.'), value, origin);
    }
  }

  addEnv(values: Readonly<Record<string, EnvValue | undefined>>): void {
    for (const [path, found] of Object.entries(values)) {
      if (found && !this.has(path)) this.set(path, found.value, { kind: 'env', name: found.variable });
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Typed reads

  /** ` in backfill.yaml` / ` from --batch.files` / ` from $AWS_REGION`, or '' when `path` is unset. */
  at(path: string): string {
    const entry = this.get(path);
    return entry ? ` ${where(entry.origin)}` : '';
  }

  missing(path: string, kind: TargetKind | undefined, what: string): ConfigError {
    const ways = [
      this.fileName ? `set ${path} in ${this.fileName}` : `set ${path} in a config file`,
      `pass --${path}`,
      ...envVariablesFor(path, kind).map((name) => `set ${name}`),
    ];
    const fix = `${ways.slice(0, -1).join(', ')} or ${ways[ways.length - 1] ?? ''}`;
    return new ConfigError(`missing \`${path}\` (${what}) — ${fix}`);
  }

  text(path: string): string | undefined {
    const entry = this.get(path);
    if (!entry) return undefined;
    const { value, origin } = entry;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'bigint') return String(value);
    if (value === true && origin.kind === 'flag') throw new ConfigError(`flag ${origin.name} needs a value`);
    throw new ConfigError(`\`${path}\` ${where(origin)} must be text, not a ${typeName(value)}`);
  }

  requiredText(path: string, kind: TargetKind | undefined, what: string): string {
    const value = this.text(path);
    if (value === undefined || value.trim() === '') throw this.missing(path, kind, what);
    return value;
  }

  oneOf<T extends string>(path: string, allowed: readonly T[]): T | undefined {
    const value = this.text(path);
    if (value === undefined) return undefined;
    const found = allowed.find((a) => a === value.trim().toLowerCase());
    if (found) return found;
    throw new ConfigError(
      `\`${path}\` is ${shown(path, value)}${this.at(path)} — use ${allowed.join(' or ')}`,
    );
  }

  wholeNumber(path: string, min: number, meaning: string): number | undefined {
    const entry = this.get(path);
    if (!entry) return undefined;
    const value =
      typeof entry.value === 'string' && NUMBER.test(entry.value.trim()) ? Number(entry.value) : entry.value;
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= min) return value;
    throw new ConfigError(
      `\`${path}\` is ${shown(path, entry.value)} ${where(entry.origin)} — use a whole number ≥ ${min} (${meaning})`,
    );
  }

  bytes(path: string): number | undefined {
    const entry = this.get(path);
    if (!entry) return undefined;
    const { value, origin } = entry;
    let bytes: number | undefined;
    if (typeof value === 'string' || typeof value === 'number') {
      try {
        bytes = parseBytes(value);
      } catch {
        bytes = undefined;
      }
    }
    if (bytes === undefined || bytes < 1) {
      throw new ConfigError(
        `\`${path}\` is ${shown(path, value)} ${where(origin)} — write a size ≥ 1 byte like 15GB, 512MiB or 1e9`,
      );
    }
    return bytes;
  }

  /** A scalar from the file as it is; flag text as number/boolean when it reads as one. */
  scalar(path: string): string | number | boolean {
    const entry = this.get(path);
    const value = entry?.value;
    if (entry?.origin.kind === 'flag' && typeof value === 'string') {
      if (NUMBER.test(value.trim())) return Number(value);
      if (value === 'true' || value === 'false') return value === 'true';
      return value;
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    throw new ConfigError(
      `\`${path}\` ${entry ? where(entry.origin) : ''} must be a string, number or boolean, not a ${typeName(value)}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sections

function readTarget(fields: Fields, kind: TargetKind): TargetConfig {
  const url = fields.requiredText('target.url', kind, 'where the database is');
  const urlOk =
    /^embedded:.+/.test(url) ||
    (kind === 'clickhouse' ? /^https?:\/\/[^/]+/i.test(url) : /^postgres(?:ql)?:\/\/[^/]*/i.test(url));
  if (!urlOk) {
    const expected =
      kind === 'clickhouse'
        ? 'http(s)://host:8123 or embedded:<dir>'
        : 'postgres://user@host:5432/db or embedded:<dir>';
    throw new ConfigError(
      `\`target.url\` is ${shown('target.url', url)}${fields.at('target.url')}, not a ${kind} URL — use ${expected}`,
    );
  }
  const schema = fields.text('target.schema');
  if (schema !== undefined && kind !== 'timescaledb') {
    throw new ConfigError(
      '`target.schema` applies to timescaledb targets — use target.database for clickhouse',
    );
  }
  if (schema !== undefined && fields.has('target.database')) {
    throw new ConfigError(
      'both `target.schema` and `target.database` are set — keep one (for timescaledb they are the same)',
    );
  }
  const database = schema ?? fields.text('target.database') ?? (kind === 'clickhouse' ? 'default' : 'public');
  if (database.trim() === '')
    throw new ConfigError('`target.database` is empty — remove it to use the default');
  return {
    kind,
    url,
    database,
    table: fields.requiredText('target.table', kind, 'the live table to backfill'),
    user: fields.text('target.user'),
    password: fields.text('target.password'),
  };
}

function readCredentials(fields: Fields, env: NodeJS.ProcessEnv): ObjectStoreCredentials | undefined {
  const accessKeyId = fields.text('source.access_key_id');
  const secretAccessKey = fields.text('source.secret_access_key');
  const sessionToken = fields.text('source.session_token');
  if (accessKeyId === undefined && secretAccessKey === undefined) {
    if (sessionToken !== undefined) {
      throw new ConfigError(
        '`source.session_token` is set without `source.access_key_id` and `source.secret_access_key` — set all three',
      );
    }
    return envCredentials(env);
  }
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const [set, unset] =
      accessKeyId === undefined
        ? ['secret_access_key', 'access_key_id']
        : ['access_key_id', 'secret_access_key'];
    throw new ConfigError(
      `\`source.${set}\` is set but \`source.${unset}\` is not — set both (or neither, to use AWS_* variables)`,
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken };
}

function readSource(fields: Fields, env: NodeJS.ProcessEnv, kind: TargetKind): SourceConfig {
  const url = fields.requiredText('source.url', kind, 'the Parquet objects to load');
  if (!/^(s3|https?):\/\/[^/]+\/./.test(url)) {
    throw new ConfigError(
      `\`source.url\` is ${shown('source.url', url)}${fields.at('source.url')} — write it like s3://bucket/path/*.parquet`,
    );
  }
  const endpointField = (name: 'source.endpoint' | 'source.server_endpoint') => {
    const value = fields.text(name);
    if (value !== undefined && !/^https?:\/\/[^/]+/i.test(value)) {
      throw new ConfigError(
        `\`${name}\` is ${shown(name, value)}${fields.at(name)} — write it like http://127.0.0.1:9000`,
      );
    }
    return value?.replace(/\/+$/, '');
  };
  const endpoint = endpointField('source.endpoint');
  const serverEndpoint = endpointField('source.server_endpoint');
  const region = fields.text('source.region') ?? 'us-east-1';
  if (region.trim() === '') throw new ConfigError('`source.region` is empty — remove it to use us-east-1');
  return { url, endpoint, serverEndpoint, region, credentials: readCredentials(fields, env) };
}

function filterBound(fields: Fields, path: 'filter.before' | 'filter.after'): string | undefined {
  const value = fields.text(path);
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (path === 'filter.before' && trimmed.toLowerCase() === 'auto') return 'auto';
  if (DATE_TIME.test(trimmed) || NUMBER.test(trimmed)) return trimmed;
  const auto = path === 'filter.before' ? ', or auto (older than the live table’s oldest row)' : '';
  throw new ConfigError(
    `\`${path}\` is ${shown(path, value)}${fields.at(path)} — write a date-time like 2024-12-01 00:00:00 or a number${auto}`,
  );
}

/** Milliseconds for comparing two bounds (both read as local time unless they carry a zone; NaN if not a date). */
function toTime(bound: string): number {
  return Date.parse(bound.length === 10 ? `${bound}T00:00:00` : bound.replace(' ', 'T'));
}

function readFilter(fields: Fields): FilterConfig | undefined {
  if (fields.under('filter').length === 0) return undefined;
  const column = fields.text('filter.column');
  const before = filterBound(fields, 'filter.before');
  const after = filterBound(fields, 'filter.after');
  if ((column === undefined || column.trim() === '') && before === undefined && after === undefined) {
    throw new ConfigError(
      '`filter.column` is empty — name the column to compare (e.g. timestamp) or remove filter',
    );
  }
  if (column === undefined || column.trim() === '') {
    const bound = before !== undefined ? 'filter.before' : 'filter.after';
    throw new ConfigError(
      `\`${bound}\` is set without \`filter.column\` — add filter.column (the column to compare, e.g. timestamp)`,
    );
  }
  if (before === undefined && after === undefined) {
    throw new ConfigError(
      `\`filter.column\` is set without a bound — add filter.before (a date-time or auto) or filter.after, or remove filter`,
    );
  }
  if (before !== undefined && before !== 'auto' && after !== undefined) {
    const [b, a] = [before, after].map(toTime) as [number, number];
    const numeric = NUMBER.test(before) && NUMBER.test(after);
    if ((numeric && Number(after) >= Number(before)) || (!numeric && !Number.isNaN(a + b) && a >= b)) {
      throw new ConfigError(
        `\`filter.after\` (${after}) is not earlier than \`filter.before\` (${before}) — no row would be loaded; swap or fix them`,
      );
    }
  }
  return { column, before, after };
}

function readViews(fields: Fields): 'auto' | readonly string[] {
  const entry = fields.get('views');
  if (!entry) return 'auto';
  const { value, origin } = entry;
  let names: unknown[];
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.toLowerCase() === 'auto') return 'auto';
    if (trimmed.toLowerCase() === 'none' || trimmed === '') return [];
    names = trimmed.split(',').map((n) => n.trim());
  } else if (Array.isArray(value)) {
    names = value;
  } else {
    throw new ConfigError(
      `\`views\` ${where(origin)} must be auto, none or a list of view names, not a ${typeName(value)}`,
    );
  }
  const bad = names.find((n) => typeof n !== 'string' || n.trim() === '');
  if (bad !== undefined) {
    throw new ConfigError(
      `\`views\` ${where(origin)} has an empty or non-text entry — list view names, e.g. [pypi_downloads_mv]`,
    );
  }
  return [...new Set(names.map((n) => String(n).trim()))];
}

function readSettings(fields: Fields): Record<string, string | number | boolean> {
  const settings: Record<string, string | number | boolean> = {};
  for (const [name, entry] of fields.under('settings')) {
    if (!SETTING_NAME.test(name)) {
      throw new ConfigError(
        `setting \`${name}\` ${where(entry.origin)} is not a setting name — use letters, digits and _`,
      );
    }
    settings[name] = fields.scalar(`settings.${name}`);
  }
  return settings;
}

function setNested(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const child = isMapping(target[head]) ? { ...(target[head] as Record<string, unknown>) } : {};
  setNested(child, rest, value);
  target[head] = child;
}

function readTargetOptions(fields: Fields, kind: TargetKind): Record<string, unknown> {
  for (const other of TARGET_KINDS) {
    const entries = fields.under(other);
    if (other !== kind && entries.length > 0) {
      const origin = entries[0]?.[1].origin;
      throw new ConfigError(
        `section \`${other}\`${origin ? ` ${where(origin)}` : ''} applies to target.kind ${other}, but target.kind is ${kind} — remove it or change target.kind`,
      );
    }
  }
  const options: Record<string, unknown> = {};
  for (const [key, entry] of fields.under(kind)) {
    const value = entry.origin.kind === 'flag' ? fields.scalar(`${kind}.${key}`) : entry.value;
    setNested(options, key.split('.'), value);
  }
  return options;
}

// ---------------------------------------------------------------------------------------------------------

export function loadConfig(input: LoadConfigInput): BackfillConfig {
  const fields = new Fields(input.file === undefined ? undefined : basename(input.file));
  if (input.file !== undefined) fields.addFile(readConfigFile(input.file), basename(input.file));
  fields.addFlags(input.flags);

  const kind = fields.oneOf('target.kind', TARGET_KINDS);
  if (kind === undefined) throw fields.missing('target.kind', undefined, 'clickhouse or timescaledb');
  fields.addEnv(targetEnv(input.env, kind));
  fields.addEnv(sourceEnv(input.env));

  const load = fields.oneOf('load', LOAD_MODES) ?? (kind === 'timescaledb' ? 'client' : 'server');
  if (load === 'server' && kind === 'timescaledb') {
    throw new ConfigError(
      '`load: server` needs a target that reads S3 itself (clickhouse) — use load: client for timescaledb',
    );
  }
  return {
    target: readTarget(fields, kind),
    source: readSource(fields, input.env, kind),
    filter: readFilter(fields),
    batch: {
      files: fields.wholeNumber('batch.files', 1, 'objects per batch') ?? DEFAULT_BATCH.files,
      bytes: fields.bytes('batch.bytes') ?? DEFAULT_BATCH.bytes,
    },
    views: readViews(fields),
    settings: readSettings(fields),
    load,
    attempts: fields.wholeNumber('attempts', 1, 'tries per batch; 1 = no retry') ?? DEFAULT_ATTEMPTS,
    targetOptions: readTargetOptions(fields, kind),
  };
}

function redactOptions(value: unknown, key = ''): unknown {
  if (key !== '' && SECRET_OPTION.test(key) && (typeof value === 'string' || typeof value === 'number'))
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
