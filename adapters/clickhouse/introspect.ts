/**
 * Introspection: the live table, every materialized view fed by it (transitively, through view targets that
 * feed further views) and those views' TO tables, read from system.tables / system.columns.
 */
import { TargetError } from '../../src/errors.ts';
import type { TargetColumn, TargetDescription, TargetTable, TargetView } from '../../src/adapter/contract.ts';
import type { ClickHouseDriver } from './driver.ts';
import { sql } from './sql/statements.ts';
import { materializedViewTarget } from './sql/rewrite.ts';
import { refKey, type TableRef } from './names.ts';

interface TableRow extends Record<string, unknown> {
  name: string;
  engine: string;
  engine_full: string;
  partition_key: string;
  sorting_key: string;
  create_table_query: string;
  as_select: string;
  dependencies_database: string[];
  dependencies_table: string[];
}

interface ColumnRow extends Record<string, unknown> {
  name: string;
  type: string;
  default_kind: string;
}

/** A view found by introspection, with the SELECT needed to create its shadow. */
export interface ViewInfo extends TargetView {
  readonly select: string;
  /** `from` and `to` by structure (database names may contain dots; never split `from`/`to` text). */
  readonly fromRef: TableRef;
  readonly toRef: TableRef;
}

export interface ClickHouseDescription extends TargetDescription {
  readonly viewInfos: readonly ViewInfo[];
  /** The live table's `engine_full` (engine and its clauses: PARTITION BY, ORDER BY, …, SETTINGS). */
  readonly liveEngineFull: string;
  /** `engine_full` of the live table and every view target, by `refKey`. */
  readonly enginesFull: ReadonlyMap<string, string>;
}

async function tableRow(driver: ClickHouseDriver, ref: TableRef): Promise<TableRow | undefined> {
  const rows = await driver.query<TableRow>(sql.tableInfo(ref));
  return rows[0];
}

async function describeTable(
  driver: ClickHouseDriver,
  ref: TableRef,
  row: TableRow,
  role: TargetTable['role'],
): Promise<TargetTable> {
  const columns = await driver.query<ColumnRow>(sql.columns(ref));
  return {
    database: ref.database,
    name: ref.table,
    engine: row.engine,
    partitionKey: row.partition_key,
    sortingKey: row.sorting_key,
    role,
    columns: columns.map((c): TargetColumn => ({
      name: c.name,
      type: c.type,
      nullable: c.type.startsWith('Nullable(') || c.type.startsWith('LowCardinality(Nullable('),
      hasDefault: c.default_kind !== '',
    })),
  };
}

export async function describeClickHouse(
  driver: ClickHouseDriver,
  live: TableRef,
  views: 'auto' | readonly string[],
): Promise<ClickHouseDescription> {
  const [versionRow] = await driver.query<{ version: string }>(sql.serverVersion());
  const [dbRow] = await driver.query<{ n: string }>(sql.databaseExists(live.database));
  if (!dbRow || Number(dbRow.n) === 0) {
    throw new TargetError(
      'TARGET_MISSING',
      `database ${live.database} does not exist on ${driver.description} — create it or fix target.database`,
    );
  }
  const liveRow = await tableRow(driver, live);
  if (!liveRow) {
    throw new TargetError(
      'TARGET_MISSING',
      `table ${refKey(live)} does not exist on ${driver.description} — create it or fix target.table`,
    );
  }
  if (!liveRow.engine.includes('MergeTree')) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `table ${refKey(live)} uses engine ${liveRow.engine}; shadowfill swaps partitions and needs a MergeTree-family table`,
    );
  }
  const table = await describeTable(driver, live, liveRow, 'source');
  const wanted = views === 'auto' ? undefined : new Set(views);
  const viewInfos: ViewInfo[] = [];
  const viewTargets: TargetTable[] = [];
  const seen = new Set<string>([refKey(live)]);
  const enginesFull = new Map<string, string>([[refKey(live), liveRow.engine_full ?? '']]);
  const queue: { ref: TableRef; row: TableRow }[] = [{ ref: live, row: liveRow }];
  while (queue.length > 0) {
    const { ref: from, row } = queue.shift()!;
    for (let i = 0; i < row.dependencies_table.length; i += 1) {
      const viewRef = {
        database: row.dependencies_database[i] ?? from.database,
        table: row.dependencies_table[i]!,
      };
      if (wanted && !wanted.has(viewRef.table) && !wanted.has(refKey(viewRef))) continue;
      const viewRow = await tableRow(driver, viewRef);
      if (!viewRow || viewRow.engine !== 'MaterializedView') continue;
      const to = materializedViewTarget(viewRow.create_table_query);
      if (!to) {
        throw new TargetError(
          'TARGET_UNSUPPORTED',
          `materialized view ${refKey(viewRef)} has no TO table (its data lives in a hidden .inner table) — ` +
            `recreate it as CREATE MATERIALIZED VIEW … TO <table>, or leave it out with views: [...]`,
        );
      }
      viewInfos.push({
        database: viewRef.database,
        name: viewRef.table,
        from: refKey(from),
        to: refKey(to),
        fromRef: from,
        toRef: to,
        select: viewRow.as_select,
      });
      if (seen.has(refKey(to))) continue;
      seen.add(refKey(to));
      const toRow = await tableRow(driver, to);
      if (!toRow) {
        throw new TargetError(
          'TARGET_MISSING',
          `materialized view ${refKey(viewRef)} writes to ${refKey(to)}, which does not exist — create it or drop the view`,
        );
      }
      if (!toRow.engine.includes('MergeTree')) {
        throw new TargetError(
          'TARGET_UNSUPPORTED',
          `materialized view ${refKey(viewRef)} writes to ${refKey(to)} with engine ${toRow.engine}; ` +
            `only MergeTree-family targets can be swapped — leave the view out with views: [...]`,
        );
      }
      viewTargets.push(await describeTable(driver, to, toRow, 'view-target'));
      enginesFull.set(refKey(to), toRow.engine_full ?? '');
      queue.push({ ref: to, row: toRow });
    }
  }
  if (wanted) {
    for (const name of wanted) {
      if (!viewInfos.some((v) => v.name === name || `${v.database}.${v.name}` === name)) {
        throw new TargetError(
          'TARGET_MISSING',
          `materialized view ${name} listed in views does not read from ${refKey(live)} — fix the views list`,
        );
      }
    }
  }
  return {
    table,
    viewTargets,
    views: viewInfos.map(({ database, name, from, to }) => ({ database, name, from, to })),
    viewInfos,
    liveEngineFull: liveRow.engine_full ?? '',
    enginesFull,
    serverVersion: versionRow?.version ?? 'unknown',
    notes: [
      `engine ${table.engine}, PARTITION BY ${table.partitionKey || 'tuple()'}, ORDER BY ${table.sortingKey || 'tuple()'}`,
      ...viewInfos.map((v) => `materialized view ${v.database}.${v.name}: ${v.from} → ${v.to}`),
    ],
  };
}
