/**
 * A run's writer to the journal: numbers events in order and writes them through the adapter's JournalStore.
 * `defer` buffers events whose loss on a crash is harmless (swap units: atomic, idempotent, re-listed by the next
 * invocation) and writes them in groups — one journal write per unit would cost more than the move it records.
 * `guard` runs before every write: the runner passes its lease check, so a process that lost the table's lease
 * cannot journal anything.
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
    await this.store.append(this.event(kind, fields));
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
    if (this.store.appendMany) await this.store.appendMany(events);
    else for (const e of events) await this.store.append(e);
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
