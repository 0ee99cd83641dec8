/**
 * checkSchema for TimescaleDB: which source (Parquet) columns cannot be loaded into the hypertable's columns.
 * One line per problem naming the column and the fix; the phrase "the source" is replaced by the engine with the
 * object's URI. Narrowing (INT64 → integer, DECIMAL → numeric(p,s)) is allowed: values that do not fit fail at
 * load time with the object, column and row group named.
 */
import type { TargetDescription } from '../../src/adapter/contract.ts';
import type { SourceColumn, ValueType } from '../../src/source/types.ts';
import type { Hypertable } from './introspect.ts';
import type { TimescaleOptions } from './options.ts';
import { classifyType, type PgTypeInfo } from './pg-types.ts';
import { chooseConflictIndex } from './statements.ts';

const TEXT_INTO_NUMBER =
  'text would have to parse as a number for every row (convert it in the source, or make the column text)';

/** undefined when `source` loads into `target`, else the reason it cannot. */
export function incompatibility(source: ValueType, target: PgTypeInfo): string | undefined {
  if (source.kind === 'unsupported') return `shadowfill cannot read this Parquet type (${source.detail})`;
  const k = source.kind;
  const ok = (...kinds: ValueType['kind'][]) => (kinds.includes(k) ? undefined : 'no conversion exists');
  switch (target.kind) {
    case 'text':
      return undefined;
    case 'json':
      return ok(
        'string',
        'json',
        'struct',
        'map',
        'list',
        'int',
        'float',
        'decimal',
        'boolean',
        'binary',
        'uuid',
        'date',
        'timestamp',
      );
    case 'boolean':
      if (k === 'string') return TEXT_INTO_NUMBER;
      return ok('boolean', 'int');
    case 'int2':
    case 'int4':
    case 'int8':
      if (k === 'decimal')
        return source.scale === 0 ? undefined : `DECIMAL with scale ${source.scale} would lose its fraction`;
      if (k === 'float') return 'floating-point values would lose their fraction';
      if (k === 'string') return TEXT_INTO_NUMBER;
      return ok('int', 'boolean');
    case 'float':
    case 'numeric':
      if (k === 'string') return TEXT_INTO_NUMBER;
      return ok('int', 'float', 'decimal');
    case 'timestamptz':
    case 'timestamp':
      if (k === 'int')
        return 'an integer without a TIMESTAMP annotation has no unit (seconds? milliseconds?)';
      return ok('timestamp', 'date', 'string');
    case 'date':
      if (k === 'int') return 'an integer without a DATE annotation is not a date';
      return ok('date', 'timestamp', 'string');
    case 'time':
      return ok('time', 'string');
    case 'bytea':
      return ok('binary', 'string', 'uuid');
    case 'uuid':
      return ok('uuid', 'string', 'binary');
    case 'array':
      if (k === 'string') return undefined;
      if (k !== 'list') return 'only a Parquet LIST loads into an array column';
      return source.element.kind === 'unsupported'
        ? `its elements cannot be read (${source.element.detail})`
        : incompatibility(source.element, target.element ?? classifyType('text'));
    case 'interval':
    case 'other':
      return ok('string', 'json');
  }
}

export function checkSchema(
  target: TargetDescription,
  columns: readonly SourceColumn[],
  ht: Hypertable | undefined,
  options: TimescaleOptions,
): string[] {
  const table = `${target.table.database}.${target.table.name}`;
  const problems: string[] = [];
  const generated = new Set(ht?.columns.filter((c) => c.generated).map((c) => c.name) ?? []);
  const matched = new Set<string>();
  for (const source of columns) {
    const exact = target.table.columns.find((c) => c.name === source.name);
    const folded = target.table.columns.filter((c) => c.name.toLowerCase() === source.name.toLowerCase());
    const column = exact ?? (folded.length === 1 ? folded[0] : undefined);
    if (!column) {
      problems.push(
        `column "${source.name}" of the source has no column in ${table}: add it (ALTER TABLE ${table} ADD COLUMN …) or remove it from the source objects`,
      );
      continue;
    }
    matched.add(column.name);
    if (generated.has(column.name)) {
      problems.push(
        `column "${source.name}" of the source would be ignored because ${table}."${column.name}" is a generated column: remove it from the source objects`,
      );
      continue;
    }
    const reason = incompatibility(source.type, classifyType(column.type));
    if (reason) {
      problems.push(
        `column "${source.name}" of the source is ${source.parquetType} but ${table}."${column.name}" is ${column.type}: ${reason} — change the column type or convert the source`,
      );
    }
  }
  for (const column of target.table.columns) {
    if (!matched.has(column.name) && !column.nullable && !column.hasDefault) {
      problems.push(
        `column "${column.name}" of ${table} is NOT NULL without a default and the source has no such column: add it to the source objects or give the column a default`,
      );
    }
  }
  if (ht && options.onConflict === 'update') {
    const index = chooseConflictIndex(ht, options);
    if (!index) {
      const known = ht.uniqueIndexes.map((i) => `${i.name} (${i.columns.join(', ')})`).join('; ') || 'none';
      problems.push(
        options.conflictColumns
          ? `on_conflict: update matches no unique index of ${table} on (${options.conflictColumns.join(', ')}) — unique indexes: ${known}; fix conflict_columns`
          : `on_conflict: update needs one unique index of ${table} to match (unique indexes: ${known}): create one or set conflict_columns`,
      );
    }
    for (const name of options.updateColumns ?? []) {
      if (!ht.columns.some((c) => c.name === name)) {
        problems.push(
          `update_columns names "${name}", which is not a column of ${table}: fix update_columns`,
        );
      }
    }
  }
  if (ht && options.conflictColumns && options.onConflict !== 'update' && !chooseConflictIndex(ht, options)) {
    problems.push(
      `conflict_columns (${options.conflictColumns.join(', ')}) match no unique index of ${table}: fix conflict_columns`,
    );
  }
  return problems;
}
