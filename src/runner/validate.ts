/**
 * Validation before anything is created: the glob matches objects, every object's Parquet footer is readable
 * and has the same columns as the first, and those columns load into the live table. Reads footers only
 * (two small ranged reads per object, several objects at a time).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { TargetAdapter, TargetDescription } from '../adapter/contract.ts';
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
  const first = schemas[0]!;
  for (const schema of schemas.slice(1)) {
    const difference = schemaDifference(first, schema);
    if (difference) {
      throw new SchemaMismatchError(
        `${schema.object.uri} ${difference} than ${first.object.uri} — export every object with the same columns, or narrow source.url`,
      );
    }
  }
  const problems = adapter.checkSchema(target, first.columns);
  if (problems.length > 0) {
    const more =
      problems.length > 1
        ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`
        : '';
    throw new SchemaMismatchError(`${problems[0]!.replace('the source', first.object.uri)}${more}`);
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

function schemaDifference(a: SourceSchema, b: SourceSchema): string | undefined {
  const names = (s: SourceSchema) => s.columns.map((c) => c.name);
  const missing = names(a).filter((n) => !names(b).includes(n));
  const extra = names(b).filter((n) => !names(a).includes(n));
  if (missing.length) return `lacks column ${missing.join(', ')}`;
  if (extra.length) return `has extra column ${extra.join(', ')}`;
  for (const col of a.columns) {
    const other = b.columns.find((c) => c.name === col.name)!;
    if (JSON.stringify(other.type) !== JSON.stringify(col.type)) {
      return `has column ${col.name} as ${other.parquetType}, not ${col.parquetType},`;
    }
  }
  return undefined;
}
