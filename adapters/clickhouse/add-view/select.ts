/**
 * The view's SELECT as text: a tokenizer that knows ClickHouse's literals, quoted identifiers and comments, the
 * table references in it (after FROM and JOIN, at the top level and in subqueries, never inside expressions
 * such as `extract(day FROM t)`, never CTE names or table functions), and the two rewrites add-view needs:
 * qualifying unqualified tables with the view's database, and replacing the references to the source table
 * (by the null shadow, or by a filtered subquery). ClickHouse itself then checks the result (EXPLAIN).
 */
import { quoteIdent } from '../sql/quote.ts';

export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'punct' | 'space' | 'comment';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** Identifier value (unquoted) for words and quoted identifiers. */
  readonly name: string;
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number, name = '') => {
    tokens.push({ kind, text: sql.slice(i, end), name });
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      let j = i;
      while (j < sql.length && /\s/.test(sql[j]!)) j += 1;
      push('space', j);
    } else if ((c === '-' && next === '-') || c === '#') {
      let j = i;
      while (j < sql.length && sql[j] !== '\n') j += 1;
      push('comment', j);
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      push('comment', end < 0 ? sql.length : end + 2);
    } else if (c === "'") {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j += 1;
      }
      push('string', Math.min(j + 1, sql.length));
    } else if (c === '`' || c === '"') {
      let j = i + 1;
      let name = '';
      while (j < sql.length) {
        if (sql[j] === '\\') {
          name += sql[j + 1] ?? '';
          j += 2;
        } else if (sql[j] === c && sql[j + 1] === c) {
          name += c;
          j += 2;
        } else if (sql[j] === c) break;
        else {
          name += sql[j];
          j += 1;
        }
      }
      push('quoted', Math.min(j + 1, sql.length), name);
    } else if (/[0-9]/.test(c)) {
      let j = i;
      while (j < sql.length && /[0-9A-Za-z_.]/.test(sql[j]!)) {
        if ((sql[j] === 'e' || sql[j] === 'E') && (sql[j + 1] === '+' || sql[j + 1] === '-')) j += 1;
        j += 1;
      }
      push('number', j);
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i;
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j]!)) j += 1;
      push('word', j, sql.slice(i, j));
    } else {
      push('punct', i + 1);
    }
  }
  return tokens;
}

const isIdent = (t: Token | undefined): t is Token =>
  t !== undefined && (t.kind === 'word' || t.kind === 'quoted');
const isWord = (t: Token | undefined, word: string): boolean =>
  t !== undefined && t.kind === 'word' && t.text.toUpperCase() === word;
const isPunct = (t: Token | undefined, p: string): boolean =>
  t !== undefined && t.kind === 'punct' && t.text === p;

/** Words that end a table expression (so they are no alias). */
const NOT_ALIAS = new Set(
  (
    'FINAL SAMPLE WHERE PREWHERE GROUP ORDER LIMIT HAVING JOIN INNER LEFT RIGHT FULL CROSS ANY ALL ASOF SEMI ANTI ' +
    'ARRAY GLOBAL ON USING UNION EXCEPT INTERSECT SETTINGS FORMAT WINDOW QUALIFY PASTE OFFSET LOCAL NATURAL INTO ' +
    'WITH OUTER AS'
  ).split(' '),
);

/** A table named in FROM/JOIN: tokens [start, end] hold `[db.]table`. */
export interface TableReference {
  readonly start: number;
  readonly end: number;
  readonly database: string | undefined;
  readonly table: string;
  readonly alias: string | undefined;
  /** `FINAL` or `SAMPLE` follows the table (meaningless, and not supported, for a view's source). */
  readonly modifier: string | undefined;
}

export interface SelectAnalysis {
  readonly tokens: readonly Token[];
  readonly tables: readonly TableReference[];
  /** Names defined by `WITH name AS (SELECT …)`. */
  readonly ctes: ReadonlySet<string>;
  /** The first significant word (SELECT or WITH for a query). */
  readonly firstWord: string;
}

/** Index of the next token that is not space or comment, from `i` on. */
function significant(tokens: readonly Token[], i: number): number {
  let j = i;
  while (j < tokens.length && (tokens[j]!.kind === 'space' || tokens[j]!.kind === 'comment')) j += 1;
  return j;
}

