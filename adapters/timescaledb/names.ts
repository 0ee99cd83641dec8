/**
 * Names of the per-run objects the adapter creates next to the hypertable, in the hypertable's schema:
 * - `<table>_v2_<run>`        the staging table (the run's shadow: UNLOGGED, shaped like the hypertable, plus
 *                             `_shadowfill_batch`),
 * - `<table>_v2_<run>_swap`   the swap state (policy paused by the run, chunks it decompressed, slices it moved and
 *                             the rows it moved per batch),
 * - `<table>_v2_<run>_claims` the batch claims: one row per batch (pending | loaded | committed, its verified rows,
 *                             its rows per time slice, who loaded it), locked by the process loading the batch,
 * - `<table>_v2_<run>_b/_t`   indexes of the staging table (batch BRIN, time b-tree).
 * PostgreSQL truncates identifiers at 63 bytes, so long names are shortened with a hash to stay unique.
 */
import { createHash } from 'node:crypto';

export const BATCH_COLUMN = '_shadowfill_batch';
export const JOURNAL_TABLE = 'shadowfill_journal';

export interface RunNames {
  readonly staging: string;
  readonly state: string;
  readonly claims: string;
  readonly batchIndex: string;
  readonly timeIndex: string;
}

const MAX_BASE_BYTES = 63 - '_swap'.length;

export function runNames(table: string, runId: string): RunNames {
  const run = runId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  let base = `${table}_v2_${run}`;
  if (Buffer.byteLength(base) > MAX_BASE_BYTES) {
    const hash = createHash('sha256').update(`${table}\0${runId}`).digest('hex').slice(0, 10);
    let head = `${table}_v2_`;
    while (Buffer.byteLength(`${head}${hash}`) > MAX_BASE_BYTES) head = head.slice(0, -1);
    base = `${head}${hash}`;
  }
  // `_claims` is longer than `_swap`, which the base leaves room for: a base that long takes `_c`.
  const claims = Buffer.byteLength(`${base}_claims`) <= 63 ? `${base}_claims` : `${base}_c`;
  return { staging: base, state: `${base}_swap`, claims, batchIndex: `${base}_b`, timeIndex: `${base}_t` };
}
