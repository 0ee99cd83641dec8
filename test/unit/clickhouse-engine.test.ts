import { describe, expect, it } from 'vitest';
import { collapsingEngine } from '../../adapters/clickhouse/sql/engine.ts';

describe('engines that collapse rows', () => {
  it('are the Replacing, Summing, Aggregating, (Versioned)Collapsing, Graphite and Coalescing MergeTrees, replicated or not', () => {
    for (const engine of [
      'ReplacingMergeTree',
      'SummingMergeTree',
      'AggregatingMergeTree',
      'CollapsingMergeTree',
      'VersionedCollapsingMergeTree',
      'GraphiteMergeTree',
      'CoalescingMergeTree',
      'ReplicatedReplacingMergeTree',
    ])
      expect(collapsingEngine(engine), engine).toBe(true);
    for (const engine of ['MergeTree', 'ReplicatedMergeTree', 'Null', 'Memory'])
      expect(collapsingEngine(engine), engine).toBe(false);
  });
});
