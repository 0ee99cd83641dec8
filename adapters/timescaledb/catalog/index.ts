/**
 * The facts only TimescaleDB's internal catalog (`_timescaledb_catalog`) carries, read through ONE module per
 * version range, because its tables change between releases (2.26 dropped `chunk.dropped`; 2.28 moved dimension
 * slices to one row per chunk, `dimension_slice.chunk_id`, and dropped `chunk_constraint`). Everything the documented
 * views and functions carry is read in ../introspect.ts instead. What is read here:
 * - the partitioning function of each space dimension and the schema of an integer_now function
 *   (`timescaledb_information.dimensions` has neither),
 * - the space-dimension slices of each chunk (the `chunks` view shows only the time dimension),
 * - per chunk the *partially compressed* status bit and the rows before compression (`chunk_compression_stats`
 *   has only bytes and Compressed/Uncompressed),
 * - the bucket width of each continuous aggregate.
 * Tested on 2.23 (the embedded server) and 2.28 (the real one).
 */
import type { Queryable } from '../connection.ts';
import { versionAtLeast } from '../version.ts';
import { catalogSince228 } from './since-2.28.ts';
import { catalogUntil227 } from './until-2.27.ts';

/** Space slice [start, end) of one dimension, in the partitioning function's values. */
export interface SpaceSlice {
  readonly start: bigint;
  readonly end: bigint;
}

export interface DimensionFunctions {
  /** Qualified, quoted partitioning function of a space dimension. */
  readonly partitioning: string | undefined;
  /** Qualified, quoted integer_now function of an integer time dimension. */
  readonly integerNow: string | undefined;
}

export interface ChunkCatalogFacts {
  /** Compressed with rows added since (status bit 8): needs recompression. */
  readonly partial: boolean;
  /** Compressed batches written out of order (status bit 2, e.g. by direct compress inserts): needs recompression. */
  readonly unordered: boolean;
  readonly rowsBeforeCompression: number | undefined;
}

export interface InternalCatalog {
  /** The TimescaleDB versions this module reads, e.g. `2.28 and later`. */
  readonly versions: string;
  /** Per dimension column of the hypertable. */
  dimensionFunctions(db: Queryable, schema: string, table: string): Promise<Map<string, DimensionFunctions>>;
  /** Per chunk (`schema.name`): its slice of every space dimension (by column). */
  spaceSlices(db: Queryable, schema: string, table: string): Promise<Map<string, Record<string, SpaceSlice>>>;
  /** Per chunk (`schema.name`) of the hypertable. */
  chunkFacts(db: Queryable, schema: string, table: string): Promise<Map<string, ChunkCatalogFacts>>;
  /** Bucket width text (`01:00:00`, `1 mon`, `10`) per continuous aggregate view (`schema.name`). */
  bucketWidths(db: Queryable): Promise<Map<string, string>>;
}

/** The catalog reader for a TimescaleDB version (`2.23.0-dev`, `2.28.3`). */
export function catalogFor(version: string): InternalCatalog {
  return versionAtLeast(version, 2, 28) ? catalogSince228 : catalogUntil227;
}
