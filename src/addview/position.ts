/**
 * Positions of the cutoff/window column (see `Position` in src/adapter/view-contract.ts): parsing from the
 * configuration, text for people (UTC, microseconds kept), JSON for the journal, and arithmetic the window
 * planner needs. Time positions are microseconds since the epoch as bigint, so DateTime64(6) values and
 * PostgreSQL timestamps round-trip exactly.
 */
import type { Position, PositionKind } from '../adapter/view-contract.ts';

export const MICROS_PER_SECOND = 1_000_000n;
export const MICROS_PER_DAY = 86_400n * MICROS_PER_SECOND;

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/i;
const INTEGER = /^-?\d+$/;

export function timePosition(micros: bigint): Position {
  return { kind: 'time', value: micros };
}

export function numberPosition(value: bigint): Position {
  return { kind: 'number', value };
}

/**
 * `2024-12-17 09:00:00` (UTC unless it carries a zone), `2024-12-17`, `2024-12-17T09:00:00.123456+02:00` → time;
 * `123456` → number. Undefined when the text is neither.
 */
export function parsePosition(text: string, kind: PositionKind): Position | undefined {
  const trimmed = text.trim();
  if (kind === 'number') return INTEGER.test(trimmed) ? numberPosition(BigInt(trimmed)) : undefined;
  const m = DATE_TIME.exec(trimmed);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!Number.isFinite(ms)) return undefined;
  let micros = BigInt(ms) * 1000n + BigInt((frac + '000000').slice(0, 6));
  if (zone && !/^(Z|UTC)$/i.test(zone)) {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
    micros -= sign * offsetMinutes * 60n * MICROS_PER_SECOND;
  }
  return timePosition(micros);
}

/** `2024-12-17 09:00:00` (UTC; fraction only when there is one) or the integer. */
export function formatPosition(position: Position): string {
  if (position.kind === 'number') return position.value.toString();
  const micros = position.value;
  const floorMs = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
  const date = new Date(Number(floorMs));
  const base = date.toISOString().slice(0, 19).replace('T', ' ');
  const fraction = ((micros % MICROS_PER_SECOND) + MICROS_PER_SECOND) % MICROS_PER_SECOND;
  if (fraction === 0n) return base;
  return `${base}.${fraction.toString().padStart(6, '0').replace(/0+$/, '')}`;
}

/** `[2024-12-17 00:00:00, 2024-12-18 00:00:00)`, with `…` for an open lower bound. */
export function formatRange(lo: Position | undefined, hi: Position): string {
  return `[${lo === undefined ? '…' : formatPosition(lo)}, ${formatPosition(hi)})`;
}

/** JSON-safe form for the journal. */
export interface PositionJson {
  readonly kind: PositionKind;
  readonly value: string;
}

export function positionToJson(position: Position): PositionJson {
  return { kind: position.kind, value: position.value.toString() };
}

export function positionFromJson(json: PositionJson): Position {
  return { kind: json.kind, value: BigInt(json.value) };
}

/** Smallest multiple of `step` that is >= value (step > 0). */
export function ceilTo(value: bigint, step: bigint): bigint {
  const r = ((value % step) + step) % step;
  return r === 0n ? value : value + (step - r);
}

/** Largest multiple of `step` that is <= value (step > 0). */
export function floorTo(value: bigint, step: bigint): bigint {
  const r = ((value % step) + step) % step;
  return value - r;
}

export function maxPosition(a: Position, b: Position): Position {
  return a.value >= b.value ? a : b;
}

const UNITS: readonly (readonly [RegExp, bigint])[] = [
  [/^(us|µs|micros?|microseconds?)$/, 1n],
  [/^(ms|millis?|milliseconds?)$/, 1000n],
  [/^(s|secs?|seconds?)$/, MICROS_PER_SECOND],
  [/^(m|mins?|minutes?)$/, 60n * MICROS_PER_SECOND],
  [/^(h|hrs?|hours?)$/, 3600n * MICROS_PER_SECOND],
  [/^(d|days?)$/, MICROS_PER_DAY],
  [/^(w|weeks?)$/, 7n * MICROS_PER_DAY],
];

/** `1 day`, `6 hours`, `90m`, `30 seconds` → microseconds; undefined when not a duration. */
export function parseDuration(text: string): bigint | undefined {
  const m = /^\s*(\d+)\s*([a-zµ]+)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS.find(([re]) => re.test(m[2]!.toLowerCase()));
  return unit ? BigInt(m[1]!) * unit[1] : undefined;
}

/** Microseconds as the largest whole unit: `1 day`, `90 minutes`, `1500 ms`. */
export function formatDuration(micros: bigint): string {
  const named: readonly (readonly [bigint, string])[] = [
    [7n * MICROS_PER_DAY, 'week'],
    [MICROS_PER_DAY, 'day'],
    [3600n * MICROS_PER_SECOND, 'hour'],
    [60n * MICROS_PER_SECOND, 'minute'],
    [MICROS_PER_SECOND, 'second'],
    [1000n, 'ms'],
  ];
  for (const [unit, name] of named) {
    if (micros >= unit && micros % unit === 0n) {
      const n = micros / unit;
      return name === 'ms' ? `${n} ms` : `${n} ${name}${n === 1n ? '' : 's'}`;
    }
  }
  return `${micros} µs`;
}

/** A window/margin size in the column's units: microseconds for time, the integer for ids. */
export function formatSize(kind: PositionKind, size: bigint): string {
  return kind === 'time' ? formatDuration(size) : size.toString();
}
