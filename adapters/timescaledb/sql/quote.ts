/**
 * Quoting for PostgreSQL SQL. Every identifier and literal the TimescaleDB adapter puts into SQL text goes through
 * here (values that can travel as bind parameters do so instead).
 */

/** `name` → `"name"` with embedded quotes doubled. Works for any name (dots, quotes, spaces, upper case). */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('empty SQL identifier');
  if (name.includes('\0')) throw new Error(`identifier contains a NUL byte: ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"` */
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** A standard-conforming string literal: `'it''s'` (backslashes are ordinary characters). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('string literal contains a NUL byte');
  return `'${value.replace(/'/g, "''")}'`;
}

/** `'value'::type` where `type` is a type name as the catalog's format_type prints it (checked, not quoted). */
export function typedLiteral(value: string, type: string): string {
  return `${quoteLiteral(value)}::${checkedTypeName(type)}`;
}

const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_ ."]*(\(\d+(,\s*\d+)?\))?( with(out)? time zone)?(\[\])*$/;

/** A type name from the catalog (`timestamp with time zone`, `numeric(12,2)`, `"MyType"[]`), refused if odd. */
export function checkedTypeName(type: string): string {
  if (!TYPE_NAME.test(type)) throw new Error(`unexpected SQL type name: ${JSON.stringify(type)}`);
  return type;
}

/** A bigint or safe integer as SQL text. */
export function intLiteral(value: bigint | number): string {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}
