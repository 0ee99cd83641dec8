/** The journal in ClickHouse: a MergeTree table `shadowfill_journal` in the target database. */
import type { JournalEvent, JournalEventKind, JournalStore } from '../../src/journal/types.ts';
import type { ClickHouseDriver } from './driver.ts';
import { JOURNAL_TABLE } from './names.ts';
import { sql } from './sql/statements.ts';

interface JournalRow extends Record<string, unknown> {
  run_id: string;
  fingerprint: string;
  seq: number;
  at: string;
  kind: string;
  batch: number;
  unit: string;
  data: string;
}

const toEvent = (r: JournalRow): JournalEvent => ({
  runId: r.run_id,
  fingerprint: r.fingerprint,
  seq: Number(r.seq),
  at: r.at,
  kind: r.kind as JournalEventKind,
  batch: Number(r.batch),
  unit: r.unit,
  data: r.data,
});

export function clickHouseJournal(driver: ClickHouseDriver, database: string): JournalStore {
  const table = { database, table: JOURNAL_TABLE };
  return {
    ensure: () => driver.command(sql.createJournal(table)),
    append: (event) => driver.command(sql.appendJournal(table, event), { wait_for_async_insert: 1 }),
    readByFingerprint: async (fingerprint) =>
      (await driver.query<JournalRow>(sql.readJournal(table, { fingerprint }))).map(toEvent),
    readRun: async (runId) => (await driver.query<JournalRow>(sql.readJournal(table, { runId }))).map(toEvent),
  };
}
