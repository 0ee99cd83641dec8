import { describe, expect, it } from 'vitest';
import { findViewRuns, reduceAddView } from '../../src/addview/journal.ts';
import { viewLeaseKey } from '../../src/addview/lease.ts';
import { memoryLeaseStore, tableLeaseKey } from '../../src/journal/lease.ts';
import type { JournalEvent, JournalStore } from '../../src/journal/types.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import { acquireLease } from '../../src/runner/lease.ts';

/** The journal contract in memory (what every adapter's JournalStore does in its database). */
function memoryJournal(): JournalStore & { events: JournalEvent[] } {
  const events: JournalEvent[] = [];
  return {
    events,
    ensure: async () => undefined,
    append: async (e) => void events.push(e),
    readByFingerprint: async (f) => events.filter((e) => e.fingerprint === f),
    readRun: async (r) => events.filter((e) => e.runId === r).sort((a, b) => a.seq - b.seq),
  };
}

const started = {
  addView: {
    spec: {},
    cutoff: { kind: 'time', value: '100' },
    history: { kind: 'source-table' },
    windows: [0, 1, 2].map((i) => ({ index: i, lo: null, hi: { kind: 'time', value: String(i + 1) } })),
    sizes: { window: '1', margin: '0', settle: '0', wait: '0' },
    before: [],
  },
};

describe('add-view journal', () => {
  it('windows: verified, committed, planned again from a pending one on', async () => {
    const store = memoryJournal();
    const j = new JournalWriter(store, 'r1', 'f', 0);
    await j.append('run-started', { data: started });
    await j.append('view-created');
    await j.append('batch-loaded', { batch: 0, data: { sourceRows: 5, comparisons: [], landed: {} } });
    await j.append('batch-committed', { batch: 0 });
    await j.append('batch-failed', { batch: 1, data: { attempt: 1, error: 'memory' } });
    await j.append('windows-planned', {
      data: {
        from: 1,
        window: '2',
        windows: [1, 2, 3, 4].map((i) => ({ index: i, lo: null, hi: { kind: 'time', value: String(i) } })),
      },
    });
    const state = reduceAddView(store.events)!;
    expect(state.windows).toEqual(['committed', 'pending', 'pending', 'pending', 'pending']);
    expect(state.started.sizes.window).toBe('2');
    expect(state.failures).toBe(1);
    expect(state.viewCreated).toBe(true);
    expect(state.finished).toBe(false);
  });

  it('an abandoned run is neither resumed nor finished', async () => {
    const store = memoryJournal();
    const j = new JournalWriter(store, 'r1', 'f', 0);
    await j.append('run-started', { data: started });
    await j.append('run-abandoned', { data: { reason: 'abandoned with add-view --abandon' } });
    const runs = await findViewRuns(store, 'f');
    expect(runs.unfinished).toBeUndefined();
    expect(runs.finished).toBeUndefined();
    expect(runs.all[0]?.abandoned).toBe('abandoned with add-view --abandon');
  });
});

describe('add-view lease', () => {
  it('two add-views of one view exclude each other; a run of the source table does not', async () => {
    const store = memoryLeaseStore();
    const key = viewLeaseKey('clickhouse', 'db', 'per_hour_mv');
    const first = await acquireLease(store, key, 'view db.per_hour_mv');
    await expect(acquireLease(store, key, 'view db.per_hour_mv')).rejects.toThrow(
      /^view db\.per_hour_mv is being backfilled by another shadowfill process \(pid \d+ on /,
    );
    // The source table's backfill holds another key: it is not blocked by the add-view.
    const table = await acquireLease(store, tableLeaseKey('clickhouse', 'db', 'pypi'), 'db.pypi');
    // Another view of the same source, or the same view name in another database, is another key too.
    const other = await acquireLease(
      store,
      viewLeaseKey('clickhouse', 'db', 'per_day_mv'),
      'view db.per_day_mv',
    );
    const elsewhere = await acquireLease(
      store,
      viewLeaseKey('clickhouse', 'db2', 'per_hour_mv'),
      'view db2.per_hour_mv',
    );
    await first.release();
    const second = await acquireLease(store, key, 'view db.per_hour_mv');
    expect(second.generation).toBe(2);
    for (const held of [second, table, other, elsewhere]) await held.release();
  });
});
