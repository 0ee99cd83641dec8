/**
 * Field builders for the configuration schema (src/config/schema.ts) and the adapters' option sections. A field
 * is a zod schema that takes any value as written in a file, a flag or an environment variable, and either returns
 * the typed value or refuses it with the fix (`use a whole number ≥ 1 (objects per batch)`); the loader turns a
 * refusal into one line naming the field and where its value came from (src/config/messages.ts).
 *
 * Each field also carries its documentation (JSON Schema fragment, title, description, default), read by
 * `shadowfill config schema`, by `--help` and by "missing field" messages: a field and its default are written
 * once, here or in the section that uses these builders.
 */
import { z } from 'zod';
import { parseBytes } from './bytes.ts';

/** A JSON Schema fragment describing a value as written in a file. */
export type JsonFragment = Readonly<Record<string, unknown>>;

export interface FieldDoc {
  /** JSON Schema of the value as written in a file. */
  readonly json: JsonFragment;
  /** Short noun phrase for "missing" messages: `the live table to backfill`. */
  readonly title?: string;
  /** One or two sentences for `--help` and the JSON Schema. */
  readonly description?: string;
  /** The default, as it would be written in a file (`15GiB`), applied when the field is unset. */
  readonly default?: string | number | boolean;
  readonly required?: boolean;
  /** Placeholder of the CLI flag's value: `--batch.files <n>`. */
  readonly placeholder?: string;
}

/** Documentation of every field schema built here. */
export const fieldDocs = new WeakMap<z.ZodType, FieldDoc>();

/**
 * A value the field refuses. `style`:
 * - `value`: `fix` says what to write instead (`use server or client`);
 * - `type`: `fix` names what is expected (`text`), for values of the wrong shape (a list, a mapping);
 * - `whole`: `fix` is the whole message; `{path}`, `{where}` and `{value}` are filled in;
 * - `missing`: the value is as good as unset (blank text); `fix` is the field's title.
 */
export class FieldProblem extends Error {
  constructor(
    readonly fix: string,
    readonly style: 'value' | 'type' | 'whole' | 'missing' = 'value',
  ) {
    super(fix);
    this.name = 'FieldProblem';
  }
}

/** Issue parameters the message formatter reads. */
export interface IssueParams {
  readonly style?: 'value' | 'type' | 'whole' | 'missing';
}

export interface FieldSpec<T> extends Omit<FieldDoc, 'json'> {
  readonly json: JsonFragment;
  /** The value as written → the typed value; throws FieldProblem. Never sees `undefined`. */
  readonly parse: (value: unknown) => T;
}

export type Field<T> = z.ZodPipe<z.ZodOptional<z.ZodUnknown>, z.ZodTransform<T, unknown>>;

/** A field: optional unless `required`; an unset field takes `default` (parsed like a written value). */
export function field<T>(spec: FieldSpec<T> & { readonly required: true }): Field<T>;
export function field<T>(spec: FieldSpec<T> & { readonly default: string | number | boolean }): Field<T>;
export function field<T>(spec: FieldSpec<T>): Field<T | undefined>;
export function field<T>(spec: FieldSpec<T>): Field<T | undefined> {
  const schema = z
    .unknown()
    .optional()
    .transform((written, ctx): T | undefined => {
      let value: unknown = written;
      if (value === undefined) {
        if (spec.default !== undefined) value = spec.default;
        else if (spec.required) {
          ctx.addIssue({ code: 'custom', message: spec.title ?? '', params: { style: 'missing' } });
          return z.NEVER;
        } else return undefined;
      }
      try {
        return spec.parse(value);
      } catch (error) {
        if (!(error instanceof FieldProblem)) throw error;
        ctx.addIssue({ code: 'custom', message: error.fix, input: value, params: { style: error.style } });
        return z.NEVER;
      }
    });
  const { parse: _parse, ...doc } = spec;
  fieldDocs.set(schema, doc);
  return schema;
}

// ---------------------------------------------------------------------------------------------------------
// Value parsers, shared by the fields below and by adapters' option sections

function isScalar(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

/** Text; numbers (`table: 2024`) read as their text. */
export function readText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new FieldProblem('text', 'type');
}

const WHOLE = /^\s*-?\d+\s*$/;
const DECIMAL = /^\s*-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\s*$/i;

export function readWholeNumber(value: unknown, min: number, meaning: string): number {
  const n = typeof value === 'string' && WHOLE.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= min) return n;
  throw new FieldProblem(`use a whole number ≥ ${min} (${meaning})`);
}

