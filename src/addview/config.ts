/**
 * The add-view configuration (`view.yaml`): a zod 4 schema for the view's own fields, and the existing
 * `loadConfig` (src/config/load.ts) for the sections shared with `run` — `target`, `source`, `settings`,
 * `attempts` — so their fields, defaults, environment variables (`CLICKHOUSE_*`, `DATABASE_URL`/`PG*`, `AWS_*`),
 * flags and messages are exactly those of `run`. Precedence as for `run`: flags over the file over the
 * environment. Every problem is a one-line ConfigError naming the field, the file and the fix.
 *
 * ```yaml
 * target: { kind: clickhouse, url: embedded:.data/ch, table: pypi }   # table: the live table the view reads
 * view:
 *   name: pypi_downloads_per_day_mv
 *   to: pypi_downloads_per_day            # ClickHouse: the view's target table (existing, or to_ddl)
 *   select: SELECT toStartOfHour(timestamp) AS hour, project, count() AS count FROM pypi GROUP BY hour, project
 *   cutoff_column: timestamp
 *   cutoff: auto                          # or a date-time / an id
 *   window: 1 day                         # or a number of ids
 * ```
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';
import type { Position, PositionKind } from '../adapter/view-contract.ts';
import { loadConfig, type ConfigFlags } from '../config/load.ts';
import type { SourceConfig, TargetConfig } from '../config/types.ts';
import { ConfigError } from '../errors.ts';
import { MICROS_PER_SECOND, parseDuration, parsePosition } from './position.ts';

const text = z.string().trim().min(1);
/** A duration (`1 day`) or, for id columns, a whole number. */
const size = z.union([z.string().trim().min(1), z.number().int().positive()]);
/** Interval text passed to TimescaleDB as an interval (`1 month`, `2 hours`). */
const interval = z.string().trim().min(1);

const refreshPolicySchema = z.strictObject({
  start_offset: z.union([interval, z.null()]).optional(),
  end_offset: z.union([interval, z.null()]).optional(),
  schedule_interval: interval.optional(),
});

export const viewSectionSchema = z.strictObject({
  /** The new view's name (ClickHouse materialized view / TimescaleDB continuous aggregate). */
  name: text,
  /** The view's SELECT, reading the source table by name. */
  select: text,
  /** ClickHouse: the view's target table (`TO`). */
  to: text.optional(),
  /** ClickHouse: `CREATE TABLE …` for `to` when it does not exist yet. */
  to_ddl: text.optional(),
  /** ClickHouse: the source column the cutoff and the windows are on (a time, or an increasing id). */
  cutoff_column: text.optional(),
  /** `auto` (now, or the largest id, plus `cutoff_margin`) or a value ahead of every row. */
  cutoff: z.union([text, z.number().int()]).default('auto'),
  /** `auto`: how far ahead of now (time, default 1 minute) or of the largest id (default 10000). */
  cutoff_margin: size.optional(),
  /** How long rows may take to arrive: a window runs only once the source has passed its end by this. */
  settle: text.default('10 seconds'),
  /** Longest wait for the source to pass the cutoff before the run stops (resumable). */
  cutoff_wait: text.default('1 hour'),
  /** Size of a window: a duration for time columns (`1 day`), a number for id columns. */
  window: size.optional(),
  /** With `source:`: object-store rows below this are history; from it up to the cutoff, the live table. */
  source_before: z.union([text, z.number().int()]).default('auto'),
  /** `full`: every window recomputes the view's aggregates from the source; `rows`: row counts only. */
  verify: z.enum(['full', 'rows']).default('full'),
  /** TimescaleDB: how many windows are verified against a recomputation (first, last, and spread between). */
  verify_windows: z.number().int().min(0).default(3),
  /** TimescaleDB: `timescaledb.materialized_only` of the aggregate (default: TimescaleDB's). */
  materialized_only: z.boolean().optional(),
  /** TimescaleDB: the refresh policy added at the end. */
  refresh_policy: refreshPolicySchema.optional(),
});

