/**
 * Adding a materialized view to a live ClickHouse table — scenario 2 of ClickHouse's "Backfilling Data" guide,
 * automated: never POPULATE; the view is created at once with a filter that takes only rows from a cutoff a
 * little ahead of the source; every row below the cutoff is pushed, window by window, through a shadow copy
 * of the view on a `Null`-engine shadow of the source (so it aggregates block by block), into a shadow of the
 * view target; each window is verified and committed; at the end the shadow's partitions move into the view
 * target (`ALTER TABLE … MOVE PARTITION … TO TABLE`, atomic each) and the filter is dropped from the view.
 *
 * Per run `<run>` (names of ../names.ts): null shadow `<source>_v2_<run>` (ENGINE = Null), shadow view
 * `<view>_v2_<run>` writing into the landing `<to>_v2_<run>_landing`, moved per window into the shadow
 * `<to>_v2_<run>`; meter `<view>_v2_<run>_meter` (+ `_mv`) counting what the shadow view consumed; for views the
 * target feeds (chains), landings, shadows and shadow views as in a backfill run.
 */
import type { SwapUnit, TableMeasurement } from '../../../src/adapter/contract.ts';
import type {
  Position,
  SourceExtent,
  ViewAdapter,
  ViewCapabilities,
  ViewDescription,
  ViewPlannedStatement,
  ViewRunContext,
  ViewSpec,
  ViewTargetConnection,
  ViewWindow,
  WindowCheck,
  WindowComparison,
} from '../../../src/adapter/view-contract.ts';
import { formatPosition } from '../../../src/addview/position.ts';
import { ResourceLimitError, ShadowfillError, TargetError } from '../../../src/errors.ts';
import type { LeaseStore } from '../../../src/journal/lease.ts';
import type { JournalStore } from '../../../src/journal/types.ts';
import { ClickHouseError, type ClickHouseDriver, type ClickHouseSettings } from '../driver.ts';
import { ClickHouseCalls, firstWords, partitionSwapUnit } from '../calls.ts';
import { collapsingEngine } from '../sql/engine.ts';
import { movePlan } from '../sql/move-plan.ts';
import { toTargetError } from '../errors.ts';
import { clickHouseJournal } from '../journal.ts';
import { clickHouseLeases } from '../lease.ts';
import { landingName, refKey, shadowName, shadowViewName, type TableRef } from '../names.ts';
import { baseType } from '../schema-check.ts';
import { repointSelect } from '../sql/rewrite.ts';
import { quoteIdent, settingsClause } from '../sql/quote.ts';
import { sql as backfillSql } from '../sql/statements.ts';
import { replaceSource } from './select.ts';
import { avSql, positionLiteral, qualifiedRef, type RowSource } from './statements.ts';
import { prepareView, shortDetail, type PreparedView, type TargetColumn } from './validate.ts';

const REDACTED = { accessKeyId: '***', secretAccessKey: '***' };

export const CLICKHOUSE_VIEW_CAPABILITIES: ViewCapabilities = {
  cutoffFilter: true,
  shadowsTarget: true,
  historyFromObjectStore: true,
  bucketAligned: false,
  refreshPolicy: false,
};

export class ClickHouseViewAdapter implements ViewAdapter {
  readonly kind = 'clickhouse';
  readonly capabilities = CLICKHOUSE_VIEW_CAPABILITIES;
  readonly journal: JournalStore;
  readonly lease: LeaseStore;
  private prepared: PreparedView | undefined;
  private readonly calls: ClickHouseCalls;

  constructor(
    private readonly target: ViewTargetConnection,
    private readonly driver: ClickHouseDriver,
  ) {
    // The backfill's journal and lease stores, over the same driver with failures mapped.
    this.calls = new ClickHouseCalls(driver, (call, what) => this.exec(call, what));
    this.journal = clickHouseJournal(this.calls.guarded('the journal'), target.database);
    this.lease = clickHouseLeases(this.calls.guarded('the lease'), target.database);
  }

  async connect(): Promise<void> {
    await this.exec(() => this.driver.query('SELECT version() AS version'), 'connecting');
  }

  async close(): Promise<void> {
    await this.driver.close();
  }

