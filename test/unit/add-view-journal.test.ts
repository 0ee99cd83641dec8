import { describe, expect, it } from 'vitest';
import { reduceAddView, ViewJournal } from '../../src/addview/journal.ts';
import { JournalError } from '../../src/errors.ts';
import type { JournalEvent, JournalStore } from '../../src/journal/types.ts';

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
    const j = new ViewJournal(store, 'r1', 'f', 0);
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

  it('a lease keeps a second process off the run until released; of two starting at once, one wins', async () => {
    const store = memoryJournal();
    const first = new ViewJournal(store, 'r1', 'f', 0);
    await first.append('run-started', { data: started });
    await first.acquire('db.v', async () => undefined);
    // A lease of a live process (this one) on this host holds.
    const second = new ViewJournal(store, 'r1', 'f', 0);
    await expect(second.acquire('db.v', async () => undefined)).rejects.toThrow(
      /another shadowfill process \(pid \d+ on .*\) is adding view db\.v/,
    );
    await first.release();
    await second.acquire('db.v', async () => undefined);
    expect(reduceAddView(store.events)!.lease?.owner).toBe(second.owner);

    const raced = memoryJournal();
    const a = new ViewJournal(raced, 'r2', 'f', 0);
    await a.append('run-started', { data: started });
    const b = new ViewJournal(raced, 'r2', 'f', 1);
    // Both read the journal before either lease is visible, then both append.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const results = await Promise.allSettled([
      a.acquire('db.v', () => gate),
      b.acquire('db.v', async () => {
        release();
        await gate;
      }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(loser.reason).toBeInstanceOf(JournalError);
  });
});
