/**
 * Can the source's Parquet columns be inserted into the live table? Checks, by column name: every table
 * column without a default exists in the source, every source column exists in the table, and each pair's
 * types convert (ClickHouse casts Parquet values on insert; some pairs cannot be cast at all).
 */
import type { TargetColumn, TargetTable } from '../../src/adapter/contract.ts';
import type { SourceColumn, ValueType } from '../../src/source/types.ts';

/** Strips Nullable(…) and LowCardinality(…) wrappers. */
export function baseType(type: string): string {
  let t = type.trim();
  for (;;) {
    const m = /^(Nullable|LowCardinality)\((.*)\)$/.exec(t);
    if (!m) return t;
    t = m[2]!.trim();
  }
}

function family(type: string): string {
  const m = /^([A-Za-z0-9]+)/.exec(type);
  return m?.[1] ?? type;
}

const NUMERIC = /^(U?Int(8|16|32|64|128|256)|Float(32|64)|Decimal(32|64|128|256)?|Bool|BFloat16)$/;
const TEMPORAL = /^(Date|Date32|DateTime|DateTime64|Time|Time64)$/;
const TEXT = /^(String|FixedString|Enum8|Enum16|Enum|UUID|IPv4|IPv6|JSON|Object)$/;

/** Whether a source value of type `source` can be inserted into a column of ClickHouse type `target`. */
export function convertible(source: ValueType, target: string): boolean {
  const base = baseType(target);
  const fam = family(base);
  switch (source.kind) {
    case 'boolean':
    case 'int':
    case 'float':
    case 'decimal':
      return NUMERIC.test(fam) || fam === 'String' || (source.kind === 'int' && TEMPORAL.test(fam));
    case 'string':
    case 'json':
      return TEXT.test(fam) || TEMPORAL.test(fam) || NUMERIC.test(fam);
    case 'binary':
    case 'uuid':
      return fam === 'String' || fam === 'FixedString' || fam === 'UUID';
    case 'date':
    case 'timestamp':
      return TEMPORAL.test(fam) || fam === 'String' || /^U?Int(32|64)$/.test(fam);
    case 'time':
      return /^(Time|Time64|String|U?Int(32|64))$/.test(fam);
    case 'list': {
      const m = /^Array\((.*)\)$/.exec(base);
      return m ? convertible(source.element, m[1]!) : false;
    }
    case 'map':
      return fam === 'Map' || fam === 'JSON';
    case 'struct':
      return fam === 'Tuple' || fam === 'JSON';
    case 'unsupported':
      return false;
  }
}

/** One line per problem, naming column, object and fix; empty when the source loads as it is. */
export function schemaProblems(
  table: TargetTable,
  columns: readonly SourceColumn[],
  objectUri: string,
): string[] {
  const problems: string[] = [];
  const byName = new Map(columns.map((c) => [c.name, c]));
  const tableByName = new Map<string, TargetColumn>(table.columns.map((c) => [c.name, c]));
  for (const col of table.columns) {
    if (col.hasDefault) continue;
    if (!byName.has(col.name)) {
      problems.push(
        `column ${col.name} (${col.type}) of ${table.database}.${table.name} is missing from ${objectUri} — ` +
          `add it to the export or give the column a DEFAULT`,
      );
    }
  }
  for (const src of columns) {
    const col = tableByName.get(src.name);
    if (!col) {
      problems.push(
        `column ${src.name} (${src.parquetType}) of ${objectUri} has no column in ${table.database}.${table.name} — ` +
          `add the column to the table or drop it from the export`,
      );
      continue;
    }
    if (!convertible(src.type, col.type)) {
      problems.push(
        `column ${src.name} is ${src.parquetType} in ${objectUri} but ${col.type} in ${table.database}.${table.name}, ` +
          `which ClickHouse cannot cast — change the column type or the export`,
      );
    }
  }
  return problems;
}
