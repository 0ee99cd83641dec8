/**
 * The swap's own record in the target database (table `<staging>_swap`), written in the SAME transaction as each
 * change it records, so that it is true even if the process dies between two statements (before the engine could
 * journal anything):
 * - `policy`            the compression policy job this run paused and its prior `scheduled` state,
 * - `chunk:<schema.name>` a compressed chunk this run decompressed (or wrote into directly), and whether it has been
 *                       compressed again since,
 * - `swapped`           how many slices this run has moved into the hypertable and their internal time range (what
 *                       a stopped swap has already changed: aggregates are refreshed over it),
 * - `slice:<n>`         the committed batches whose rows in time slice n have been copied into the hypertable (a
 *                       slice moves again only for batches committed after; its row is locked while it moves, so two
 *                       sessions never move the same batch twice). Moved rows stay staged until the staging table is
 *                       dropped: deleting them cost more than inserting them,
 * - `moved:<batch>`     written only by shadowfill versions that deleted moved rows from staging: rows of the batch
 *                       moved so far (with the rows still staged: what the shadow holds of a committed batch). Still
 *                       read, so that such a run resumes exactly.
 * The engine's journal keeps beginSwap's SwapState; this table is what recover/finishSwap trust first.
 */
import type { Queryable } from './connection.ts';
import { qualified } from './sql/quote.ts';

export interface PolicyRecord {
  readonly jobId: number;
  /** `scheduled` before this run paused it. */
  readonly priorScheduled: boolean;
  /** True while the job is paused by this run. */
  readonly paused: boolean;
}

export interface ChunkRecord {
  readonly schema: string;
  readonly name: string;
  /**
   * `decompressed`: this run decompressed it; `direct`: this run inserted into it while compressed; `created`: a
   * slice of this run created it, older than the policy's compress_after (the policy would compress it).
   */
  readonly how: 'decompressed' | 'direct' | 'created';
  /** Compressed again (by this run) since. */
  readonly recompressed: boolean;
  /** The chunk's time range [start, end) in internal units, as decimal text (absent in records of older runs). */
  readonly start?: string;
  readonly end?: string;
}

/** Slices moved into the hypertable so far; bounds in internal time units as decimal text (JSON-safe). */
export interface SwappedRecord {
  readonly slices: number;
  readonly min: string;
  /** Exclusive end of the last slice. */
  readonly max: string;
}

export interface StoredSwapState {
  readonly policy: PolicyRecord | undefined;
  readonly chunks: readonly ChunkRecord[];
  readonly swapped: SwappedRecord | undefined;
  /** Per slice number (decimal text): the batches whose rows in it have been moved. */
  readonly slices: ReadonlyMap<string, ReadonlySet<number>>;
}

export function stateTableDdl(schema: string, table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, table)} (key text PRIMARY KEY, value jsonb NOT NULL)`;
}

export async function stateTableExists(db: Queryable, schema: string, table: string): Promise<boolean> {
  const rows = await db.query<{ found: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS found`, [
    qualified(schema, table),
  ]);
  return rows[0]?.found === true;
}

export async function readSwapState(db: Queryable, schema: string, table: string): Promise<StoredSwapState> {
  if (!(await stateTableExists(db, schema, table)))
    return { policy: undefined, chunks: [], swapped: undefined, slices: new Map() };
  const rows = await db.query<{ key: string; value: Record<string, unknown> }>(
    `SELECT key, value FROM ${qualified(schema, table)} ORDER BY key`,
    [],
    `reading the swap state ${schema}.${table}`,
  );
  let policy: PolicyRecord | undefined;
  let swapped: SwappedRecord | undefined;
  const chunks: ChunkRecord[] = [];
  const slices = new Map<string, Set<number>>();
  for (const { key, value } of rows) {
    if (key === 'policy') policy = value as unknown as PolicyRecord;
    else if (key === 'swapped') swapped = value as unknown as SwappedRecord;
    else if (key.startsWith('chunk:')) chunks.push(value as unknown as ChunkRecord);
    else if (key.startsWith('slice:')) {
      slices.set(key.slice('slice:'.length), new Set((value as { batches?: number[] }).batches ?? []));
    }
  }
  return { policy, chunks, swapped, slices };
}

