/**
 * Byte sizes in configuration and output: `15GB`, `512MiB`, `1.5 TB`, `1e9`, `1048576` or a number.
 * Decimal units (kB/KB, MB, GB, TB, PB) are powers of 1000; binary units (KiB, MiB, GiB, TiB, PiB) powers of
 * 1024; a bare number is bytes. Units are case-insensitive (`gb`, `GiB`, `g`, `gi`) and the trailing `B` optional.
 */

const UNIT_POWERS: Readonly<Record<string, number>> = { '': 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

const SIZE = /^([0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)\s*([kmgtp]?)(i?)(b?)$/i;

/**
 * Parses a byte size into a whole number of bytes (rounded). Throws a RangeError naming the text when it is
 * not a size, is negative, or is too large to count exactly.
 */
export function parseBytes(value: string | number): number {
  let bytes: number;
  if (typeof value === 'number') {
    bytes = value;
  } else {
    const match = SIZE.exec(value.trim());
    if (!match) {
      throw new RangeError(`\`${value}\` is not a byte size — write it like 15GB, 512MiB or 1e9`);
    }
    const [, amount = '', unit = '', binary = ''] = match;
    if (binary && !unit)
      throw new RangeError(`\`${value}\` is not a byte size — write it like 512MiB or 1e9`);
    const power = UNIT_POWERS[unit.toLowerCase()] ?? 0;
    bytes = Number(amount) * (binary ? 1024 : 1000) ** power;
  }
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new RangeError(`\`${String(value)}\` is not a byte size — use a non-negative size like 15GB`);
  }
  const rounded = Math.round(bytes);
  if (!Number.isSafeInteger(rounded)) {
    throw new RangeError(`\`${String(value)}\` is too large — use at most 8 PiB`);
  }
  return rounded;
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** `16106127360` → `15 GiB`, `1536` → `1.5 KiB`, `999` → `999 B` (binary units, at most one decimal). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  let unit = 0;
  // 1023.96 KiB would print as `1024 KiB`: move up once it rounds to 1024.
  while (Math.round(value * 10) / 10 >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = unit === 0 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, '');
  return `${sign}${text} ${BINARY_UNITS[unit]}`;
}
