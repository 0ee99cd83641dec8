/**
 * Reconciling materialized-view targets. A view target's landing (one batch) or shadow (every committed batch)
 * must hold what its views produce from the landing or shadow of their source. The views' SELECT is recomputed
 * over that source and both sides are fingerprinted with the same query (sql/reconcile.ts):
 *
 * - **aggregate** (Summing/Aggregating engines, or AggregateFunction/SimpleAggregateFunction columns): per key of
 *   the target's sorting key, every exactly mergeable value — `count`, integer and decimal `sum`, `min`, `max`,
 *   `uniqExact`, `groupBit*` states, Summing columns — merged and hashed; float sums compared in total with a
 *   relative tolerance of 1e-9. Exact for those values; other aggregate states (`uniq`, `avg`, quantiles, `any`…)
 *   are only covered by the key check. Merges and block boundaries do not change any of this.
 * - **rows** (plain MergeTree targets fed by views that do not aggregate): every row, as a count and an
 *   order-independent hash of all its columns. Exact.
 * - **keys** (Replacing targets, or plain targets fed by aggregating views, whose rows depend on how inserts were
 *   split into blocks): the set of sorting-key values present on both sides. A documented, weaker check.
 * - Collapsing/VersionedCollapsing targets are not reconciled (their rows cancel by sign); the report says so.
 */
import type { RunContext, TableVerification, TargetTable } from '../../src/adapter/contract.ts';
import type { ClickHouseDescription, ViewInfo } from './introspect.ts';
import { refKey, type TableRef } from './names.ts';
import { bareColumn, engineArguments, splitTopLevel } from './sql/engine.ts';
import { qualified } from './sql/quote.ts';
import { fingerprintQuery, recomputedSource, type ReconcileShape } from './sql/reconcile.ts';
import { repointSelect } from './sql/rewrite.ts';
import { sql } from './sql/statements.ts';

export type Scope = 'landing' | 'shadow';

/** How one view target is reconciled, decided once per run. */
interface TargetPlan {
  readonly target: TargetTable;
  readonly ref: TableRef;
  readonly views: readonly ViewInfo[];
  readonly shape: ReconcileShape | undefined;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly method: string;
  readonly exact: boolean;
}

const EXACT_MERGE = new Set([
  'count',
  'sum',
  'sumWithOverflow',
  'min',
  'max',
  'uniqExact',
  'groupBitAnd',
  'groupBitOr',
  'groupBitXor',
]);
const EXACT_SIMPLE = new Set([
  'sum',
  'sumWithOverflow',
  'min',
  'max',
  'groupBitAnd',
  'groupBitOr',
  'groupBitXor',
]);
const SUMS = new Set(['sum', 'sumWithOverflow']);

