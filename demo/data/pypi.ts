/**
 * Generates PyPI-download-shaped Parquet files like those of ClickHouse's backfilling guide
 * (`pypi/2024-12-17/1734393600-000000000NNN.parquet`), with chDB writing them through
 * `INSERT INTO FUNCTION file(…) SELECT … FROM numbers(…)`. Every value is a deterministic function of
 * (seed, file number, row number) — cityHash64, never rand() — so the same options give the same rows
 * (and, with the same chDB version, the same bytes).
 *
 * Which chDB connection runs the SQL (measured with chdb 3.4.0 / ClickHouse 26.7):
 * - chDB binds ONE data directory per process. While a `Session` is open on `embedded:<dir>`,
 *   `new Session(otherDir)`, `new Session()` (temp dir) and the stateless `queryAsync` all throw
 *   ("only one active data directory per process" / "a session … is active").
 * - A second `Session` on the SAME path works and closing it leaves the first one open.
 * So: without `runner`, the stateless `queryAsync` is used — fine before the engine opens its session (a later
 * `new Session(dir)` takes over the slot). Once a session is open, pass it (or `new Session(<same dir>)`) as
 * `runner`; anything with `queryAsync(sql)` will do.
 *
 * How: by default one `INSERT INTO FUNCTION file('<dir>/{_partition_id}.parquet') PARTITION BY <key from
 * timestamp>` writes up to 2M rows' worth of files per statement (`mode: 'per-file'` runs one INSERT per file;
 * both modes give byte-identical files).
 *
 * Measured on the 2-core dev machine (shared, load ~3), 201 files × 50k rows = 10.05M rows, zstd → 46 MiB:
 * one-query 7–9 s (peak RSS ~430 MB), per-file 12–18 s (~350 MB); snappy ~20% faster, 56 MiB.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import {
  COUNTRY_CODES,
  INSTALLERS,
  PYTHON_MINORS,
  SYSTEMS,
  TYPES,
  projectNames,
  type Weighted,
} from './pypi-vocabulary.ts';

/** The table structure of the guide; also the `structure` argument used to write and read the files. */
export const PYPI_STRUCTURE =
  'timestamp DateTime, country_code LowCardinality(String), project String, type LowCardinality(String), ' +
  'installer LowCardinality(String), python_minor LowCardinality(String), system LowCardinality(String), ' +
  'version String';

/** The column names, in file order. */
export const PYPI_COLUMNS = [
  'timestamp',
  'country_code',
  'project',
  'type',
  'installer',
  'python_minor',
  'system',
  'version',
] as const;

/** The same table as PostgreSQL column definitions (for `CREATE TABLE t (${PYPI_PG_COLUMNS})`). */
export const PYPI_PG_COLUMNS =
  '"timestamp" timestamptz NOT NULL, country_code text, project text, type text, installer text, ' +
  'python_minor text, system text, version text';

/** What runs the SQL: a chdb `Session` (or anything shaped like one). */
export interface ChdbQueryRunner {
  queryAsync(sql: string, options?: { format?: string }): Promise<unknown>;
}

export type ParquetCompression = 'zstd' | 'snappy' | 'none';

export interface PypiParquetOptions {
  /** Output root; files go to `<dir>/pypi/<YYYY-MM-DD>/<epoch>-<12-digit file number>.parquet`. */
  readonly dir: string;
  /** File numbers to write, e.g. 0..200. */
  readonly files: readonly number[];
  readonly rowsPerFile: number;
  /** First day, UTC. Default `2024-12-17` (epoch 1734393600, as in the guide). */
  readonly day?: string;
  /** Spread the files over this many consecutive days (one daily partition each). Default 1. */
  readonly days?: number;
  /**
   * Files per day: file n lands on day `floor(n / filesPerDay)` and covers slice `n % filesPerDay` of it.
   * Default `ceil((max(files) + 1) / days)`. Pass it explicitly when generating subsets of one set in
   * separate calls, so both calls place files identically.
   */
  readonly filesPerDay?: number;
  readonly seed?: number;
  /** Parquet row group size in rows. Default: the whole file in one row group (at most 1,000,000). */
  readonly rowGroupRows?: number;
  readonly compression?: ParquetCompression;
  /** Distinct projects to draw from. Default 3000. */
  readonly projects?: number;
  /**
   * `one-query` (default): one partitioned INSERT writes every file. `per-file`: one INSERT per file, `concurrency`
   * at a time. Both give the same rows.
   */
  readonly mode?: 'one-query' | 'per-file';
  /** per-file mode: files written at the same time. Default 1 (chDB already uses both cores; 2 was not faster). */
  readonly concurrency?: number;
  /** The chDB connection to use; see the file header. Default: chDB's stateless `queryAsync`. */
  readonly runner?: ChdbQueryRunner;
}

