/**
 * The swap's own record in the target database (table `<staging>_swap`), written in the SAME transaction as each
 * change it records, so that it is true even if the process dies between two statements (before the engine could
 * journal anything):
 * - `policy`            the compression policy job this run paused and its prior `scheduled` state,
 * - `chunk:<schema.name>` a compressed chunk this run decompressed (or wrote into directly), and whether it has been
 *                       compressed again since,
 * - `swapped`           how many slices this run has moved into the hypertable and their internal time range (what
 *                       a stopped swap has already changed: aggregates are refreshed over it).
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
  /** `decompressed`: this run decompressed it; `direct`: this run inserted into it while compressed. */
  readonly how: 'decompressed' | 'direct';
  /** Compressed again (by this run) since. */
  readonly recompressed: boolean;
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
    return { policy: undefined, chunks: [], swapped: undefined };
  const rows = await db.query<{ key: string; value: Record<string, unknown> }>(
    `SELECT key, value FROM ${qualified(schema, table)} ORDER BY key`,
    [],
    `reading the swap state ${schema}.${table}`,
  );
  let policy: PolicyRecord | undefined;
  let swapped: SwappedRecord | undefined;
  const chunks: ChunkRecord[] = [];
  for (const { key, value } of rows) {
    if (key === 'policy') policy = value as unknown as PolicyRecord;
    else if (key === 'swapped') swapped = value as unknown as SwappedRecord;
    else if (key.startsWith('chunk:')) chunks.push(value as unknown as ChunkRecord);
  }
  return { policy, chunks, swapped };
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
