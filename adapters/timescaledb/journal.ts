/**
 * The engine's journal kept in the target database: table `<schema>.shadowfill_journal`, one row per event,
 * primary key (run_id, seq). Appends are ordinary durable commits (never `synchronous_commit = off`).
 */
import type { JournalStore } from '../../src/journal/types.ts';
import { JOURNAL_COLUMNS, journalRowToEvent, type JournalRow } from '../../src/journal/rows.ts';
import { JournalError } from '../../src/errors.ts';
import type { PgConnection } from './connection.ts';
import { JOURNAL_TABLE } from './names.ts';
import { qualified, quoteIdent } from './sql/quote.ts';

const COLUMNS = JOURNAL_COLUMNS.join(', ');

export function createJournal(db: PgConnection, schema: string): JournalStore {
  const table = qualified(schema, JOURNAL_TABLE);
  const where = `${schema}.${JOURNAL_TABLE}`;
  /** Reading a journal that was never created (validation runs no DDL) finds no events. */
  const exists = async () =>
    (
      await db.query<{ found: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS found',
        [table],
        `looking up ${where}`,
      )
    )[0]?.found === true;
  return {
    async ensure() {
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
           run_id text NOT NULL, fingerprint text NOT NULL, seq integer NOT NULL, at text NOT NULL, kind text NOT NULL,
           batch integer NOT NULL, unit text NOT NULL, data text NOT NULL, PRIMARY KEY (run_id, seq))`,
        [],
        `creating the journal ${where}`,
      );
      await db.query(
        `CREATE INDEX IF NOT EXISTS ${quoteIdent(`${JOURNAL_TABLE}_fingerprint`)} ON ${table} (fingerprint)`,
        [],
        `indexing the journal ${where}`,
      );
    },
    async append(event) {
      try {
        await db.query(
          `INSERT INTO ${table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            event.runId,
            event.fingerprint,
            event.seq,
            event.at,
            event.kind,
            event.batch,
            event.unit,
            event.data,
          ],
          `appending to the journal ${where}`,
        );
      } catch (error) {
        if ((error as { nativeCode?: string }).nativeCode === '23505') {
          throw new JournalError(
            'JOURNAL_CONFLICT',
            `the journal ${where} already has event ${event.seq} of run ${event.runId}: another shadowfill process is running this backfill; wait for it or stop it`,
            { cause: error },
          );
        }
        throw error;
      }
    },
    async readByFingerprint(fingerprint) {
      if (!(await exists())) return [];
      const rows = await db.query<JournalRow>(
        `SELECT ${COLUMNS} FROM ${table} j WHERE fingerprint = $1
          ORDER BY (SELECT min(s.at) FROM ${table} s WHERE s.run_id = j.run_id), run_id, seq`,
        [fingerprint],
        `reading the journal ${where}`,
      );
      return rows.map(journalRowToEvent);
    },
    async readRun(runId) {
      if (!(await exists())) return [];
      const rows = await db.query<JournalRow>(
        `SELECT ${COLUMNS} FROM ${table} WHERE run_id = $1 ORDER BY seq`,
        [runId],
        `reading the journal ${where}`,
      );
      return rows.map(journalRowToEvent);
    },
  };
}