const fileSchema = z.strictObject({
  target: z.record(z.string(), z.unknown()),
  view: viewSectionSchema,
  source: z.record(z.string(), z.unknown()).optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  attempts: z.unknown().optional(),
});

export type ViewSection = z.output<typeof viewSectionSchema>;

/** The resolved add-view configuration. */
export interface ViewConfig {
  readonly target: TargetConfig;
  /** History from object storage (`source:` as for `run`); undefined = history from the live table. */
  readonly source: SourceConfig | undefined;
  readonly view: ViewSection;
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  readonly attempts: number;
  /** The file's name, for messages. */
  readonly fileName: string | undefined;
}

/** The sizes of a run, in the window column's units (microseconds for time, ids for numbers). */
export interface ViewSizes {
  readonly window: bigint;
  readonly margin: bigint;
  /** Microseconds. */
  readonly settle: bigint;
  /** Microseconds. */
  readonly wait: bigint;
}

export interface LoadViewConfigInput {
  readonly file?: string | undefined;
  /** Dotted flags (`view.window`, `target.url`, `settings.max_memory_usage`, …); others are the CLI's own. */
  readonly flags: ConfigFlags;
  readonly env: NodeJS.ProcessEnv;
}

const SHARED_SECTIONS = ['target', 'source', 'settings'];

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readFile(path: string): unknown {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' ? 'permission denied' : code;
    throw new ConfigError(`cannot read config file ${path}: ${reason} — check the path given to --config`, {
      cause: error,
    });
  }
  const document = parseDocument(content, { uniqueKeys: true });
  const [error] = document.errors;
  if (error) {
    const summary = (error.message.split('\n')[0] ?? error.code).replace(/:$/, '');
    throw new ConfigError(`${basename(path)} is not valid YAML/JSON: ${summary} — fix the file`, {
      cause: error,
    });
  }
  return document.toJS() as unknown;
}

/** Flag text as the file would hold it: numbers and booleans for what reads as one. */
function flagValue(value: string | boolean): unknown {
  if (typeof value === 'boolean') return value;
  if (/^-?\d+$/.test(value.trim())) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return value;
}

/** One line for the first problem zod found. */
function zodMessage(error: z.ZodError, where: string): ConfigError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const parent = path ? `${path}.` : '';
    const section = path
      ? (viewSectionFor(path) ?? [])
      : ['target', 'view', 'source', 'settings', 'attempts'];
    return new ConfigError(
      `unknown key \`${parent}${issue.keys[0]}\`${where} — remove it${section.length > 0 ? ` (known: ${section.join(', ')})` : ''}`,
    );
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return new ConfigError(`missing \`${path}\`${where} — ${HINTS[path] ?? 'add it'}`);
  }
  return new ConfigError(`\`${path}\`${where}: ${issue.message.toLowerCase()} — ${HINTS[path] ?? 'fix it'}`);
}

function viewSectionFor(path: string): string[] | undefined {
  if (path === 'view') return Object.keys(viewSectionSchema.shape);
  if (path === 'view.refresh_policy') return Object.keys(refreshPolicySchema.shape);
  return undefined;
}

const HINTS: Readonly<Record<string, string>> = {
  view: 'add a view: section with name, select (and for ClickHouse to, cutoff_column)',
  'view.name': 'name the new view',
  'view.select': "write the view's SELECT, reading the source table by name",
  'view.cutoff': 'use auto, a date-time like 2024-12-17 09:00:00, or an id',
  'view.window': 'write a duration like 1 day (time columns) or a number of ids',
  'view.verify': 'use full or rows',
  'view.verify_windows': 'use a whole number ≥ 0',
  'view.materialized_only': 'use true or false',
  target: 'add a target: section as for run (kind, url, table)',
};

