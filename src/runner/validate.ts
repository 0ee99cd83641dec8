/**
 * Validation before anything is created: the glob matches objects, every object's Parquet footer is readable,
 * every object's columns load into the live table (each object is compared with the table, and messages say
 * what the table has and what the object has), all objects have the same columns, and — where the adapter can
 * read the source itself — no value would fail or change in the cast into the table's column types. Reads
 * footers (two small ranged reads per object, several objects at a time), and for risky casts only, the
 * columns concerned.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SourceProbe, TargetAdapter, TargetDescription } from '../adapter/contract.ts';
import { SchemaMismatchError } from '../errors.ts';
import { mergeColumnRanges, readSourceSchema } from '../parquet/schema.ts';
import { s3AsyncBuffer } from '../source/range-reader.ts';
import type { ColumnRange, SourceColumn, SourceObject, SourceSchema } from '../source/types.ts';
import { mapLimit } from './concurrency.ts';

export interface ValidatedSource {
  readonly columns: readonly SourceColumn[];
  readonly objectRows: Record<string, number>;
  readonly totalRows: number;
  /** Per column: smallest and largest value over every object, from the footers' statistics. */
  readonly ranges: Readonly<Record<string, ColumnRange>>;
}

const FOOTER_CONCURRENCY = 8;

export async function validateSource(
  client: S3Client,
  objects: readonly SourceObject[],
  adapter: TargetAdapter,
  target: TargetDescription,
): Promise<ValidatedSource> {
  const schemas = await mapLimit(objects, FOOTER_CONCURRENCY, (object) =>
    readSourceSchema(s3AsyncBuffer(client, object), object),
  );
  const table = `${target.table.database}.${target.table.name}`;
  // Each distinct set of columns is checked against the table, in the words of the object that has it.
  const distinct = new Map<string, SourceSchema>();
  for (const schema of schemas) {
    const key = JSON.stringify(schema.columns.map((c) => [c.name, c.type]));
    if (!distinct.has(key)) distinct.set(key, schema);
  }
  for (const schema of distinct.values()) {
    const problems = adapter.checkSchema(target, schema.columns);
    if (problems.length > 0) {
      const more =
        problems.length > 1
          ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`
          : '';
      throw new SchemaMismatchError(`${problems[0]!.split('the source').join(schema.object.uri)}${more}`);
    }
  }
  // Every object loads on its own; they must also agree, since one load reads them all alike.
  const first = schemas[0]!;
  for (const schema of distinct.values()) {
    const difference = schemaDifference(first, schema, table, target);
    if (difference) throw new SchemaMismatchError(difference);
  }
  const objectRows: Record<string, number> = {};
  let totalRows = 0;
  for (const s of schemas) {
    objectRows[s.object.key] = s.numRows;
    totalRows += s.numRows;
  }
  return {
    columns: first.columns,
    objectRows,
    totalRows,
    ranges: mergeColumnRanges(schemas.map((s) => s.ranges)),
  };
}

/** Where the adapter can read the source itself: no value fails or changes in the cast into the table. */
export async function probeSourceValues(adapter: TargetAdapter, probe: SourceProbe): Promise<void> {
  if (!adapter.probeSource) return;
  const problems = await adapter.probeSource(probe);
  if (problems.length > 0) {
    const more =
      problems.length > 1 ? ` (and ${problems.length - 1} more column${problems.length > 2 ? 's' : ''})` : '';
    throw new SchemaMismatchError(`${problems[0]!}${more}`);
  }
}

/**
 * How `b` differs from `a` (both load into the table on their own), naming what the table has and what each
 * object has; undefined when they have the same columns and types.
 */
function schemaDifference(
  a: SourceSchema,
  b: SourceSchema,
  table: string,
  target: TargetDescription,
): string | undefined {
  const fix = 'export every object with the same columns and types, or narrow source.url';
  const names = (s: SourceSchema) => s.columns.map((c) => c.name);
  const tableColumn = (name: string) => {
    const c = target.table.columns.find((t) => t.name === name);
    return c ? `${table} has ${name} ${c.type}${c.hasDefault ? ' with a default' : ''}` : undefined;
  };
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    const missing = names(x).filter((n) => !names(y).includes(n));
    if (missing.length > 0) {
      const column = missing[0]!;
      return (
        `${y.object.uri} has no column ${column}, which ${x.object.uri} has` +
        `${missing.length > 1 ? ` (also ${missing.slice(1).join(', ')})` : ''}; ` +
        `${tableColumn(column) ?? `${table} has no column ${column}`} — ${fix}`
      );
    }
  }
  for (const col of a.columns) {
    const other = b.columns.find((c) => c.name === col.name)!;
    if (JSON.stringify(other.type) !== JSON.stringify(col.type)) {
      return (
        `column ${col.name} is ${other.parquetType} in ${b.object.uri} but ${col.parquetType} in ${a.object.uri}; ` +
        `${tableColumn(col.name) ?? `${table} has no column ${col.name}`} — ${fix}`
      );
    }
  }
  return undefined;
}
