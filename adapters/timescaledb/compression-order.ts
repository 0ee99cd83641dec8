/**
 * The order TimescaleDB compresses a hypertable's rows in — its `segmentby` columns, then its `orderby` items —
 * as an SQL `ORDER BY` list, for inserts that promise the server rows in that order
 * (`timescaledb.enable_direct_compress_insert_client_sorted`): a new chunk written that way comes out compressed
 * as `compress_chunk` would have left it, with nothing to recompress.
 *
 * Only from settings written out in full (segmentby and orderby both set), and only when every name is a column
 * of the table: anything else gives undefined, and the insert lets the server sort (the chunk then needs
 * recompressing). `orderby` is read as `hypertable_compression_settings` shows it, e.g. `"Time" DESC,v NULLS
 * FIRST` (the introspection joins items with `, `).
 */
import { quoteIdent } from './sql/quote.ts';

interface OrderItem {
  readonly column: string;
  readonly descending: boolean;
  /** Explicit NULLS FIRST/LAST, or the default for the direction. */
  readonly nullsFirst: boolean;
}

const ITEM =
  /^\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))(?:\s+(ASC|DESC))?(?:\s+NULLS\s+(FIRST|LAST))?\s*(?:,|$)/i;

/** `"Time" DESC, v NULLS FIRST` → items; undefined when the text does not parse. */
export function parseOrderBy(text: string): OrderItem[] | undefined {
  const items: OrderItem[] = [];
  let rest = text.trim();
  while (rest.length > 0) {
    const match = ITEM.exec(rest);
    if (!match) return undefined;
    const column = match[1] !== undefined ? match[1].replace(/""/g, '"') : match[2]!;
    const descending = match[3]?.toUpperCase() === 'DESC';
    // PostgreSQL's defaults: NULLS LAST for ascending, NULLS FIRST for descending.
    const nullsFirst = match[4] === undefined ? descending : match[4].toUpperCase() === 'FIRST';
    items.push({ column, descending, nullsFirst });
    rest = rest.slice(match[0].length).trim();
  }
  return items;
}

/** The `ORDER BY` list (without the keywords) rows must arrive in, or undefined (see the module comment). */
export function compressionOrder(
  segmentBy: readonly string[],
  orderBy: string,
  columns: readonly { readonly name: string }[],
): string | undefined {
  if (segmentBy.length === 0 || orderBy.trim() === '') return undefined;
  const items = parseOrderBy(orderBy);
  if (!items || items.length === 0) return undefined;
  const known = new Set(columns.map((c) => c.name));
  if (![...segmentBy, ...items.map((i) => i.column)].every((c) => known.has(c))) return undefined;
  return [
    ...segmentBy.map((c) => quoteIdent(c)),
    ...items.map(
      (i) =>
        `${quoteIdent(i.column)} ${i.descending ? 'DESC' : 'ASC'} NULLS ${i.nullsFirst ? 'FIRST' : 'LAST'}`,
    ),
  ].join(', ');
}
