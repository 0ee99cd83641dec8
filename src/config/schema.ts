/**
 * The configuration schema: every field of a backfill configuration, its default, its documentation and its
 * checks, in one zod schema built from sections — the engine's (target, source, filter, batch, views, settings,
 * load, attempts, workers, mode) and one option section per adapter (src/adapter/registry.ts). It reads the file form
 * (snake_case, `access_key_id`, `batch.bytes: 15GB`) and returns the resolved BackfillConfig; the same schema
 * serves `loadConfig` (files, flags, environment), `defineConfig` (code) and `shadowfill config schema` (JSON
 * Schema for editors).
 */
import { z } from 'zod';
import { ADAPTER_CONFIGS } from '../adapter/registry.ts';
import { AUTO_BATCHES_PER_WORKER } from '../planner/batches.ts';
import {
  field,
  FieldProblem,
  fieldDocs,
  bytesField,
  oneOfField,
  readText,
  readWholeNumber,
  textField,
  wholeNumberField,
  type FieldDoc,
} from './fields.ts';
import type {
  BackfillConfig,
  BatchCountSetting,
  FilterConfig,
  LoadMode,
  RunMode,
  SourceConfig,
  TargetConfig,
  TargetKind,
  WorkersSetting,
} from './types.ts';

const KINDS = ADAPTER_CONFIGS.map((a) => a.kind as TargetKind);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/;
const NUMBER = /^-?\d+(?:\.\d+)?$/;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function endpointField(description: string) {
  return field({
    json: { type: 'string', format: 'uri' },
    description,
    placeholder: 'url',
    parse: (value) => {
      const text = readText(value);
      if (!/^https?:\/\/[^/]+/i.test(text)) throw new FieldProblem('write it like http://127.0.0.1:9000');
      return text.replace(/\/+$/, '');
    },
  });
}

export const targetSection = z.strictObject({
  kind: oneOfField<TargetKind>(KINDS, {
    required: true,
    title: KINDS.join(' or '),
    description: `The target database: ${ADAPTER_CONFIGS.map((a) => `${a.kind} — ${a.description}`).join('; ')}.`,
  }),
  url: textField({
    required: true,
    title: 'where the database is',
    placeholder: 'url',
    description: `${ADAPTER_CONFIGS.map((a) => `${a.url.example} (${a.kind})`).join(', ')}, or embedded:<dir> for the embedded engine with a persistent data directory.`,
  }),
  database: textField({
    placeholder: 'name',
    description: `ClickHouse database / PostgreSQL schema of the table (default: ${ADAPTER_CONFIGS.map((a) => `${a.defaultDatabase} for ${a.kind}`).join(', ')}).`,
  }),
  schema: textField({
    placeholder: 'name',
    description: 'TimescaleDB: the hypertable’s schema (same as database).',
  }),
  table: textField({
    required: true,
    title: 'the live table to backfill',
    placeholder: 'name',
    description: 'The live table to backfill (its materialized views / continuous aggregates follow it).',
  }),
  user: textField({ placeholder: 'name', description: 'Login user.' }),
  password: textField({
    placeholder: 'secret',
    description: 'Login password (prefer the environment variable).',
  }),
});

export const sourceSection = z.strictObject({
  url: field({
    required: true,
    title: 'the Parquet objects to load',
    placeholder: 'url',
    json: { type: 'string' },
    description:
      'The objects, as an s3:// or http(s):// URL with ClickHouse glob rules: *, **, ?, {a,b}, {000..100}.',
    parse: (value) => {
      const text = readText(value);
      if (text.trim() === '') throw new FieldProblem('the Parquet objects to load', 'missing');
      if (!/^(s3|https?):\/\/[^/]+\/./.test(text))
        throw new FieldProblem('write it like s3://bucket/path/*.parquet');
      return text;
    },
  }),
  endpoint: endpointField('S3-compatible endpoint (MinIO, …); omit for AWS.'),
  server_endpoint: endpointField(
    'How the database reaches the store when it differs from endpoint (e.g. http://minio:9000 inside Docker); for load: server.',
  ),
  region: field({
    default: 'us-east-1',
    json: { type: 'string' },
    placeholder: 'region',
    description: 'The bucket’s region.',
    parse: (value) => {
      const text = readText(value);
      if (text.trim() === '')
        throw new FieldProblem('`{path}` is empty {where} — remove it to use us-east-1', 'whole');
      return text;
    },
  }),
  access_key_id: textField({ placeholder: 'key', description: 'Access key (with secret_access_key).' }),
  secret_access_key: textField({ placeholder: 'secret', description: 'Secret key (with access_key_id).' }),
  session_token: textField({ placeholder: 'token', description: 'Session token of temporary credentials.' }),
});

