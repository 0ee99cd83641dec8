/**
 * ClickHouse's glob syntax for object keys, compiled to a matcher and (when it has no wildcards) enumerated.
 *
 *   `*`      any characters except `/`          `**`     any characters including `/`
 *   `?`      one character except `/`           `\x`     the character `x` literally (`\*`, `\{`, `\\`)
 *   `{a,b}`  one of the alternatives; each may hold globs and nested braces (`{x{1..3},y*}`)
 *   `{N..M}` the integers N to M (either order). Zero padding follows ClickHouse: when the smaller bound is
 *            written with a leading zero and more than one digit, every number is padded to the wider bound
 *            (`{000..100}` → `000`…`100`, `{01..10}` → `01`…`10`); otherwise no padding (`{0..100}`, `{1..10}`).
 *
 * Numeric ranges compile to a compact digit-range regex (a few alternatives per digit position), so
 * `{0..100000}` costs nothing to compile or match.
 */
import { ConfigError } from '../errors.ts';

export interface CompiledGlob {
  /** The pattern as given. */
  readonly pattern: string;
  /** Longest literal key prefix before the first glob construct (the ListObjectsV2 `Prefix`). */
  readonly prefix: string;
  /** Anchored regex matching exactly the keys the pattern selects. */
  readonly regex: RegExp;
  /** True when the pattern contains `*`, `**` or `?` (so its keys cannot be enumerated). */
  readonly hasWildcards: boolean;
  /** True when a matching key may contain a `/` after `prefix` (so listing needs no delimiter). */
  readonly slashAfterPrefix: boolean;
  matches(key: string): boolean;
}

type GlobNode =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'star' }
  | { readonly kind: 'globstar' }
  | { readonly kind: 'any-char' }
  | { readonly kind: 'alternation'; readonly branches: readonly GlobNode[][] }
  | {
      readonly kind: 'range';
      readonly from: bigint;
      readonly to: bigint;
      /** Output width with zero padding, or 0 for no padding. */
      readonly width: number;
    };

export function compileGlob(pattern: string): CompiledGlob {
  const nodes = parseGlob(pattern);
  const regex = new RegExp(`^${nodesToRegex(nodes)}$`, 'u');
  const firstGlob = nodes.findIndex((node) => node.kind !== 'literal');
  return {
    pattern,
    prefix: literalPrefix(nodes),
    regex,
    hasWildcards: containsWildcard(nodes),
    slashAfterPrefix: firstGlob >= 0 && mayContainSlash(nodes.slice(firstGlob)),
    matches: (key: string) => regex.test(key),
  };
}

/**
 * The keys a pattern of only literals, alternations and ranges selects, in pattern order without duplicates.
 * Undefined when the pattern has `*`, `**` or `?`, or would select more than `limit` keys.
 */
export function expandGlob(pattern: string, limit: number): string[] | undefined {
  const nodes = parseGlob(pattern);
  if (containsWildcard(nodes)) return undefined;
  const cap = BigInt(Math.max(0, Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER)));
  if (countKeys(nodes, cap + 1n) > cap) return undefined;
  return [...new Set(expandSequence(nodes))];
}

// ---------------------------------------------------------------------------------------------------------
// Parsing

const RANGE_BODY = /^(\d+)\.\.(\d+)$/;

function parseGlob(pattern: string): GlobNode[] {
  const parser = new GlobParser(pattern);
  return parser.parseSequence(false);
}

class GlobParser {
  private position = 0;

  constructor(private readonly pattern: string) {}

  /** Parses until the end of the pattern, or (inside braces) until an unescaped `,` or `}` at this depth. */
  parseSequence(insideBraces: boolean): GlobNode[] {
    const nodes: GlobNode[] = [];
    let literal = '';
    const flush = () => {
      if (literal.length > 0) nodes.push({ kind: 'literal', text: literal });
      literal = '';
    };
    while (this.position < this.pattern.length) {
      const char = this.pattern.charAt(this.position);
      if (char === '\\') {
        if (this.position + 1 >= this.pattern.length) {
          throw this.error('a trailing backslash escapes nothing; write `\\\\` for a literal backslash');
        }
        literal += this.pattern.charAt(this.position + 1);
        this.position += 2;
      } else if (char === '*') {
        flush();
        if (this.pattern.charAt(this.position + 1) === '*') {
          nodes.push({ kind: 'globstar' });
          this.position += 2;
        } else {
          nodes.push({ kind: 'star' });
          this.position += 1;
        }
      } else if (char === '?') {
        flush();
        nodes.push({ kind: 'any-char' });
        this.position += 1;
      } else if (char === '{') {
        flush();
        nodes.push(this.parseBraces());
      } else if (char === '}' || char === ',') {
        if (insideBraces) break;
        if (char === '}')
          throw this.error("'}' has no matching '{'; escape it as `\\}` if it is part of the key");
        literal += char;
        this.position += 1;
      } else {
        literal += char;
        this.position += 1;
      }
    }
    flush();
    return nodes;
  }

