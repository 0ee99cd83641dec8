/**
 * The source schema of a Parquet object: reads only the footer and maps every top-level column to a neutral
 * ValueType (physical type + logical/converted annotation), with readable `parquetType` text for messages.
 * Types are claimed only for shapes the row reader (rows.ts) decodes correctly; anything else is `unsupported`.
 */
import { parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, SchemaElement, SchemaTree } from 'hyparquet';
import type { ColumnRange, SourceColumn, SourceObject, SourceSchema, ValueType } from '../source/types.ts';
import { readFooter } from './footer.ts';

/** Reads the object's footer and describes its columns. Throws SourceError(SOURCE_CORRUPT) for non-Parquet. */
export async function readSourceSchema(buffer: AsyncBuffer, object: SourceObject): Promise<SourceSchema> {
  const metadata = await readFooter(buffer, object);
  return describeSchema(metadata, object);
}

/** The SourceSchema of an already-read footer. */
export function describeSchema(metadata: FileMetaData, object: SourceObject): SourceSchema {
  const root = parquetSchema(metadata);
  return {
    object,
    columns: root.children.map(describeTopLevel),
    numRows: Number(metadata.num_rows),
    rowGroups: metadata.row_groups.length,
    ranges: columnRanges(metadata),
  };
}

/**
 * Per top-level primitive column: the smallest and largest value over the object, from the row groups' column
 * statistics (`min_value`/`max_value`, else the deprecated `min`/`max`). Only times, dates and numbers; a column
 * is left out when any row group lacks its statistics (then nothing bounds it). Decimals are left out (hyparquet
 * turns their statistics into floats).
 */
export function columnRanges(metadata: FileMetaData): Record<string, ColumnRange> {
  const found = new Map<
    string,
    { kind: ColumnRange['kind']; min: number | bigint; max: number | bigint } | null
  >();
  for (const group of metadata.row_groups) {
    const seen = new Set<string>();
    for (const column of group.columns) {
      const meta = column.meta_data;
      const path = meta?.path_in_schema ?? [];
      if (path.length !== 1) continue;
      const name = path[0]!;
      seen.add(name);
      if (found.get(name) === null) continue;
      const stats = meta?.statistics;
      const min = bound(stats?.min_value ?? stats?.min);
      const max = bound(stats?.max_value ?? stats?.max);
      const decimal = metadata.schema.some((e) => e.name === name && e.converted_type === 'DECIMAL');
      if (!min || !max || min.kind !== max.kind || decimal || (meta?.num_values ?? 0n) === 0n) {
        found.set(name, null);
        continue;
      }
      const prior = found.get(name);
      found.set(
        name,
        prior
          ? {
              kind: prior.kind,
              min: min.value < prior.min ? min.value : prior.min,
              max: max.value > prior.max ? max.value : prior.max,
            }
          : { kind: min.kind, min: min.value, max: max.value },
      );
    }
    for (const name of found.keys()) if (!seen.has(name)) found.set(name, null);
  }
  const result: Record<string, ColumnRange> = {};
  for (const [name, range] of found) {
    if (!range) continue;
    if (range.kind === 'number') {
      result[name] = {
        kind: 'number',
        min: numberText(range.min, 'floor'),
        max: numberText(range.max, 'ceil'),
      };
      continue;
    }
    // hyparquet turns micro/nanosecond statistics into Dates truncated toward zero: widen to cover the lost digits.
    const element = metadata.schema.find((e) => e.name === name && !e.num_children);
    const exact =
      element?.converted_type === 'DATE' ||
      element?.converted_type === 'TIMESTAMP_MILLIS' ||
      (element?.logical_type?.type === 'TIMESTAMP' && element.logical_type.unit === 'MILLIS');
    const min = Number(range.min);
    const max = Number(range.max);
    result[name] = {
      kind: 'time',
      min: isoMicros(exact || min >= 0 ? min : min - 1, 0),
      max: isoMicros(max, exact || max < 0 ? 0 : 999),
    };
  }
  return result;
}