function boundField(which: 'before' | 'after') {
  const auto = which === 'before' ? ', or auto (older than the live table’s oldest row)' : '';
  return field({
    json: { anyOf: [{ type: 'string' }, { type: 'number' }] },
    placeholder: 'time',
    description:
      which === 'before'
        ? 'Keep rows with column < before: a date-time, a number, or auto (older than the oldest row already in the live table, fixed when the run starts).'
        : 'Keep rows with column >= after: a date-time or a number.',
    parse: (value) => {
      const text = readText(value).trim();
      if (which === 'before' && text.toLowerCase() === 'auto') return 'auto';
      if (DATE_TIME.test(text) || NUMBER.test(text)) return text;
      throw new FieldProblem(`write a date-time like 2024-12-01 00:00:00 or a number${auto}`);
    },
  });
}

/** Milliseconds for comparing two bounds (both read as local time unless they carry a zone; NaN if not a date). */
function toTime(bound: string): number {
  return Date.parse(bound.length === 10 ? `${bound}T00:00:00` : bound.replace(' ', 'T'));
}

export const filterSection = z
  .strictObject({
    column: textField({
      placeholder: 'column',
      description: 'The column the bounds compare (e.g. timestamp).',
    }),
    before: boundField('before'),
    after: boundField('after'),
  })
  .transform((f, ctx): FilterConfig | undefined => {
    const fail = (path: string, message: string) => {
      ctx.addIssue({ code: 'custom', path: [path], message, params: { style: 'whole' } });
      return z.NEVER;
    };
    const column = f.column?.trim() === '' ? undefined : f.column;
    if (column === undefined && f.column === undefined && f.before === undefined && f.after === undefined) {
      return undefined;
    }
    if (column === undefined && f.before === undefined && f.after === undefined) {
      return fail(
        'column',
        '`filter.column` is empty — name the column to compare (e.g. timestamp) or remove filter',
      );
    }
    if (column === undefined) {
      const bound = f.before !== undefined ? 'before' : 'after';
      return fail(
        bound,
        `\`filter.${bound}\` is set without \`filter.column\` — add filter.column (the column to compare, e.g. timestamp)`,
      );
    }
    if (f.before === undefined && f.after === undefined) {
      return fail(
        'column',
        '`filter.column` is set without a bound — add filter.before (a date-time or auto) or filter.after, or remove filter',
      );
    }
    if (f.before !== undefined && f.before !== 'auto' && f.after !== undefined) {
      const [b, a] = [f.before, f.after].map(toTime) as [number, number];
      const numeric = NUMBER.test(f.before) && NUMBER.test(f.after);
      if ((numeric && Number(f.after) >= Number(f.before)) || (!numeric && !Number.isNaN(a + b) && a >= b)) {
        return fail(
          'after',
          `\`filter.after\` (${f.after}) is not earlier than \`filter.before\` (${f.before}) — no row would be loaded; swap or fix them`,
        );
      }
    }
    return { column, before: f.before, after: f.after };
  });

/** `batch.files` when not set. */
const BATCH_FILES_DEFAULT = 100;

/**
 * `batch`. `count` unset means `auto` when `batch.files` is not set either (2 batches per worker, each within the
 * default 100 objects), and 1 when it is: a `batch.files` written down is the batch size asked for.
 */
export const batchSection = z
  .strictObject({
    files: field({
      placeholder: 'n',
      // The default is filled in by the section (whether it was written decides batch.count's).
      json: { type: 'integer', minimum: 1, default: BATCH_FILES_DEFAULT },
      description: 'At most this many objects per batch (the unit of verification and retry).',
      parse: (value) => readWholeNumber(value, 1, 'objects per batch'),
    }),
    bytes: bytesField(1, {
      default: '15GiB',
      description:
        'At most this many bytes per batch (a larger object still forms its own batch): 15GB, 512MiB, 1e9.',
    }),
    count: field({
      placeholder: 'auto|n',
      json: {
        anyOf: [
          { type: 'string', enum: ['auto'] },
          { type: 'integer', minimum: 1 },
        ],
      },
      description: `At least this many batches where there are enough objects, each still within files and bytes: auto = ${AUTO_BATCHES_PER_WORKER} per worker (a batch loads while the one before it is verified and committed); 1 = as few batches as files and bytes allow. When not set: auto, or 1 if batch.files is set. \`plan\` says how the batches were cut.`,
      parse: (value): BatchCountSetting => {
        if (typeof value === 'string' && value.trim().toLowerCase() === 'auto') return 'auto';
        return readWholeNumber(value, 1, 'batches at least, or auto');
      },
    }),
  })
  .transform((b) => ({
    files: b.files ?? BATCH_FILES_DEFAULT,
    bytes: b.bytes,
    count: b.count ?? (b.files === undefined ? ('auto' as const) : 1),
  }))
  .prefault({});

