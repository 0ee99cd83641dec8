/**
 * Internal catalog of TimescaleDB up to 2.27: a chunk's dimension slices are shared rows of `dimension_slice`,
 * reached through `chunk_constraint.dimension_slice_id`. (Up to 2.25 `chunk.dropped` marks chunks kept only as
 * catalog rows; the adapter looks slices up by the chunks `timescaledb_information.chunks` lists, which leaves those
 * out, so this module never needs that column.) Tested on 2.23.
 */
import type { Queryable } from '../connection.ts';
import type { InternalCatalog, SpaceSlice } from './index.ts';
import { bucketWidths, chunkFacts, collectSlices, dimensionFunctions } from './shared.ts';

async function spaceSlices(
  db: Queryable,
  schema: string,
  table: string,
): Promise<Map<string, Record<string, SpaceSlice>>> {
  const rows = await db.query<{ chunk: string; dim: string; start: string; end: string }>(
    `SELECT c.schema_name || '.' || c.table_name AS chunk, d.column_name AS dim,
            s.range_start::text AS start, s.range_end::text AS "end"
       FROM _timescaledb_catalog.chunk c
       JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id
       JOIN _timescaledb_catalog.chunk_constraint cc ON cc.chunk_id = c.id AND cc.dimension_slice_id IS NOT NULL
       JOIN _timescaledb_catalog.dimension_slice s ON s.id = cc.dimension_slice_id
       JOIN _timescaledb_catalog.dimension d ON d.id = s.dimension_id
      WHERE h.schema_name = $1 AND h.table_name = $2 AND d.interval_length IS NULL`,
    [schema, table],
    `reading the space slices of the chunks of ${schema}.${table}`,
  );
  return collectSlices(rows);
}

export const catalogUntil227: InternalCatalog = {
  versions: '2.27 and earlier',
  dimensionFunctions,
  spaceSlices,
  chunkFacts,
  bucketWidths,
};
