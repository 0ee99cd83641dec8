/**
 * Configuration problems as one line each: the field, where its value came from (the file, a flag, an environment
 * variable, or code), and the fix. Secret values never appear; URLs are shown with their passwords masked.
 */
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { IssueParams } from './fields.ts';

/** Where a value was set. */
export type Origin =
  | { readonly kind: 'file'; readonly name: string }
  /** `name`: the flag as given (`--sourse.url`); `parts`: its dotted path, normalised. */
  | { readonly kind: 'flag'; readonly name: string; readonly parts: readonly string[] }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'code'; readonly name: string };

export function where(origin: Origin): string {
  switch (origin.kind) {
    case 'file':
    case 'code':
      return `in ${origin.name}`;
    case 'flag':
      return `from ${origin.name}`;
    case 'env':
      return `from $${origin.name}`;
  }
}

/** `postgres://u:secret@h/db?password=x` → `postgres://u:***@h/db?password=***`. */
export function redactUrl(url: string): string {
  return url
    .replace(/(\/\/[^/@:]*:)[^@/]*@/, '$1***@')
    .replace(/([?&][^=&]*(?:pass|pwd|secret|token|key)[^=&]*=)[^&]*/gi, '$1***');
}

/** Field names whose values are never printed. */
export const SECRET_NAME = /pass|secret|token|key|credential/i;

/** A value for a message: secrets never, URLs redacted, long text cut. */
export function shown(path: string, value: unknown): string {
  if (SECRET_NAME.test(path.split('.').pop() ?? '')) return '(hidden)';
  const text = typeof value === 'string' ? redactUrl(value) : (JSON.stringify(value) ?? String(value));
  return `\`${text.length > 60 ? `${text.slice(0, 57)}...` : text}\``;
}

export function typeName(value: unknown): string {
  return Array.isArray(value)
    ? 'list'
    : value === null
      ? 'null'
      : typeof value === 'object'
        ? 'mapping'
        : typeof value;
}

/** Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.MAX_SAFE_INTEGER;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      (rows[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The known name closest to `word` (ignoring case, `_` and `-`), if it is close enough to be a typo. */
export function closest(word: string, known: readonly string[]): string | undefined {
  const plain = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  const exact = known.find((k) => plain(k) === plain(word));
  if (exact) return exact;
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(plain(word), plain(name));
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(word.length / 3)) ? best.name : undefined;
}

export interface IssueContext {
  /** Where the value at `path` (or its nearest parent) came from. */
  origin(path: readonly string[]): Origin | undefined;
  /** Keys of the section at `path` (for unknown-key suggestions). */
  knownKeys(path: readonly string[]): readonly string[];
  /** The value at `path` as written (for rules that span fields). */
  value(path: readonly string[]): unknown;
  /** Environment variables that could set the field. */
  envFor(path: string): readonly string[];
  /** The config file's name, when there is one. */
  readonly fileName: string | undefined;
}

function unknownKey(
  parent: readonly string[],
  key: string,
  known: readonly string[],
  origin: Origin | undefined,
): ConfigError {
  const guess = closest(key, known);
  if (origin?.kind === 'flag') {
    // `--sourse.url`: the unknown part is `sourse`; keep what follows it in the suggestion.
    const rest = origin.parts.slice(parent.length + 1);
    const full = [...parent, key, ...rest].join('.');
    const fix = guess
      ? `did you mean \`--${[...parent, guess, ...rest].join('.')}\`?`
      : `known: ${known.map((k) => `--${[...parent, k].join('.')}`).join(', ')}`;
    return new ConfigError(`unknown flag \`--${full}\` — ${fix}`);
  }
  const full = [...parent, key].join('.');
  const fix = guess
    ? `did you mean \`${[...parent, guess].join('.')}\`?`
    : known.length === 0
      ? `remove it (\`${parent.join('.')}\` takes no keys)`
      : `remove it (known keys: ${known.join(', ')})`;
  return new ConfigError(`unknown key \`${full}\`${origin ? ` ${where(origin)}` : ''} — ${fix}`);
}

function missing(path: string, title: string, context: IssueContext): ConfigError {
  const origin = context.origin(path.split('.'));
  if (origin?.kind === 'code') {
    return new ConfigError(`missing \`${path}\`${title ? ` (${title})` : ''} — set it ${where(origin)}`);
  }
  const ways = [
    context.fileName ? `set ${path} in ${context.fileName}` : `set ${path} in a config file`,
    `pass --${path}`,
    ...context.envFor(path).map((name) => `set ${name}`),
  ];
  const fix = `${ways.slice(0, -1).join(', ')} or ${ways[ways.length - 1] ?? ''}`;
  return new ConfigError(`missing \`${path}\`${title ? ` (${title})` : ''} — ${fix}`);
}

const ORDER: Readonly<Record<string, number>> = { unrecognized_keys: 0 };

/** The issue to report first: unknown keys (typos explain the rest), then schema order. */
export function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue | undefined {
  return [...issues].sort((a, b) => (ORDER[a.code] ?? 1) - (ORDER[b.code] ?? 1))[0];
}

/** One zod issue → one line. */
export function issueToError(issue: z.core.$ZodIssue, context: IssueContext): ConfigError {
  const pathParts = issue.path.map(String);
  const path = pathParts.join('.');
  const origin = context.origin(pathParts);
  const at = origin ? ` ${where(origin)}` : '';
  const input = (issue as { input?: unknown }).input;

  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    return unknownKey(pathParts, key, context.knownKeys(pathParts), context.origin([...pathParts, key]));
  }
  if (issue.code === 'invalid_type') {
    if (input === undefined) return missing(path, '', context);
    if (issue.expected === 'object' || issue.expected === 'record') {
      return new ConfigError(`\`${path}\`${at} must be a mapping (${path}: { … }), not a ${typeName(input)}`);
    }
    return new ConfigError(`\`${path}\`${at} must be a ${issue.expected}, not a ${typeName(input)}`);
  }
  if (issue.code === 'custom') {
    const style = (issue.params as IssueParams | undefined)?.style ?? 'value';
    switch (style) {
      case 'missing':
        return missing(path, issue.message, context);
      case 'type':
        if (origin?.kind === 'flag' && input === true)
          return new ConfigError(`flag ${origin.name} needs a value`);
        return new ConfigError(`\`${path}\`${at} must be ${issue.message}, not a ${typeName(input)}`);
      case 'whole':
        return new ConfigError(
          issue.message
            .replace(/\{path\}/g, path)
            .replace(/ ?\{where\}/g, at)
            .replace(/\{value\}/g, shown(path, context.value(pathParts))),
        );
      case 'value':
        if (origin?.kind === 'flag' && input === true)
          return new ConfigError(`flag ${origin.name} needs a value`);
        return new ConfigError(`\`${path}\` is ${shown(path, input)}${at} — ${issue.message}`);
    }
  }
  return new ConfigError(`\`${path || 'configuration'}\`${at}: ${issue.message}`);
}
