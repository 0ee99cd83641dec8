/**
 * Reading ClickHouse engine text as the server prints it in `system.tables.engine_full`, without splitting on
 * characters that may sit inside literals or quoted names; and which engines (`system.tables.engine`) collapse rows.
 */

/** Engine `engine` (system.tables.engine) collapses rows on insert and merge: Replacing, Summing, Aggregating… MergeTree. */
export function collapsingEngine(engine: string): boolean {
  return /(Replacing|Summing|Aggregating|Collapsing|Graphite|Coalescing)MergeTree/.test(engine);
}

/** `ReplacingMergeTree(ver) PARTITION BY x ORDER BY y SETTINGS …` → `PARTITION BY x ORDER BY y SETTINGS …`. */
export function engineClauses(engineFull: string): string {
  const text = engineFull.trim();
  const name = /^[A-Za-z0-9_]+/.exec(text);
  if (!name) return text;
  let i = name[0].length;
  while (text[i] === ' ') i += 1;
  if (text[i] === '(') i = skipParenthesized(text, i);
  return text.slice(i).trim();
}

/** The engine's arguments as written: `SummingMergeTree((a, b))` → `(a, b)`; '' without arguments. */
export function engineArguments(engineFull: string): string {
  const text = engineFull.trim();
  const name = /^[A-Za-z0-9_]+/.exec(text);
  if (!name) return '';
  let i = name[0].length;
  while (text[i] === ' ') i += 1;
  if (text[i] !== '(') return '';
  return text.slice(i + 1, skipParenthesized(text, i) - 1).trim();
}

/** Index after the parenthesis group opening at `start`, skipping quoted text. */
function skipParenthesized(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i += 1;
      while (i < text.length && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
    } else if (c === '(') depth += 1;
    else if (c === ')') {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return text.length;
}

/** Splits `a, f(b, c), d` at top-level commas (outside parentheses and quotes). */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === '\\' ? 2 : 1;
      current += text.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(') depth += 1;
    if (c === ')') depth -= 1;
    if (c === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += c;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** A sorting-key item's column name when the item is a bare (or back-quoted) column, else undefined. */
export function bareColumn(item: string): string | undefined {
  const t = item.trim();
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) return t;
  const q = /^`((?:[^`\\]|\\.)*)`$/.exec(t);
  return q ? q[1]!.replace(/\\(.)/g, '$1') : undefined;
}
