/**
 * `shadowfill plan` for TimescaleDB: every statement of the run in order, built by the same Statements the run
 * executes. Which compressed chunks get decompressed depends on where the staged rows fall, which is only known
 * after loading; the plan lists the compressed chunks inside the filter's range (all compressed chunks when the
 * filter does not bound the time column) and says how `strategy` treats them.
 */
import type { BatchSpec, PlannedStatement, RunContext } from '../../src/adapter/contract.ts';
import type { ChunkInfo, Hypertable, PgColumn } from './introspect.ts';
import { BATCH_COLUMN } from './names.ts';
import type { TimescaleOptions } from './options.ts';
import type { Statements } from './statements.ts';
import { strategyExplanation } from './swap.ts';
import { internalText, parseLiteralToInternal } from './time.ts';
import { qualified, quoteLiteral } from './sql/quote.ts';
import { catalogFor } from './catalog/index.ts';

export interface PlanInput {
  readonly run: RunContext;
  readonly batches: readonly BatchSpec[];
  readonly ht: Hypertable;
  readonly stmts: Statements;
  readonly options: TimescaleOptions;
  readonly chunks: readonly ChunkInfo[];
  readonly method: 'copy' | 'insert';
  readonly loadColumns: readonly PgColumn[];
}

/** The compressed chunks the filter's time range reaches, and the range as internal bounds. */
export function chunksInFilter(input: Pick<PlanInput, 'run' | 'ht' | 'chunks'>): {
  chunks: ChunkInfo[];
  lo: bigint | undefined;
  hi: bigint | undefined;
} {
  const { run, ht } = input;
  const filter = run.filter;
  const onTime = filter !== undefined && filter.column === ht.time.column;
  const lo =
    onTime && filter.after !== undefined ? parseLiteralToInternal(ht.time.kind, filter.after) : undefined;
  const hi =
    onTime && filter.before !== undefined ? parseLiteralToInternal(ht.time.kind, filter.before) : undefined;
  const chunks = input.chunks.filter(
    (c) => c.compressed && (lo === undefined || c.end > lo) && (hi === undefined || c.start < hi),
  );
  return { chunks, lo, hi };
}