const viewsField = field({
  default: 'auto',
  placeholder: 'auto|none|a,b',
  json: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string', minLength: 1 } }] },
  description:
    'Materialized views to shadow with the table: auto (every view that reads from it, transitively), none, or a list of view names.',
  parse: (value): 'auto' | readonly string[] => {
    let names: unknown[];
    if (typeof value === 'string') {
      const trimmed = value.trim();
      if (trimmed.toLowerCase() === 'auto') return 'auto';
      if (trimmed.toLowerCase() === 'none' || trimmed === '') return [];
      names = trimmed.split(',').map((n) => n.trim());
    } else if (Array.isArray(value)) {
      names = value;
    } else {
      throw new FieldProblem('auto, none or a list of view names', 'type');
    }
    if (names.some((n) => typeof n !== 'string' || n.trim() === '')) {
      throw new FieldProblem(
        '`{path}` {where} has an empty or non-text entry — list view names, e.g. [pypi_downloads_mv]',
        'whole',
      );
    }
    return [...new Set(names.map((n) => String(n).trim()))];
  },
});

const settingValue = field({
  required: true,
  json: { type: ['string', 'number', 'boolean'] },
  parse: (value): string | number | boolean => {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
    throw new FieldProblem('a string, number or boolean', 'type');
  },
});

export const settingsSection = z.record(z.string(), settingValue).superRefine((settings, ctx) => {
  for (const name of Object.keys(settings)) {
    if (!SETTING_NAME.test(name)) {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `setting \`${name}\` {where} is not a setting name — use letters, digits and _`,
        params: { style: 'whole' },
      });
    }
  }
});
fieldDocs.set(settingsSection, {
  json: {},
  description:
    'ClickHouse insert settings, passed through (max_insert_threads, min_insert_block_size_rows, …); also --settings.<name> <value>.',
});

const loadField = oneOfField<LoadMode>(['server', 'client'], {
  description: `server: the database reads the objects itself (ClickHouse s3()); client: shadowfill streams them. Default: ${ADAPTER_CONFIGS.map((a) => `${a.defaultLoad} for ${a.kind}`).join(', ')}.`,
});

const attemptsField = wholeNumberField(1, 'tries per batch; 1 = no retry', {
  default: 3,
  description: 'Attempts per batch before the run stops (retryable failures only).',
});

const workersField = field({
  default: 'auto',
  placeholder: 'auto|n',
  json: {
    anyOf: [
      { type: 'string', enum: ['auto'] },
      { type: 'integer', minimum: 1 },
    ],
  },
  description:
    'Batches loaded at once, each by its own worker over its own connection: auto (what the target and this machine can use; `plan` says how many and why) or a number (1 = one batch at a time).',
  parse: (value): WorkersSetting => {
    if (typeof value === 'string' && value.trim().toLowerCase() === 'auto') return 'auto';
    return readWholeNumber(value, 1, 'batches loaded at once, or auto');
  },
});

const modeField = oneOfField<RunMode>(['historical', 'catchup'], {
  default: 'historical',
  description:
    'historical: slices behind the watermark of finished batches are swapped in (and compressed) while later batches load; catchup: nothing changes until every batch is loaded and verified, then everything is swapped in at once (TimescaleDB: one transaction). `plan` says what readers see.',
});

const adapterSections: Record<string, z.ZodType> = Object.fromEntries(
  ADAPTER_CONFIGS.map((a) => [a.kind, a.options.optional()]),
);

/** The configuration as written, section by section. */
export const fileSchema = z.strictObject({
  // An absent section reads as empty, so its first required field is what the message names.
  target: targetSection.prefault({}),
  source: sourceSection.prefault({}),
  filter: filterSection.optional(),
  batch: batchSection,
  views: viewsField,
  settings: settingsSection.optional(),
  load: loadField,
  attempts: attemptsField,
  workers: workersField,
  mode: modeField,
  ...adapterSections,
});