/** Reads, merges and validates the add-view configuration. */
export function loadViewConfig(input: LoadViewConfigInput): ViewConfig {
  const fileName = input.file === undefined ? undefined : basename(input.file);
  const tree: Record<string, unknown> = {};
  if (input.file !== undefined) {
    const content = readFile(input.file);
    if (content !== null && content !== undefined) {
      if (!isMapping(content)) {
        throw new ConfigError(`${fileName} must be a mapping of sections (target:, view:, …) — fix the file`);
      }
      Object.assign(tree, content);
    }
  }
  // `view.*` flags join the tree; the shared sections' flags go to loadConfig as they are.
  const sharedFlags: Record<string, string | boolean | undefined> = {};
  for (const [raw, value] of Object.entries(input.flags)) {
    if (value === undefined) continue;
    const name = raw.replace(/^--?/, '');
    const [section, ...rest] = name.split('.');
    if (section === 'view' && rest.length > 0) {
      const view = isMapping(tree.view) ? { ...tree.view } : {};
      view[rest.join('.').replace(/-/g, '_')] = flagValue(value);
      tree.view = view;
    } else if (SHARED_SECTIONS.includes(section ?? '') || name === 'attempts') {
      sharedFlags[name] = value;
    } else if (rest.length > 0) {
      throw new ConfigError(
        `unknown flag \`--${name}\` — use --view.<field>, --target.<field>, --source.<field> or --settings.<name>`,
      );
    }
  }
  const where = fileName ? ` in ${fileName}` : '';
  const parsed = fileSchema.safeParse(tree);
  if (!parsed.success) throw zodMessage(parsed.error, where);
  const file = parsed.data;

  const shared = loadShared(file, sharedFlags, input.env, fileName ?? 'view.yaml');
  const config: ViewConfig = {
    target: shared.target,
    source:
      file.source === undefined && !Object.keys(sharedFlags).some((k) => k.startsWith('source.'))
        ? undefined
        : shared.source,
    view: file.view,
    settings: shared.settings,
    attempts: shared.attempts,
    fileName,
  };
  checkKind(config, where);
  return config;
}

const NO_SOURCE = 's3://shadowfill-no-source/none';

/**
 * The shared sections through `loadConfig`: written to a private copy named like the user's file, so every
 * message names that file as `run`'s would. Without `source:`, a placeholder satisfies loadConfig and is dropped.
 */
