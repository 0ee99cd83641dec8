/**
 * The TimescaleDB adapter's own options (`config.targetOptions`), checked once when the adapter is created.
 * Keys are snake_case as written in config files (camelCase is accepted too); options may also be nested under
 * a `timescaledb` key. Unknown keys are refused so that a typo never silently changes behaviour.
 */
import { ConfigError } from '../../src/errors.ts';

export type Strategy = 'decompress' | 'direct' | 'auto';
export type ConflictMode = 'error' | 'nothing' | 'update';
export type LoadMethod = 'auto' | 'copy' | 'insert';

export interface TimescaleOptions {
  /** How rows reach compressed chunks: decompress them first, DML into them (TimescaleDB ≥ 2.11), or decide. */
  readonly strategy: Strategy;
  /** What a row that collides with a unique index does: fail the slice, be skipped, or update the existing row. */
  readonly onConflict: ConflictMode;
  /** Columns of the unique index to match (chooses among several unique indexes); default: the primary key. */
  readonly conflictColumns: readonly string[] | undefined;
  /** Columns `update` overwrites; default: every column outside the unique index. */
  readonly updateColumns: readonly string[] | undefined;
  /** Refuse the swap when the chunks to decompress would take more than this many bytes uncompressed. */
  readonly maxDecompressedBytes: number;
  /** `COPY FROM STDIN` or batched `INSERT … SELECT FROM unnest(…)`; `auto` = COPY where the server supports it. */
  readonly loadMethod: LoadMethod;
  /** Rows per INSERT statement on the INSERT path. */
  readonly insertRows: number;
  /** Recompress a decompressed chunk as soon as no staged rows remain in it (instead of at the end). */
  readonly progressiveRecompress: boolean;
  /**
   * `auto`: a compressed chunk is written directly (no decompression) when its staged rows are at most this
   * fraction of the rows it already holds; otherwise it is decompressed.
   */
  readonly directMaxFraction: number;
}

export const DEFAULT_MAX_DECOMPRESSED_BYTES = 10 * 1024 ** 3;

const KEYS = {
  strategy: 'strategy',
  on_conflict: 'onConflict',
  conflict_columns: 'conflictColumns',
  update_columns: 'updateColumns',
  max_decompressed_bytes: 'maxDecompressedBytes',
  load_method: 'loadMethod',
  insert_rows: 'insertRows',
  progressive_recompress: 'progressiveRecompress',
  direct_max_fraction: 'directMaxFraction',
} as const;

type Key = keyof typeof KEYS;

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(
    `target option ${key} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`,
  );
}

function columnList(key: string, value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((c) => typeof c === 'string' && c.length > 0)
  ) {
    throw new ConfigError(
      `target option ${key} must be a list of column names (got ${JSON.stringify(value)})`,
    );
  }
  return list as string[];
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `10GiB`, `500 MB`, `1e9`, 1073741824 → bytes. */
export function parseBytes(key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  if (typeof value === 'string') {
    const match = /^\s*([0-9]+(?:\.[0-9]+)?(?:e[0-9]+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
    if (match && unit !== undefined) return Math.floor(Number(match[1]) * unit);
  }
  throw new ConfigError(
    `target option ${key} must be a size such as 10GiB or 500MB (got ${JSON.stringify(value)})`,
  );
}

function positiveInt(key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) return n;
  throw new ConfigError(`target option ${key} must be a positive integer (got ${JSON.stringify(value)})`);
}

function fraction(key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return n;
  throw new ConfigError(`target option ${key} must be a number ≥ 0 (got ${JSON.stringify(value)})`);
}

function flag(key: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(`target option ${key} must be true or false (got ${JSON.stringify(value)})`);
}

export function parseTimescaleOptions(raw: Readonly<Record<string, unknown>>): TimescaleOptions {
  const flat: Record<string, unknown> = {};
  const nested = raw['timescaledb'];
  const sources = [
    raw,
    nested !== null && typeof nested === 'object' ? (nested as Record<string, unknown>) : {},
  ];
  for (const source of sources) {
    for (const [name, value] of Object.entries(source)) {
      if (name === 'timescaledb') continue;
      const key = snake(name);
      if (!(key in KEYS)) {
        throw new ConfigError(
          `unknown TimescaleDB target option ${JSON.stringify(name)}: known options are ${Object.keys(KEYS).join(', ')}`,
        );
      }
      flat[key] = value;
    }
  }
  const get = (key: Key) => flat[key];
  const options: TimescaleOptions = {
    strategy: oneOf('strategy', get('strategy'), ['decompress', 'direct', 'auto'], 'auto'),
    onConflict: oneOf('on_conflict', get('on_conflict'), ['error', 'nothing', 'update'], 'error'),
    conflictColumns: columnList('conflict_columns', get('conflict_columns')),
    updateColumns: columnList('update_columns', get('update_columns')),
    maxDecompressedBytes: parseBytes(
      'max_decompressed_bytes',
      get('max_decompressed_bytes'),
      DEFAULT_MAX_DECOMPRESSED_BYTES,
    ),
    loadMethod: oneOf('load_method', get('load_method'), ['auto', 'copy', 'insert'], 'auto'),
    insertRows: positiveInt('insert_rows', get('insert_rows'), 10_000),
    progressiveRecompress: flag('progressive_recompress', get('progressive_recompress'), true),
    directMaxFraction: fraction('direct_max_fraction', get('direct_max_fraction'), 0.25),
  };
  if (options.updateColumns && options.onConflict !== 'update') {
    throw new ConfigError('target option update_columns needs on_conflict: update');
  }
  return options;
}
