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
  ID,
  TEXT,
  chunks,
  clickHouseRejection,
  createTable,
  jsonRows,
  rowCount,
  defineSharedDriverTests,
} from '../support/driver-fixtures.ts';

let directory: string;
let driver: ChdbDriver;

describe('ChdbDriver with a temp data directory', () => {
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'shadowfill-chdb-test-'));
    driver = new ChdbDriver(join(directory, 'data'));
    await driver.command(`CREATE DATABASE ${quoteIdent(AWKWARD_DB)}`);
  });

  afterAll(async () => {
    await driver?.close();
    if (directory) rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  defineSharedDriverTests(() => driver);

  it('describes itself by its data directory', () => {
    expect(driver.description).toBe(`embedded:${join(directory, 'data')}`);
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