export interface GeneratedFile {
  /** Absolute path. */
  readonly path: string;
  /** Path relative to `dir`, with `/` separators: the object key when `dir` is uploaded. */
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface GeneratedPypi {
  readonly files: GeneratedFile[];
  readonly totalRows: number;
}

const DAY_SECONDS = 86_400;
const DEFAULT_DAY = '2024-12-17';

/** Epoch seconds of `YYYY-MM-DD` 00:00:00 UTC. */
function dayEpoch(day: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  const epoch = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / 1000 : NaN;
  if (!Number.isFinite(epoch)) throw new Error(`day ${JSON.stringify(day)} is not a YYYY-MM-DD date`);
  return epoch;
}

function isoDay(epoch: number): string {
  return new Date(epoch * 1000).toISOString().slice(0, 10);
}

/** Where file `n` goes and which seconds it covers. */
export interface PypiFileSlice {
  readonly fileNumber: number;
  readonly key: string;
  /** First second covered (epoch, UTC). */
  readonly start: number;
  /** Seconds covered; rows are spread evenly over [start, start + seconds). */
  readonly seconds: number;
}

export function pypiFileSlice(
  fileNumber: number,
  options: { day?: string; days?: number; filesPerDay: number },
): PypiFileSlice {
  if (!Number.isInteger(fileNumber) || fileNumber < 0)
    throw new Error(`file number ${fileNumber} is not >= 0`);
  const dayIndex = Math.floor(fileNumber / options.filesPerDay);
  const days = options.days ?? 1;
  if (dayIndex >= days) {
    throw new Error(`file ${fileNumber} falls on day ${dayIndex + 1} of ${days}: raise days or filesPerDay`);
  }
  const slot = fileNumber % options.filesPerDay;
  const dayStart = dayEpoch(options.day ?? DEFAULT_DAY) + dayIndex * DAY_SECONDS;
  const start = dayStart + Math.floor((slot * DAY_SECONDS) / options.filesPerDay);
  const end = dayStart + Math.floor(((slot + 1) * DAY_SECONDS) / options.filesPerDay);
  const key = `pypi/${isoDay(dayStart)}/${dayStart}-${String(fileNumber).padStart(12, '0')}.parquet`;
  return { fileNumber, key, start, seconds: Math.max(1, end - start) };
}

/** A Float64 in [0, 1) from 53 bits of a hash of (seed, file, row, salt). */
export function uniform(seed: number, file: string, row: string, salt: string): string {
  return `(bitShiftRight(cityHash64(toUInt64(${seed}), ${file}, ${row}, ${quoteString(salt)}), 11) / 9007199254740992.)`;
}

/**
 * A skewed index in [0, n): log-uniform ranks (P(k) ≈ 1/(k+1), Zipf s=1); `power` > 1 pushes mass further
 * toward the head.
 */
export function zipfIndex(u: string, n: number, power: number): string {
  const skewed = power === 1 ? u : `pow(${u}, ${power})`;
  return `least(toUInt32(floor(exp(${skewed} * log(${n + 1})))) - 1, ${n - 1})`;
}

export function stringArray(values: readonly string[]): string {
  return `[${values.map(quoteString).join(', ')}]`;
}

/** multiIf over cumulative shares. */
export function weightedChoice(u: string, choices: Weighted): string {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let cumulative = 0;
  const branches: string[] = [];
  choices.slice(0, -1).forEach(([value, weight]) => {
    cumulative += weight / total;
    branches.push(`${u} < ${cumulative.toFixed(6)}, ${quoteString(value)}`);
  });
  const last = choices[choices.length - 1];
  if (!last) throw new Error('weightedChoice needs at least one choice');
  return `multiIf(${branches.join(', ')}, ${quoteString(last[0])})`;
}

/**
 * The SELECT producing rows. `file`, `row`, `start` and `seconds` are UInt64 SQL expressions (of `number`):
 * the file number, the row's index inside its file, and the file's time slice.
 */
function selectRows(options: {
  seed: number;
  rows: number;
  file: string;
  row: string;
  start: string;
  seconds: string;
  total: number;
  projects: readonly string[];
}): string {
  const { seed, rows, file, row, projects } = options;
  const u = (salt: string): string => uniform(seed, file, row, salt);
  const pick = (values: readonly string[], index: string): string => `${stringArray(values)}[${index} + 1]`;
  return [
    'SELECT',
    `  toDateTime(toUInt32(${options.start} + intDiv(${row} * ${options.seconds}, ${rows}))) AS timestamp,`,
    `  ${pick(COUNTRY_CODES, zipfIndex(u('country'), COUNTRY_CODES.length, 2))} AS country_code,`,
    `  ${pick(projects, zipfIndex(u('project'), projects.length, 1))} AS project,`,
    `  ${weightedChoice(u('type'), TYPES)} AS type,`,
    `  ${weightedChoice(u('installer'), INSTALLERS)} AS installer,`,
    `  ${weightedChoice(u('python'), PYTHON_MINORS)} AS python_minor,`,
    `  ${weightedChoice(u('system'), SYSTEMS)} AS system,`,
    `  concat(toString(cityHash64(toUInt64(${seed}), project) % 5), '.', toString(${zipfIndex(u('minor'), 30, 1)}),`,
    `    '.', toString(${zipfIndex(u('patch'), 12, 1)})) AS version`,
    `FROM numbers(${options.total})`,
  ].join('\n');
}

function checkOptions(options: Omit<PypiParquetOptions, 'mode'>): void {
  if (!Number.isInteger(options.rowsPerFile) || options.rowsPerFile < 1) {
    throw new Error(`rowsPerFile must be a positive integer, got ${options.rowsPerFile}`);
  }
  if (options.files.length === 0) throw new Error('files is empty: give at least one file number');
  if (options.seed !== undefined && (!Number.isInteger(options.seed) || options.seed < 0)) {
    throw new Error(`seed must be a non-negative integer, got ${options.seed}`);
  }
  if (options.days !== undefined && (!Number.isInteger(options.days) || options.days < 1)) {
    throw new Error(`days must be a positive integer, got ${options.days}`);
  }
}

export async function defaultRunner(): Promise<ChdbQueryRunner> {
  const chdb = await import('chdb');
  return { queryAsync: (sql, queryOptions) => chdb.queryAsync(sql, queryOptions) };
}

export async function runSql(
  runner: ChdbQueryRunner,
  sql: string,
  path: string,
  usesDefault: boolean,
): Promise<void> {
  try {
    await runner.queryAsync(sql, { format: 'TSV' });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const hint = usesDefault
      ? ' (a chDB Session is open in this process: pass it, or a Session on the same directory, as `runner`)'
      : '';
    throw new Error(`writing ${path} with chDB failed: ${message}${hint}`, { cause: error });
  }
}

/** Runs `task` over `items` with at most `limit` in flight, keeping results in input order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** The PARTITION BY expression giving each row's key (without `.parquet`) from its timestamp; see pypiFileSlice. */
function keyFromTimestamp(firstDay: number, days: number, filesPerDay: number): string {
  const dayNames = stringArray(Array.from({ length: days }, (_, d) => isoDay(firstDay + d * DAY_SECONDS)));
  const t = `(toUInt32(timestamp) - ${firstDay})`;
  const dayIndex = `intDiv(${t}, ${DAY_SECONDS})`;
  // Slot s covers [floor(s*D/f), floor((s+1)*D/f)), so the slot of second x is ceil((x+1)*f/D) - 1.
  const slot = `(intDiv((${t} % ${DAY_SECONDS} + 1) * ${filesPerDay} + ${DAY_SECONDS - 1}, ${DAY_SECONDS}) - 1)`;
  const fileNumber = `(${dayIndex} * ${filesPerDay} + ${slot})`;
  return (
    `concat('pypi/', ${dayNames}[${dayIndex} + 1], '/', toString(${firstDay} + ${dayIndex} * ${DAY_SECONDS}), '-', ` +
    `leftPad(toString(${fileNumber}), 12, '0'))`
  );
}

function uint64Array(values: readonly number[]): string {
  return `CAST([${values.join(', ')}] AS Array(UInt64))`;
}

/** At most this many rows per partitioned INSERT (measured: 10M rows in one statement peaked at ~600 MB RSS). */
const ROWS_PER_QUERY = 2_000_000;

/** One INSERT writing every file of `group` (a PARTITION BY on the key derived from each row's timestamp). */
function partitionedInsert(args: {
  dir: string;
  group: readonly PypiFileSlice[];
  rows: number;
  seed: number;
  days: number;
  filesPerDay: number;
  projects: readonly string[];
  options: PypiParquetOptions;
  settings: string;
}): string {
  const { group, rows } = args;
  const index = `intDiv(number, ${rows}) + 1`;
  const firstDay = dayEpoch(args.options.day ?? DEFAULT_DAY);
  return (
    `INSERT INTO FUNCTION file(${quoteString(join(args.dir, '{_partition_id}.parquet'))}, 'Parquet', ` +
    `${quoteString(PYPI_STRUCTURE)})\nPARTITION BY ${keyFromTimestamp(firstDay, args.days, args.filesPerDay)}\n` +
    selectRows({
      seed: args.seed,
      rows,
      file: `${uint64Array(group.map((s) => s.fileNumber))}[${index}]`,
      row: `toUInt64(number % ${rows})`,
      start: `${uint64Array(group.map((s) => s.start))}[${index}]`,
      seconds: `${uint64Array(group.map((s) => s.seconds))}[${index}]`,
      total: group.length * rows,
      projects: args.projects,
    }) +
    `\nSETTINGS ${args.settings}`
  );
}

/** A generator's checked options: output root, seed, day layout, and the files' slices (in file order, once each). */
export interface PypiLayout {
  readonly dir: string;
  readonly seed: number;
  readonly days: number;
  readonly filesPerDay: number;
  readonly slices: readonly PypiFileSlice[];
}

/** Checks the options and places the files (used by fixtures/pypi-realistic.ts too). */
export function pypiLayout(options: Omit<PypiParquetOptions, 'mode'>): PypiLayout {
  checkOptions(options);
  const days = options.days ?? 1;
  const filesPerDay = options.filesPerDay ?? Math.ceil((Math.max(...options.files) + 1) / days);
  if (!Number.isInteger(filesPerDay) || filesPerDay < 1 || filesPerDay > DAY_SECONDS) {
    throw new Error(`filesPerDay must be an integer from 1 to ${DAY_SECONDS}, got ${filesPerDay}`);
  }
  const numbers = [...new Set(options.files)].sort((a, b) => a - b);
  return {
    dir: resolve(options.dir),
    seed: options.seed ?? 0,
    days,
    filesPerDay,
    slices: numbers.map((n) => pypiFileSlice(n, { day: options.day, days, filesPerDay })),
  };
}

/** The SETTINGS of an `INSERT INTO FUNCTION file(…, 'Parquet')`. */
export function parquetSettings(compression: ParquetCompression, rowGroupRows: number): string {
  return [
    `output_format_parquet_compression_method = ${quoteString(compression)}`,
    'engine_file_truncate_on_insert = 1',
    `output_format_parquet_row_group_size = ${rowGroupRows}`,
  ].join(', ');
}

export async function generatePypiParquet(options: PypiParquetOptions): Promise<GeneratedPypi> {
  const { dir, seed, days, filesPerDay, slices } = pypiLayout(options);
  const rows = options.rowsPerFile;
  const projects = projectNames(options.projects ?? 3000);
  const runner = options.runner ?? (await defaultRunner());
  const usesDefault = options.runner === undefined;
  const settings = parquetSettings(
    options.compression ?? 'zstd',
    options.rowGroupRows ?? Math.min(rows, 1_000_000),
  );
  const pathOf = (slice: PypiFileSlice): string => join(dir, ...slice.key.split('/'));
  for (const slice of slices) await mkdir(join(pathOf(slice), '..'), { recursive: true });

  if ((options.mode ?? 'one-query') === 'one-query') {
    // Every open partition writer buffers its file, so cap the rows per statement to bound memory.
    const filesPerQuery = Math.max(1, Math.floor(ROWS_PER_QUERY / rows));
    for (let first = 0; first < slices.length; first += filesPerQuery) {
      const group = slices.slice(first, first + filesPerQuery);
      await runSql(
        runner,
        partitionedInsert({ dir, group, rows, seed, days, filesPerDay, projects, options, settings }),
        join(dir, 'pypi'),
        usesDefault,
      );
    }
  } else {
    await mapLimited(slices, options.concurrency ?? 1, async (slice) => {
      const path = pathOf(slice);
      const sql =
        `INSERT INTO FUNCTION file(${quoteString(path)}, 'Parquet', ${quoteString(PYPI_STRUCTURE)})\n` +
        selectRows({
          seed,
          rows,
          file: `toUInt64(${slice.fileNumber})`,
          row: 'number',
          start: `toUInt64(${slice.start})`,
          seconds: `toUInt64(${slice.seconds})`,
          total: rows,
          projects,
        }) +
        `\nSETTINGS ${settings}`;
      await runSql(runner, sql, path, usesDefault);
    });
  }
  const files = await Promise.all(
    slices.map(async (slice) => {
      const path = pathOf(slice);
      const { size } = await stat(path);
      return { path, key: slice.key, rows, bytes: size };
    }),
  );
  return { files, totalRows: files.length * rows };
}
