/**
 * Classifies PostgreSQL column types (as `format_type` prints them) into the few kinds the adapter treats
 * differently when encoding values and checking schemas.
 */

export type PgKind =
  | 'boolean'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'float'
  | 'numeric'
  | 'text'
  | 'bytea'
  | 'timestamptz'
  | 'timestamp'
  | 'date'
  | 'time'
  | 'interval'
  | 'json'
  | 'uuid'
  | 'array'
  | 'other';

export interface PgTypeInfo {
  readonly kind: PgKind;
  /** For arrays: the element type. */
  readonly element?: PgTypeInfo;
  /** numeric(p,s): precision and scale; undefined when unconstrained. */
  readonly precision?: number;
  readonly scale?: number;
  /** The type text it was classified from. */
  readonly text: string;
}

export function classifyType(text: string): PgTypeInfo {
  const type = text.trim();
  if (type.endsWith('[]')) {
    return { kind: 'array', element: classifyType(type.replace(/(\[\])+$/, '')), text: type };
  }
  const base = type.replace(/\(.*?\)/, '').trim();
  switch (base) {
    case 'boolean':
      return { kind: 'boolean', text: type };
    case 'smallint':
      return { kind: 'int2', text: type };
    case 'integer':
      return { kind: 'int4', text: type };
    case 'bigint':
      return { kind: 'int8', text: type };
    case 'real':
    case 'double precision':
      return { kind: 'float', text: type };
    case 'numeric': {
      const m = /numeric\((\d+)(?:,\s*(-?\d+))?\)/.exec(type);
      return m
        ? { kind: 'numeric', precision: Number(m[1]), scale: Number(m[2] ?? 0), text: type }
        : { kind: 'numeric', text: type };
    }
    case 'text':
    case 'character varying':
    case 'character':
    case 'citext':
    case 'name':
    case '"char"':
      return { kind: 'text', text: type };
    case 'bytea':
      return { kind: 'bytea', text: type };
    case 'timestamp with time zone':
      return { kind: 'timestamptz', text: type };
    case 'timestamp without time zone':
      return { kind: 'timestamp', text: type };
    case 'date':
      return { kind: 'date', text: type };
    case 'time without time zone':
    case 'time with time zone':
      return { kind: 'time', text: type };
    case 'interval':
      return { kind: 'interval', text: type };
    case 'json':
    case 'jsonb':
      return { kind: 'json', text: type };
    case 'uuid':
      return { kind: 'uuid', text: type };
    default:
      return { kind: 'other', text: type };
  }
}

/** Inclusive range of the integer kinds. */
export const INT_RANGE: Readonly<Record<'int2' | 'int4' | 'int8', readonly [bigint, bigint]>> = {
  int2: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  int8: [-9223372036854775808n, 9223372036854775807n],
};
