/** The TimescaleDB adapter's swap state, read back from the journal: validated by its schema, never cast. */
import { describe, expect, it } from 'vitest';
import { parseTimescaleSwapState } from '../../adapters/timescaledb/swap.ts';
import { JournalError } from '../../src/errors.ts';

const state = {
  adapter: 'timescaledb',
  strategy: 'auto',
  policy: { jobId: 1000, priorScheduled: true, paused: true },
  beganAt: '2026-11-28T07:00:00.000Z',
  range: { min: '1', max: '99' },
  slices: 2,
  rows: 10,
  chunks: [{ chunk: '_timescaledb_internal._hyper_1_1_chunk', how: 'decompress', bytes: 8192 }],
  decompressBytes: 8192,
};

describe('TimescaleDB swap state', () => {
  it('reads back what beginSwap journals, as its own type', () => {
    const parsed = parseTimescaleSwapState(JSON.parse(JSON.stringify(state)) as Record<string, unknown>);
    expect(parsed?.policy?.jobId).toBe(1000);
    expect(parsed?.chunks[0]?.how).toBe('decompress');
  });

  it('none journaled (or an empty one) is undefined', () => {
    expect(parseTimescaleSwapState(undefined)).toBeUndefined();
    expect(parseTimescaleSwapState({})).toBeUndefined();
  });

  it('another shape fails naming the field and what to do', () => {
    const wrong = { ...state, policy: { jobId: '1000', priorScheduled: true, paused: true } };
    expect(() => parseTimescaleSwapState(wrong)).toThrow(JournalError);
    expect(() => parseTimescaleSwapState(wrong)).toThrow(/policy\.jobId: .*shadowfill abandon --config/);
    expect(() => parseTimescaleSwapState({ adapter: 'clickhouse' })).toThrow(/adapter/);
  });
});
