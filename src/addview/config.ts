/**
 * The add-view configuration (`view.yaml`): one zod schema composed of the backfill configuration's own
 * sections — `target`, `source`, `settings`, `attempts` (src/config/schema.ts) — and the `view` section below,
 * read by the same loader (src/config/load.ts: file, flags, environment, with origins), so shared fields have
 * the same defaults, environment variables (`CLICKHOUSE_*`, `DATABASE_URL`/`PG*`, `AWS_*`), flags and messages
 * as for `run`. Unknown keys are refused with a suggestion; every problem is one line naming the field, where its
 * value was set (`in view.yaml`, `from --view.window`, `from $CLICKHOUSE_URL`) and the fix.
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
 *
 * `shadowfill config schema --view` prints this schema as JSON Schema (schema/view.schema.json).
 */
import { z } from 'zod';
import type { Position, PositionKind } from '../adapter/view-contract.ts';
import {
  field,
  FieldProblem,
  oneOfField,
  readSwitch,
  readText,
  textField,
  wholeNumberField,
} from '../config/fields.ts';
import { readConfigLayers, type ConfigFlags } from '../config/load.ts';
import { where } from '../config/messages.ts';
import {
  configFields,
  fileJsonSchema,
  fileSchema,
  resolveSource,
  resolveTarget,
  sourceSection,
  targetSection,
} from '../config/schema.ts';
import type { SourceConfig, TargetConfig } from '../config/types.ts';
import { ConfigError } from '../errors.ts';
import { MICROS_PER_SECOND, parseDuration, parsePosition } from './position.ts';

const SIZE_JSON = { anyOf: [{ type: 'string' }, { type: 'integer', minimum: 1 }] };
const POSITION_JSON = { anyOf: [{ type: 'string' }, { type: 'integer' }] };

/** A duration (`1 day`) or, for id columns, a whole number: checked against the column's kind when a run starts. */
function sizeField(description: string) {
  return field({
    json: SIZE_JSON,
    placeholder: 'size',
    description,
    parse: (value): string => {
      const text = readText(value).trim();
      if (/^\d+$/.test(text) ? BigInt(text) > 0n : (parseDuration(text) ?? 0n) > 0n) return text;
      throw new FieldProblem('write a duration like 1 day, 6 hours or 90 minutes, or a number of ids');
    },
  });
}

function durationField(description: string, fallback: string) {
  return field({
    json: { type: 'string' },
    placeholder: 'duration',
    default: fallback,
    description,
    parse: (value): string => {
      const text = readText(value).trim();
      if (parseDuration(text) !== undefined) return text;
      throw new FieldProblem('write a duration like 10 seconds, 5 minutes or 1 hour');
    },
  });
}

/** `auto`, a date-time (UTC unless it carries a zone) or an id; checked against the column's kind later. */
function positionField(description: string) {
  return field({
    json: POSITION_JSON,
    placeholder: 'auto|value',
    default: 'auto',
    description,
    parse: (value): string => {
      const text = readText(value).trim();
      if (text.toLowerCase() === 'auto') return 'auto';
      if (parsePosition(text, 'time') || parsePosition(text, 'number')) return text;
      throw new FieldProblem('write auto, a date-time like 2024-12-17 09:00:00 (UTC) or an id');
    },
  });
}

/** Interval text passed to TimescaleDB as an interval value (`1 month`, `2 hours`). */
function readInterval(value: unknown): string {
  const text = readText(value).trim();
  if (text === '') throw new FieldProblem('write an interval like 1 month or 2 hours');
  return text;
}

/** An offset of the refresh policy: an interval, or null (unbounded). */
function offsetField(description: string) {
  return field({
    json: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    placeholder: 'interval',
    description,
    parse: (value): string | null => (value === null ? null : readInterval(value)),
  });
}