export function readNumber(value: unknown, min: number, meaning: string): number {
  const n = typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value;
  if (typeof n === 'number' && Number.isFinite(n) && n >= min) return n;
  throw new FieldProblem(`use a number ≥ ${min} (${meaning})`);
}

/** The one byte-size reading of the configuration: `15GB`, `10Gi`, `10GiB`, `512 MiB`, `1e9`, 1073741824. */
export function readBytes(value: unknown, min: number): number {
  const fix = `use a size${min > 0 ? ` ≥ ${min} byte${min === 1 ? '' : 's'}` : ''} like 15GB, 10GiB, 512MiB or 1e9`;
  if (!isScalar(value)) throw new FieldProblem(fix);
  let bytes: number;
  try {
    bytes = parseBytes(value);
  } catch (error) {
    throw new FieldProblem(/too large/.test((error as Error).message) ? 'use at most 8 PiB' : fix);
  }
  if (bytes < min) throw new FieldProblem(fix);
  return bytes;
}

export function readOneOf<T extends string>(value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new FieldProblem(`use ${allowed.join(' or ')}`);
}

export function readSwitch(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new FieldProblem('use true or false');
}

/** A list of names, or one comma-separated text (`a, b`). */
export function readNameList(value: unknown, example: string): string[] {
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (
    Array.isArray(list) &&
    list.length > 0 &&
    list.every((name) => typeof name === 'string' && name.trim().length > 0)
  ) {
    return (list as string[]).map((name) => name.trim());
  }
  throw new FieldProblem(`use a list of names, e.g. ${example}`);
}

// ---------------------------------------------------------------------------------------------------------
// Fields

type Doc = Omit<FieldDoc, 'json'>;

export const BYTES_JSON: JsonFragment = {
  anyOf: [
    { type: 'integer', minimum: 0 },
    { type: 'string', pattern: '^\\s*[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]+)?\\s*([kKmMgGtTpP][iI]?)?[bB]?$' },
  ],
};

export function textField(doc: Doc & { readonly required: true }): Field<string>;
export function textField(doc?: Doc): Field<string | undefined>;
export function textField(doc: Doc = {}): Field<string | undefined> {
  return field({
    ...doc,
    json: { type: 'string' },
    parse: (value) => {
      const text = readText(value);
      if (doc.required && text.trim() === '') throw new FieldProblem(doc.title ?? '', 'missing');
      return text;
    },
  });
}

export function oneOfField<T extends string>(
  allowed: readonly T[],
  doc: Doc & ({ readonly required: true } | { readonly default: T }),
): Field<T>;
export function oneOfField<T extends string>(allowed: readonly T[], doc?: Doc): Field<T | undefined>;
export function oneOfField<T extends string>(allowed: readonly T[], doc: Doc = {}): Field<T | undefined> {
  return field({
    placeholder: allowed.join('|'),
    ...doc,
    json: { type: 'string', enum: [...allowed] },
    parse: (value) => readOneOf(value, allowed),
  });
}

export function wholeNumberField(
  min: number,
  meaning: string,
  doc: Doc & { readonly default: number },
): Field<number> {
  return field({
    placeholder: 'n',
    ...doc,
    json: { type: 'integer', minimum: min },
    parse: (value) => readWholeNumber(value, min, meaning),
  });
}

export function numberField(
  min: number,
  meaning: string,
  doc: Doc & { readonly default: number },
): Field<number> {
  return field({
    placeholder: 'x',
    ...doc,
    json: { type: 'number', minimum: min },
    parse: (value) => readNumber(value, min, meaning),
  });
}

export function bytesField(min: number, doc: Doc & { readonly default: string | number }): Field<number> {
  return field({ placeholder: 'size', ...doc, json: BYTES_JSON, parse: (value) => readBytes(value, min) });
}

export function switchField(doc: Doc & { readonly default: boolean }): Field<boolean> {
  return field({ placeholder: 'true|false', ...doc, json: { type: 'boolean' }, parse: readSwitch });
}

export function nameListField(example: string, doc: Doc = {}): Field<string[] | undefined> {
  return field({
    placeholder: 'a,b',
    ...doc,
    json: {
      anyOf: [
        { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
        { type: 'string', description: 'comma-separated' },
      ],
    },
    parse: (value) => readNameList(value, example),
  });
}