  private parseBraces(): GlobNode {
    const open = this.position;
    this.position += 1;
    const close = this.findClosingBrace(open);
    const body = this.pattern.slice(open + 1, close);
    const range = RANGE_BODY.exec(body);
    if (range) {
      this.position = close + 1;
      return rangeNode(range[1] ?? '', range[2] ?? '');
    }
    if (!hasTopLevelComma(body) && body.includes('..')) {
      throw new ConfigError(
        `invalid range '{${body}}' in key pattern '${this.pattern}' at position ${open + 1}: ` +
          'a range is {N..M} with non-negative integers N and M, e.g. {001..250}',
      );
    }
    const branches: GlobNode[][] = [];
    for (;;) {
      branches.push(this.parseSequence(true));
      const char = this.pattern.charAt(this.position);
      this.position += 1;
      if (char === '}') break;
    }
    return { kind: 'alternation', branches };
  }

  /** Index of the `}` closing the brace opened at `open`, honouring escapes and nesting. */
  private findClosingBrace(open: number): number {
    let depth = 0;
    for (let index = open; index < this.pattern.length; index += 1) {
      const char = this.pattern.charAt(index);
      if (char === '\\') index += 1;
      else if (char === '{') depth += 1;
      else if (char === '}') {
        depth -= 1;
        if (depth === 0) return index;
      }
    }
    throw new ConfigError(
      `unclosed '{' in key pattern '${this.pattern}' at position ${open + 1}: ` +
        "close it with '}' or escape it as `\\{` if it is part of the key",
    );
  }

  private error(problem: string): ConfigError {
    return new ConfigError(
      `invalid key pattern '${this.pattern}' at position ${this.position + 1}: ${problem}`,
    );
  }
}

function hasTopLevelComma(body: string): boolean {
  let depth = 0;
  for (let index = 0; index < body.length; index += 1) {
    const char = body.charAt(index);
    if (char === '\\') index += 1;
    else if (char === '{') depth += 1;
    else if (char === '}') depth -= 1;
    else if (char === ',' && depth === 0) return true;
  }
  return false;
}

