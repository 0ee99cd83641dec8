/**
 * What the two ClickHouse driver tests (chDB and HTTP) share: awkward names, row/body builders, and helpers
 * that take the driver under test.
 */
import { expect } from 'vitest';
import { ClickHouseError, type ClickHouseDriver } from '../../adapters/clickhouse/driver.ts';
import { qualified, quoteIdent } from '../../adapters/clickhouse/sql/quote.ts';

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
