/**
 * The journal's storage shape, shared by every adapter's JournalStore: one row per event with these columns,
 * and its conversion back to a JournalEvent (numbers may arrive as text from some drivers).
 */
import type { JournalEvent, JournalEventKind } from './types.ts';

/** Column names in storage order. */
export const JOURNAL_COLUMNS = [
  'run_id',
  'fingerprint',
  'seq',
  'at',
  'kind',
  'batch',
  'unit',
  'data',
] as const;

export interface JournalRow extends Record<string, unknown> {
  run_id: string;
  fingerprint: string;
  seq: number | string;
  at: string;
  kind: string;
  batch: number | string;
  unit: string;
  data: string;
}

export function journalRowToEvent(row: JournalRow): JournalEvent {
  return {
    runId: row.run_id,
    fingerprint: row.fingerprint,
    seq: Number(row.seq),
    at: row.at,
    kind: row.kind as JournalEventKind,
    batch: Number(row.batch),
    unit: row.unit,
    data: row.data,
  };
}
