/**
 * Internal catalog of TimescaleDB 2.28 and later: every chunk has its own `dimension_slice` rows
 * (`dimension_slice.chunk_id`); `chunk_constraint` and `chunk.dropped` are gone. Tested on 2.28.3.
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
       JOIN _timescaledb_catalog.dimension_slice s ON s.chunk_id = c.id
       JOIN _timescaledb_catalog.dimension d ON d.id = s.dimension_id
      WHERE h.schema_name = $1 AND h.table_name = $2 AND d.interval_length IS NULL`,
    [schema, table],
    `reading the space slices of the chunks of ${schema}.${table}`,
  );
  return collectSlices(rows);
}

export const catalogSince228: InternalCatalog = {
  versions: '2.28 and later',
  dimensionFunctions,
  spaceSlices,
  chunkFacts,
  bucketWidths,
};
