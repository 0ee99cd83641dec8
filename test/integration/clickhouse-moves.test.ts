/**
 * Partition moves that the server left half done (adapters/clickhouse/moved-parts.ts), on real chDB. A MOVE PARTITION
 * that stops between committing the parts in the target and taking them out of the source — a kill -9 of a chDB
 * process, a crash of a server — leaves the same parts in both tables. A clean-clone CI run and a loop of the
 * 2-worker kill test (1 in 96 kills) showed it: the resumed commit moved the landing's partition again and the
 * shadow held a batch twice. Here that state is made on purpose: after a real move, `ATTACH PARTITION … FROM` clones
 * the moved parts back into the source with their UUIDs, as the crash leaves them. The commit (landing → shadow) and
 * the swap (shadow → live) must then not move those rows a second time — also when the source merged the leftovers
 * after the restart — and must still move everything that was not moved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseCalls } from '../../adapters/clickhouse/calls.ts';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import type { TableRef } from '../../adapters/clickhouse/names.ts';
import { sql } from '../../adapters/clickhouse/sql/statements.ts';

let directory: string;
let driver: ChdbDriver;
let calls: ClickHouseCalls;
let tables = 0;

const ref = (table: string): TableRef => ({ database: 'm', table });
const name = (t: TableRef) => `${t.database}.${t.table}`;

async function count(t: TableRef): Promise<number> {
  const [row] = await driver.query<{ n: string }>(`SELECT count() AS n FROM ${name(t)}`);
  return Number(row?.n);
}

async function uuids(t: TableRef, partitionId: string): Promise<string[]> {
  const rows = await driver.query<{ uuid: string }>(
    `SELECT toString(uuid) AS uuid FROM system.parts WHERE database = '${t.database}' AND table = '${t.table}' ` +
      `AND partition_id = '${partitionId}' AND active AND rows > 0 ORDER BY uuid`,
  );
  return rows.map((r) => r.uuid);
}

/** A live table and a landing and shadow made as the adapter makes run tables (CREATE … AS, part UUIDs). */
async function tablesForRun(): Promise<{ live: TableRef; landing: TableRef; shadow: TableRef }> {
  const n = (tables += 1);
  const live = ref(`live_${n}`);
  await driver.command(
    `CREATE TABLE ${name(live)} (d Date, x UInt64) ENGINE = MergeTree PARTITION BY d ORDER BY x`,
  );
  const landing = ref(`live_${n}_landing`);
  const shadow = ref(`live_${n}_shadow`);
  for (const t of [landing, shadow]) {
    await driver.command(sql.createTableAs(t, live));
    await driver.command(sql.assignPartUuids(t));
  }
  return { live, landing, shadow };
}

/** `parts` inserts of 100 rows into day `day` of `t`. */
async function insert(t: TableRef, day: string, parts: number, offset = 0): Promise<void> {
  for (let i = 0; i < parts; i += 1) {
    await driver.command(
      `INSERT INTO ${name(t)} SELECT toDate('${day}'), number + ${offset + i * 100} FROM numbers(100)`,
    );
  }
}

/** The state a crash leaves in the middle of a MOVE: the parts committed in `to` and still active in `from`. */
async function moveStoppedHalfway(from: TableRef, to: TableRef, partitionId: string): Promise<void> {
  const before = await uuids(from, partitionId);
  await driver.command(sql.movePartition(from, to, partitionId));
  await driver.command(`ALTER TABLE ${name(from)} ATTACH PARTITION ID '${partitionId}' FROM ${name(to)}`);
  // The clones carry the moved parts' UUIDs, as the parts a crash leaves behind do.
  expect(await uuids(from, partitionId)).toEqual(before);
}

describe('partition moves a stopped server left half done (chDB)', () => {
  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'shadowfill-moves-'));
    driver = new ChdbDriver(join(directory, 'data'));
    calls = new ClickHouseCalls(driver, (call) => call());
    await driver.command('CREATE DATABASE m');
  });

  afterAll(async () => {
    await driver?.close();
    if (directory) rmSync(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  });

  it('a commit resumed after a half-done move moves the rest and no row twice', async () => {
    const { landing, shadow } = await tablesForRun();
    await insert(landing, '2024-01-01', 2);
    await insert(landing, '2024-01-02', 3, 1000);
    await moveStoppedHalfway(landing, shadow, '20240101');
    expect(await count(shadow)).toBe(200);
    expect(await count(landing)).toBe(500);

    await calls.moveAllPartitions(landing, shadow);
    expect(await count(shadow)).toBe(500);
    expect(await count(landing)).toBe(0);
  });

  it('also when the source merged the leftover parts after the restart (new part, new UUID)', async () => {
    const { landing, shadow } = await tablesForRun();
    await insert(landing, '2024-01-01', 3);
    await moveStoppedHalfway(landing, shadow, '20240101');
    await driver.command(`OPTIMIZE TABLE ${name(landing)} FINAL`);
    const merged = await uuids(landing, '20240101');
    expect(merged).toHaveLength(1);
    expect(await uuids(shadow, '20240101')).not.toContain(merged[0]);

    await calls.moveAllPartitions(landing, shadow);
    expect(await count(shadow)).toBe(300);
    expect(await count(landing)).toBe(0);
  });

  it('a landing reused for the next batch moves all of its new rows (the earlier batch’s twins still listed)', async () => {
    const { landing, shadow } = await tablesForRun();
    await insert(landing, '2024-01-01', 2);
    await moveStoppedHalfway(landing, shadow, '20240101');
    await calls.moveAllPartitions(landing, shadow);
    await driver.command(sql.truncate(landing));
    await insert(landing, '2024-01-01', 2, 5000);
    await driver.command(`OPTIMIZE TABLE ${name(landing)} FINAL`);

    await calls.moveAllPartitions(landing, shadow);
    expect(await count(shadow)).toBe(400);
    expect(await count(landing)).toBe(0);
  });

  it('a swap resumed after a half-done move into the live table swaps no row twice', async () => {
    const { live, landing, shadow } = await tablesForRun();
    await insert(landing, '2024-01-01', 2);
    await calls.moveAllPartitions(landing, shadow);
    await moveStoppedHalfway(shadow, live, '20240101');
    await insert(live, '2024-01-01', 1, 90_000); // live ingestion goes on meanwhile
    expect(await count(live)).toBe(300);

    const unit = { id: JSON.stringify(['m', live.table, '20240101']), description: '' };
    await calls.swapPartition(unit, () => shadow);
    expect(await count(live)).toBe(300);
    expect(await count(shadow)).toBe(0);
  });
});
