/**
 * How the staged rows lie in the staging table, and whether the swap needs a b-tree on the time column to find a
 * slice's rows or the staging table's BRIN on (batch, time) finds them well enough.
 *
 * Terminology
 * - **slice**: the rows of one chunk interval (what one swap unit moves).
 * - **range**: `BRIN_PAGES_PER_RANGE` heap pages, the unit the BRIN summarizes and a bitmap scan of it reads.
 * - **spread**: the BRIN ranges the batches' slices span (each slice from its first to its last block), summed,
 *   over the ranges the batches themselves span. Where the encoder tallied a batch (slice-tally.ts) its extents are
 *   row positions instead (`tallyBlocks`): the same ratio, since one COPY appends a batch in the order it sends it. About 1 when every slice's rows lie together (objects cut by time,
 *   rows in time order, or one slice per batch): moving every slice through the BRIN reads each staged page about
 *   once. About the slices per batch when the rows of a batch are shuffled in time: each slice's move reads the
 *   whole batch.
 *
 * A b-tree on time costs about three reads of the staged rows to build (0.38 s against 0.10–0.15 s for a scan of
 * 720k PyPI-shaped rows, real PostgreSQL 15), and every later COPY into the table maintains it (+20–60 % on a load
 * of rows in time order, about +220 % shuffled). So the swap builds it only when the spread is above
 * `MAX_BRIN_SPREAD`, or unknown (a batch loaded by a server or shadowfill version that did not record its blocks).
 */

import type { BatchTally } from './slice-tally.ts';

/** Heap pages per range of the staging table's BRIN (`Statements.createBatchIndex`); blocks count in these ranges. */
export const BRIN_PAGES_PER_RANGE = 32;

/** Statistics target of the staging columns a batch or a slice is found by (`Statements.stagingStatistics`). */
export const STAGING_STATISTICS_TARGET = 10;

/** Above this spread the swap builds the b-tree on time (see the module comment). */
export const MAX_BRIN_SPREAD = 3;

/** One row of `Statements.batchSlices`. */
export interface SliceRow {
  readonly slice: string;
  readonly n: string;
  readonly first_block?: string | null;
  readonly last_block?: string | null;
}

/** A batch's blocks, in heap pages rounded out to whole BRIN ranges (the claims' `slice_blocks`, `batch_blocks`). */
export interface BatchBlocks {
  readonly sliceBlocks: number;
  readonly batchBlocks: number;
}

/** The blocks of one batch from its `batchSlices` rows; undefined when they hold no blocks. */
export function batchBlocks(rows: readonly SliceRow[]): BatchBlocks | undefined {
  if (rows.length === 0) return { sliceBlocks: 0, batchBlocks: 0 };
  let slices = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const row of rows) {
    if (row.first_block == null || row.last_block == null) return undefined;
    const a = Math.floor(Number(row.first_block) / BRIN_PAGES_PER_RANGE);
    const b = Math.floor(Number(row.last_block) / BRIN_PAGES_PER_RANGE);
    slices += b - a + 1;
    first = Math.min(first, a);
    last = Math.max(last, b);
  }
  return {
    sliceBlocks: slices * BRIN_PAGES_PER_RANGE,
    batchBlocks: (last - first + 1) * BRIN_PAGES_PER_RANGE,
  };
}

/**
 * A batch's extent from the encoder's tally (slice-tally.ts): in row positions, not heap blocks. The spread is a
 * ratio, so either unit gives it (a batch appended by one COPY lies in the heap in the order it was sent); the
 * claims table sums both kinds alike.
 */
export function tallyBlocks(tally: BatchTally): BatchBlocks {
  return { sliceBlocks: tally.sliceSpan, batchBlocks: tally.rows };
}

/** What `Statements.blockSpread` reads: the committed batches' blocks, summed. */
export interface BlockSpread {
  /** Committed batches that recorded no blocks. */
  readonly unknown: number;
  readonly sliceBlocks: number;
  readonly batchBlocks: number;
}

/** The spread (see the module comment), or undefined when some batch recorded no blocks. */
export function spreadOf(spread: BlockSpread): number | undefined {
  if (spread.unknown > 0) return undefined;
  if (spread.batchBlocks === 0) return 1;
  return spread.sliceBlocks / spread.batchBlocks;
}

/** Whether the swap builds the b-tree on time, and why, in words (for `plan` and the notes). */
export function timeIndexDecision(spread: BlockSpread): { readonly build: boolean; readonly why: string } {
  const value = spreadOf(spread);
  if (value === undefined) {
    return {
      build: true,
      why: `${spread.unknown} committed batch(es) recorded no heap blocks (an older server or shadowfill version): indexing the staging table on time`,
    };
  }
  const text = value.toFixed(2);
  return value > MAX_BRIN_SPREAD
    ? {
        build: true,
        why: `the staged slices spread over ${text} × their batches' blocks (rows not in time order): indexing the staging table on time`,
      }
    : {
        build: false,
        why: `the staged slices spread over ${text} × their batches' blocks (≤ ${MAX_BRIN_SPREAD}): the BRIN on (batch, time) finds each slice's rows, no b-tree`,
      };
}
