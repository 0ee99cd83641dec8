/**
 * Re-points a materialized view's SELECT at another source table. ClickHouse stores the view's query
 * normalized with qualified names (`FROM default.pypi`); this tokenizes it (string literals, quoted and bare
 * identifiers) and replaces every `db.table` reference to the old source, never text inside literals.
 */
import { quoteIdent } from './quote.ts';

type Token = { kind: 'ident'; text: string; name: string } | { kind: 'other'; text: string };

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let other = '';
  const flush = () => {
    if (other) tokens.push({ kind: 'other', text: other });
    other = '';
  };
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'") {
      let j = i + 1;
      while (j < sql.length && sql[j] !== "'") j += sql[j] === '\\' ? 2 : 1;
      other += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '`' || c === '"') {
      let j = i + 1;
      let name = '';
      while (j < sql.length && (sql[j] !== c || sql[j + 1] === c)) {
        if (sql[j] === c) {
          name += c;
          j += 2;
        } else if (sql[j] === '\\') {
          name += sql[j + 1] ?? '';
          j += 2;
        } else {
          name += sql[j];
          j += 1;
        }
      }
      flush();
      tokens.push({ kind: 'ident', text: sql.slice(i, j + 1), name });
      i = j + 1;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j]!)) j += 1;
      flush();
      tokens.push({ kind: 'ident', text: sql.slice(i, j), name: sql.slice(i, j) });
      i = j;
    } else {
      other += c;
      i += 1;
    }
  }
  flush();
  return tokens;
}

/** Replaces references to `from` (database + table) with `to` in `select`. Returns the new text and how many were replaced. */
export function repointSelect(
  select: string,
  from: { database: string; table: string },
  to: { database: string; table: string },
): { sql: string; replaced: number } {
  const tokens = tokenize(select);
  let out = '';
  let replaced = 0;
  for (let i = 0; i < tokens.length; i += 1) {
    const a = tokens[i]!;
    const dot = tokens[i + 1];
    const b = tokens[i + 2];
    if (
      a.kind === 'ident' &&
      a.name === from.database &&
      dot?.kind === 'other' &&
      dot.text === '.' &&
      b?.kind === 'ident' &&
      b.name === from.table
    ) {
      out += `${quoteIdent(to.database)}.${quoteIdent(to.table)}`;
      replaced += 1;
      i += 2;
      continue;
    }
    out += a.text;
  }
  return { sql: out, replaced };
}

/** Reads the qualified table name after ` TO ` in a `CREATE MATERIALIZED VIEW` statement, or undefined. */
export function materializedViewTarget(createQuery: string): { database: string; table: string } | undefined {
  const tokens = tokenize(createQuery);
  for (let i = 0; i < tokens.length; i += 1) {
    const t = tokens[i]!;
    if (t.kind === 'ident' && t.text.toUpperCase() === 'TO' && t.text === t.name) {
      const next = tokens.slice(i + 1).filter((x) => !(x.kind === 'other' && x.text.trim() === ''));
      const [db, dot, table] = next;
      if (
        db?.kind === 'ident' &&
        dot?.kind === 'other' &&
        dot.text.trim() === '.' &&
        table?.kind === 'ident'
      ) {
        return { database: db.name, table: table.name };
      }
      return undefined;
    }
    if (t.kind === 'ident' && t.text.toUpperCase() === 'AS' && t.text === t.name) return undefined;
  }
  return undefined;
}