  async describe(spec: ViewSpec, options: { readonly resuming: boolean }): Promise<ViewDescription> {
    const p = await this.exec(
      () => prepareView(this.driver, spec, options),
      `checking view ${spec.database}.${spec.name}`,
    );
    this.prepared = p;
    return {
      view: refKey(p.view),
      source: refKey(p.source),
      target: refKey(p.to),
      targetExists: p.targetExists,
      windowColumn: {
        name: p.cutoffColumn,
        type: p.cutoffType,
        kind: p.kind,
        grain: p.grain,
        grainOrigin: p.grainOrigin,
      },
      columns: p.outputs,
      readsColumns: p.reads,
      bucketWidth: undefined,
      serverVersion: p.serverVersion,
      notes: p.notes,
    };
  }

  async sourceExtent(description: ViewDescription, below?: Position): Promise<SourceExtent> {
    const p = this.p();
    const [row] = await this.calls.query<{ n: string; lo: string; hi: string }>(
      avSql.extent(p.source, p.cutoffColumn, p.kind, below),
    );
    const n = Number(row?.n ?? 0);
    const kind = description.windowColumn.kind;
    return {
      rows: n,
      min: n === 0 || !row ? null : { kind, value: BigInt(row.lo) },
      max: n === 0 || !row ? null : { kind, value: BigInt(row.hi) },
    };
  }

  async serverTime(): Promise<bigint> {
    const [row] = await this.calls.query<{ t: string }>(avSql.serverTime());
    return BigInt(row?.t ?? '0');
  }

  async countFrom(_description: ViewDescription, from: Position): Promise<number> {
    const p = this.p();
    return this.count(avSql.countRange({ table: p.source }, p.cutoffColumn, from, undefined));
  }

  planStatements(run: ViewRunContext): readonly ViewPlannedStatement[] {
    const p = this.p();
    const out: ViewPlannedStatement[] = [];
    if (p.targetDdl)
      out.push({ phase: 'create', title: `view target ${refKey(p.to)} (view.to_ddl)`, sql: p.targetDdl });
    out.push({
      phase: 'create',
      title: `view ${refKey(p.view)}: rows from the cutoff on`,
      sql: this.liveViewSql(run, false),
    });
    for (const s of this.shadowStatements(run)) out.push({ phase: 'prepare', title: s.title, sql: s.sql });
    const shown =
      run.windows.length > 12 ? [...run.windows.slice(0, 10), ...run.windows.slice(-1)] : run.windows;
    for (const w of shown) {
      if (w === run.windows[run.windows.length - 1] && shown.length < run.windows.length) {
        out.push({
          phase: 'window',
          title: `… ${run.windows.length - shown.length} more windows of the same form`,
          sql: '-- (omitted)',
        });
      }
      const title = `window ${w.index + 1}/${run.windows.length} ${windowText(p, w)}`;
      for (const t of this.tables(run))
        out.push({ phase: 'window', title, sql: backfillSql.truncate(this.landing(t, run)) });
      out.push({ phase: 'window', title, sql: backfillSql.truncate(this.meter(run)) });
      out.push({
        phase: 'window',
        title,
        sql: this.insertSql(run, w, true) + settingsClause(this.settings(run)),
      });
      out.push({
        phase: 'verify',
        title,
        sql: avSql.countRange(this.rows(run, w, true), p.cutoffColumn, w.lo, w.hi),
      });
      if (this.sourceCollapses(w)) {
        out.push({
          phase: 'verify',
          title: `${title}: rows as merges will leave them (to find rows arriving later)`,
          sql: avSql.countRange({ table: p.source, final: true }, p.cutoffColumn, w.lo, w.hi),
        });
      }
      out.push({ phase: 'verify', title, sql: avSql.sumMeter(this.meter(run)) });
      out.push({
        phase: 'verify',
        title,
        sql: avSql.aggregates(qualifiedRef(this.landing(p.to, run)), this.expressions()),
      });
      if (this.expressions().length > 0) {
        out.push({ phase: 'verify', title, sql: this.expectedSql(run, w, true) });
      }
      for (const t of this.tables(run)) {
        out.push(
          ...movePlan<ViewPlannedStatement>('commit', title, this.landing(t, run), this.shadow(t, run)),
        );
      }
    }
    out.push({
      phase: 'verify',
      title: 'history reconciled: rows below the cutoff now = rows consumed; shadow totals = windows landed',
      sql: avSql.aggregates(qualifiedRef(this.shadow(p.to, run)), this.expressions()),
    });
    for (const t of this.tables(run)) {
      out.push(...movePlan<ViewPlannedStatement>('swap', `move ${refKey(t)}`, this.shadow(t, run), t));
    }
    out.push({
      phase: 'finish',
      title: `drop the cutoff filter from ${refKey(p.view)}`,
      sql: avSql.modifyQuery(p.view, p.select),
    });
    for (const s of this.dropStatements(run)) out.push({ phase: 'cleanup', title: 'drop', sql: s });
    return out;
  }

