/**
 * The journal: an append-only event log of runs, kept in the target database so that it survives the process
 * and travels with the data. Adapters store and return events; only the engine (src/journal/state.ts) gives them
 * meaning.
 */

export type JournalEventKind =
  /** data: RunStartedData */
  | 'run-started'
  /** batch: index; data: { rows, lane? } — verified, in the landing of `lane` ('' or absent: the default lane) */
  | 'batch-loaded'
  /** batch: index; data: { lane } — the commit from that lane's landing began (targets that move landings) */
  | 'batch-committing'
  | 'batch-committed'
  /** batch: index; data: { attempt, error } */
  | 'batch-failed'
  /** data: SwapState returned by the adapter's beginSwap */
  | 'swap-began'
  /** unit: unit id */
  | 'swap-unit-done'
  | 'swap-finished'
  | 'run-finished'
  /** data: { error } — the run stopped; it can be resumed */
  | 'run-stopped'
  /** the run's shadows exist (targets other processes can reach: a process joining the run waits for it) */
  | 'shadows-created'
  /** data: TableVerification[] — what was verified before the swap began */
  | 'shadow-verified'
  /** data: { reason, host, pid } — the run was given up (`shadowfill abandon`, or `--new-run`); never resumed */
  | 'run-abandoned'
  /** add-view: the live view (and its target, if the run created it) exists; data: { cutoff } */
  | 'view-created'
  /** add-view: the windows from `from` on were planned again (another view.window); data: { from, windows, window } */
  | 'windows-planned';

export interface JournalEvent {
  readonly runId: string;
  /** Fingerprint of the configuration that started the run. */
  readonly fingerprint: string;
  /**
   * Increasing within a run as one process writes it. Processes that joined a run write their own events: they
   * take the next number when they write (a store with a unique key refuses a taken one, JOURNAL_CONFLICT, and the
   * writer takes the next), so a number may repeat in stores without one; order is (seq, at).
   */
  readonly seq: number;
  /** ISO-8601 time of the event. */
  readonly at: string;
  readonly kind: JournalEventKind;
  /** Batch index, or -1. */
  readonly batch: number;
  /** Swap unit id, or ''. */
  readonly unit: string;
  /** JSON text, or ''. */
  readonly data: string;
}

export interface JournalStore {
  /** Creates the journal table if it does not exist. */
  ensure(): Promise<void>;
  append(event: JournalEvent): Promise<void>;
  /** Several events in one write (optional; the engine falls back to `append` one by one). */
  appendMany?(events: readonly JournalEvent[]): Promise<void>;
  /** Every event of runs started with this fingerprint, ordered by run start then seq. */
  readByFingerprint(fingerprint: string): Promise<readonly JournalEvent[]>;
  /** Every event of one run, ordered by seq. */
  readRun(runId: string): Promise<readonly JournalEvent[]>;
}
