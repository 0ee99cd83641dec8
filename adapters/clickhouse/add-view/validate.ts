/**
 * Validation of a view for ClickHouse, changing nothing: the source, the cutoff column, the SELECT (it parses,
 * reads the source first and once, never through a plain view; which source columns it needs), the view
 * target (existing, or its DDL: engine, columns, keys) against the SELECT's output, the views the target
 * feeds in turn. Problems in the user's text are ConfigErrors naming the field; missing objects TargetErrors.
 */
import type { PositionKind, ViewColumn, ViewSpec } from '../../../src/adapter/view-contract.ts';
import { formatDuration, MICROS_PER_DAY, MICROS_PER_SECOND } from '../../../src/addview/position.ts';
import { ConfigError, TargetError } from '../../../src/errors.ts';
import { ClickHouseError, type ClickHouseDriver } from '../driver.ts';
import { describeClickHouse, type ClickHouseDescription } from '../introspect.ts';
import { refKey, type TableRef } from '../names.ts';
import { baseType } from '../schema-check.ts';
import { quoteIdent } from '../sql/quote.ts';
import {
  analyzeSelect,
  qualifyTables,
  refersTo,
  tokenize,
  trimStatement,
  type SelectAnalysis,
} from './select.ts';
import { avSql } from './statements.ts';

interface ColumnRow extends Record<string, unknown> {
  name: string;
  type: string;
  default_kind: string;
  is_in_sorting_key: number | string;
  is_in_partition_key: number | string;
  is_in_primary_key: number | string;
}

interface TableRow extends Record<string, unknown> {
  name: string;
  engine: string;
  create_table_query: string;
  as_select: string;
  partition_key: string;
  sorting_key: string;
}

/** A column of the view target: what the SELECT must give it. */
export interface TargetColumn extends ViewColumn {
  readonly hasDefault: boolean;
  /** In ORDER BY, PRIMARY KEY or PARTITION BY. */
  readonly inKey: boolean;
}

/** Everything validation learned, kept by the adapter for the run's statements. */
export interface PreparedView {
  readonly spec: ViewSpec;
  readonly source: TableRef;
  readonly view: TableRef;
  readonly to: TableRef;
  readonly cutoffColumn: string;
  readonly kind: PositionKind;
  readonly cutoffType: string;
  readonly grain: bigint;
  readonly grainOrigin: bigint;
  /** The user's SELECT with every table qualified, and its analysis. */
  readonly select: string;
  readonly analysis: SelectAnalysis;
  readonly outputs: readonly ViewColumn[];
  /** Source columns the view reads (with the cutoff column): the null shadow's columns, with the source's types. */
  readonly reads: readonly ViewColumn[];
  /** MATERIALIZED/ALIAS columns among `reads` (`SELECT *` leaves them out). */
  readonly hiddenColumns: readonly string[];
  readonly targetExists: boolean;
  /** `CREATE TABLE IF NOT EXISTS db.to …` when the run creates the target. */
  readonly targetDdl: string | undefined;
  readonly targetEngine: string;
  /** The source table's engine (a collapsing one changes its row count when parts merge). */
  readonly sourceEngine: string;
  readonly targetColumns: readonly TargetColumn[];
  /** Views fed by the target (chains), when it exists: their targets are shadowed and swapped too. */
  readonly downstream: ClickHouseDescription | undefined;
  readonly serverVersion: string;
  readonly notes: readonly string[];
}

const flag = (v: number | string) => Number(v) === 1;

/** The query tree needs the analyzer, which servers before 24.3 leave off by default. */
const ANALYZER = { allow_experimental_analyzer: 1 } as const;

/** ClickHouse's message without codes, scopes and versions, on one line. */
export function shortDetail(error: ClickHouseError): string {
  return error.message
    .replace(/\s+/g, ' ')
    .replace(/:? In scope .*$/i, '')
    .replace(/\s*\([A-Z][A-Z0-9_]+\)\s*(\(version [^)]*\))?\s*$/, '')
    .replace(/\. Maybe you meant: /, ' (maybe ')
    .slice(0, 240)
    .trim();
}

async function one<Row extends Record<string, unknown>>(
  driver: ClickHouseDriver,
  sql: string,
): Promise<Row | undefined> {
  return (await driver.query<Row>(sql))[0];
}