  async createView(
    run: ViewRunContext,
    options: { readonly resuming: boolean },
  ): Promise<{ targetCreated: boolean }> {
    const p = this.p();
    let targetCreated = false;
    if (p.targetDdl && !(await this.exists(p.to))) {
      await this.calls.command(p.targetDdl);
      targetCreated = true;
    }
    const existing = await this.tableRow(p.view);
    if (existing) {
      if (!options.resuming || !this.isLiveView(run, existing)) {
        throw new TargetError(
          'TARGET_UNSUPPORTED',
          `${refKey(p.view)} already exists and is not the view this run creates (it does not take rows from the cutoff ${formatPosition(run.cutoff!)}) — ` +
            `another add-view created it: abandon this run with --abandon, or drop the view`,
        );
      }
      return { targetCreated };
    }
    await this.calls.command(this.liveViewSql(run, false));
    return { targetCreated };
  }

  async createShadows(run: ViewRunContext): Promise<void> {
    for (const s of this.shadowStatements(run)) await this.calls.command(s.sql);
  }

  async prepareWindow(run: ViewRunContext): Promise<void> {
    for (const t of this.tables(run)) await this.calls.command(backfillSql.truncate(this.landing(t, run)));
    await this.calls.command(backfillSql.truncate(this.meter(run)));
  }

  async runWindow(run: ViewRunContext, window: ViewWindow): Promise<void> {
    const statement = this.insertSql(run, window, false);
    await this.exec(
      () => this.driver.command(statement, this.settings(run)),
      `pushing window ${window.index + 1} through ${this.shadowView(run).table}`,
    );
  }

  async checkWindow(run: ViewRunContext, window: ViewWindow, depth: 'rows' | 'full'): Promise<WindowCheck> {
    const p = this.p();
    const sourceRows = await this.count(
      avSql.countRange(this.rows(run, window, false), p.cutoffColumn, window.lo, window.hi),
      window,
    );
    const stableRows = this.sourceCollapses(window) ? await this.countWindow(run, window) : undefined;
    const [meter] = await this.calls.query<{ n: string }>(avSql.sumMeter(this.meter(run)));
    const comparisons: WindowComparison[] = [
      { what: 'rows consumed by the view', expected: sourceRows, actual: Number(meter?.n ?? 0) },
    ];
    const expressions = this.expressions();
    const landed = await this.aggregates(qualifiedRef(this.landing(p.to, run)), expressions);
    if (depth === 'full' && expressions.length > 0) {
      const [row] = await this.exec(
        () =>
          this.driver.query<Record<string, string>>(this.expectedSql(run, window, false), this.settings(run)),
        `recomputing window ${window.index + 1} from ${refKey(p.source)}`,
      );
      expressions.forEach((e, i) => {
        comparisons.push({ what: e, expected: Number(row?.[`a${i}`] ?? 0), actual: landed[e] ?? 0 });
      });
    }
    return { sourceRows, comparisons, landed, ...(stableRows === undefined ? {} : { stableRows }) };
  }

  /** Counted `FINAL` where the source's parts collapse rows when they merge (a merge is not a row leaving). */
  async countWindow(run: ViewRunContext, window: ViewWindow): Promise<number> {
    const p = this.p();
    const rows = this.rows(run, window, false);
    const source = this.sourceCollapses(window) && 'table' in rows ? { ...rows, final: true } : rows;
    return this.count(avSql.countRange(source, p.cutoffColumn, window.lo, window.hi), window);
  }

  /** The window reads the live source table, whose engine collapses rows when parts merge. */
  private sourceCollapses(window: ViewWindow): boolean {
    return !window.objects && collapsingEngine(this.p().sourceEngine);
  }

  async commitWindow(run: ViewRunContext): Promise<void> {
    for (const t of this.tables(run)) {
      await this.calls.moveAllPartitions(this.landing(t, run), this.shadow(t, run));
    }
  }

  async shadowTotals(run: ViewRunContext): Promise<Readonly<Record<string, number>>> {
    return this.aggregates(qualifiedRef(this.shadow(this.p().to, run)), this.expressions());
  }

  async listSwapUnits(run: ViewRunContext): Promise<readonly SwapUnit[]> {
    const units: SwapUnit[] = [];
    for (const t of this.tables(run)) {
      for (const part of await this.calls.partitions(this.shadow(t, run))) {
        units.push(partitionSwapUnit(t, part));
      }
    }
    return units;
  }