export function planStatements(input: PlanInput): PlannedStatement[] {
  const { ht, stmts, options, batches } = input;
  const table = `${ht.schema}.${ht.name}`;
  const kind = ht.time.kind;
  const out: PlannedStatement[] = [];
  const add = (phase: PlannedStatement['phase'], title: string, sql: string) =>
    out.push({ phase, title, sql });

  add(
    'validate',
    `introspect ${table}: dimensions, compression settings, policy job, continuous aggregates, unique indexes, chunks`,
    `SELECT … FROM timescaledb_information.hypertables, timescaledb_information.dimensions, timescaledb_information.hypertable_compression_settings, timescaledb_information.jobs, timescaledb_information.job_stats, timescaledb_information.continuous_aggregates, timescaledb_information.chunks, chunk_compression_stats(${quoteLiteral(qualified(ht.schema, ht.name))}), pg_index` +
      ` — and from the internal catalog (TimescaleDB ${catalogFor(ht.timescaleVersion).versions}): space slices, partitioning functions, partial-chunk status, rows before compression, bucket widths`,
  );
  add(
    'prepare',
    `create the staging table ${stmts.names.staging} (UNLOGGED, shaped like ${table})`,
    stmts.createStaging(),
  );
  add('prepare', `index the staging table by batch (BRIN)`, stmts.createBatchIndex());
  add('prepare', `create the swap-state table ${stmts.names.state}`, stmts.createStateTable());

  const load =
    input.method === 'copy' ? stmts.copyInto(input.loadColumns) : stmts.insertUnnest(input.loadColumns);
  for (const batch of batches) {
    const n = batch.index + 1;
    const objects = `${batch.objects.length} object${batch.objects.length === 1 ? '' : 's'}`;
    add(
      'load',
      `batch ${n}: clear rows of an earlier attempt`,
      stmts.clearBatch().replace('$1', String(batch.index)),
    );
    add(
      'load',
      `batch ${n}: ${input.method === 'copy' ? 'COPY' : `INSERT … unnest (${options.insertRows} rows per statement)`} ${objects} into ${stmts.names.staging}, synchronous_commit off`,
      input.method === 'copy' ? load : load.replace(`$${input.loadColumns.length + 1}`, String(batch.index)),
    );
    add('verify', `batch ${n}: count staged rows`, stmts.countBatch().replace('$1', String(batch.index)));
    add('commit', `batch ${n}: committed by its tag ${BATCH_COLUMN} = ${batch.index} (nothing to run)`, '');
  }

  add('swap', `index the staging table on ${ht.time.column}`, stmts.createTimeIndex());
  add('swap', `analyze the staging table`, stmts.analyzeStaging());
  add(
    'swap',
    `staged rows per ${ht.time.column} slice (one swap unit per chunk interval)`,
    stmts.sliceStats(),
  );
  if (options.onConflict === 'error') {
    for (const index of ht.uniqueIndexes) {
      add(
        'swap',
        `on_conflict: error — per slice, staged keys of unique index ${index.name} (${index.columns.join(', ')}) already in ${table} or staged twice; any found: refuse with the count and one key, before anything changes`,
        stmts.conflictCheckSql(index, ':slice_start', ':slice_end'),
      );
    }
  }
  const { chunks, lo, hi } = chunksInFilter(input);
  const range =
    lo !== undefined || hi !== undefined
      ? `[${lo === undefined ? '…' : internalText(kind, lo)}, ${hi === undefined ? '…' : internalText(kind, hi)})`
      : 'any time';
  add(
    'swap',
    `headroom: pre-compression size of the chunks to decompress must stay within max_decompressed_bytes ${options.maxDecompressedBytes}`,
    `SELECT chunk_schema, chunk_name, before_compression_total_bytes FROM chunk_compression_stats(${quoteLiteral(qualified(ht.schema, ht.name))})`,
  );
  if (ht.compressionEnabled && ht.policy) {
    add(
      'swap',
      `pause compression policy job ${ht.policy.jobId} (prior state recorded in ${stmts.names.state})`,
      stmts.pausePolicy().replace('$1', String(ht.policy.jobId)),
    );
    add(
      'swap',
      `wait until no run of job ${ht.policy.jobId} is under way (the scheduler cancels a run once the job is paused)`,
      `SELECT count(*) FROM pg_stat_activity a JOIN timescaledb_information.jobs j ON j.application_name = a.application_name WHERE j.job_id = ${ht.policy.jobId}`,
    );
  }
  add('swap', strategyExplanation(ht, options), '');
  if (options.strategy !== 'direct') {
    if (chunks.length === 0) {
      add(
        'swap',
        `no compressed chunk of ${table} lies in the backfill range ${range}: nothing will be decompressed`,
        '',
      );
    }
    for (const chunk of chunks) {
      add(
        'swap',
        `decompress chunk ${chunk.schema}.${chunk.name} [${internalText(kind, chunk.start)}, ${internalText(kind, chunk.end)}) if staged rows fall into it${options.strategy === 'auto' ? ' and they exceed ' + options.directMaxFraction * 100 + '% of its rows' : ''}${chunk.uncompressedBytes !== undefined ? ` (${chunk.uncompressedBytes} bytes uncompressed)` : ''}`,
        stmts
          .decompressChunk()
          .replace('$1::regclass', `${quoteLiteral(qualified(chunk.schema, chunk.name))}::regclass`),
      );
    }
  }
  add(
    'swap',
    `per slice, in one transaction: move staged rows into ${table}${options.onConflict === 'error' ? '' : ` (on_conflict ${options.onConflict})`}`,
    stmts.moveSliceSql(':slice_start', ':slice_end'),
  );
  if (options.progressiveRecompress) {
    add(
      'swap',
      `after each slice: compress again every decompressed chunk with no staged rows left`,
      stmts.compressChunk(),
    );
  }
  add(
    'swap',
    `finish: compress again every chunk decompressed or written into by this run`,
    stmts.compressChunk(),
  );
  const pastCompressAfter =
    ht.policy?.compressAfter !== undefined
      ? stmts.chunksPastCompressAfter(ht.policy.compressAfter)
      : undefined;
  if (pastCompressAfter) {
    add(
      'swap',
      `finish: compress new chunks older than the policy's compress_after ${ht.policy?.compressAfter}`,
      pastCompressAfter,
    );
  }
  if (ht.compressionEnabled && ht.policy) {
    add(
      'swap',
      `finish: resume compression policy job ${ht.policy.jobId} to its prior state (also after an error, and by the next run after a crash)`,
      stmts.resumePolicy().replace('$1', String(ht.policy.jobId)).replace('$2', String(ht.policy.scheduled)),
    );
  }
  for (const agg of [...ht.aggregates].sort((a, b) => a.level - b.level)) {
    add(
      'swap',
      `finish: refresh continuous aggregate ${agg.schema}.${agg.name} over the backfilled range`,
      stmts.refreshAggregateSql(agg.schema, agg.name, agg.bucketWidth, ':backfill_min', ':backfill_max'),
    );
  }
  add('cleanup', `drop the staging table`, stmts.dropStaging());
  add('cleanup', `drop the swap-state table`, stmts.dropStateTable());
  return out;
}
