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
import { MAX_BRIN_SPREAD, STAGING_STATISTICS_TARGET } from './staging-layout.ts';
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
  const add = (
    phase: PlannedStatement['phase'],
    title: string,
    sql: string,
    params?: Readonly<Record<string, string>>,
  ) => out.push(params ? { phase, title, sql, params } : { phase, title, sql });
  // Values known only while the run goes, written into the statement as literals (so the planner prunes chunks).
  const sliceParams = {
    ':slice_start': 'start of each slice listed by the swap units statement (a literal, for chunk exclusion)',
    ':slice_end': 'its end',
    ':committed_batches': 'the committed batches not yet moved',
  };

  add(
    'validate',
    `read-only, already run by plan: introspect ${table} through timescaledb_information (hypertables, dimensions, hypertable_compression_settings, jobs, job_stats, continuous_aggregates, chunks), chunk_compression_stats(${quoteLiteral(qualified(ht.schema, ht.name))}) and pg_index` +
      `, and the internal catalog of TimescaleDB ${catalogFor(ht.timescaleVersion).versions} (space slices, partitioning functions, partial-chunk status, rows before compression, bucket widths): adapters/timescaledb/introspect.ts`,
    '',
  );
  add(
    'prepare',
    `create the staging table ${stmts.names.staging} (UNLOGGED, shaped like ${table})`,
    stmts.createStaging(),
  );
  add(
    'prepare',
    `a statistics target of ${STAGING_STATISTICS_TARGET} for the staging columns batches and slices are found by (ANALYZE samples ${(300 * STAGING_STATISTICS_TARGET).toLocaleString('en-US')} rows)`,
    stmts.stagingStatistics(),
  );
  add('prepare', `index the staging table by batch and time (BRIN)`, stmts.createBatchIndex());
  add('prepare', `create the swap-state table ${stmts.names.state}`, stmts.createStateTable());
  add(
    'prepare',
    `create the claims table ${stmts.names.claims} (one row per batch: who loads it, loaded, committed)`,
    stmts.createClaimsTable(),
  );
  add(
    'prepare',
    `the claims table of a run begun by an older version gets the block columns`,
    stmts.upgradeClaimsTable(),
  );

  const load =
    input.method === 'copy' ? stmts.copyInto(input.loadColumns) : stmts.insertUnnest(input.loadColumns);
  for (const batch of batches) {
    const n = batch.index + 1;
    const objects = `${batch.objects.length} object${batch.objects.length === 1 ? '' : 's'}`;
    const b = String(batch.index);
    add('load', `batch ${n}: its claim row`, stmts.ensureClaim(), { $1: b });
    add(
      'load',
      `batch ${n}, in ONE transaction (synchronous_commit off): lock its claim — another session holding it means another worker or process loads it, so this one loads another batch`,
      stmts.lockClaim(),
      { $1: b },
    );
    add('load', `batch ${n}: clear rows of an earlier attempt`, stmts.clearBatch(), { $1: b });
    add(
      'load',
      `batch ${n}: ${input.method === 'copy' ? 'COPY' : `INSERT … unnest (${options.insertRows} rows per statement)`} ${objects} into ${stmts.names.staging}`,
      load,
      input.method === 'copy'
        ? undefined
        : {
            [`$1…$${input.loadColumns.length}`]: `the next ${options.insertRows} rows' values, one array per column`,
            [`$${input.loadColumns.length + 1}`]: b,
          },
    );
    add(
      'verify',
      `batch ${n}: staged rows per ${ht.time.column} slice${stmts.recordsBlocks() ? ' and the heap blocks they lie in' : ''}, their sum = the rows the source selects; then the claim says loaded and the transaction commits` +
        (input.method === 'copy'
          ? ` (binary COPY: the decode threads tally the rows per slice as they encode them, and this statement runs only when a value could not be tallied exactly or the tally differs from COPY's row count)`
          : ''),
      stmts.batchSlices(),
      { $1: b },
    );
    add(
      'verify',
      `batch ${n}: after the commit, summarize the BRIN over its pages`,
      stmts.summarizeBatchIndex(),
    );
    add(
      'verify',
      `batch ${n}: while the staging table has no statistics (the first batch loaded), analyze it, so that later statements find a batch or a slice by the BRIN`,
      `${stmts.stagingAnalyzed()};\n${stmts.analyzeStaging()}`,
    );
    add(
      'commit',
      `batch ${n}: its claim says committed (rows tagged ${BATCH_COLUMN} = ${batch.index} may move into ${table} from now on)`,
      stmts.markCommitted(),
      { $1: b },
    );
  }

  add(
    'swap',
    `begin (mode historical: once the first slice is behind the watermark of committed batches, while later ones load; catchup: once every batch is committed): how the committed batches' slices lie in the staging table (their heap blocks, recorded at load)`,
    stmts.blockSpread(),
  );
  add(
    'swap',
    `only when the slices spread over more than ${MAX_BRIN_SPREAD} × their batches' blocks (rows not in time order) or a batch recorded none: index the staging table on ${ht.time.column} (else the BRIN on (${BATCH_COLUMN}, ${ht.time.column}) finds each slice's rows)`,
    stmts.createTimeIndex(),
  );
  add('swap', `analyze the staging table (every batch now staged or committed)`, stmts.analyzeStaging());
  add(
    'swap',
    `swap units: one per ${ht.time.column} slice (chunk interval) holding rows of committed batches, from the claims' rows per slice`,
    stmts.committedSlices(),
  );
  if (options.onConflict === 'error') {
    for (const index of ht.uniqueIndexes) {
      add(
        'swap',
        `on_conflict: error — per slice, staged keys of unique index ${index.name} (${index.columns.join(', ')}) already in ${table} or staged twice; any found: refuse with the count and one key, before anything changes`,
        stmts.conflictCheckSql(index, ':slice_start', ':slice_end', ':committed_batches'),
        sliceParams,
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
      stmts.pausePolicy(),
      { $1: String(ht.policy.jobId) },
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
        stmts.decompressChunk(),
        { $1: quoteLiteral(qualified(chunk.schema, chunk.name)) },
      );
    }
  }
  add(
    'swap',
    `${input.run.config.mode === 'catchup' ? 'every slice in ONE transaction' : 'per slice behind the watermark, in one transaction'}: move the committed batches' staged rows into ${table}${options.onConflict === 'error' ? '' : ` (on_conflict ${options.onConflict})`}, recording the chunks touched, the batches moved and the rows moved per batch`,
    stmts.moveSliceSql(':slice_start', ':slice_end', ':committed_batches'),
    sliceParams,
  );
  if (options.progressiveRecompress) {
    add(
      'swap',
      `compress again every chunk the swap touched once the watermark has passed it and no unswapped slice reaches it (while later batches still load, in mode historical)`,
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
      stmts.resumePolicy(),
      { $1: String(ht.policy.jobId), $2: String(ht.policy.scheduled) },
    );
  }
  for (const agg of [...ht.aggregates].sort((a, b) => a.level - b.level)) {
    add(
      'swap',
      `finish: refresh continuous aggregate ${agg.schema}.${agg.name} over the backfilled range`,
      stmts.refreshAggregateSql(agg.schema, agg.name, agg.bucketWidth, ':backfill_min', ':backfill_max'),
      {
        ':backfill_min': 'the smallest time the run moved (a literal)',
        ':backfill_max': 'the largest time the run moved (a literal)',
      },
    );
  }
  add('cleanup', `drop the staging table`, stmts.dropStaging());
  add('cleanup', `drop the swap-state table`, stmts.dropStateTable());
  add('cleanup', `drop the claims table`, stmts.dropClaimsTable());
  return out;
}