  async swapUnit(run: ViewRunContext, unit: SwapUnit): Promise<void> {
    await this.calls.swapPartition(unit, (live) => this.shadow(live, run));
  }

  async finishView(): Promise<void> {
    const p = this.p();
    // History is in: from now on the view takes every row, also one arriving late below the cutoff.
    await this.calls.command(avSql.modifyQuery(p.view, p.select));
  }

  async dropShadows(run: ViewRunContext): Promise<void> {
    for (const s of this.dropStatements(run)) await this.calls.command(s);
  }

  async dropView(
    run: ViewRunContext,
    options: { readonly target: boolean },
  ): Promise<{ droppedView: boolean; droppedTarget: boolean }> {
    const p = this.p();
    const existing = await this.tableRow(p.view);
    const droppedView = existing !== undefined && this.isLiveView(run, existing);
    if (droppedView) await this.calls.command(backfillSql.dropView(p.view));
    if (options.target) await this.calls.command(backfillSql.dropTable(p.to));
    return { droppedView, droppedTarget: options.target };
  }

  async measure(): Promise<readonly TableMeasurement[]> {
    const p = this.p();
    const out: TableMeasurement[] = [];
    const tables: { ref: TableRef; columns: readonly TargetColumn[]; engine: string }[] = [
      { ref: p.to, columns: p.targetColumns, engine: p.targetEngine },
    ];
    for (const t of p.downstream?.viewTargets ?? []) {
      tables.push({
        ref: { database: t.database, table: t.name },
        columns: t.columns.map((c) => ({
          name: c.name,
          type: c.type,
          hasDefault: c.hasDefault,
          inKey: t.sortingKey.includes(c.name),
        })),
        engine: t.engine,
      });
    }
    for (const t of tables) {
      if (!(await this.exists(t.ref))) {
        out.push({ table: refKey(t.ref), rows: 0, aggregates: {} });
        continue;
      }
      const expressions = additiveExpressions(t.columns, t.engine);
      const [row] = await this.calls.query<Record<string, string>>(
        avSql.aggregates(qualifiedRef(t.ref), expressions),
      );
      const aggregates: Record<string, number> = {};
      expressions.forEach((e, i) => (aggregates[e] = Number(row?.[`a${i}`] ?? 0)));
      out.push({ table: refKey(t.ref), rows: Number(row?.n ?? 0), aggregates });
    }
    return out;
  }

  // ---- statements ----

  private liveViewSql(run: ViewRunContext, ifNotExists: boolean): string {
    const p = this.p();
    const filtered = avSql.filtered(
      { table: p.source },
      p.hiddenColumns,
      p.cutoffColumn,
      run.cutoff,
      undefined,
    );
    return avSql.createView(p.view, p.to, replaceSource(p.analysis, p.source, filtered), ifNotExists);
  }

  private shadowStatements(run: ViewRunContext): { title: string; sql: string }[] {
    const p = this.p();
    const out: { title: string; sql: string }[] = [];
    out.push({
      title: `null shadow of ${refKey(p.source)}`,
      sql: avSql.createNull(this.nullShadow(run), p.reads),
    });
    for (const t of this.tables(run)) {
      for (const [title, table] of [
        [`landing for ${refKey(t)}`, this.landing(t, run)],
        [`shadow of ${refKey(t)}`, this.shadow(t, run)],
      ] as const) {
        // Parts with UUIDs: a move the server left half done is not moved twice (moved-parts.ts).
        out.push({ title, sql: backfillSql.createTableAs(table, t) });
        out.push({ title, sql: backfillSql.assignPartUuids(table) });
      }
    }
    for (const v of p.downstream?.viewInfos ?? []) {
      const [fromDb, fromTable] = splitKey(v.from);
      const [toDb, toTable] = splitKey(v.to);
      const from = { database: fromDb, table: fromTable };
      const { sql: select, replaced } = repointSelect(v.select, from, this.landing(from, run));
      if (replaced === 0) {
        throw new TargetError(
          'TARGET_UNSUPPORTED',
          `cannot find ${v.from} in the query of chained view ${v.database}.${v.name} to re-point its shadow — add-view cannot fill it`,
        );
      }
      out.push({
        title: `shadow of chained view ${v.database}.${v.name}`,
        sql: backfillSql.createShadowView(
          { database: v.database, table: shadowViewName(v.name, run.runId) },
          this.landing({ database: toDb, table: toTable }, run),
          select,
        ),
      });
    }
    out.push({ title: 'meter', sql: avSql.createMeter(this.meter(run)) });
    out.push({
      title: 'meter view',
      sql: avSql.createMeterView(this.meterView(run), this.meter(run), this.nullShadow(run)),
    });
    out.push({
      title: `shadow view of ${refKey(p.view)}`,
      sql: avSql.createView(
        this.shadowView(run),
        this.landing(p.to, run),
        replaceSource(p.analysis, p.source, qualifiedRef(this.nullShadow(run))),
        true,
      ),
    });
    return out;
  }