export function analyzeSelect(sql: string): SelectAnalysis {
  const tokens = tokenize(sql);
  const tables: TableReference[] = [];
  const ctes = new Set<string>();
  /** Per paren level: is it a query (top level / subquery) or an expression; and is a FROM list open. */
  const stack: { query: boolean; fromList: boolean }[] = [{ query: true, fromList: false }];
  const top = () => stack[stack.length - 1]!;
  let expectTable = false;
  for (let i = significant(tokens, 0); i < tokens.length; i = significant(tokens, i + 1)) {
    const t = tokens[i]!;
    if (isPunct(t, '(')) {
      const n = tokens[significant(tokens, i + 1)];
      stack.push({ query: isWord(n, 'SELECT') || isWord(n, 'WITH'), fromList: false });
      expectTable = false;
      continue;
    }
    if (isPunct(t, ')')) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    if (!top().query) continue;
    if (isWord(t, 'AS')) {
      // `name AS (SELECT …)`: a common table expression.
      const open = significant(tokens, i + 1);
      const inner = tokens[significant(tokens, open + 1)];
      let back = i - 1;
      while (back >= 0 && (tokens[back]!.kind === 'space' || tokens[back]!.kind === 'comment')) back -= 1;
      if (
        isPunct(tokens[open], '(') &&
        (isWord(inner, 'SELECT') || isWord(inner, 'WITH')) &&
        isIdent(tokens[back])
      ) {
        ctes.add(tokens[back]!.name);
      }
    }
    if (isWord(t, 'FROM') || isWord(t, 'JOIN')) {
      expectTable = true;
      top().fromList = isWord(t, 'FROM');
      continue;
    }
    if (isPunct(t, ',') && top().fromList) {
      expectTable = true;
      continue;
    }
    if (
      t.kind === 'word' &&
      /^(WHERE|PREWHERE|GROUP|ORDER|LIMIT|HAVING|SETTINGS|UNION|EXCEPT|INTERSECT|WINDOW|QUALIFY|FORMAT|ARRAY|ON|USING)$/i.test(
        t.text,
      )
    ) {
      top().fromList = false;
    }
    if (!expectTable) continue;
    expectTable = false;
    if (!isIdent(t)) continue;
    let end = i;
    let database: string | undefined;
    let table = t.name;
    const dot = significant(tokens, i + 1);
    if (isPunct(tokens[dot], '.') && isIdent(tokens[significant(tokens, dot + 1)])) {
      end = significant(tokens, dot + 1);
      database = t.name;
      table = tokens[end]!.name;
    }
    const after = significant(tokens, end + 1);
    if (isPunct(tokens[after], '(')) continue; // a table function
    let alias: string | undefined;
    let modifier: string | undefined;
    let k = after;
    if (isWord(tokens[k], 'FINAL') || isWord(tokens[k], 'SAMPLE')) modifier = tokens[k]!.text.toUpperCase();
    else if (isWord(tokens[k], 'AS') && isIdent(tokens[significant(tokens, k + 1)])) {
      alias = tokens[significant(tokens, k + 1)]!.name;
      k = significant(tokens, significant(tokens, k + 1) + 1);
    } else if (
      isIdent(tokens[k]) &&
      !(tokens[k]!.kind === 'word' && NOT_ALIAS.has(tokens[k]!.text.toUpperCase()))
    ) {
      alias = tokens[k]!.name;
      k = significant(tokens, k + 1);
    }
    if (modifier === undefined && (isWord(tokens[k], 'FINAL') || isWord(tokens[k], 'SAMPLE'))) {
      modifier = tokens[k]!.text.toUpperCase();
    }
    if (database === undefined && ctes.has(table)) continue;
    tables.push({ start: i, end, database, table, alias, modifier });
  }
  const firstToken = tokens[significant(tokens, 0)];
  return {
    tokens,
    tables,
    ctes,
    firstWord: firstToken?.kind === 'word' ? firstToken.text.toUpperCase() : '',
  };
}

/** Replaces each reference for which `replace` returns text; the rest of the text stays as written. */
function rewrite(analysis: SelectAnalysis, replace: (ref: TableReference) => string | undefined): string {
  const byStart = new Map(analysis.tables.map((r) => [r.start, r]));
  let out = '';
  for (let i = 0; i < analysis.tokens.length; i += 1) {
    const ref = byStart.get(i);
    const text = ref ? replace(ref) : undefined;
    if (ref && text !== undefined) {
      out += text;
      i = ref.end;
      continue;
    }
    out += analysis.tokens[i]!.text;
  }
  return out;
}

/** Every unqualified table gets `database.` in front. */
export function qualifyTables(analysis: SelectAnalysis, database: string): string {
  return rewrite(analysis, (ref) =>
    ref.database === undefined ? `${quoteIdent(database)}.${quoteIdent(ref.table)}` : undefined,
  );
}

/**
 * References to `source` (qualified with `database` when unqualified) become `replacement`; a reference
 * without an alias gets the source's name as alias, so `source.column` in the SELECT still resolves.
 */
export function replaceSource(
  analysis: SelectAnalysis,
  source: { database: string; table: string },
  replacement: string,
): string {
  return rewrite(analysis, (ref) => {
    if (!refersTo(ref, source)) return undefined;
    return ref.alias === undefined ? `${replacement} AS ${quoteIdent(ref.table)}` : replacement;
  });
}

export function refersTo(ref: TableReference, table: { database: string; table: string }): boolean {
  return ref.table === table.table && (ref.database ?? table.database) === table.database;
}

/** The text without trailing semicolons and whitespace. */
export function trimStatement(sql: string): string {
  return sql.replace(/[\s;]+$/, '').replace(/^\s+/, '');
}
