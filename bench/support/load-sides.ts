/**
 * What the sides of the load benchmarks (postgres-load, load-pipeline) share: the objects split into the batches
 * of n workers, decode pools started and warmed before anything is timed, and the row checks of a side's table
 * against psql's.
 */
import type pg from 'pg';
import { copyEncoderOptions, copyEncoderSpec } from '../../adapters/timescaledb/copy-encoder.ts';
import { PYPI_COLUMNS } from '../../fixtures/pypi.ts';
import type { ObjectStoreLocation, SourceObject } from '../../src/source/types.ts';
import { DecodePool } from '../../src/workers/pool.ts';
import { timed } from '../common.ts';
import type { PgStaging } from './pg-staging.ts';

/** `n` contiguous groups of objects (the batches of n workers). */
export function split<T>(items: readonly T[], n: number): T[][] {
  const groups: T[][] = [];
  const size = Math.ceil(items.length / n);
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}

/**
 * A decode pool of `threads` threads, each of which has decoded a first piece of one of the objects (a run keeps
 * its pool for its whole life, so starting it is not timed with the load).
 */
export async function warmDecodePool(
  threads: number,
  fixture: { readonly location: ObjectStoreLocation; readonly objects: readonly SourceObject[] },
  staging: PgStaging,
): Promise<{ pool: DecodePool; seconds: number }> {
  const pool = new DecodePool({ threads });
  const encoder = copyEncoderSpec(copyEncoderOptions(staging.mapping, 0, 'public.pypi'));
  const warm = await timed(() =>
    Promise.all(
      Array.from({ length: threads }, async (_, i) => {
        for await (const _piece of pool.decode({
          location: fixture.location,
          object: fixture.objects[i % fixture.objects.length]!,
          columns: PYPI_COLUMNS,
          encoder,
          pieceRows: 1000,
        }))
          break;
      }),
    ),
  );
  return { pool, seconds: warm.seconds };
}

const COLUMN_LIST = PYPI_COLUMNS.map((c) => `"${c}"`).join(', ');

export async function countRows(sql: pg.Client, table: string): Promise<number> {
  return Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
}

/** Throws unless `table` holds exactly the rows of `reference` (EXCEPT ALL both ways, microseconds included). */
export async function assertSameRows(sql: pg.Client, table: string, reference: string): Promise<void> {
  const diff = await sql.query<{ n: string }>(
    `SELECT count(*) AS n FROM ((SELECT ${COLUMN_LIST} FROM ${table} EXCEPT ALL SELECT ${COLUMN_LIST} FROM ${reference})
     UNION ALL (SELECT ${COLUMN_LIST} FROM ${reference} EXCEPT ALL SELECT ${COLUMN_LIST} FROM ${table})) d`,
  );
  if (Number(diff.rows[0]?.n) !== 0)
    throw new Error(`${table} and ${reference} differ in ${diff.rows[0]?.n} rows`);
}