  private dropStatements(run: ViewRunContext): string[] {
    const p = this.p();
    const out = [backfillSql.dropView(this.shadowView(run)), backfillSql.dropView(this.meterView(run))];
    for (const v of p.downstream?.viewInfos ?? []) {
      out.push(backfillSql.dropView({ database: v.database, table: shadowViewName(v.name, run.runId) }));
    }
    out.push(backfillSql.dropTable(this.nullShadow(run)), backfillSql.dropTable(this.meter(run)));
    for (const t of this.tables(run)) {
      out.push(backfillSql.dropTable(this.landing(t, run)), backfillSql.dropTable(this.shadow(t, run)));
    }
    return out;
  }

  private insertSql(run: ViewRunContext, w: ViewWindow, redact: boolean): string {
    const p = this.p();
    return avSql.insertWindow(
      this.nullShadow(run),
      p.reads.map((c) => c.name),
      this.rows(run, w, redact),
      p.cutoffColumn,
      w.lo,
      w.hi,
    );
  }

  /** The view's aggregates recomputed from the source over one window (the view's own SELECT). */
  private expectedSql(run: ViewRunContext, w: ViewWindow, redact: boolean): string {
    const p = this.p();
    const rows = this.rows(run, w, redact);
    const hidden = 'table' in rows ? p.hiddenColumns : [];
    const filtered = avSql.filtered(rows, hidden, p.cutoffColumn, w.lo, w.hi);
    return avSql.aggregates(`(${replaceSource(p.analysis, p.source, filtered)}\n)`, this.expressions());
  }

