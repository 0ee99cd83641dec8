/**
 * The embedded chDB driver with a temp data directory: the same operations as the HTTP driver's test (awkward
 * identifiers, JSONEachRow rows, settings, streamed JSONEachRow and Parquet bodies) and the error mapping.
 * The Parquet body is written by chDB itself with `INSERT INTO FUNCTION file(…)`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { toTargetError } from '../../adapters/clickhouse/errors.ts';
import { qualified, quoteIdent, quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import { TargetError } from '../../src/errors.ts';
import {
  AWKWARD_DB,
  AWKWARD_TABLE,
  ID,
  TEXT,
  chunks,
  clickHouseRejection,
  createTable,
  jsonRows,
  rowCount,
} from '../support/driver-fixtures.ts';

let directory: string;
let driver: ChdbDriver;
const table = qualified(AWKWARD_DB, AWKWARD_TABLE);

describe('ChdbDriver with a temp data directory', () => {
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'shadowfill-chdb-test-'));
    driver = new ChdbDriver(join(directory, 'data'));
    await driver.command(`CREATE DATABASE ${quoteIdent(AWKWARD_DB)}`);
  });

  afterAll(async () => {
    await driver?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  it('describes itself by its data directory', () => {
    expect(driver.description).toBe(`embedded:${join(directory, 'data')}`);
  });

  it('creates objects whose names contain dots, quotes, backticks, backslashes and non-ASCII', async () => {
    await driver.command(
      `CREATE TABLE ${table} (${quoteIdent(ID)} UInt64, ${quoteIdent(TEXT)} String) ` +
        `ENGINE = MergeTree ORDER BY ${quoteIdent(ID)}`,
    );
    await driver.command(`INSERT INTO ${table} SELECT number, concat('r', toString(number)) FROM numbers(5)`);
    const tables = await driver.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = ${quoteString(AWKWARD_DB)}`,
    );
    expect(tables.map((row) => row.name)).toContain(AWKWARD_TABLE);
    const columns = await driver.query<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = ${quoteString(AWKWARD_DB)} ` +
        `AND table = ${quoteString(AWKWARD_TABLE)} ORDER BY position`,
    );
    expect(columns).toEqual([
      { name: ID, type: 'UInt64' },
      { name: TEXT, type: 'String' },
    ]);
    expect(await rowCount(driver, table)).toBe('5');
  });

  it('returns JSONEachRow rows with 64-bit integers as strings', async () => {
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
    const rows = await driver.query<{ value: string }>(
      "SELECT value FROM system.settings WHERE name = 'max_threads'",
      { max_threads: 3 },
    );
    expect(rows).toEqual([{ value: '3' }]);
    const target = await createTable(driver, 'settings');
    const insert = `INSERT INTO ${target} SELECT number, '' FROM numbers(100)`;
    const limited = await clickHouseRejection(driver.command(insert, { max_rows_to_read: 10 }));
    expect([limited.code, limited.type]).toEqual([158, 'TOO_MANY_ROWS']);
    await driver.command(insert);
    expect(await rowCount(driver, target)).toBe('100');
  });

  it('inserts a JSONEachRow body whose chunks split rows, with settings (booleans included)', async () => {
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

  it('inserts a Parquet body (spooled to an absolute temp path read with file())', async () => {
    const target = await createTable(driver, 'parquet');
    const path = join(directory, 'export.parquet');
    await driver.command(
      `INSERT INTO FUNCTION file(${quoteString(path)}, 'Parquet') ` +
        `SELECT number AS ${quoteIdent(ID)}, concat('p', toString(number)) AS ${quoteIdent(TEXT)} FROM numbers(5000)`,
    );
    const bytes = new Uint8Array(readFileSync(path));
    expect(Buffer.from(bytes.subarray(0, 4)).toString()).toBe('PAR1');
    await driver.insertStream(
      target,
      'Parquet',
      chunks(bytes.subarray(0, 7), bytes.subarray(7, 4000), bytes.subarray(4000)),
    );
    const rows = await driver.query(
      `SELECT count() AS n, sum(${quoteIdent(ID)}) AS s, max(${quoteIdent(TEXT)}) AS m FROM ${target}`,
    );
    expect(rows).toEqual([{ n: '5000', s: '12497500', m: 'p999' }]);
  });

  it('maps unknown tables and databases to TARGET_MISSING', async () => {
    const missing = qualified(AWKWARD_DB, 'no_such_table');
    const error = await clickHouseRejection(driver.query(`SELECT * FROM ${missing}`));
    expect([error.code, error.type]).toEqual([60, 'UNKNOWN_TABLE']);
    const where = `${driver.description} table ${missing}`;
    const target = toTargetError(error, where);
    expect(target).toBeInstanceOf(TargetError);
    expect(target.code).toBe('TARGET_MISSING');
    expect(target.nativeCode).toBe('60');
    expect(target.message).toContain(where);
    expect(target.message).toContain('create the table or fix target.table');
    expect(target.message).not.toMatch(/\(UNKNOWN_TABLE\)$/);

    const streamed = await clickHouseRejection(
      driver.insertStream(missing, 'JSONEachRow', chunks(jsonRows(0, 3))),
    );
    expect([streamed.code, streamed.type]).toEqual([60, 'UNKNOWN_TABLE']);

    const noDatabase = await clickHouseRejection(driver.query('SELECT * FROM `nope_db`.`t`'));
    expect([noDatabase.code, noDatabase.type]).toEqual([81, 'UNKNOWN_DATABASE']);
    expect(toTargetError(noDatabase, driver.description).message).toContain('target.database');
  });

  it('rethrows a failing body unchanged and stays usable', async () => {
    const target = await createTable(driver, 'broken_body');
    const broken = new Error('source object unreadable');
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(jsonRows(0, 10));
      throw broken;
    }
    const error = await driver.insertStream(target, 'JSONEachRow', body()).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBe(broken);
    expect(await rowCount(driver, target)).toBe('0');
  });
});
