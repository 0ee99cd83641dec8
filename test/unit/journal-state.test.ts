import { describe, expect, it } from 'vitest';
import { groupRuns, reduceRun, type RunStartedData } from '../../src/journal/state.ts';
import type { JournalEvent, JournalEventKind } from '../../src/journal/types.ts';

const started: RunStartedData = {
  table: 'default.pypi',
  sourceUrl: 's3://b/*.parquet',
  filter: undefined,
  sourceColumns: [],
  batches: [
    { index: 0, objects: [] },
    { index: 1, objects: [] },
    { index: 2, objects: [] },
  ],
  objectRows: {},
  before: [],
};

function events(
  runId: string,
  at: string,
  list: [JournalEventKind, Partial<JournalEvent>?][],
): JournalEvent[] {
  return list.map(([kind, extra], i) => ({
    runId,
    fingerprint: 'f',
    seq: i + 1,
    at,
    kind,
    batch: -1,
    unit: '',
    data: kind === 'run-started' ? JSON.stringify(started) : '',
    ...extra,
  }));
}

describe('journal state', () => {
  it('derives batch states, failures, swap progress and completion', () => {
    const state = reduceRun(
      events('r1', '2026-01-01T00:00:00Z', [
        ['run-started'],
        ['batch-loaded', { batch: 0, data: '{"rows":10}' }],
        ['batch-committed', { batch: 0 }],
        ['batch-failed', { batch: 1, data: '{"attempt":1}' }],
        ['batch-loaded', { batch: 1, data: '{"rows":5}' }],
        ['swap-began', { data: '{"job":7}' }],
        ['swap-unit-done', { unit: 'u1' }],
      ]),
    )!;
    expect(state.batches).toEqual(['committed', 'loaded', 'pending']);
    expect(state.batchRows.get(1)).toBe(5);
    expect(state.failures).toBe(1);
    expect(state.swapState).toEqual({ job: 7 });
    expect([...state.unitsDone]).toEqual(['u1']);
    expect(state.finished).toBe(false);
    expect(state.lastSeq).toBe(7);
  });

  it('names the commit an invocation began and did not finish (lanes), and forgets it once committed', () => {
    const base: [JournalEventKind, Partial<JournalEvent>?][] = [
      ['run-started'],
      ['batch-loaded', { batch: 0, data: '{"rows":10,"lane":""}' }],
      ['batch-loaded', { batch: 1, data: '{"rows":5,"lane":"w2"}' }],
      ['batch-committing', { batch: 1, data: '{"lane":"w2"}' }],
    ];
    const killed = reduceRun(events('r1', '2026-01-01T00:00:00Z', base))!;
    expect(killed.committing).toBe(1);
    expect(killed.batches).toEqual(['loaded', 'loaded', 'pending']);
    expect(killed.batchLanes.get(1)).toBe('w2');
    const done = reduceRun(
      events('r1', '2026-01-01T00:00:00Z', [...base, ['batch-committed', { batch: 1 }]]),
    )!;
    expect(done.committing).toBeUndefined();
  });

  it('groups interleaved events by run in start order', () => {
    const a = events('a', '2026-01-02T00:00:00Z', [['run-started'], ['run-finished']]);
    const b = events('b', '2026-01-01T00:00:00Z', [['run-started']]);
    const runs = groupRuns([...a, ...b].reverse());
    expect(runs.map((r) => r[0]!.runId)).toEqual(['b', 'a']);
    expect(reduceRun(runs[1]!)!.finished).toBe(true);
  });

  it('ignores a run without run-started', () => {
    expect(
      reduceRun(events('x', '2026-01-01T00:00:00Z', [['batch-committed', { batch: 0 }]])),
    ).toBeUndefined();
  });
  it('an abandoned run is neither resumed nor finished, and keeps what was verified before the swap', () => {
    const checks = [
      { table: 'default.pypi', scope: 'shadow', method: 'rows', exact: true, ok: true, detail: '3 rows' },
    ];
    const state = reduceRun(
      events('r9', '2026-01-03T00:00:00Z', [
        ['run-started'],
        ['batch-loaded', { batch: 0, data: '{"rows":3}' }],
        ['batch-committed', { batch: 0 }],
        ['shadow-verified', { data: JSON.stringify(checks) }],
        ['run-abandoned', { data: '{"reason":"shadowfill abandon"}' }],
      ]),
    )!;
    expect(state.abandoned).toBe(true);
    expect(state.finished).toBe(false);
    expect(state.abandonedAt).toBe('2026-01-03T00:00:00Z');
    expect(state.shadowChecks).toEqual(checks);
  });
});