const refreshPolicySection = z.strictObject({
  start_offset: offsetField(
    'TimescaleDB: start_offset of the refresh policy (how far back each refresh reaches); null: from the beginning.',
  ),
  end_offset: offsetField(
    'TimescaleDB: end_offset of the refresh policy (how close to now it refreshes); null: up to now.',
  ),
  schedule_interval: field({
    json: { type: 'string' },
    placeholder: 'interval',
    default: '1 hour',
    description: 'TimescaleDB: how often the refresh policy runs.',
    parse: readInterval,
  }),
});

export const viewSection = z.strictObject({
  name: textField({
    required: true,
    title: 'the new view’s name',
    placeholder: 'name',
    description: 'The new view: a ClickHouse materialized view or a TimescaleDB continuous aggregate.',
  }),
  select: textField({
    required: true,
    title: 'the view’s SELECT, reading the live table by name',
    placeholder: 'sql',
    description: 'The view’s SELECT, reading target.table by name.',
  }),
  to: textField({
    placeholder: 'table',
    description:
      'ClickHouse: the table the view writes to (TO) — an existing table, or one created from to_ddl.',
  }),
  to_ddl: textField({
    placeholder: 'sql',
    description: 'ClickHouse: CREATE TABLE … for `to`, used when it does not exist yet.',
  }),
  cutoff_column: textField({
    placeholder: 'column',
    description:
      'ClickHouse: the column of target.table the cutoff and the windows are on (a time, or an increasing id).',
  }),
  cutoff: positionField(
    'ClickHouse: the live view takes rows from here on, history is everything below: auto (now, or the largest id, plus cutoff_margin) or a value ahead of every row.',
  ),
  cutoff_margin: sizeField(
    'ClickHouse: with cutoff: auto, how far ahead of now (time; default 1 minute) or of the largest id (default 10000).',
  ),
  settle: durationField(
    'How long rows may take to arrive: a window runs only once the source has passed its end by this.',
    '10 seconds',
  ),
  cutoff_wait: durationField(
    'Longest wait for the source to pass a window’s end before the command stops (exit 75; run again to resume).',
    '1 hour',
  ),
  window: sizeField(
    'Size of a window (the unit of verification, retry and progress): a duration for time columns (default 1 day), a number of ids for id columns.',
  ),
  source_before: positionField(
    'ClickHouse with source: rows of the objects below this are history; from it up to the cutoff, the live table. auto: the live table’s oldest row.',
  ),
  verify: oneOfField(['full', 'rows'], {
    default: 'full',
    description:
      'full: a window’s aggregates are recomputed from the source and compared; rows: row counts only.',
  }),
  verify_windows: wholeNumberField(0, 'windows recomputed from the hypertable', {
    default: 3,
    description:
      'TimescaleDB: how many windows are compared with a recomputation from the hypertable (first, last, spread between).',
  }),
  materialized_only: field({
    json: { type: 'boolean' },
    placeholder: 'true|false',
    description: 'TimescaleDB: timescaledb.materialized_only of the aggregate (default: TimescaleDB’s).',
    parse: readSwitch,
  }),
  refresh_policy: refreshPolicySection.optional(),
});

export type ViewSection = z.output<typeof viewSection>;

/** The live table the view reads is `target.table`; everything else in `target` is as for `run`. */
const viewTarget = targetSection.extend({
  table: textField({
    required: true,
    title: 'the live table the view reads',
    placeholder: 'name',
    description: 'The live table the new view reads (ingestion keeps inserting into it).',
  }),
});

/** view.yaml as written, section by section (the shared sections are the backfill configuration's). */
export const viewFileSchema = z.strictObject({
  target: viewTarget.prefault({}),
  view: viewSection.prefault({}),
  source: sourceSection.optional(),
  settings: fileSchema.shape.settings,
  attempts: fileSchema.shape.attempts,
});

