/** The decode pool's size: one thread per lane up to the machine's cores, none for one lane or rows input. */
import { describe, expect, it } from 'vitest';
import { decodeThreadsFor } from '../../src/workers/pool.ts';

describe('decodeThreadsFor', () => {
  it('4 workers on 2 cores share 2 threads; on 8 cores each has one', () => {
    expect(decodeThreadsFor(4, true, 2)).toEqual({
      threads: 2,
      reason: '2 CPU cores, shared by the 4 workers',
    });
    expect(decodeThreadsFor(4, true, 8)).toEqual({ threads: 4, reason: 'one per worker' });
    expect(decodeThreadsFor(3, true, 1)).toEqual({
      threads: 1,
      reason: '1 CPU core, shared by the 3 workers',
    });
  });

  it('no pool for one worker or a target that takes rows', () => {
    expect(decodeThreadsFor(1, true, 8)).toBeUndefined();
    expect(decodeThreadsFor(4, false, 8)).toBeUndefined();
  });
});
