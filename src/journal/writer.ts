/**
 * A run's writer to the journal: numbers events in order and writes them through the adapter's JournalStore.
 * `defer` buffers events whose loss on a crash is harmless (swap units: atomic, idempotent, re-listed by the next
 * invocation) and writes them in groups — one journal write per unit would cost more than the move it records.
 * `guard` runs before every write: the runner passes its lease check, so a process that lost the table's lease
 * cannot journal anything. Several processes may write one run's journal (a process that joined a run journals
 * the batches it loads): when the store refuses a number another process took (JOURNAL_CONFLICT), the writer
 * reads the run's last number and writes again after it.
 */
import type { JournalEvent, JournalEventKind, JournalStore } from './types.ts';

export interface JournalFields {
  readonly batch?: number;
  readonly unit?: string;
  readonly data?: unknown;
}

export class JournalWriter {
  private seq: number;
  private deferred: JournalEvent[] = [];
  private lastFlush = Date.now();

  constructor(
    private readonly store: JournalStore,
    readonly runId: string,
    private readonly fingerprint: string,
    lastSeq: number,
    private readonly guard: () => Promise<void> = async () => undefined,
  ) {
    this.seq = lastSeq;
  }

  async append(kind: JournalEventKind, fields: JournalFields = {}): Promise<void> {
    await this.flush();
    await this.guard();
    await this.write(this.event(kind, fields));
  }

  /** One event; renumbered after the run's last one when another process took its number. */
  private async write(first: JournalEvent): Promise<void> {
    let event = first;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.store.append(event);
        return;
      } catch (error) {
        if (!(await this.taken(error, attempt))) throw error;
        event = { ...event, seq: (this.seq += 1) };
      }
    }
  }

  /** The last number this writer used or saw; later writes come after `seq` (another process's events). */
  advanceTo(seq: number): void {
    this.seq = Math.max(this.seq, seq);
  }

  /** The store refused a number another process took: moves past the run's last one (a few times at most). */
  private async taken(error: unknown, attempt: number): Promise<boolean> {
    if ((error as { code?: string }).code !== 'JOURNAL_CONFLICT' || attempt > 5) return false;
    const events = await this.store.readRun(this.runId);
    this.advanceTo(events.reduce((n, e) => Math.max(n, e.seq), 0));
    return true;
  }

  async defer(kind: JournalEventKind, fields: JournalFields = {}): Promise<void> {
    this.deferred.push(this.event(kind, fields));
    if (this.deferred.length >= 50 || Date.now() - this.lastFlush >= 500) await this.flush();
  }

  async flush(): Promise<void> {
    const events = this.deferred;
    this.deferred = [];
    this.lastFlush = Date.now();
    if (events.length === 0) return;
    await this.guard();
    if (!this.store.appendMany) {
      for (const e of events) await this.write(e);
      return;
    }
    let pending = events;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.store.appendMany(pending);
        return;
      } catch (error) {
        if (!(await this.taken(error, attempt))) throw error;
        // A refused group wrote nothing (one statement); renumber it after the run's last event.
        pending = pending.map((e) => ({ ...e, seq: (this.seq += 1) }));
      }
    }
  }

  private event(kind: JournalEventKind, fields: JournalFields): JournalEvent {
    this.seq += 1;
    return {
      runId: this.runId,
      fingerprint: this.fingerprint,
      seq: this.seq,
      at: new Date().toISOString(),
      kind,
      batch: fields.batch ?? -1,
      unit: fields.unit ?? '',
      data: fields.data === undefined ? '' : JSON.stringify(fields.data),
    };
  }
}