  /** Where a window's rows come from: the source table, or (history from object storage) its objects. */
  private rows(run: ViewRunContext, w: ViewWindow, redact: boolean): RowSource {
    const p = this.p();
    if (!w.objects) return { table: p.source };
    if (run.history.kind !== 'object-store')
      throw new Error('an object window needs history from object storage');
    const credentials = run.history.store.credentials;
    return {
      s3: {
        objects: w.objects,
        credentials: credentials && redact ? REDACTED : credentials,
        structure: p.reads.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', '),
      },
    };
  }

  private settings(run: ViewRunContext): ClickHouseSettings {
    return { ...run.spec.settings };
  }

  /** Additive aggregates of the view target: what windows are verified and reconciled by. */
  private expressions(): string[] {
    const p = this.p();
    return additiveExpressions(p.targetColumns, p.targetEngine);
  }

  private isLiveView(run: ViewRunContext, row: { engine: string; create_table_query: string }): boolean {
    if (row.engine !== 'MaterializedView' || run.cutoff === undefined) return false;
    const literal = positionLiteral(run.cutoff);
    return row.create_table_query.includes(literal.replace(/^toDateTime64\('([^']*)'.*$/, '$1'));
  }

  // ---- names ----

  /** The view target and the targets of views it feeds (chains): each has a landing and a shadow. */
  private tables(_run?: ViewRunContext): TableRef[] {
    const p = this.p();
    return [p.to, ...(p.downstream?.viewTargets ?? []).map((t) => ({ database: t.database, table: t.name }))];
  }

  private nullShadow(run: ViewRunContext): TableRef {
    return { database: this.p().source.database, table: shadowName(this.p().source.table, run.runId) };
  }

  private shadowView(run: ViewRunContext): TableRef {
    return { database: this.p().view.database, table: shadowViewName(this.p().view.table, run.runId) };
  }

  private meter(run: ViewRunContext): TableRef {
    return {
      database: this.p().view.database,
      table: `${shadowViewName(this.p().view.table, run.runId)}_meter`,
    };
  }

  private meterView(run: ViewRunContext): TableRef {
    return {
      database: this.p().view.database,
      table: `${shadowViewName(this.p().view.table, run.runId)}_meter_mv`,
    };
  }

  private landing(t: TableRef, run: ViewRunContext): TableRef {
    return { database: t.database, table: landingName(t.table, run.runId) };
  }

  private shadow(t: TableRef, run: ViewRunContext): TableRef {
    return { database: t.database, table: shadowName(t.table, run.runId) };
  }

  private p(): PreparedView {
    if (!this.prepared) throw new Error('ClickHouseViewAdapter.describe() must run first');
    return this.prepared;
  }

  // ---- running SQL ----

  private async aggregates(
    fromText: string,
    expressions: readonly string[],
  ): Promise<Record<string, number>> {
    const [row] = await this.calls.query<Record<string, string>>(avSql.aggregates(fromText, expressions));
    const out: Record<string, number> = {};
    expressions.forEach((e, i) => (out[e] = Number(row?.[`a${i}`] ?? 0)));
    return out;
  }

  private async count(statement: string, window?: ViewWindow): Promise<number> {
    const [row] = await this.exec(
      () => this.driver.query<{ n: string }>(statement),
      window ? `counting the rows of window ${window.index + 1}` : firstWords(statement),
    );
    return Number(row?.n ?? 0);
  }

  private async tableRow(ref: TableRef): Promise<{ engine: string; create_table_query: string } | undefined> {
    return (await this.calls.query<{ engine: string; create_table_query: string }>(avSql.table(ref)))[0];
  }

  private async exists(ref: TableRef): Promise<boolean> {
    return (await this.tableRow(ref)) !== undefined;
  }

  /** Maps failures to typed errors: resource limits to ResourceLimitError, the rest as the backfill adapter does. */
  private async exec<T>(fn: () => Promise<T>, what: string): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ShadowfillError || !(error instanceof ClickHouseError)) throw error;
      const nativeCode = error.code === 0 ? undefined : String(error.code);
      const options = { cause: error, ...(nativeCode === undefined ? {} : { nativeCode }) };
      if (error.code === 241 || error.type === 'MEMORY_LIMIT_EXCEEDED') {
        throw new ResourceLimitError(
          'memory',
          'settings.max_memory_usage (or set settings.max_bytes_before_external_group_by)',
          `ClickHouse ran out of memory ${what} (${memoryDetail(error)})`,
          options,
        );
      }
      if (error.code === 159 || error.type === 'TIMEOUT_EXCEEDED') {
        throw new ResourceLimitError(
          'time',
          'settings.max_execution_time',
          `ClickHouse stopped ${what} at its time limit (${shortDetail(error)})`,
          options,
        );
      }
      throw toTargetError(error, `${what} on ${this.driver.description}`, { secrets: this.target.secrets });
    }
  }
}

/** Additive aggregate expressions of a view target: safe to sum over windows and compare exactly. */
export function additiveExpressions(columns: readonly TargetColumn[], engine: string): string[] {
  const exprs: string[] = [];
  for (const c of columns) {
    if (c.inKey) continue;
    const col = quoteIdent(c.name);
    const agg = /^AggregateFunction\((count|sum)\b/.exec(c.type);
    const simple = /^SimpleAggregateFunction\(sum\s*,\s*(.*)\)$/.exec(c.type);
    if (agg) {
      if (agg[1] === 'count' || isExactNumber(c.type.slice(c.type.indexOf(',') + 1, -1)))
        exprs.push(`${agg[1]}Merge(${col})`);
    } else if (simple) {
      if (isExactNumber(simple[1]!)) exprs.push(`sum(${col})`);
    } else if (engine.includes('Summing') && isExactNumber(c.type)) {
      exprs.push(`sum(${col})`);
    }
  }
  return exprs;
}

/** Integers and decimals sum exactly in any order; floats do not (their columns are not compared). */
function isExactNumber(type: string): boolean {
  return /^(U?Int\d+|Decimal)/.test(baseType(type.trim()));
}

function memoryDetail(error: ClickHouseError): string {
  const text = shortDetail(error);
  const m = /would use ([\d.]+ \w+).*maximum: ([\d.]+ \w+)/.exec(text);
  return m ? `would use ${m[1]}, the limit is ${m[2]}` : text.slice(0, 160);
}

function windowText(p: PreparedView, w: ViewWindow): string {
  const range = `${w.lo === undefined ? '…' : formatPosition(w.lo)} ≤ ${p.cutoffColumn} < ${formatPosition(w.hi)}`;
  return w.objects ? `${w.objects.length} objects, ${p.cutoffColumn} < ${formatPosition(w.hi)}` : range;
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('.');
  return [key.slice(0, i), key.slice(i + 1)];
}
