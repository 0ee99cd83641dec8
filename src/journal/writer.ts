/**
 * A run's writer to the journal: numbers events in order and writes them through the adapter's JournalStore.
 * `defer` buffers events whose loss on a crash is harmless (swap units: atomic, idempotent, re-listed by the next
 * invocation) and writes them in groups — one journal write per unit would cost more than the move it records.
 * (src/runner/run.ts keeps a private copy of this class; it can use this one.)
 */
import type { JournalEvent, JournalEventKind, JournalStore } from './types.ts';

export interface JournalFields {
  readonly batch?: number;
  readonly unit?: string;
  readonly data?: unknown;
}

export class JournalWriter {
  protected seq: number;
  private deferred: JournalEvent[] = [];
  private lastFlush = Date.now();

  constructor(
    protected readonly store: JournalStore,
    readonly runId: string,
    private readonly fingerprint: string,
    lastSeq: number,
  ) {
    this.seq = lastSeq;
  }

  async append(kind: JournalEventKind, fields: JournalFields = {}): Promise<void> {
    await this.flush();
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