/** Runs a query about the user's SELECT: ClickHouse's refusal becomes a ConfigError naming `field`. */
async function aboutText<T>(field: string, fn: () => Promise<T>, offset = 0): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof ClickHouseError) || error.code === 0) throw error;
    let detail = shortDetail(error);
    if (error.code === 62) {
      const at = /failed at position (\d+)(?: \(([^)]*)\))?/.exec(error.message);
      detail = at
        ? `syntax error at position ${Math.max(1, Number(at[1]) - offset)}${at[2] ? ` (near \`${at[2].slice(0, 40)}\`)` : ''}`
        : 'syntax error';
      throw new ConfigError(`${field} does not parse: ${detail} — fix ${field}`, { cause: error });
    }
    throw new ConfigError(`${field}: ${detail} — fix ${field}`, { cause: error });
  }
}

export function timeKind(type: string): PositionKind | undefined {
  const t = baseType(type);
  if (/^(DateTime|DateTime64|Date|Date32)\b/.test(t)) return 'time';
  if (/^U?Int(8|16|32|64|128|256)$/.test(t)) return 'number';
  return undefined;
}

export async function prepareView(
  driver: ClickHouseDriver,
  spec: ViewSpec,
  options: { readonly resuming: boolean },
): Promise<PreparedView> {
  const db = spec.database;
  const source: TableRef = { database: db, table: spec.source };
  const view: TableRef = { database: db, table: spec.name };
  const to: TableRef = { database: db, table: spec.to ?? '' };
  const notes: string[] = [];
  const [version] = await driver.query<{ version: string }>('SELECT version() AS version');

  // ---- the source and the cutoff column
  const sourceRow = await one<TableRow>(driver, avSql.table(source));
  if (!sourceRow) {
    throw new TargetError(
      'TARGET_MISSING',
      `table ${refKey(source)} does not exist on ${driver.description} — fix target.table (the live table the view reads) or target.database`,
    );
  }
  if (/^(View|MaterializedView|LiveView|WindowView)$/.test(sourceRow.engine)) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `${refKey(source)} is a ${sourceRow.engine}, not a table: ClickHouse feeds a materialized view from INSERTs into the table in its FROM — set target.table to the table it reads`,
    );
  }
  const sourceColumns = await driver.query<ColumnRow>(avSql.columns(source));
  const cutoffColumn = spec.cutoffColumn ?? '';
  const cutoff = sourceColumns.find((c) => c.name === cutoffColumn);
  if (!cutoff) {
    throw new ConfigError(
      `view.cutoff_column ${cutoffColumn} is not a column of ${refKey(source)} (it has ${sourceColumns
        .slice(0, 8)
        .map((c) => c.name)
        .join(', ')}${sourceColumns.length > 8 ? ', …' : ''}) — fix view.cutoff_column`,
    );
  }
  if (/^(LowCardinality\()?Nullable\(/.test(cutoff.type)) {
    throw new ConfigError(
      `view.cutoff_column ${cutoffColumn} is ${cutoff.type}: rows with NULL would be in neither the history nor the view — use a non-Nullable column`,
    );
  }
  const kind = timeKind(cutoff.type);
  if (!kind) {
    throw new ConfigError(
      `view.cutoff_column ${cutoffColumn} is ${cutoff.type} — use a time (DateTime, DateTime64, Date) or an increasing integer id column`,
    );
  }

  // ---- the SELECT
  const text = trimStatement(spec.select);
  const first = analyzeSelect(text);
  if (first.firstWord !== 'SELECT' && first.firstWord !== 'WITH') {
    throw new ConfigError(
      `view.select must be a SELECT query (it starts with \`${first.firstWord || text.slice(0, 10)}\`) — fix view.select`,
    );
  }
  await aboutText('view.select', () => driver.query(avSql.parseCheck(text)), 'SELECT * FROM ('.length);
  const select = qualifyTables(first, db);
  const analysis = analyzeSelect(select);
  const sourceRefs = analysis.tables.filter((r) => refersTo(r, source));
  if (sourceRefs.length === 0) {
    throw new ConfigError(
      `view.select does not read ${refKey(source)} (it reads ${analysis.tables.map((r) => `${r.database}.${r.table}`).join(', ') || 'no table'}) — ` +
        `a materialized view is fed by INSERTs into the table in its FROM: select FROM ${source.table}`,
    );
  }
  if (sourceRefs.length > 1) {
    throw new ConfigError(
      `view.select reads ${refKey(source)} ${sourceRefs.length} times — a materialized view sees only each inserted block, so it cannot join its source with itself; read it once`,
    );
  }
  if (!refersTo(analysis.tables[0]!, source)) {
    const firstRef = analysis.tables[0]!;
    throw new ConfigError(
      `view.select reads ${firstRef.database}.${firstRef.table} before ${refKey(source)} — ClickHouse feeds a materialized view from the first table in its FROM: put ${source.table} first`,
    );
  }
  if (sourceRefs[0]!.modifier) {
    throw new ConfigError(
      `view.select reads ${refKey(source)} with ${sourceRefs[0]!.modifier}, which a materialized view cannot use — remove it`,
    );
  }
  const tree = await aboutText('view.select', () =>
    driver.query<{ explain: string }>(avSql.queryTree(select), ANALYZER),
  );
  const tables = new Map<string, string>();
  const readsById = new Map<string, Set<string>>();
  for (const { explain } of tree) {
    const table = /^\s*TABLE id: (\d+),.*table_name: (.+?)(?:,|$)/.exec(explain);
    if (table) tables.set(table[1]!, table[2]!.trim());
    const column = /^\s*COLUMN id: \d+, column_name: (.+?), result_type: .*, source_id: (\d+)/.exec(explain);
    if (column) {
      const set = readsById.get(column[2]!) ?? new Set<string>();
      set.add(column[1]!);
      readsById.set(column[2]!, set);
    }
  }
  const refs = [...tables.values()].map((name) => {
    const i = name.indexOf('.');
    return { database: name.slice(0, i), table: name.slice(i + 1) };
  });
  if (refs.length > 0) {
    for (const row of await driver.query<{ database: string; name: string; engine: string }>(
      avSql.tablesInfo(refs),
    )) {
      if (row.engine === 'View' || row.engine === 'MaterializedView') {
        throw new ConfigError(
          `view.select reads through ${row.engine === 'View' ? 'plain view' : 'materialized view'} ${row.database}.${row.name}, which is refused: ` +
            `ClickHouse triggers a materialized view only on INSERTs into the table named in its FROM, and nothing is inserted into a view — ` +
            `select from the table ${row.database}.${row.name} reads instead`,
        );
      }
    }
  }
  const sourceIds = [...tables].filter(([, name]) => name === refKey(source)).map(([id]) => id);
  const readNames = new Set<string>([cutoffColumn]);
  for (const id of sourceIds) for (const name of readsById.get(id) ?? []) readNames.add(name);
  const reads = sourceColumns
    .filter((c) => readNames.has(c.name))
    .map((c) => ({ name: c.name, type: c.type }));
  const hiddenColumns = sourceColumns
    .filter((c) => readNames.has(c.name) && (c.default_kind === 'MATERIALIZED' || c.default_kind === 'ALIAS'))
    .map((c) => c.name);
  const outputs = (
    await aboutText('view.select', () =>
      driver.query<{ name: string; type: string }>(avSql.describeQuery(select)),
    )
  ).map((c) => ({ name: c.name, type: c.type }));

  // ---- the view target
  if (to.table === source.table) {
    throw new ConfigError(
      `view.to is the source ${refKey(source)} itself — a view cannot write into the table it reads`,
    );
  }
  const toRow = await one<TableRow>(driver, avSql.table(to));
  let targetColumns: TargetColumn[];
  let targetEngine: string;
  let targetDdl: string | undefined;
  let downstream: ClickHouseDescription | undefined;
  if (toRow) {
    if (!toRow.engine.includes('MergeTree')) {
      throw new TargetError(
        'TARGET_UNSUPPORTED',
        `view.to ${refKey(to)} uses engine ${toRow.engine}; add-view moves partitions into it and needs a MergeTree-family table`,
      );
    }
    targetEngine = toRow.engine;
    targetColumns = (await driver.query<ColumnRow>(avSql.columns(to))).map((c) => ({
      name: c.name,
      type: c.type,
      hasDefault: c.default_kind !== '',
      inKey: flag(c.is_in_sorting_key) || flag(c.is_in_partition_key) || flag(c.is_in_primary_key),
    }));
    if (spec.toDdl) notes.push(`${refKey(to)} exists: view.to_ddl is not used`);
    downstream = await describeClickHouse(driver, to, 'auto');
    if (downstream.views.length === 0) downstream = undefined;
    notes.push(
      `view target ${refKey(to)}: engine ${toRow.engine}, PARTITION BY ${toRow.partition_key || 'tuple()'}, ORDER BY ${toRow.sorting_key || 'tuple()'}`,
    );
  } else {
    if (!spec.toDdl) {
      throw new TargetError(
        'TARGET_MISSING',
        `view.to ${refKey(to)} does not exist on ${driver.description} — create it, or give its CREATE TABLE in view.to_ddl`,
      );
    }
    const ddl = await parseDdl(driver, spec.toDdl, to);
    targetColumns = ddl.columns;
    targetEngine = ddl.engine;
    targetDdl = ddl.create;
    notes.push(
      `view target ${refKey(to)} does not exist: the run creates it from view.to_ddl (engine ${ddl.engine})`,
    );
  }
  checkTarget(to, targetColumns, outputs, !toRow);
  await aboutText('view.select', () =>
    driver.query(
      avSql.castCheck(
        select,
        outputs.map((o) => ({ name: o.name, type: targetColumns.find((c) => c.name === o.name)!.type })),
      ),
    ),
  ).catch(async (error: unknown) => {
    for (const o of outputs) {
      const type = targetColumns.find((c) => c.name === o.name)!.type;
      const ok = await driver.query(avSql.castCheck(select, [{ name: o.name, type }])).then(
        () => true,
        () => false,
      );
      if (!ok) {
        throw new ConfigError(
          `view.select gives ${o.name} as ${o.type}, which ${refKey(to)}.${o.name} (${type}) cannot store — cast it in the SELECT or change the target`,
          { cause: error },
        );
      }
    }
    throw error;
  });

  // ---- the view itself
  const existing = await one<TableRow>(driver, avSql.table(view));
  if (existing && !options.resuming) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `${refKey(view)} already exists (${existing.engine}) — drop it first, or choose another view.name`,
    );
  }

  // ---- the cutoff column's grain: a cutoff on bucketed values (hours of a view target) must sit on a bucket edge
  let grain = 1n;
  let grainOrigin = 0n;
  if (kind === 'time') {
    if (/^Date(32)?$/.test(baseType(cutoff.type))) grain = MICROS_PER_DAY;
    else {
      const values = (await driver.query<{ v: string }>(avSql.recentValues(source, cutoffColumn))).map((r) =>
        BigInt(r.v),
      );
      const spacing = gridOf(values);
      const floor = /^DateTime64/.test(baseType(cutoff.type)) ? 1n : MICROS_PER_SECOND;
      if (spacing && spacing.grain > floor) {
        grain = spacing.grain;
        grainOrigin = spacing.origin;
        notes.push(
          `${cutoffColumn} holds values every ${formatDuration(grain)}: the cutoff is put on that grid`,
        );
      } else grain = floor;
    }
  }
  notes.push(
    `source ${refKey(source)} (${sourceRow.engine}); the null shadow carries ${reads.map((c) => c.name).join(', ')}`,
    ...(downstream?.views ?? []).map(
      (v) => `chained view ${v.database}.${v.name}: ${v.from} → ${v.to} (shadowed and swapped too)`,
    ),
  );
  return {
    spec,
    source,
    view,
    to,
    cutoffColumn,
    kind,
    cutoffType: cutoff.type,
    grain,
    grainOrigin,
    select,
    analysis,
    outputs,
    reads,
    hiddenColumns,
    targetExists: toRow !== undefined,
    targetDdl,
    targetEngine,
    sourceEngine: sourceRow.engine,
    targetColumns,
    downstream,
    serverVersion: version?.version ?? 'unknown',
    notes,
  };
}