/** `2024-12-17T00:00:00.000123Z`: always six fractional digits, so that bounds compare as text. */
function isoMicros(ms: number, extraMicros: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${String(extraMicros).padStart(3, '0')}Z`;
}

function bound(value: unknown): { kind: ColumnRange['kind']; value: number | bigint } | undefined {
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? undefined : { kind: 'time', value: value.getTime() };
  if (typeof value === 'bigint') return { kind: 'number', value };
  if (typeof value === 'number' && Number.isFinite(value)) return { kind: 'number', value };
  return undefined;
}

function numberText(value: number | bigint, round: 'floor' | 'ceil'): string {
  if (typeof value === 'bigint') return String(value);
  return Number.isInteger(value)
    ? String(value)
    : String(round === 'floor' ? Math.floor(value) : Math.ceil(value));
}

/** The ranges of several objects together: a column is bounded only if every object bounds it. */
export function mergeColumnRanges(
  all: readonly (Readonly<Record<string, ColumnRange>> | undefined)[],
): Record<string, ColumnRange> {
  if (all.length === 0 || all.some((r) => r === undefined)) return {};
  const [first, ...rest] = all as Readonly<Record<string, ColumnRange>>[];
  const result: Record<string, ColumnRange> = { ...first };
  for (const ranges of rest) {
    for (const [name, range] of Object.entries(result)) {
      const other = ranges[name];
      if (!other || other.kind !== range.kind) {
        delete result[name];
        continue;
      }
      result[name] = {
        kind: range.kind,
        min: lessOf(range.kind, range.min, other.min),
        max: lessOf(range.kind, range.max, other.max) === range.max ? other.max : range.max,
      };
    }
  }
  return result;
}

/** The smaller of two range bounds (ISO instants compare as text; numbers as BigInt or Number). */
function lessOf(kind: ColumnRange['kind'], a: string, b: string): string {
  if (kind === 'time') return a <= b ? a : b;
  const exact = /^-?\d+$/;
  if (exact.test(a) && exact.test(b)) return BigInt(a) <= BigInt(b) ? a : b;
  return Number(a) <= Number(b) ? a : b;
}

function describeTopLevel(node: SchemaTree): SourceColumn {
  const { element } = node;
  // A repeated field without a LIST annotation is a list of its (required) values.
  if (element.repetition_type === 'REPEATED') {
    const inner = describeNode(node, true);
    const type: ValueType =
      node.children.length === 0
        ? { kind: 'list', element: inner.type }
        : { kind: 'unsupported', detail: 'repeated group outside a LIST annotation' };
    return { name: element.name, type, nullable: false, parquetType: `REPEATED ${inner.text}` };
  }
  const { type, text } = describeNode(node, false);
  return { name: element.name, type, nullable: element.repetition_type === 'OPTIONAL', parquetType: text };
}

interface Described {
  readonly type: ValueType;
  readonly text: string;
}

/** Describes a node; `ignoreRepetition` when the caller already accounted for a REPEATED node. */
function describeNode(node: SchemaTree, ignoreRepetition: boolean): Described {
  const { element } = node;
  if (!ignoreRepetition && element.repetition_type === 'REPEATED') {
    const inner = describeNode(node, true);
    return {
      type: { kind: 'unsupported', detail: 'repeated field outside a LIST annotation' },
      text: `REPEATED ${inner.text}`,
    };
  }
  if (node.children.length === 0) return describeLeaf(element);
  return describeGroup(node);
}

function unsupported(detail: string, text: string): Described {
  return { type: { kind: 'unsupported', detail }, text };
}

function describeGroup(node: SchemaTree): Described {
  const { element } = node;
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  if (logical === 'VARIANT') return unsupported('VARIANT group', 'VARIANT');
  if (converted === 'LIST' || logical === 'LIST') return describeList(node);
  if (converted === 'MAP' || converted === 'MAP_KEY_VALUE' || logical === 'MAP') return describeMap(node);
  const fields = node.children.map((child) => {
    const described = describeNode(child, false);
    const column: SourceColumn = {
      name: child.element.name,
      type: described.type,
      nullable: child.element.repetition_type === 'OPTIONAL',
      parquetType: described.text,
    };
    return column;
  });
  const text = `STRUCT<${fields.map((field) => `${field.name}: ${field.parquetType}`).join(', ')}>`;
  const bad = fields.find((field) => field.type.kind === 'unsupported');
  if (bad) return unsupported(`struct field "${bad.name}" has unsupported type ${bad.parquetType}`, text);
  return { type: { kind: 'struct', fields }, text };
}

/** LIST: `group (LIST) { repeated group list { element } }` or the two-level `group (LIST) { repeated x }`. */
function describeList(node: SchemaTree): Described {
  const repeated = node.children[0];
  if (node.element.converted_type !== 'LIST' || node.children.length !== 1 || !repeated) {
    return unsupported('LIST group that does not have exactly one repeated child', 'LIST<?>');
  }
  if (repeated.element.repetition_type !== 'REPEATED' || repeated.children.length > 1) {
    return unsupported('LIST group whose child is not a repeated single field', 'LIST<?>');
  }
  const elementNode = repeated.children[0];
  const element = elementNode ? describeNode(elementNode, false) : describeNode(repeated, true);
  const text = `LIST<${element.text}>`;
  if (element.type.kind === 'unsupported') return unsupported(`list element: ${element.type.detail}`, text);
  return { type: { kind: 'list', element: element.type }, text };
}

/** MAP: `group (MAP) { repeated group key_value { required key; optional value } }`. */
function describeMap(node: SchemaTree): Described {
  const entries = node.children[0];
  const keyNode = entries?.children[0];
  const valueNode = entries?.children[1];
  if (
    node.element.converted_type !== 'MAP' ||
    node.children.length !== 1 ||
    !entries ||
    entries.element.repetition_type !== 'REPEATED' ||
    entries.children.length !== 2 ||
    !keyNode ||
    !valueNode ||
    keyNode.element.name !== 'key' ||
    valueNode.element.name !== 'value'
  ) {
    return unsupported('MAP group not in the standard key/value layout', 'MAP<?>');
  }
  const key = describeNode(keyNode, false);
  const value = describeNode(valueNode, false);
  const text = `MAP<${key.text}, ${value.text}>`;
  if (key.type.kind !== 'string' && key.type.kind !== 'int' && key.type.kind !== 'uuid') {
    return unsupported(
      `MAP key of type ${key.text} (only string, integer and UUID keys are supported)`,
      text,
    );
  }
  if (value.type.kind === 'unsupported') return unsupported(`map value: ${value.type.detail}`, text);
  return { type: { kind: 'map', key: key.type, value: value.type }, text };
}

function unitOf(unit: 'MILLIS' | 'MICROS' | 'NANOS'): 'millis' | 'micros' | 'nanos' {
  return unit === 'MILLIS' ? 'millis' : unit === 'MICROS' ? 'micros' : 'nanos';
}

/** Text of a leaf: physical type, length for FIXED_LEN_BYTE_ARRAY, annotation. */
function leafText(element: SchemaElement): string {
  const physical =
    element.type === 'FIXED_LEN_BYTE_ARRAY'
      ? `FIXED_LEN_BYTE_ARRAY(${element.type_length ?? '?'})`
      : element.type;
  const annotation = annotationText(element);
  return annotation ? `${physical ?? '?'} ${annotation}` : (physical ?? '?');
}

function annotationText(element: SchemaElement): string | undefined {
  const logical = element.logical_type;
  if (logical) {
    switch (logical.type) {
      case 'DECIMAL':
        return `DECIMAL(${logical.precision},${logical.scale})`;
      case 'TIME':
      case 'TIMESTAMP':
        return `${logical.type}(${logical.unit},${logical.isAdjustedToUTC ? 'utc' : 'local'})`;
      case 'INTEGER':
        return `INT(${logical.bitWidth},${logical.isSigned ? 'signed' : 'unsigned'})`;
      default:
        return logical.type;
    }
  }
  if (element.converted_type === 'DECIMAL')
    return `DECIMAL(${element.precision ?? '?'},${element.scale ?? 0})`;
  return element.converted_type;
}

function decimalType(element: SchemaElement): ValueType {
  const logical = element.logical_type;
  const precision = logical?.type === 'DECIMAL' ? logical.precision : (element.precision ?? 0);
  const scale = logical?.type === 'DECIMAL' ? logical.scale : (element.scale ?? 0);
  return { kind: 'decimal', precision, scale };
}

const intConverted: Record<string, { bits: 8 | 16 | 32 | 64; signed: boolean }> = {
  INT_8: { bits: 8, signed: true },
  INT_16: { bits: 16, signed: true },
  INT_32: { bits: 32, signed: true },
  INT_64: { bits: 64, signed: true },
  UINT_8: { bits: 8, signed: false },
  UINT_16: { bits: 16, signed: false },
  UINT_32: { bits: 32, signed: false },
  UINT_64: { bits: 64, signed: false },
};

function describeLeaf(element: SchemaElement): Described {
  const text = leafText(element);
  return { type: leafType(element), text };
}

/** ValueType of a primitive column from its physical type and annotation. */
export function leafType(element: SchemaElement): ValueType {
  const physical = element.type;
  const logical = element.logical_type;
  const converted = element.converted_type;
  const no = (detail: string): ValueType => ({ kind: 'unsupported', detail });

  if (logical?.type === 'DECIMAL' || converted === 'DECIMAL') {
    if (physical === 'INT32' || physical === 'INT64' || physical === 'BYTE_ARRAY')
      return decimalType(element);
    if (physical === 'FIXED_LEN_BYTE_ARRAY') return decimalType(element);
    return no(`DECIMAL on ${physical ?? '?'}`);
  }
  switch (physical) {
    case 'BOOLEAN':
      return { kind: 'boolean' };
    case 'FLOAT':
      return { kind: 'float', bits: 32 };
    case 'DOUBLE':
      return { kind: 'float', bits: 64 };
    case 'INT96':
      return { kind: 'timestamp', unit: 'nanos', utc: false };
    case 'INT32':
    case 'INT64': {
      const wide = physical === 'INT64';
      if (logical?.type === 'INTEGER') {
        const bits = logical.bitWidth;
        if (bits !== 8 && bits !== 16 && bits !== 32 && bits !== 64) return no(`INTEGER(${bits})`);
        return { kind: 'int', bits, signed: logical.isSigned };
      }
      if (logical?.type === 'TIMESTAMP') {
        if (!wide) return no('TIMESTAMP on INT32');
        return { kind: 'timestamp', unit: unitOf(logical.unit), utc: logical.isAdjustedToUTC };
      }
      if (logical?.type === 'TIME') {
        if (wide === (logical.unit === 'MILLIS')) return no(`TIME(${logical.unit}) on ${physical}`);
        return { kind: 'time', unit: unitOf(logical.unit) };
      }
      if (logical?.type === 'DATE' || converted === 'DATE') {
        return wide ? no('DATE on INT64') : { kind: 'date' };
      }
      if (logical) return no(`${logical.type} on ${physical}`);
      if (converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS') {
        if (!wide) return no(`${converted} on INT32`);
        // Legacy converted timestamps are instants (isAdjustedToUTC = true) per the Parquet spec.
        return { kind: 'timestamp', unit: converted === 'TIMESTAMP_MILLIS' ? 'millis' : 'micros', utc: true };
      }
      if (converted === 'TIME_MILLIS')
        return wide ? no('TIME_MILLIS on INT64') : { kind: 'time', unit: 'millis' };
      if (converted === 'TIME_MICROS')
        return wide ? { kind: 'time', unit: 'micros' } : no('TIME_MICROS on INT32');
      if (converted) {
        const int = intConverted[converted];
        if (!int) return no(`${converted} on ${physical}`);
        return { kind: 'int', bits: int.bits, signed: int.signed };
      }
      return { kind: 'int', bits: wide ? 64 : 32, signed: true };
    }
    case 'BYTE_ARRAY':
    case 'FIXED_LEN_BYTE_ARRAY': {
      const kind = logical?.type ?? converted;
      switch (kind) {
        case undefined:
          return { kind: 'binary' };
        case 'STRING':
        case 'UTF8':
        case 'ENUM':
          return { kind: 'string' };
        case 'JSON':
          return { kind: 'json' };
        case 'UUID':
          return physical === 'FIXED_LEN_BYTE_ARRAY' && element.type_length === 16
            ? { kind: 'uuid' }
            : no('UUID');
        case 'FLOAT16':
          return physical === 'FIXED_LEN_BYTE_ARRAY' && element.type_length === 2
            ? { kind: 'float', bits: 32 }
            : no('FLOAT16');
        case 'GEOMETRY':
        case 'GEOGRAPHY':
          return { kind: 'binary' };
        default:
          return no(`${kind} on ${physical}`);
      }
    }
    default:
      return no(`physical type ${physical ?? 'missing'}`);
  }
}

/** True when a type (or anything nested in it) is unsupported. */
export function unsupportedDetail(type: ValueType): string | undefined {
  switch (type.kind) {
    case 'unsupported':
      return type.detail;
    case 'list':
      return unsupportedDetail(type.element);
    case 'map':
      return unsupportedDetail(type.key) ?? unsupportedDetail(type.value);
    case 'struct':
      for (const field of type.fields) {
        const detail = unsupportedDetail(field.type);
        if (detail) return detail;
      }
      return undefined;
    default:
      return undefined;
  }
}