/** A `{N..M}` range with ClickHouse's padding rule (see the header). */
function rangeNode(first: string, second: string): GlobNode {
  const a = BigInt(first);
  const b = BigInt(second);
  const [lowText, highText] = a <= b ? [first, second] : [second, first];
  const padded = lowText.length > 1 && lowText.startsWith('0');
  return {
    kind: 'range',
    from: a,
    to: b,
    width: padded ? Math.max(lowText.length, highText.length) : 0,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Analysis

function containsWildcard(nodes: readonly GlobNode[]): boolean {
  return nodes.some((node) => {
    switch (node.kind) {
      case 'star':
      case 'globstar':
      case 'any-char':
        return true;
      case 'alternation':
        return node.branches.some(containsWildcard);
      default:
        return false;
    }
  });
}

function mayContainSlash(nodes: readonly GlobNode[]): boolean {
  return nodes.some((node) => {
    switch (node.kind) {
      case 'literal':
        return node.text.includes('/');
      case 'globstar':
        return true;
      case 'alternation':
        return node.branches.some(mayContainSlash);
      default:
        return false;
    }
  });
}

function literalPrefix(nodes: readonly GlobNode[]): string {
  let prefix = '';
  for (const node of nodes) {
    if (node.kind !== 'literal') break;
    prefix += node.text;
  }
  return prefix;
}

/** Number of keys a wildcard-free sequence expands to, saturating at `cap`. */
function countKeys(nodes: readonly GlobNode[], cap: bigint): bigint {
  let total = 1n;
  for (const node of nodes) {
    let count = 1n;
    if (node.kind === 'range')
      count = (node.from <= node.to ? node.to - node.from : node.from - node.to) + 1n;
    else if (node.kind === 'alternation') {
      count = 0n;
      for (const branch of node.branches) count += countKeys(branch, cap);
    }
    total *= count;
    if (total > cap) return cap;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------------------
// Enumeration

function expandSequence(nodes: readonly GlobNode[]): string[] {
  let keys = [''];
  for (const node of nodes) {
    const parts = expandNode(node);
    const next: string[] = [];
    for (const key of keys) for (const part of parts) next.push(key + part);
    keys = next;
  }
  return keys;
}

function expandNode(node: GlobNode): string[] {
  switch (node.kind) {
    case 'literal':
      return [node.text];
    case 'alternation':
      return node.branches.flatMap(expandSequence);
    case 'range': {
      const step = node.from <= node.to ? 1n : -1n;
      const values: string[] = [];
      for (let value = node.from; ; value += step) {
        values.push(value.toString().padStart(node.width, '0'));
        if (value === node.to) break;
      }
      return values;
    }
    default:
      throw new Error(`glob node '${node.kind}' cannot be enumerated`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Regex generation

function nodesToRegex(nodes: readonly GlobNode[]): string {
  return nodes.map(nodeToRegex).join('');
}

function nodeToRegex(node: GlobNode): string {
  switch (node.kind) {
    case 'literal':
      return escapeRegex(node.text);
    case 'star':
      return '[^/]*';
    case 'globstar':
      return '[\\s\\S]*';
    case 'any-char':
      return '[^/]';
    case 'alternation':
      return `(?:${node.branches.map(nodesToRegex).join('|')})`;
    case 'range':
      return `(?:${rangeRegex(node)})`;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Regex for the decimal numbers of a range as written: fixed width when padded, no leading zeros otherwise. */
function rangeRegex(node: { from: bigint; to: bigint; width: number }): string {
  const low = node.from <= node.to ? node.from : node.to;
  const high = node.from <= node.to ? node.to : node.from;
  if (node.width > 0) {
    const width = Math.max(node.width, high.toString().length);
    return equalWidthRange(low.toString().padStart(width, '0'), high.toString().padStart(width, '0'));
  }
  // Unpadded: split by digit count; numbers of one length form an equal-width range without leading zeros.
  const alternatives: string[] = [];
  const lowDigits = low.toString().length;
  const highDigits = high.toString().length;
  for (let digits = lowDigits; digits <= highDigits; digits += 1) {
    const start = digits === lowDigits ? low.toString() : `1${'0'.repeat(digits - 1)}`;
    const end = digits === highDigits ? high.toString() : '9'.repeat(digits);
    alternatives.push(equalWidthRange(start, end));
  }
  return alternatives.join('|');
}

/** Regex for every digit string of the same length between `low` and `high` inclusive (low ≤ high). */
function equalWidthRange(low: string, high: string): string {
  if (low.length === 0) return '';
  if (low === high) return low;
  const lowHead = Number(low.charAt(0));
  const highHead = Number(high.charAt(0));
  const lowRest = low.slice(1);
  const highRest = high.slice(1);
  if (lowHead === highHead) return `${lowHead}(?:${equalWidthRange(lowRest, highRest)})`;
  const restLength = lowRest.length;
  const anyRest = restLength === 0 ? '' : `\\d{${restLength}}`;
  const lowIsFull = /^0*$/.test(lowRest);
  const highIsFull = /^9*$/.test(highRest);
  const alternatives: string[] = [];
  const middleFrom = lowIsFull ? lowHead : lowHead + 1;
  const middleTo = highIsFull ? highHead : highHead - 1;
  if (!lowIsFull) alternatives.push(`${lowHead}(?:${equalWidthRange(lowRest, '9'.repeat(restLength))})`);
  if (middleFrom <= middleTo) alternatives.push(`${digitClass(middleFrom, middleTo)}${anyRest}`);
  if (!highIsFull) alternatives.push(`${highHead}(?:${equalWidthRange('0'.repeat(restLength), highRest)})`);
  return alternatives.join('|');
}

function digitClass(from: number, to: number): string {
  if (from === to) return String(from);
  if (from === 0 && to === 9) return '\\d';
  return `[${from}-${to}]`;
}
