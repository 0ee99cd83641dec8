/**
 * What the two ClickHouse driver tests (chDB and HTTP) share: awkward names, row/body builders, helpers that
 * take the driver under test, and the shared tests both drivers must pass.
 */
import { expect, it } from 'vitest';
import { ClickHouseError, type ClickHouseDriver } from '../../adapters/clickhouse/driver.ts';
import { qualified, quoteIdent, quoteString } from '../../adapters/clickhouse/sql/quote.ts';

export const AWKWARD_DB = "shadow.fill 'db' `q` ünïcødé";
export const AWKWARD_TABLE = "t.v2 'it''s' `tick` back\\slash — 数据";
export const ID = 'id.col';
export const TEXT = "it's `text` ü";

/** The rejection of `promise`, asserted to be a ClickHouseError. */
export async function clickHouseRejection(promise: Promise<unknown>): Promise<ClickHouseError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ClickHouseError);
  return error as ClickHouseError;
}

export async function* chunks(...parts: readonly (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? Buffer.from(part) : part;
}

/** JSONEachRow text of rows [from, to) with awkward column names and values. */
export function jsonRows(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += JSON.stringify({ [ID]: i, [TEXT]: `row ${i} 'q' \`b\` ü` }) + '\n';
  return text;
}

export async function rowCount(driver: ClickHouseDriver, target: string): Promise<string> {
  const rows = await driver.query<{ n: string }>(`SELECT count() AS n FROM ${target}`);
  return rows[0]!.n;
}

/** Creates `AWKWARD_DB`.`name` (id, text) and returns its qualified name. */
export async function createTable(driver: ClickHouseDriver, name: string): Promise<string> {
  const target = qualified(AWKWARD_DB, name);
  await driver.command(
    `CREATE TABLE ${target} (${quoteIdent(ID)} UInt64, ${quoteIdent(TEXT)} String) ` +
      `ENGINE = MergeTree ORDER BY ${quoteIdent(ID)}`,
  );
  return target;
}

/**
 * The operations every ClickHouse driver must support identically (call inside the driver's describe block,
 * after its beforeAll has created the driver): awkward identifiers, JSONEachRow rows, settings, and streamed
 * JSONEachRow bodies. Written in SQL that ClickHouse 18.16 (the HTTP test server) also understands.
 */
export function defineSharedDriverTests(getDriver: () => ClickHouseDriver): void {
  const table = qualified(AWKWARD_DB, AWKWARD_TABLE);

  it('creates objects whose names contain dots, quotes, backticks, backslashes and non-ASCII', async () => {
    const driver = getDriver();
    await driver.command(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(AWKWARD_DB)}`);
    await driver.command(
      `CREATE TABLE ${table} (${quoteIdent(ID)} UInt64, ${quoteIdent(TEXT)} String) ` +
        `ENGINE = MergeTree ORDER BY ${quoteIdent(ID)}`,
    );
    await driver.command(
      `INSERT INTO ${table} SELECT number, concat('r', toString(number)) FROM system.numbers LIMIT 5`,
    );
    const tables = await driver.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = ${quoteString(AWKWARD_DB)}`,
    );
    expect(tables.map((row) => row.name)).toContain(AWKWARD_TABLE);
    const columns = await driver.query<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = ${quoteString(AWKWARD_DB)} ` +
        `AND table = ${quoteString(AWKWARD_TABLE)} ORDER BY name`,
    );
    expect(columns).toEqual(
      [
        { name: ID, type: 'UInt64' },
        { name: TEXT, type: 'String' },
      ].sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
    expect(await rowCount(driver, table)).toBe('5');
  });

  it('returns JSONEachRow rows with 64-bit integers as strings', async () => {
    const driver = getDriver();
    const rows = await driver.query(
      "SELECT toUInt64('18446744073709551615') AS big, toInt64('-9007199254740993') AS negative, " +
        "toUInt32(7) AS small, 'a\\'b\\n' AS text, [1, 2] AS list",
    );
    expect(rows).toEqual([
      { big: '18446744073709551615', negative: '-9007199254740993', small: 7, text: "a'b\n", list: [1, 2] },
    ]);
    expect(await driver.query('SELECT 1 AS one FROM system.one WHERE 0')).toEqual([]);
    const fromTable = await driver.query(`SELECT * FROM ${table} ORDER BY ${quoteIdent(ID)} LIMIT 2`);
    expect(fromTable).toEqual([
      { [ID]: '0', [TEXT]: 'r0' },
      { [ID]: '1', [TEXT]: 'r1' },
    ]);
  });

  it('passes settings to queries and commands', async () => {
    const driver = getDriver();
    const rows = await driver.query<{ value: string }>(
      "SELECT value FROM system.settings WHERE name = 'max_threads'",
      { max_threads: 3 },
    );
    expect(rows).toEqual([{ value: '3' }]);
    const target = await createTable(driver, 'settings');
    const insert = `INSERT INTO ${target} SELECT number, '' FROM system.numbers LIMIT 100`;
    const limited = await clickHouseRejection(driver.command(insert, { max_rows_to_read: 10 }));
    expect([limited.code, limited.type]).toEqual([158, 'TOO_MANY_ROWS']);
    await driver.command(insert);
    expect(await rowCount(driver, target)).toBe('100');
    await expect(driver.query('SELECT 1', { 'bad name': 1 })).rejects.toThrow(
      /invalid ClickHouse setting name/,
    );
  });

  it('streams a JSONEachRow body whose chunks split rows, with settings (booleans included)', async () => {
    const driver = getDriver();
    const target = await createTable(driver, 'stream');
    const text = jsonRows(0, 1000);
    const cut = [0, 17, 18, 333, 4096, text.length - 3, text.length];
    await driver.insertStream(
      target,
      'JSONEachRow',
      chunks(...cut.slice(1).map((end, i) => text.slice(cut[i], end))),
    );
    expect(await rowCount(driver, target)).toBe('1000');
    const sample = await driver.query(
      `SELECT ${quoteIdent(TEXT)} AS t FROM ${target} WHERE ${quoteIdent(ID)} = 999`,
    );
    expect(sample).toEqual([{ t: "row 999 'q' `b` ü" }]);

    const extra = `${JSON.stringify({ [ID]: 5000, [TEXT]: 'x', unknown_field: 1 })}\n`;
    const strict = await clickHouseRejection(
      driver.insertStream(target, 'JSONEachRow', chunks(extra), { input_format_skip_unknown_fields: false }),
    );
    expect(strict.code).toBeGreaterThan(0);
    await driver.insertStream(target, 'JSONEachRow', chunks(extra), {
      input_format_skip_unknown_fields: true,
    });
    expect(await rowCount(driver, target)).toBe('1001');
  });
}