function loadShared(
  file: z.output<typeof fileSchema>,
  flags: Record<string, string | boolean | undefined>,
  env: NodeJS.ProcessEnv,
  name: string,
): {
  target: TargetConfig;
  source: SourceConfig;
  settings: Record<string, string | number | boolean>;
  attempts: number;
} {
  const dir = mkdtempSync(join(tmpdir(), 'shadowfill-view-'));
  const path = join(dir, name);
  try {
    const shared: Record<string, unknown> = {
      target: file.target,
      source: file.source ?? { url: NO_SOURCE },
    };
    if (file.settings !== undefined) shared.settings = file.settings;
    if (file.attempts !== undefined) shared.attempts = file.attempts;
    writeFileSync(path, stringify(shared), { mode: 0o600 });
    const config = loadConfig({ file: path, flags, env });
    return {
      target: config.target,
      source: config.source,
      settings: { ...config.settings },
      attempts: config.attempts,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fields that only one kind of target takes. */
function checkKind(config: ViewConfig, where: string): void {
  const v = config.view;
  if (config.target.kind === 'clickhouse') {
    if (v.to === undefined) {
      throw new ConfigError(
        `missing \`view.to\`${where} — name the table the view writes to (ClickHouse materialized views need a TO table)`,
      );
    }
    if (v.cutoff_column === undefined) {
      throw new ConfigError(
        `missing \`view.cutoff_column\`${where} — name a time or increasing id column of ${config.target.table} (the view takes rows from the cutoff on)`,
      );
    }
    for (const key of ['materialized_only', 'refresh_policy'] as const) {
      if (v[key] !== undefined) {
        throw new ConfigError(`\`view.${key}\`${where} applies to timescaledb targets — remove it`);
      }
    }
    return;
  }
  const clickhouseOnly: (keyof ViewSection)[] = ['to', 'to_ddl', 'cutoff_column', 'cutoff_margin'];
  for (const key of clickhouseOnly) {
    if (v[key] !== undefined) {
      throw new ConfigError(
        `\`view.${key}\`${where} applies to clickhouse targets — remove it (a continuous aggregate stores its own rows and tracks changes itself)`,
      );
    }
  }
  if (v.cutoff !== 'auto') {
    throw new ConfigError(
      `\`view.cutoff\`${where} applies to clickhouse targets — remove it (a continuous aggregate tracks live rows itself)`,
    );
  }
  if (config.source !== undefined) {
    throw new ConfigError(
      `\`source\`${where}: a continuous aggregate reads only its hypertable — load the history with \`shadowfill run\` first, then remove source`,
    );
  }
  if (Object.keys(config.settings).length > 0) {
    throw new ConfigError(`\`settings\`${where} applies to clickhouse targets — remove it`);
  }
}

const DEFAULT_WINDOW = 86_400n * MICROS_PER_SECOND;
const DEFAULT_MARGIN: Readonly<Record<PositionKind, bigint>> = {
  time: 60n * MICROS_PER_SECOND,
  number: 10_000n,
};

/** Window, margin, settle and wait in the window column's units, once its kind is known. */
export function resolveSizes(config: ViewConfig, kind: PositionKind, column: string): ViewSizes {
  const where = config.fileName ? ` in ${config.fileName}` : '';
  const sized = (field: 'window' | 'cutoff_margin', fallback: bigint | undefined): bigint => {
    const value = config.view[field];
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(
        `missing \`view.${field}\`${where} — ${column} holds ids: write a number of ids, e.g. 1000000`,
      );
    }
    if (kind === 'number') {
      const n =
        typeof value === 'number'
          ? BigInt(value)
          : /^\d+$/.test(value.trim())
            ? BigInt(value.trim())
            : undefined;
      if (n === undefined || n <= 0n) {
        throw new ConfigError(
          `\`view.${field}\` is \`${value}\`${where}, but ${column} holds ids — write a whole number of ids, e.g. 1000000`,
        );
      }
      return n;
    }
    const micros = typeof value === 'string' ? parseDuration(value) : undefined;
    if (micros === undefined || micros <= 0n) {
      throw new ConfigError(
        `\`view.${field}\` is \`${value}\`${where}, but ${column} is a time — write a duration like 1 day, 6 hours or 90 minutes`,
      );
    }
    return micros;
  };
  const duration = (field: 'settle' | 'cutoff_wait'): bigint => {
    const micros = parseDuration(config.view[field]);
    if (micros === undefined) {
      throw new ConfigError(
        `\`view.${field}\` is \`${config.view[field]}\`${where} — write a duration like 10 seconds`,
      );
    }
    return micros;
  };
  return {
    window: sized('window', kind === 'time' ? DEFAULT_WINDOW : undefined),
    margin: sized('cutoff_margin', DEFAULT_MARGIN[kind]),
    settle: duration('settle'),
    wait: duration('cutoff_wait'),
  };
}

/** A configured position (`view.cutoff`, `view.source_before`) read in the column's kind; 'auto' stays. */
export function configuredPosition(
  config: ViewConfig,
  field: 'cutoff' | 'source_before',
  kind: PositionKind,
  column: string,
): Position | 'auto' {
  const value = config.view[field];
  if (value === 'auto') return 'auto';
  const position = parsePosition(String(value), kind);
  if (!position) {
    const where = config.fileName ? ` in ${config.fileName}` : '';
    throw new ConfigError(
      `\`view.${field}\` is \`${value}\`${where}, but ${column} is ${kind === 'time' ? 'a time' : 'an id'} — write ` +
        (kind === 'time' ? 'a date-time like 2024-12-17 09:00:00 (UTC)' : 'a whole number') +
        ' or auto',
    );
  }
  return position;
}