/** The SELECT's output must fit the target: every column exists, every key column is given. */
function checkTarget(
  to: TableRef,
  columns: readonly TargetColumn[],
  outputs: readonly ViewColumn[],
  fromDdl: boolean,
): void {
  const where = fromDdl ? `view.to_ddl (${refKey(to)})` : refKey(to);
  for (const o of outputs) {
    if (!columns.some((c) => c.name === o.name)) {
      throw new ConfigError(
        `view.select gives column ${o.name}, which ${where} does not have (it has ${columns.map((c) => c.name).join(', ')}) — ` +
          `alias it AS one of those, or add the column to the target`,
      );
    }
  }
  const given = new Set(outputs.map((o) => o.name));
  const keys = columns.filter((c) => c.inKey);
  const missingKey = keys.find((c) => !given.has(c.name) && !c.hasDefault);
  if (missingKey) {
    throw new ConfigError(
      `the ORDER BY/PARTITION BY of ${where} cannot take the view's columns: it needs ${missingKey.name}, which view.select ` +
        `does not give (it gives ${outputs.map((o) => o.name).join(', ')}) — alias a SELECT column AS ${missingKey.name}, or change the target's keys`,
    );
  }
}

/** The DDL as ClickHouse formats it: its name, columns (with defaults) and key columns. */
async function parseDdl(
  driver: ClickHouseDriver,
  ddl: string,
  to: TableRef,
): Promise<{ create: string; engine: string; columns: TargetColumn[] }> {
  const text = trimStatement(ddl);
  const [row] = await aboutText('view.to_ddl', () => driver.query<{ f: string }>(avSql.formatDdl(text)));
  const formatted = row?.f ?? '';
  const lines = formatted.split('\n');
  const head = tokenize(lines[0] ?? '').filter((t) => t.kind !== 'space');
  const words = head.map((t) => t.text.toUpperCase());
  if (words[0] !== 'CREATE' || words[1] !== 'TABLE') {
    throw new ConfigError(`view.to_ddl must be a CREATE TABLE statement — fix view.to_ddl`);
  }
  const idents = head
    .slice(words[2] === 'IF' ? 5 : 2)
    .filter((t) => t.kind === 'word' || t.kind === 'quoted');
  const [dbName, tableName] =
    idents.length >= 2 ? [idents[0]!.name, idents[1]!.name] : [to.database, idents[0]?.name];
  if (tableName !== to.table || dbName !== to.database) {
    throw new ConfigError(
      `view.to_ddl creates ${dbName}.${tableName}, not view.to ${refKey(to)} — make them the same table`,
    );
  }
  const open = lines.indexOf('(');
  const close = lines.indexOf(')');
  if (open !== 1 || close < open) {
    throw new ConfigError(
      'view.to_ddl must list the columns (CREATE TABLE t (c Type, …) ENGINE = …) — fix view.to_ddl',
    );
  }
  const columns: TargetColumn[] = [];
  for (const line of lines.slice(open + 1, close)) {
    const tokens = tokenize(line.trim().replace(/,$/, '')).filter((t) => t.kind !== 'space');
    const name = tokens[0];
    if (!name || name.kind === 'word') continue; // INDEX, PROJECTION, CONSTRAINT lines; columns are backquoted
    const rest = line.trim().replace(/,$/, '').slice(name.text.length).trim();
    const cut = /\s(DEFAULT|MATERIALIZED|ALIAS|EPHEMERAL|CODEC|TTL|COMMENT|STATISTICS|SETTINGS)\b/.exec(
      ` ${rest}`,
    );
    const type = (cut ? ` ${rest}`.slice(0, cut.index) : rest).trim();
    const hasDefault = /\s(DEFAULT|MATERIALIZED|ALIAS|EPHEMERAL)\b/.test(` ${rest}`);
    columns.push({ name: name.name, type, hasDefault, inKey: false });
  }
  const engineLine = lines.find((l) => l.startsWith('ENGINE = ')) ?? '';
  const engine = engineLine.slice('ENGINE = '.length).trim();
  if (!/MergeTree/.test(engine)) {
    throw new ConfigError(
      `view.to_ddl uses engine ${engine || '(none)'}; add-view moves partitions into the target and needs a MergeTree-family engine — fix view.to_ddl`,
    );
  }
  const names = new Set(columns.map((c) => c.name));
  const keyed = new Set<string>();
  for (const line of lines) {
    const m = /^(ORDER BY|PRIMARY KEY|PARTITION BY) (.*)$/.exec(line);
    if (!m) continue;
    const tokens = tokenize(m[2]!);
    tokens.forEach((t, i) => {
      const next = tokens.slice(i + 1).find((x) => x.kind !== 'space');
      if (
        (t.kind === 'word' || t.kind === 'quoted') &&
        names.has(t.name) &&
        !(next?.kind === 'punct' && next.text === '(')
      ) {
        keyed.add(t.name);
      }
    });
  }
  const create = [
    `CREATE TABLE IF NOT EXISTS ${quoteIdent(to.database)}.${quoteIdent(to.table)}`,
    ...lines.slice(1),
  ].join('\n');
  return { create, engine, columns: columns.map((c) => ({ ...c, inKey: keyed.has(c.name) })) };
}

function gcd(a: bigint, b: bigint): bigint {
  let [x, y] = [a < 0n ? -a : a, b < 0n ? -b : b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** The spacing of values (the gcd of their differences, at most a day) and one of them; undefined with < 2 values. */
export function gridOf(values: readonly bigint[]): { grain: bigint; origin: bigint } | undefined {
  if (values.length < 2) return undefined;
  const origin = values[0]!;
  let g = 0n;
  for (const v of values) g = gcd(g, v - origin);
  if (g === 0n) return undefined;
  return { grain: g > MICROS_PER_DAY ? gcd(g, MICROS_PER_DAY) : g, origin };
}