/** Adds an issue whose message is whole (`{path}`, `{where}`, `{value}` filled in by the loader). */
function failWith(ctx: z.core.$RefinementCtx): (path: string[], message: string) => undefined {
  return (path, message) => {
    ctx.addIssue({ code: 'custom', path, message, params: { style: 'whole' } });
    return undefined;
  };
}

/**
 * The `target` section's cross-field rules (the kind's URL, schema or database, the kind's default database):
 * the resolved TargetConfig and its adapter. Shared by every configuration that names a target (backfill.yaml,
 * add-view's view.yaml); problems are issues on `ctx` (then undefined).
 */
export function resolveTarget(
  target: z.output<typeof targetSection>,
  ctx: z.core.$RefinementCtx,
): { target: TargetConfig; adapter: (typeof ADAPTER_CONFIGS)[number] } | undefined {
  const fail = failWith(ctx);
  const adapter = ADAPTER_CONFIGS.find((a) => a.kind === target.kind);
  if (!adapter) return fail(['target', 'kind'], `\`target.kind\` ${target.kind} has no adapter`);
  if (!/^embedded:.+/.test(target.url) && !adapter.url.pattern.test(target.url)) {
    return fail(
      ['target', 'url'],
      `\`{path}\` is {value} {where}, not a ${adapter.kind} URL — use ${adapter.url.example} or embedded:<dir>`,
    );
  }
  if (target.schema !== undefined && adapter.kind !== 'timescaledb') {
    return fail(
      ['target', 'schema'],
      '`target.schema` applies to timescaledb targets — use target.database for clickhouse',
    );
  }
  if (target.schema !== undefined && target.database !== undefined) {
    return fail(
      ['target', 'schema'],
      'both `target.schema` and `target.database` are set — keep one (for timescaledb they are the same)',
    );
  }
  const database = target.schema ?? target.database ?? adapter.defaultDatabase;
  if (database.trim() === '')
    return fail(['target', 'database'], '`target.database` is empty — remove it to use the default');
  return {
    adapter,
    target: {
      kind: target.kind,
      url: target.url,
      database,
      table: target.table,
      user: target.user,
      password: target.password,
    },
  };
}

/** The `source` section's cross-field rules (credentials come as a set): the resolved SourceConfig, or undefined. */
export function resolveSource(
  source: z.output<typeof sourceSection>,
  ctx: z.core.$RefinementCtx,
): SourceConfig | undefined {
  const fail = failWith(ctx);
  const {
    access_key_id: accessKeyId,
    secret_access_key: secretAccessKey,
    session_token: sessionToken,
  } = source;
  if (accessKeyId === undefined && secretAccessKey === undefined && sessionToken !== undefined) {
    return fail(
      ['source', 'session_token'],
      '`source.session_token` is set without `source.access_key_id` and `source.secret_access_key` — set all three',
    );
  }
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const [set, unset] =
      accessKeyId === undefined
        ? ['secret_access_key', 'access_key_id']
        : ['access_key_id', 'secret_access_key'];
    return fail(
      ['source', set],
      `\`source.${set}\` is set but \`source.${unset}\` is not — set both (or neither, to use AWS_* variables)`,
    );
  }
  return {
    url: source.url,
    endpoint: source.endpoint,
    serverEndpoint: source.server_endpoint,
    region: source.region,
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey, sessionToken }
        : undefined,
  };
}

/** Cross-field rules and kind-dependent defaults; the resolved BackfillConfig. */
export const configSchema = fileSchema.transform((input, ctx): BackfillConfig => {
  const fail = (path: string[], message: string) => failWith(ctx)(path, message) ?? z.NEVER;
  const resolved = resolveTarget(input.target, ctx);
  if (!resolved) return z.NEVER;
  const { target, adapter } = resolved;
  for (const other of ADAPTER_CONFIGS) {
    if (other.kind !== adapter.kind && (input as Record<string, unknown>)[other.kind] !== undefined) {
      return fail(
        [other.kind],
        `section \`${other.kind}\` {where} applies to target.kind ${other.kind}, but target.kind is ${adapter.kind} — remove it or change target.kind`,
      );
    }
  }
  const load = input.load ?? adapter.defaultLoad;
  if (load === 'server' && !adapter.serverLoad) {
    return fail(
      ['load'],
      `\`load: server\` needs a target that reads S3 itself (${ADAPTER_CONFIGS.filter((a) => a.serverLoad)
        .map((a) => a.kind)
        .join(', ')}) — use load: client for ${adapter.kind}`,
    );
  }
  const source = resolveSource(input.source, ctx);
  if (!source) return z.NEVER;
  const options = (input as Record<string, unknown>)[adapter.kind];
  return {
    target,
    source,
    filter: input.filter,
    batch: input.batch,
    views: input.views,
    settings: input.settings ?? {},
    load,
    attempts: input.attempts,
    workers: input.workers,
    mode: input.mode,
    targetOptions: (options as Record<string, unknown> | undefined) ?? {},
  };
});