const isFloat = (type: string) => /Float|BFloat/.test(type);
const isNumeric = (type: string) =>
  /^(Nullable\()?(LowCardinality\()?(U?Int\d+|Float\d+|BFloat16|Decimal)/.test(type);
const ident = (name: string) => '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';

/** Reconciles every view target of the run at `scope`; `tables` names the landing or shadow of a live table. */
export class ViewTargetVerifier {
  private plans: { runId: string; plans: TargetPlan[] } | undefined;

  constructor(
    private readonly query: <Row extends Record<string, unknown>>(statement: string) => Promise<Row[]>,
  ) {}

  async verify(
    run: RunContext,
    description: ClickHouseDescription,
    scope: Scope,
    tables: (ref: TableRef) => TableRef,
  ): Promise<TableVerification[]> {
    const plans = await this.plansFor(run, description, tables);
    const results: TableVerification[] = [];
    const sourceName = refKey({ database: description.table.database, table: description.table.name });
    for (const plan of plans) {
      const table = refKey(plan.ref);
      const verdict = (ok: boolean, detail: string): TableVerification => ({
        table,
        scope: scope === 'landing' ? 'batch' : 'shadow',
        method: plan.method,
        exact: plan.exact,
        ok,
        detail,
      });
      if (!plan.shape) {
        results.push(verdict(true, 'not reconciled'));
        continue;
      }
      const own = tables(plan.ref);
      const queries = fingerprints(plan, plan.shape, tables);
      const [mine] = await this.query<Record<string, string>>(queries.target);
      const [theirs] = await this.query<Record<string, string>>(queries.recomputed);
      const differences = compare(plan.shape, mine ?? {}, theirs ?? {});
      const what = plan.shape.kind === 'rows' ? 'rows' : 'keys';
      results.push(
        verdict(
          differences.length === 0,
          differences.length === 0
            ? `${mine?.groups ?? 0} ${what} match the views over the ${scope} of ${sourceName}`
            : `${own.table} ${differences.join(', ')}`,
        ),
      );
    }
    return results;
  }

  /**
   * For `plan`: the queries `verify` runs over `tables` (the landings or the shadows), two per reconciled view
   * target. Planned over the live tables (same columns), as the run's tables do not exist yet.
   */
  async planned(
    run: RunContext,
    description: ClickHouseDescription,
    tables: (ref: TableRef) => TableRef,
  ): Promise<{ title: string; sql: string }[]> {
    const plans = await this.plansFor(run, description, (ref) => ref);
    return plans.flatMap((plan) => {
      const table = refKey(tables(plan.ref));
      if (!plan.shape) return [{ title: `${table}: ${plan.method}`, sql: '' }];
      const queries = fingerprints(plan, plan.shape, tables);
      return [
        { title: `${table}: ${plan.method} — the target's fingerprint`, sql: queries.target },
        { title: `${table}: the same fingerprint of its views recomputed`, sql: queries.recomputed },
      ];
    });
  }

  private async plansFor(
    run: RunContext,
    d: ClickHouseDescription,
    tables: (ref: TableRef) => TableRef,
  ): Promise<TargetPlan[]> {
    if (this.plans?.runId === run.runId) return this.plans.plans;
    const plans: TargetPlan[] = [];
    for (const target of d.viewTargets) {
      const ref = { database: target.database, table: target.name };
      const views = d.viewInfos.filter((v) => refKey(v.toRef) === refKey(ref));
      plans.push(await this.plan(target, ref, views, d.enginesFull.get(refKey(ref)) ?? '', tables));
    }
    this.plans = { runId: run.runId, plans };
    return plans;
  }

  private async plan(
    target: TargetTable,
    ref: TableRef,
    views: readonly ViewInfo[],
    engineFull: string,
    tables: (ref: TableRef) => TableRef,
  ): Promise<TargetPlan> {
    const base = { target, ref, views };
    const names = views.map((v) => v.name).join(', ');
    if (views.length === 0 || /Collapsing/.test(target.engine)) {
      return {
        ...base,
        shape: undefined,
        columns: [],
        exact: false,
        method: `not reconciled (${target.engine} rows cancel by sign)`,
      };
    }
    // The columns every view writes (by name), as the target types them.
    let produced: Set<string> | undefined;
    for (const v of views) {
      const select = repointSelect(v.select, v.fromRef, tables(v.fromRef)).sql;
      const out = await this.query<{ name: string }>(sql.describeSelect(select));
      const set = new Set(out.map((c) => c.name));
      produced = produced ? new Set([...produced].filter((n) => set.has(n))) : set;
    }
    const columns = target.columns
      .filter((c) => produced?.has(c.name))
      .map((c) => ({ name: c.name, type: c.type }));
    const keyItems = splitTopLevel(target.sortingKey);
    const keyColumns = new Set(keyItems.map(bareColumn).filter((n): n is string => n !== undefined));
    const keyUsable = keyItems.every((item) => {
      const col = bareColumn(item);
      return col === undefined ? columns.length > 0 : columns.some((c) => c.name === col);
    });
    const key = keyUsable ? target.sortingKey : '';
    const aggregateColumns = columns.some((c) => /^(Simple)?AggregateFunction\(/.test(c.type));
    const summing = /SummingMergeTree/.test(target.engine);
    if (summing || /AggregatingMergeTree/.test(target.engine) || aggregateColumns) {
      const summed = summing ? summingColumns(engineFull) : undefined;
      const exact: string[] = [];
      const approximate: string[] = [];
      const skipped: string[] = [];
      for (const c of columns) {
        if (keyColumns.has(c.name)) continue;
        const e = valueExpression(c, summing, summed);
        if (e?.exact) exact.push(e.expression);
        else if (e) approximate.push(e.expression);
        else skipped.push(c.name);
      }
      return {
        ...base,
        columns,
        shape: { kind: 'aggregate', key, exact, approximate, columns: [] },
        exact: skipped.length === 0,
        method:
          `per ${key ? `key (${key})` : 'table'}: ${[...exact, ...approximate.map((a) => `${a} ±1e-9`)].join(', ') || 'keys only'}` +
          ` = ${names} recomputed${skipped.length ? `; not compared: ${skipped.join(', ')} (not exactly mergeable)` : ''}`,
      };
    }
    const collapses = /(Replacing|Graphite|Coalescing)MergeTree/.test(target.engine);
    const aggregating = !collapses && (await this.anyAggregates(views, tables));
    if (collapses || aggregating) {
      if (!key) {
        return {
          ...base,
          shape: undefined,
          columns,
          exact: false,
          method: 'not reconciled (no sorting key)',
        };
      }
      return {
        ...base,
        columns,
        shape: { kind: 'keys', key, exact: [], approximate: [], columns: [] },
        exact: false,
        method: `key set (${key}) = ${names} recomputed (${collapses ? `${target.engine} keeps one row per key` : 'the views aggregate per insert block'}; values not compared)`,
      };
    }
    return {
      ...base,
      columns,
      shape: { kind: 'rows', key, exact: [], approximate: [], columns: columns.map((c) => c.name) },
      exact: true,
      method: `every row (count and hash of ${columns.length} columns) = ${names} recomputed`,
    };
  }

  /** Whether any of the views' SELECTs aggregates (its plan has an Aggregating step). */
  private async anyAggregates(
    views: readonly ViewInfo[],
    tables: (ref: TableRef) => TableRef,
  ): Promise<boolean> {
    for (const v of views) {
      const select = repointSelect(v.select, v.fromRef, tables(v.fromRef)).sql;
      const plan = await this.query<{ explain: string }>(sql.explainPlan(select));
      if (plan.some((line) => /^\s*(Merging)?Aggregating\b/.test(line.explain))) return true;
    }
    return false;
  }
}

/** The columns a SummingMergeTree sums: those listed in its argument, else every numeric non-key column. */
function summingColumns(engineFull: string): Set<string> | undefined {
  const args = engineArguments(engineFull);
  if (!args) return undefined;
  const inner = args.startsWith('(') && args.endsWith(')') ? args.slice(1, -1) : args;
  return new Set(
    splitTopLevel(inner)
      .map(bareColumn)
      .filter((n): n is string => n !== undefined),
  );
}

function valueExpression(
  c: { name: string; type: string },
  summing: boolean,
  summed: Set<string> | undefined,
): { expression: string; exact: boolean } | undefined {
  const col = ident(c.name);
  const agg = /^AggregateFunction\(([A-Za-z0-9_]+)(\([^)]*\))?\s*(?:,\s*(.*))?\)$/.exec(c.type);
  if (agg) {
    const [, fn, params, args] = agg;
    if (params || !EXACT_MERGE.has(fn!)) return undefined;
    return { expression: `${fn}Merge(${col})`, exact: !(SUMS.has(fn!) && isFloat(args ?? '')) };
  }
  const simple = /^SimpleAggregateFunction\(([A-Za-z0-9_]+)\s*,\s*(.*)\)$/.exec(c.type);
  if (simple) {
    const [, fn, type] = simple;
    if (!EXACT_SIMPLE.has(fn!)) return undefined;
    return { expression: `${fn}(${col})`, exact: !(SUMS.has(fn!) && isFloat(type!)) };
  }
  if (summing && isNumeric(c.type) && (!summed || summed.has(c.name))) {
    return { expression: `sum(${col})`, exact: !isFloat(c.type) };
  }
  return undefined;
}

/** The two fingerprint queries of a target: over the target (`tables` names it) and over its views recomputed. */
function fingerprints(
  plan: TargetPlan,
  shape: ReconcileShape,
  tables: (ref: TableRef) => TableRef,
): { target: string; recomputed: string } {
  const own = tables(plan.ref);
  const recomputed = recomputedSource(
    plan.views.map((v) => ({ select: repointSelect(v.select, v.fromRef, tables(v.fromRef)).sql })),
    plan.columns,
  );
  return {
    target: fingerprintQuery(shape, qualified(own.database, own.table)),
    recomputed: fingerprintQuery(shape, recomputed),
  };
}

/** What differs between the two fingerprints (empty when they match). */
function compare(
  shape: ReconcileShape,
  mine: Record<string, string>,
  theirs: Record<string, string>,
): string[] {
  const out: string[] = [];
  const what = shape.kind === 'rows' ? 'rows' : 'keys';
  if (mine.groups !== theirs.groups)
    out.push(`holds ${mine.groups} ${what}, the views produce ${theirs.groups}`);
  else if (mine.h !== theirs.h) {
    out.push(
      shape.kind === 'aggregate'
        ? `differs in ${shape.exact.join(', ') || 'its keys'} for some keys`
        : `differs in some ${what}`,
    );
  }
  shape.approximate.forEach((e, i) => {
    const a = Number(mine[`f${i}`] ?? 0);
    const b = Number(theirs[`f${i}`] ?? 0);
    if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))) out.push(`${e}: ${a} ≠ ${b}`);
  });
  return out;
}
