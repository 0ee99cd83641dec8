/**
 * The TimescaleDB adapter's part of the configuration: its option section (`timescaledb:` in config files,
 * `--timescaledb.<option>` flags, `config.targetOptions` in code), with every default written here once, and the
 * kind's defaults (schema `public`, `load: client`, `DATABASE_URL`/`PG*`). The configuration loader checks the
 * section when the file is read; the adapter reads it with `parseTimescaleOptions`. Unknown keys are refused so
 * that a typo never silently changes behaviour.
 */
import { z } from 'zod';
import type { AdapterConfigSpec } from '../../src/config/adapter-config.ts';
import {
  bytesField,
  nameListField,
  numberField,
  oneOfField,
  switchField,
  wholeNumberField,
} from '../../src/config/fields.ts';
import { ConfigError } from '../../src/errors.ts';

export type Strategy = 'decompress' | 'direct' | 'auto';
export type ConflictMode = 'error' | 'nothing' | 'update';
export type LoadMethod = 'auto' | 'copy' | 'insert';

/** The `timescaledb:` section as written (snake_case). */
export const timescaleOptionsSection = z
  .strictObject({
    strategy: oneOfField<Strategy>(['decompress', 'direct', 'auto'], {
      default: 'auto',
      description:
        'How rows reach compressed chunks: decompress them first, DML into them (TimescaleDB ≥ 2.11), or auto (per chunk, by direct_max_fraction).',
    }),
    direct_max_fraction: numberField(0, 'a fraction of the rows a chunk holds', {
      default: 0.25,
      description:
        'With strategy auto: write a compressed chunk directly when it receives at most this fraction of the rows it already holds; otherwise decompress it.',
    }),
    on_conflict: oneOfField<ConflictMode>(['error', 'nothing', 'update'], {
      default: 'error',
      description:
        'What a row that collides with a unique index does: fail its slice, be skipped, or update the existing row.',
    }),
    conflict_columns: nameListField('[project, timestamp]', {
      description:
        'Columns of the unique index to match (chooses among several unique indexes); default: the primary key, else the only unique index.',
    }),
    update_columns: nameListField('[version]', {
      description:
        'With on_conflict update: the columns to overwrite; default: every column outside the unique index.',
    }),
    max_decompressed_bytes: bytesField(0, {
      default: '10GiB',
      description:
        'Refuse the swap when the chunks decompressed at once (one slice’s; all, without progressive_recompress) would take more than this uncompressed.',
    }),
    load_method: oneOfField<LoadMethod>(['auto', 'copy', 'insert'], {
      default: 'auto',
      description:
        'COPY FROM STDIN or batched INSERT … SELECT FROM unnest(…); auto = COPY where the server supports it.',
    }),
    insert_rows: wholeNumberField(1, 'rows per INSERT statement', {
      default: 10_000,
      description: 'Rows per INSERT statement on the insert path.',
    }),
    direct_compress_insert: switchField({
      default: true,
      description:
        'Write a slice that only creates chunks older than the compression policy’s compress_after compressed already (timescaledb.enable_direct_compress_insert, where the server has it and the hypertable has no unique index); they are recompressed in order behind the watermark. Needs progressive_recompress.',
    }),
    progressive_recompress: switchField({
      default: true,
      description:
        'Recompress a decompressed chunk as soon as none of its slices remain (instead of at the end).',
    }),
  })
  .superRefine((options, ctx) => {
    if (options.update_columns !== undefined && options.on_conflict !== 'update') {
      ctx.addIssue({
        code: 'custom',
        path: ['update_columns'],
        message:
          '`{path}` {where} needs on_conflict: update — set on_conflict: update or remove update_columns',
        params: { style: 'whole' },
      });
    }
  });

const toOptions = timescaleOptionsSection.transform((o) => ({
  /** How rows reach compressed chunks: decompress them first, DML into them (TimescaleDB ≥ 2.11), or decide. */
  strategy: o.strategy,
  /** What a row that collides with a unique index does: fail the slice, be skipped, or update the existing row. */
  onConflict: o.on_conflict,
  /** Columns of the unique index to match (chooses among several unique indexes); default: the primary key. */
  conflictColumns: o.conflict_columns as readonly string[] | undefined,
  /** Columns `update` overwrites; default: every column outside the unique index. */
  updateColumns: o.update_columns as readonly string[] | undefined,
  /** Refuse the swap when the chunks to decompress would take more than this many bytes uncompressed. */
  maxDecompressedBytes: o.max_decompressed_bytes,
  /** `COPY FROM STDIN` or batched `INSERT … SELECT FROM unnest(…)`; `auto` = COPY where the server supports it. */
  loadMethod: o.load_method,
  /** Rows per INSERT statement on the INSERT path. */
  insertRows: o.insert_rows,
  /** Recompress a decompressed chunk as soon as no staged rows remain in it (instead of at the end). */
  progressiveRecompress: o.progressive_recompress,
  /** Write slices that only create chunks the policy compresses compressed already (direct compress inserts). */
  directCompressInsert: o.direct_compress_insert,
  /**
   * `auto`: a compressed chunk is written directly (no decompression) when its staged rows are at most this
   * fraction of the rows it already holds; otherwise it is decompressed.
   */
  directMaxFraction: o.direct_max_fraction,
}));

/** The default of max_decompressed_bytes, in bytes (written once, in the section above). */
export const DEFAULT_MAX_DECOMPRESSED_BYTES: number =
  timescaleOptionsSection.shape.max_decompressed_bytes.parse(undefined);

/** The adapter's options, resolved (camelCase, defaults filled). */
export type TimescaleOptions = Readonly<z.output<typeof toOptions>>;

export const timescaleConfig: AdapterConfigSpec = {
  kind: 'timescaledb',
  options: timescaleOptionsSection,
  defaultDatabase: 'public',
  defaultLoad: 'client',
  serverLoad: false,
  url: { pattern: /^postgres(?:ql)?:\/\/[^/]*/i, example: 'postgres://user@host:5432/db' },
  env: { 'target.url': ['DATABASE_URL'], 'target.user': ['PGUSER'], 'target.password': ['PGPASSWORD'] },
  description: 'a TimescaleDB hypertable, compressed chunks included, on PostgreSQL or embedded:<dir>',
};

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * `config.targetOptions` → TimescaleOptions. Keys are snake_case as in config files; camelCase keys and options
 * nested under a `timescaledb` key are accepted too (for programs). Throws a one-line ConfigError.
 */
export function parseTimescaleOptions(raw: Readonly<Record<string, unknown>>): TimescaleOptions {
  const flat: Record<string, unknown> = {};
  const nested = raw['timescaledb'];
  for (const source of [raw, nested !== null && typeof nested === 'object' ? nested : {}]) {
    for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
      if (name !== 'timescaledb' && value !== undefined) flat[snake(name)] = value;
    }
  }
  const result = toOptions.safeParse(flat, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  if (issue?.code === 'unrecognized_keys') {
    throw new ConfigError(
      `unknown TimescaleDB target option ${JSON.stringify(issue.keys[0])}: known options are ${Object.keys(timescaleOptionsSection.shape).join(', ')}`,
    );
  }
  const shown = issue && 'input' in issue ? ` (got ${JSON.stringify(issue.input)})` : '';
  const message = (issue?.message ?? 'is invalid').replace(/`?\{path\}`?/g, path).replace(/ ?\{where\}/g, '');
  throw new ConfigError(`target option ${path}: ${message}${shown}`);
}