/** Records that slice `slice` has moved the rows of `batches` (added to what it moved before), in its transaction. */
export async function recordSliceBatches(
  db: Queryable,
  schema: string,
  table: string,
  slice: bigint,
  batches: readonly number[],
): Promise<void> {
  await db.query(
    `INSERT INTO ${qualified(schema, table)} (key, value) VALUES ($1, jsonb_build_object('batches', $2::jsonb))
     ON CONFLICT (key) DO UPDATE SET value = jsonb_build_object('batches',
       (SELECT coalesce(jsonb_agg(DISTINCT b ORDER BY b), '[]'::jsonb) FROM (
          SELECT jsonb_array_elements(${qualified(schema, table)}.value->'batches') AS b
          UNION SELECT jsonb_array_elements($2::jsonb)) AS u))`,
    [`slice:${slice}`, JSON.stringify(batches)],
    `recording the moved slice in ${schema}.${table}`,
  );
}

/**
 * Locks slice `slice`'s record for the caller's transaction (creating it empty when missing) and returns the batches
 * it has moved: a second session moving the same slice waits here, then sees what the first one moved.
 */
export async function lockSliceBatches(
  db: Queryable,
  schema: string,
  table: string,
  slice: bigint,
): Promise<Set<number>> {
  const what = `locking the record of slice ${slice} in ${schema}.${table}`;
  await db.query(
    `INSERT INTO ${qualified(schema, table)} (key, value) VALUES ($1, '{"batches": []}'::jsonb) ON CONFLICT (key) DO NOTHING`,
    [`slice:${slice}`],
    what,
  );
  const rows = await db.query<{ value: { batches?: number[] } }>(
    `SELECT value FROM ${qualified(schema, table)} WHERE key = $1 FOR UPDATE`,
    [`slice:${slice}`],
    what,
  );
  return new Set((rows[0]?.value.batches ?? []).map(Number));
}

export async function writePolicyRecord(
  db: Queryable,
  schema: string,
  table: string,
  record: PolicyRecord,
): Promise<void> {
  await put(db, schema, table, 'policy', record);
}

export async function writeChunkRecord(
  db: Queryable,
  schema: string,
  table: string,
  record: ChunkRecord,
): Promise<void> {
  await put(db, schema, table, `chunk:${record.schema}.${record.name}`, record);
}

/** Adds the slice [lo, hi) to the `swapped` record (in the slice's own transaction). */
export async function recordSwappedSlice(
  db: Queryable,
  schema: string,
  table: string,
  lo: bigint,
  hi: bigint,
): Promise<void> {
  await db.query(
    `INSERT INTO ${qualified(schema, table)} (key, value)
     VALUES ('swapped', jsonb_build_object('slices', 1, 'min', $1::text, 'max', $2::text))
     ON CONFLICT (key) DO UPDATE SET value = jsonb_build_object(
       'slices', (${qualified(schema, table)}.value->>'slices')::int + 1,
       'min', least((${qualified(schema, table)}.value->>'min')::numeric, $1::numeric)::text,
       'max', greatest((${qualified(schema, table)}.value->>'max')::numeric, $2::numeric)::text)`,
    [String(lo), String(hi)],
    `recording the swapped slice in ${schema}.${table}`,
  );
}

async function put(db: Queryable, schema: string, table: string, key: string, value: object): Promise<void> {
  await db.query(
    `INSERT INTO ${qualified(schema, table)} (key, value) VALUES ($1, $2::jsonb)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    [key, JSON.stringify(value)],
    `recording the swap state in ${schema}.${table}`,
  );
}
