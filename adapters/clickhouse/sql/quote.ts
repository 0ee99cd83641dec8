/**
 * Quoting for ClickHouse SQL. Every identifier and literal the adapter puts into SQL goes through here.
 */
import type { ClickHouseSettings } from '../driver.ts';

/** `name` → `` `name` ``; backslashes and backticks escaped. Works for any UTF-8 name (dots, quotes, spaces). */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error(`identifier contains a NUL byte: ${JSON.stringify(name)}`);
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** `db`.`table` */
export function qualified(database: string, table: string): string {
  return `${quoteIdent(database)}.${quoteIdent(table)}`;
}

/** A string literal: `'it\'s'`. */
export function quoteString(value: string): string {
  if (value.includes('\0')) throw new Error('string literal contains a NUL byte');
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** ` SETTINGS a = 1, b = 'x'` or '' — setting names are checked, values quoted. */
export function settingsClause(settings: ClickHouseSettings | undefined): string {
  const entries = Object.entries(settings ?? {});
  if (entries.length === 0) return '';
  return (
    ' SETTINGS ' +
    entries
      .map(([name, value]) => {
        if (!SETTING_NAME.test(name))
          throw new Error(`invalid ClickHouse setting name: ${JSON.stringify(name)}`);
        const literal =
          typeof value === 'number' && Number.isFinite(value)
            ? String(value)
            : typeof value === 'boolean'
              ? value
                ? '1'
                : '0'
              : quoteString(String(value));
        return `${name} = ${literal}`;
      })
      .join(', ')
  );
}
