/**
 * The TimescaleDB adapter's load step on a plain PostgreSQL table (no TimescaleDB there, so `describe()` refuses
 * it): builds the adapter's `Statements` for the table as if it were a hypertable, creates the adapter's staging
 * table (UNLOGGED, LIKE the table, plus `_shadowfill_batch`, with its BRIN index), and loads decoded rows into it
 * with the adapter's own loader (`loadBatch`: COPY, or INSERT … unnest on the embedded server). Used by the
 * `postgres-load` benchmark, and by `timescaledb-backfill` to stage rows for the manual procedure.
 */
import type { PgConnection } from '../../adapters/timescaledb/connection.ts';
import { readColumns, type Hypertable } from '../../adapters/timescaledb/introspect.ts';
import { loadBatch, type StagingInput } from '../../adapters/timescaledb/load.ts';
import { runNames } from '../../adapters/timescaledb/names.ts';
import { parseTimescaleOptions } from '../../adapters/timescaledb/options.ts';
import { mapColumns, Statements, type ColumnMapping } from '../../adapters/timescaledb/statements.ts';
import type { LoadResult } from '../../src/adapter/contract.ts';
import type { SourceColumn } from '../../src/source/types.ts';

export interface PgStaging {
  /** The staging table's name (unqualified, in `schema`). */
  readonly staging: string;
  /** Loads `input` (decoded rows or encoded pieces) as batch `batch` through the adapter's loader (one transaction). */
  load(batch: number, input: StagingInput): Promise<LoadResult>;
  /** Empties the staging table between rounds. */
  truncate(): Promise<void>;
  /** The adapter's statements and column mapping for this table (for loaders other than `loadBatch`). */
  readonly statements: Statements;
  readonly mapping: readonly ColumnMapping[];
}

/** Creates the adapter's staging table for `schema.table` and returns its loader. */
export async function createPgStaging(
  db: PgConnection,
  schema: string,
  table: string,
  timeColumn: string,
  source: readonly SourceColumn[],
  runId: string,
  method: 'copy' | 'insert' = 'copy',
): Promise<PgStaging> {
  const columns = await readColumns(db, schema, table);
  const time = columns.find((c) => c.name === timeColumn);
  if (!time) throw new Error(`${schema}.${table} has no column ${timeColumn}`);
  const ht: Hypertable = {
    schema,
    name: table,
    columns,
    time: {
      column: timeColumn,
      type: time.type,
      kind: 'timestamptz',
      interval: 86_400_000_000n,
      integerNow: undefined,
    },
    space: [],
    compressionEnabled: false,
    segmentBy: [],
    orderBy: '',
    policy: undefined,
    aggregates: [],
    uniqueIndexes: [],
    timescaleVersion: '0',
    postgresVersion: '15',
  };
  const statements = new Statements(ht, runNames(table, runId), parseTimescaleOptions({}));
  await db.query(statements.createStaging());
  await db.query(statements.createBatchIndex());
  const mapping = mapColumns(columns, source);
  if (mapping.length !== source.length) {
    throw new Error(
      `${schema}.${table} lacks some of the source columns ${source.map((c) => c.name).join(', ')}`,
    );
  }
  return {
    statements,
    mapping,
    staging: statements.names.staging,
    load: (batch, input) =>
      loadBatch(
        db,
        {
          statements,
          mapping,
          batch,
          method,
          insertRows: 10_000,
          tableName: `${schema}.${table}`,
        },
        input,
      ),
    truncate: async () => {
      await db.query(`TRUNCATE ${statements.staging}`);
    },
  };
}