/**
 * The strict object at `path` of a file form (`root`: backfill.yaml's by default; add-view passes view.yaml's)
 * — sections and adapter option sections — if any.
 */
function objectAt(path: readonly string[], root: z.ZodType = fileSchema): z.ZodObject | undefined {
  let schema: z.ZodType = root;
  for (const key of path) {
    const object = unwrap(schema);
    if (!(object instanceof z.ZodObject)) return undefined;
    const next = (object.shape as Record<string, z.ZodType>)[key];
    if (!next) return undefined;
    schema = next;
  }
  const object = unwrap(schema);
  return object instanceof z.ZodObject ? object : undefined;
}

/** Looks through optional/default/prefault wrappers and a section's own checks and transform. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else {
      return current;
    }
  }
}

/** The keys of the section at `path` (`[]` for the top level) of `root`, for unknown-key suggestions. */
export function knownKeys(path: readonly string[], root: z.ZodType = fileSchema): readonly string[] {
  return Object.keys(objectAt(path, root)?.shape ?? {});
}

export interface ConfigFieldInfo {
  /** Dotted path: `batch.files`, `timescaledb.strategy`, `views`. */
  readonly path: string;
  readonly doc: FieldDoc;
}

/** Every leaf field of a file form (`root`: backfill.yaml's by default), in order (for `--help` and CLI flags). */
export function configFields(root: z.ZodType = fileSchema): ConfigFieldInfo[] {
  const out: ConfigFieldInfo[] = [];
  const visit = (schema: z.ZodType, prefix: string[]) => {
    const doc = fieldDocs.get(schema);
    if (doc && prefix.length > 0 && !(unwrap(schema) instanceof z.ZodObject)) {
      out.push({ path: prefix.join('.'), doc });
      return;
    }
    const object = unwrap(schema);
    if (object instanceof z.ZodObject) {
      for (const [key, child] of Object.entries(object.shape as Record<string, z.ZodType>))
        visit(child, [...prefix, key]);
    } else if (doc === undefined && prefix.length > 0 && !(object instanceof z.ZodRecord)) {
      const inner = fieldDocs.get(unwrap(schema));
      if (inner) out.push({ path: prefix.join('.'), doc: inner });
    }
  };
  visit(root, []);
  return out;
}

/** The JSON Schema of a config file (for `# yaml-language-server: $schema=…` and editors). */
export function configJsonSchema(): Record<string, unknown> {
  return fileJsonSchema(fileSchema, {
    title: 'shadowfill backfill configuration',
    description:
      'A backfill of Parquet objects into a live ClickHouse or TimescaleDB table (backfill.yaml). Every field is also a CLI flag: --target.url, --batch.files, …',
    required: ['target', 'source'],
  });
}

/** The JSON Schema of the file form `root`, its fields documented from their field docs. */
export function fileJsonSchema(
  root: z.ZodType,
  about: { readonly title: string; readonly description: string; readonly required: readonly string[] },
): Record<string, unknown> {
  const schema = z.toJSONSchema(root, {
    io: 'input',
    target: 'draft-2020-12',
    override: (ctx) => {
      const doc = fieldDocs.get(ctx.zodSchema as unknown as z.ZodType);
      if (!doc) return;
      const json = ctx.jsonSchema as Record<string, unknown>;
      for (const key of Object.keys(json))
        if (key !== 'properties' && key !== 'additionalProperties') delete json[key];
      Object.assign(json, doc.json);
      if (doc.description) json.description = doc.description;
      if (doc.default !== undefined) json.default = doc.default;
    },
  }) as Record<string, unknown>;
  // Required fields are checked by the fields themselves (with a message naming the fix); list them for editors.
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [section, object] of Object.entries(properties ?? {})) {
    const shape = objectAt([section], root)?.shape as Record<string, z.ZodType> | undefined;
    if (!shape || !object) continue;
    const required = Object.entries(shape)
      .filter(([, child]) => fieldDocs.get(child)?.required)
      .map(([key]) => key);
    if (required.length > 0) object.required = required;
    else delete object.required;
    // `target` and `source` read as empty when absent (so the message names their first missing field).
    delete object.default;
  }
  schema.required = [...about.required];
  return {
    $schema: schema.$schema,
    title: about.title,
    description: about.description,
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