/** The resolved add-view configuration. */
export interface ViewConfig {
  readonly target: TargetConfig;
  /** History from object storage (`source:` as for `run`); undefined = history from the live table. */
  readonly source: SourceConfig | undefined;
  readonly view: ViewSection;
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  /** Attempts per window before the command stops (retryable failures only). */
  readonly attempts: number;
  /** The file's name, for messages. */
  readonly fileName: string | undefined;
  /** Where each `view.*` value came from (`in view.yaml`, `from --view.window`), for messages made later. */
  readonly origins: ReadonlyMap<string, string>;
}

type ResolvedView = Omit<ViewConfig, 'fileName' | 'origins'>;

const CLICKHOUSE_ONLY = ['to', 'to_ddl', 'cutoff_column', 'cutoff_margin'] as const;
const TIMESCALE_ONLY = ['materialized_only', 'refresh_policy'] as const;

/** Cross-field rules: the shared sections resolved as for `run`, and the view fields each kind takes. */
export const viewConfigSchema = viewFileSchema.transform((input, ctx): ResolvedView => {
  const whole = (path: string[], message: string) => {
    ctx.addIssue({ code: 'custom', path, message, params: { style: 'whole' } });
    return z.NEVER;
  };
  const missing = (key: string, title: string) => {
    ctx.addIssue({ code: 'custom', path: ['view', key], message: title, params: { style: 'missing' } });
    return z.NEVER;
  };
  const resolved = resolveTarget(input.target, ctx);
  if (!resolved) return z.NEVER;
  const source = input.source === undefined ? undefined : resolveSource(input.source, ctx);
  if (input.source !== undefined && source === undefined) return z.NEVER;
  const v = input.view;
  if (resolved.target.kind === 'clickhouse') {
    if (v.to === undefined)
      return missing('to', 'the table the view writes to: ClickHouse views need a TO table');
    if (v.cutoff_column === undefined) {
      return missing('cutoff_column', `a time or increasing id column of ${resolved.target.table}`);
    }
    for (const key of TIMESCALE_ONLY) {
      if (v[key] !== undefined) {
        return whole(['view', key], `\`view.${key}\` {where} applies to timescaledb targets — remove it`);
      }
    }
  } else {
    for (const key of CLICKHOUSE_ONLY) {
      if (v[key] !== undefined) {
        return whole(
          ['view', key],
          `\`view.${key}\` {where} applies to clickhouse targets — remove it (a continuous aggregate stores its ` +
            'own rows and tracks changes itself)',
        );
      }
    }
    if (v.cutoff !== 'auto' || v.source_before !== 'auto') {
      const key = v.cutoff !== 'auto' ? 'cutoff' : 'source_before';
      return whole(
        ['view', key],
        `\`view.${key}\` {where} applies to clickhouse targets — remove it (a continuous aggregate tracks live rows itself)`,
      );
    }
    if (source !== undefined) {
      return whole(
        ['source'],
        '`source` {where}: a continuous aggregate reads only its hypertable — load the history with ' +
          '`shadowfill run` first, then remove source',
      );
    }
    if (input.settings !== undefined && Object.keys(input.settings).length > 0) {
      return whole(['settings'], '`settings` {where} applies to clickhouse targets — remove it');
    }
  }
  return {
    target: resolved.target,
    source,
    view: v,
    settings: input.settings ?? {},
    attempts: input.attempts,
  };
});

/** Every field of view.yaml that is a flag (`--view.window`, `--target.url`, …), for the CLI. */
export function viewConfigFields() {
  return configFields(viewFileSchema);
}

