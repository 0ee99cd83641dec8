/**
 * SQL of the view-target reconciliation (see ../verify-views.ts): one fingerprint query, run once over a view
 * target's landing or shadow and once over its views' SELECT recomputed over the landing or shadow of their
 * source. Both sides have the target's column names, so the same expressions apply to both.
 */
import { quoteIdent } from './quote.ts';

/** How a view target is compared. */
export type ReconcileKind =
  /** per key (the sorting key): every exact aggregate merged, hashed; float sums compared with a tolerance */
  | 'aggregate'
  /** every row: count and an order-independent hash of all compared columns */
  | 'rows'
  /** the set of keys (sorting-key values) present */
  | 'keys';

export interface ReconcileShape {
  readonly kind: ReconcileKind;
  /** The target's sorting key as the server printed it (`project, toStartOfDay(ts)`), or '' for none. */
  readonly key: string;
  /** Per-key expressions compared exactly (`sum(\`count\`)`, `countMerge(\`c\`)`). */
  readonly exact: readonly string[];
  /** Per-key expressions whose totals are compared with a relative tolerance (float sums). */
  readonly approximate: readonly string[];
  /** Columns hashed row by row (`rows`). */
  readonly columns: readonly string[];
}

/** `groups` (keys or rows), `h` (hash), `f<i>` (float totals) of `from` (a table or a parenthesized SELECT). */
export function fingerprintQuery(shape: ReconcileShape, from: string): string {
  const key = shape.key ? `cityHash64(${shape.key})` : 'toUInt64(0)';
  if (shape.kind === 'rows') {
    const cols = shape.columns.map(quoteIdent).join(', ');
    return `SELECT toString(count()) AS groups, toString(sum(cityHash64(${cols || '0'}))) AS h FROM ${from}`;
  }
  if (shape.kind === 'keys') {
    return (
      `SELECT toString(count()) AS groups, toString(sum(__k)) AS h ` +
      `FROM (SELECT ${key} AS __k FROM ${from} GROUP BY __k)`
    );
  }
  const exact = shape.exact.map((e, i) => `${e} AS e${i}`);
  const approx = shape.approximate.map((e, i) => `toFloat64(${e}) AS f${i}`);
  const hashed = ['__k', ...shape.exact.map((_, i) => `e${i}`)].join(', ');
  const totals = shape.approximate.map((_, i) => `, toString(sum(f${i})) AS f${i}`).join('');
  return (
    `SELECT toString(count()) AS groups, toString(sum(cityHash64(${hashed}))) AS h${totals} ` +
    `FROM (SELECT ${[`${key} AS __k`, ...exact, ...approx].join(', ')} FROM ${from} GROUP BY __k)`
  );
}

export interface RecomputedView {
  /** The view's SELECT, re-pointed at the landing or shadow of its source. */
  readonly select: string;
}

/**
 * The rows the views would write into the target, as one parenthesized SELECT with the target's column names
 * and types (`CAST` as the materialized view's INSERT does; aggregate states are kept as they are).
 */
export function recomputedSource(
  views: readonly RecomputedView[],
  columns: readonly { readonly name: string; readonly type: string }[],
): string {
  const list = columns
    .map((c) =>
      c.type.startsWith('AggregateFunction(')
        ? quoteIdent(c.name)
        : `CAST(${quoteIdent(c.name)} AS ${c.type}) AS ${quoteIdent(c.name)}`,
    )
    .join(', ');
  return `(${views.map((v) => `SELECT ${list} FROM (${v.select})`).join(' UNION ALL ')})`;
}
