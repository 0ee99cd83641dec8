/**
 * Internal-catalog reads whose tables and columns are the same in every version range the adapter supports
 * (2.x up to at least 2.28): `dimension`, `chunk.status`, `compression_chunk_size`,
 * `continuous_aggs_bucket_function`. The version-range modules beside this file reuse them.
 */
import type { Queryable } from '../connection.ts';
import { qualified } from '../sql/quote.ts';
import type { ChunkCatalogFacts, DimensionFunctions, SpaceSlice } from './index.ts';

export async function dimensionFunctions(
  db: Queryable,
  schema: string,
  table: string,
): Promise<Map<string, DimensionFunctions>> {
  const rows = await db.query<{
    column_name: string;
    func_schema: string | null;
    func: string | null;
    now_schema: string | null;
    now_func: string | null;
  }>(
    `SELECT d.column_name, d.partitioning_func_schema AS func_schema, d.partitioning_func AS func,
            d.integer_now_func_schema AS now_schema, d.integer_now_func AS now_func
       FROM _timescaledb_catalog.dimension d
       JOIN _timescaledb_catalog.hypertable h ON h.id = d.hypertable_id
      WHERE h.schema_name = $1 AND h.table_name = $2`,
    [schema, table],
    `reading the dimension functions of ${schema}.${table}`,
  );
  return new Map(
    rows.map((r) => [
      r.column_name,
      {
        partitioning: r.func && r.func_schema ? qualified(r.func_schema, r.func) : undefined,
        integerNow: r.now_func && r.now_schema ? qualified(r.now_schema, r.now_func) : undefined,
      },
    ]),
  );
}

export async function chunkFacts(
  db: Queryable,
  schema: string,
  table: string,
): Promise<Map<string, ChunkCatalogFacts>> {
  const rows = await db.query<{ schema: string; name: string; status: number; rows: string | null }>(
    `SELECT c.schema_name AS schema, c.table_name AS name, c.status, z.numrows_pre_compression::text AS rows
       FROM _timescaledb_catalog.chunk c
       JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
       LEFT JOIN _timescaledb_catalog.compression_chunk_size z ON z.chunk_id = c.id
      WHERE h.schema_name = $1 AND h.table_name = $2`,
    [schema, table],
    `reading the chunk status of ${schema}.${table}`,
  );
  return new Map(
    rows.map((r) => [
      `${r.schema}.${r.name}`,
      {
        partial: (r.status & 8) === 8,
        unordered: (r.status & 2) === 2,
        rowsBeforeCompression: r.rows === null ? undefined : Number(r.rows),
      },
    ]),
  );
}

export async function bucketWidths(db: Queryable): Promise<Map<string, string>> {
  const rows = await db.query<{ schema: string; name: string; width: string | null }>(
    `SELECT a.user_view_schema AS schema, a.user_view_name AS name, f.bucket_width::text AS width
       FROM _timescaledb_catalog.continuous_agg a
       JOIN _timescaledb_catalog.continuous_aggs_bucket_function f ON f.mat_hypertable_id = a.mat_hypertable_id`,
    [],
    'reading the bucket widths of the continuous aggregates',
  );
  return new Map(rows.filter((r) => r.width !== null).map((r) => [`${r.schema}.${r.name}`, r.width!]));
}

/** Slice rows (chunk, dimension column, start, end) → per chunk, per column. */
export function collectSlices(
  rows: readonly { chunk: string; dim: string; start: string; end: string }[],
): Map<string, Record<string, SpaceSlice>> {
  const result = new Map<string, Record<string, SpaceSlice>>();
  for (const r of rows) {
    const slices = result.get(r.chunk) ?? {};
    slices[r.dim] = { start: BigInt(r.start), end: BigInt(r.end) };
    result.set(r.chunk, slices);
  }
  return result;
}