/** The JSON Schema of view.yaml (`shadowfill config schema --view`). */
export function viewConfigJsonSchema(): Record<string, unknown> {
  return fileJsonSchema(viewFileSchema, {
    title: 'shadowfill add-view configuration',
    description:
      'A materialized view (ClickHouse) or continuous aggregate (TimescaleDB) added to a live table, its history backfilled (view.yaml). Every field is also a CLI flag of add-view: --view.window, --target.url, …',
    required: ['target', 'view'],
  });
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
  readonly flags?: ConfigFlags;
  readonly env?: NodeJS.ProcessEnv;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads, merges and validates the add-view configuration (flags over the file over the environment). */
export function loadViewConfig(input: LoadViewConfigInput): ViewConfig {
  const { layers, kind } = readConfigLayers(input);
  // History comes from object storage only when the file or a flag says so: AWS_* variables alone
  // (region, endpoint, keys) do not make a `source` section.
  const source = layers.tree.source;
  if (
    isMapping(source) &&
    Object.keys(source).every((key) => layers.origin(['source', key])?.kind === 'env')
  ) {
    delete layers.tree.source;
  }
  const resolved = layers.resolveWith(viewConfigSchema, kind);
  const origins = new Map<string, string>();
  for (const { path } of viewConfigFields()) {
    if (!path.startsWith('view.')) continue;
    const origin = layers.origin(path.split('.'));
    if (origin) origins.set(path, where(origin));
  }
  return { ...resolved, fileName: layers.fileName, origins };
}

/** ` in view.yaml` / ` from --view.window` for a view field, or ''. */
function at(config: ViewConfig, key: string): string {
  const origin = config.origins.get(`view.${key}`);
  return origin ? ` ${origin}` : '';
}

const DEFAULT_WINDOW = 86_400n * MICROS_PER_SECOND;
const DEFAULT_MARGIN: Readonly<Record<PositionKind, bigint>> = {
  time: 60n * MICROS_PER_SECOND,
  number: 10_000n,
};

/** Window, margin, settle and wait in the window column's units, once its kind is known. */
export function resolveSizes(config: ViewConfig, kind: PositionKind, column: string): ViewSizes {
  const sized = (key: 'window' | 'cutoff_margin', fallback: bigint | undefined): bigint => {
    const value = config.view[key];
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(
        `missing \`view.${key}\` — ${column} holds ids: set view.${key}${config.fileName ? ` in ${config.fileName}` : ''} ` +
          `(a number of ids, e.g. 1000000) or pass --view.${key}`,
      );
    }
    if (kind === 'number') {
      if (/^\d+$/.test(value) && BigInt(value) > 0n) return BigInt(value);
      throw new ConfigError(
        `\`view.${key}\` is \`${value}\`${at(config, key)}, but ${column} holds ids — write a whole number of ids, e.g. 1000000`,
      );
    }
    const micros = parseDuration(value);
    if (micros === undefined || micros <= 0n) {
      throw new ConfigError(
        `\`view.${key}\` is \`${value}\`${at(config, key)}, but ${column} is a time — write a duration like 1 day, 6 hours or 90 minutes`,
      );
    }
    return micros;
  };
  return {
    window: sized('window', kind === 'time' ? DEFAULT_WINDOW : undefined),
    margin: sized('cutoff_margin', DEFAULT_MARGIN[kind]),
    // Checked by the schema.
    settle: parseDuration(config.view.settle) ?? 0n,
    wait: parseDuration(config.view.cutoff_wait) ?? 0n,
  };
}

/** A configured position (`view.cutoff`, `view.source_before`) read in the column's kind; 'auto' stays. */
export function configuredPosition(
  config: ViewConfig,
  key: 'cutoff' | 'source_before',
  kind: PositionKind,
  column: string,
): Position | 'auto' {
  const value = config.view[key];
  if (value === 'auto') return 'auto';
  const position = parsePosition(value, kind);
  if (!position) {
    throw new ConfigError(
      `\`view.${key}\` is \`${value}\`${at(config, key)}, but ${column} is ${kind === 'time' ? 'a time' : 'an id'} — write ` +
        (kind === 'time' ? 'a date-time like 2024-12-17 09:00:00 (UTC)' : 'a whole number') +
        ' or auto',
    );
  }
  return position;
}
