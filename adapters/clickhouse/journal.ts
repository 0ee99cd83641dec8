/** The journal in ClickHouse: a MergeTree table `shadowfill_journal` in the target database. */
import type { JournalStore } from '../../src/journal/types.ts';
import { journalRowToEvent, type JournalRow } from '../../src/journal/rows.ts';
import type { ClickHouseDriver } from './driver.ts';
import { JOURNAL_TABLE } from './names.ts';
import { sql } from './sql/statements.ts';

export function clickHouseJournal(driver: ClickHouseDriver, database: string): JournalStore {
  const table = { database, table: JOURNAL_TABLE };
  /** No journal table yet means no runs yet: reading must not create it (validation runs no DDL). */
  const read = async (where: { fingerprint?: string; runId?: string }) => {
    const [exists] = await driver.query<{ n: string }>(sql.tableExists(table));
    if (!exists || Number(exists.n) === 0) return [];
    return (await driver.query<JournalRow>(sql.readJournal(table, where))).map(journalRowToEvent);
  };
  return {
    ensure: () => driver.command(sql.createJournal(table)),
    append: (event) => driver.command(sql.appendJournal(table, [event])),
    appendMany: async (events) => {
      if (events.length > 0) await driver.command(sql.appendJournal(table, events));
    },
    readByFingerprint: (fingerprint) => read({ fingerprint }),
    readRun: (runId) => read({ runId }),
  };
}
