/**
 * The runner: executes a run against one adapter, journaling every step so that any interruption is
 * continued — never repeated — by the next invocation.
 *
 *   validate → (journal run-started) → create shadows → per batch: prepare → load → verify → commit
 *   → swap (beginSwap → units → finishSwap) → drop shadows → (journal run-finished) → report
 *
 * Live tables change only in swap units. Before the swap every failure leaves them exactly as they were.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type {
  BatchSpec,
  ObjectBytes,
  RowChunk,
  RowFilter,
  RunContext,
  SwapState,
  TableMeasurement,
  TargetAdapter,
  TargetDescription,
} from '../adapter/contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import { ConfigError, JournalError, ShadowfillError, VerifyError, isRetryable, oneLine } from '../errors.ts';
import { groupRuns, reduceRun, type RunStartedData, type RunState } from '../journal/state.ts';
import type { JournalEvent, JournalEventKind } from '../journal/types.ts';
import { readRowChunks } from '../parquet/rows.ts';
import { planBatches } from '../planner/batches.ts';
import { listObjects } from '../source/list-objects.ts';
import { resolveLocation } from '../source/location.ts';
import { s3AsyncBuffer } from '../source/range-reader.ts';
import { readObject } from '../source/read-object.ts';
import { createS3Client } from '../source/s3-client.ts';
import type { ObjectStoreLocation } from '../source/types.ts';
import type { EventSink, RunEvent } from './events.ts';
import { configFingerprint, newRunId } from './fingerprint.ts';
import { filterRowChunks } from './row-filter.ts';
import { validateSource } from './validate.ts';

export interface RunOptions {
  /** Start a new run even if this configuration already finished one. */
  readonly newRun?: boolean;
  readonly onEvent?: EventSink;
  /** Aborting stops the run after the step in progress (the CLI aborts on Ctrl-C); resume by running again. */
  readonly signal?: AbortSignal;
}

export interface RunReport {
  readonly runId: string;
  readonly resumed: boolean;
  readonly table: string;
  readonly batches: number;
  readonly objects: number;
  readonly bytes: number;
  readonly rowsLoaded: number;
  readonly retries: number;
  readonly swapUnits: number;
  readonly before: readonly TableMeasurement[];
  readonly after: readonly TableMeasurement[];
  readonly phases: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/** The journal's view of this configuration: the run to resume, or the finished one. */
export async function findRuns(
  adapter: TargetAdapter,
  fingerprint: string,
): Promise<{ unfinished: RunState | undefined; finished: RunState | undefined; all: RunState[] }> {
  const runs = groupRuns(await adapter.journal.readByFingerprint(fingerprint))
    .map(reduceRun)
    .filter((r): r is RunState => r !== undefined);
  return {
    all: runs,
    unfinished: [...runs].reverse().find((r) => !r.finished),
    finished: [...runs].reverse().find((r) => r.finished),
  };
}

/**
 * The run's writer to the journal. `defer` buffers events whose loss on a crash is harmless (the swap units
 * they record are idempotent and re-listed by the next invocation) and writes them in groups: one journal
 * write per swap unit would cost more than the partition move it records.
 */
class Journal {
  private seq: number;
  private deferred: JournalEvent[] = [];
  private lastFlush = Date.now();
  constructor(
    private readonly adapter: TargetAdapter,
    readonly runId: string,
    private readonly fingerprint: string,
    lastSeq: number,
  ) {
    this.seq = lastSeq;
  }

  async append(
    kind: JournalEventKind,
    fields: { batch?: number; unit?: string; data?: unknown } = {},
  ): Promise<void> {
    await this.flush();
    await this.adapter.journal.append(this.event(kind, fields));
  }

  async defer(
    kind: JournalEventKind,
    fields: { batch?: number; unit?: string; data?: unknown } = {},
  ): Promise<void> {
    this.deferred.push(this.event(kind, fields));
    if (this.deferred.length >= 50 || Date.now() - this.lastFlush >= 500) await this.flush();
  }

  async flush(): Promise<void> {
    const events = this.deferred;
    this.deferred = [];
    this.lastFlush = Date.now();
    if (events.length === 0) return;
    const store = this.adapter.journal;
    if (store.appendMany) await store.appendMany(events);
    else for (const e of events) await store.append(e);
  }

  private event(
    kind: JournalEventKind,
    fields: { batch?: number; unit?: string; data?: unknown },
  ): JournalEvent {
    this.seq += 1;
    return {
      runId: this.runId,
      fingerprint: this.fingerprint,
      seq: this.seq,
      at: new Date().toISOString(),
      kind,
      batch: fields.batch ?? -1,
      unit: fields.unit ?? '',
      data: fields.data === undefined ? '' : JSON.stringify(fields.data),
    };
  }
}

/** Runs (or resumes) the backfill described by `config` through `adapter`. The adapter must be connected. */
export async function runBackfill(
  config: BackfillConfig,
  adapter: TargetAdapter,
  options: RunOptions = {},
): Promise<RunReport> {
  const t0 = Date.now();
  const phases: Record<string, number> = {};
  const timed = async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const s = Date.now();
    try {
      return await fn();
    } finally {
      phases[phase] = (phases[phase] ?? 0) + (Date.now() - s) / 1000;
    }
  };
  const emit = (event: RunEvent) => options.onEvent?.(event);
  const checkpoint = () => {
    if (options.signal?.aborted) {
      throw new ShadowfillError(
        'INTERRUPTED',
        'interrupted: the run stopped after its last finished step — run the same command again to resume',
        { exitCode: 130 },
      );
    }
  };
  const fingerprint = configFingerprint(config);
  const location = resolveLocation(config.source);
  const client = createS3Client(location);

  try {
    const target = await timed('validate', () => adapter.describe());
    const runs = await findRuns(adapter, fingerprint);

    const state: RunState | undefined = options.newRun ? undefined : runs.unfinished;
    if (!state && !options.newRun && runs.finished) {
      throw new JournalError(
        'NOTHING_TO_DO',
        `nothing to do: run ${runs.finished.runId} of this configuration finished at ${runs.finished.finishedAt} — ` +
          `pass --new-run to backfill the same objects again`,
      );
    }
    const resumed = state !== undefined;
    let started: RunStartedData;
    let runId: string;
    let journal: Journal;
    if (state) {
      runId = state.runId;
      started = state.started;
      journal = new Journal(adapter, runId, fingerprint, state.lastSeq);
      await adapter.recover(contextOf(config, location, target, runId, started, emit), state.swapState);
    } else {
      runId = newRunId();
      started = await timed('validate', () => prepareNewRun(config, adapter, client, location, target));
      // Validation ran no DDL; from here on the run exists and is journaled.
      await adapter.journal.ensure();
      journal = new Journal(adapter, runId, fingerprint, 0);
      await journal.append('run-started', { data: started });
    }
    const run = contextOf(config, location, target, runId, started, emit);
    const batches = started.batches;
    const bytes = batches.reduce((n, b) => n + b.objects.reduce((m, o) => m + o.size, 0), 0);
    emit({
      type: 'run-started',
      runId,
      resumed,
      batches: batches.length,
      objects: batches.reduce((n, b) => n + b.objects.length, 0),
      bytes,
    });

    let swapState: SwapState | undefined;
    try {
      await timed('prepare', () => adapter.createShadows(run));
      const batchStates = state ? [...state.batches] : batches.map(() => 'pending' as const);
      const batchRows = new Map(state?.batchRows ?? []);
      let retries = state?.failures ?? 0;
      let rowsSoFar = [...batchRows.values()].reduce((a, b) => a + b, 0);
      let bytesSoFar = 0;

      for (const batch of batches) {
        const batchBytes = batch.objects.reduce((n, o) => n + o.size, 0);
        if (batchStates[batch.index] === 'committed') {
          bytesSoFar += batchBytes;
          continue;
        }
        checkpoint();
        if (batchStates[batch.index] !== 'loaded') {
          const rows = await loadWithRetries(batch);
          batchRows.set(batch.index, rows);
          rowsSoFar += rows;
        }
        // A verified batch is committed (idempotently) even if an earlier invocation was cut off mid-commit.
        await timed('commit', () => adapter.commitBatch(run, batch));
        await journal.append('batch-committed', { batch: batch.index });
        bytesSoFar += batchBytes;
        emit({ type: 'batch-committed', batch: batch.index, rowsSoFar, bytesSoFar });
      }

      // ---- swap: the only step that changes live tables ----
      const swapStart = Date.now();
      checkpoint();
      swapState = state?.swapState;
      if (!swapState) {
        const verified = [...batchRows.values()].reduce((a, b) => a + b, 0);
        const held = await timed('verify', () => adapter.countShadowRows(run));
        if (held !== verified) {
          throw new VerifyError(
            `the shadow of ${config.target.database}.${config.target.table} holds ${held} rows but its batches verified ` +
              `${verified}; nothing was swapped — the shadow lost or gained rows (e.g. a crash of the database emptied ` +
              `an UNLOGGED staging table): start over with --new-run`,
          );
        }
        swapState = await timed('swap', () => adapter.beginSwap(run));
        await journal.append('swap-began', { data: swapState });
      }
      const units = await timed('swap', () => adapter.listSwapUnits(run));
      emit({ type: 'swap-started', units: units.length });
      let done = 0;
      for (const unit of units) {
        checkpoint();
        await timed('swap', () => adapter.swapUnit(run, unit));
        await journal.defer('swap-unit-done', { unit: unit.id });
        done += 1;
        emit({
          type: 'swap-unit-done',
          unit: unit.id,
          description: unit.description,
          done,
          total: units.length,
        });
      }
      if (!state?.swapFinished) {
        await timed('swap', () => adapter.finishSwap(run, swapState ?? {}));
        await journal.append('swap-finished');
      }
      emit({ type: 'swap-finished', units: units.length, seconds: (Date.now() - swapStart) / 1000 });

      await timed('cleanup', () => adapter.dropShadows(run));
      emit({ type: 'shadows-dropped' });
      const rowsLoaded = [...batchRows.values()].reduce((a, b) => a + b, 0);
      await journal.append('run-finished', { data: { rowsLoaded } });
      const after = await adapter.measure(target);
      const seconds = (Date.now() - t0) / 1000;
      emit({ type: 'run-finished', runId, rowsLoaded, seconds });
      return {
        runId,
        resumed,
        table: `${config.target.database}.${config.target.table}`,
        batches: batches.length,
        objects: batches.reduce((n, b) => n + b.objects.length, 0),
        bytes,
        rowsLoaded,
        retries,
        swapUnits: units.length,
        before: started.before,
        after,
        phases,
        seconds,
      };

      async function loadWithRetries(batch: BatchSpec): Promise<number> {
        const batchBytes = batch.objects.reduce((n, o) => n + o.size, 0);
        for (let attempt = 1; ; attempt += 1) {
          emit({
            type: 'batch-started',
            batch: batch.index,
            attempt,
            objects: batch.objects.length,
            bytes: batchBytes,
          });
          try {
            const s = Date.now();
            await timed('load', () => adapter.prepareBatch(run, batch));
            const expected = await timed('load', () => loadBatch(batch));
            emit({
              type: 'batch-loaded',
              batch: batch.index,
              rows: expected.landed,
              bytes: batchBytes,
              seconds: (Date.now() - s) / 1000,
            });
            const sourceRows = await timed('verify', () => expectedRows(batch, expected.streamedRows));
            const landed = await timed('verify', () => adapter.countLandedRows(run, batch));
            if (landed !== sourceRows) {
              throw new VerifyError(
                `batch ${batch.index + 1} landed ${landed} rows but the source selects ${sourceRows} ` +
                  `(${batch.objects[0]?.uri} …) — the batch was discarded; rerun to retry it`,
              );
            }
            emit({ type: 'batch-verified', batch: batch.index, rows: landed, sourceRows });
            await journal.append('batch-loaded', { batch: batch.index, data: { rows: landed } });
            return landed;
          } catch (error) {
            const willRetry = isRetryable(error) && attempt < config.attempts;
            await journal.append('batch-failed', {
              batch: batch.index,
              data: { attempt, error: oneLine(error) },
            });
            emit({ type: 'batch-failed', batch: batch.index, attempt, error: oneLine(error), willRetry });
            retries += 1;
            if (!willRetry) throw error;
          }
        }
      }

      async function loadBatch(
        batch: BatchSpec,
      ): Promise<{ landed: number; streamedRows: number | undefined }> {
        if (config.load === 'server' && adapter.capabilities.readsObjectStore && adapter.loadBatchFromStore) {
          const r = await adapter.loadBatchFromStore(run, batch);
          return { landed: r.rowsWritten, streamedRows: undefined };
        }
        if (adapter.capabilities.streamInput === 'parquet-bytes') {
          const r = await adapter.loadBatchFromStream(run, batch, streamBytes(client, batch));
          return { landed: r.rowsWritten, streamedRows: undefined };
        }
        const counter = { rows: 0 };
        const columns = target.table.columns
          .map((c) => c.name)
          .filter((n) => run.sourceColumns.some((c) => c.name === n));
        const r = await adapter.loadBatchFromStream(
          run,
          batch,
          streamRows(client, batch, run.filter, columns, counter),
        );
        return { landed: r.rowsWritten, streamedRows: counter.rows };
      }

      /**
       * Rows the batch selects from the source: counted while streaming, else the footers' row counts when
       * there is no filter (what a count() over Parquet reads too), else counted by the database.
       */
      async function expectedRows(batch: BatchSpec, streamedRows: number | undefined): Promise<number> {
        if (streamedRows !== undefined) return streamedRows;
        if (run.filter && adapter.capabilities.countsSourceRows && adapter.countSourceRows) {
          return adapter.countSourceRows(run, batch);
        }
        return batch.objects.reduce((n, o) => n + (started.objectRows[o.key] ?? 0), 0);
      }
    } catch (error) {
      // A swap that began leaves the live side changed (e.g. a paused policy): put it back now, not only at
      // the next invocation. The journal keeps what the next invocation needs to continue.
      if (swapState) await adapter.recover(run, swapState).catch(() => undefined);
      emit({ type: 'run-stopped', runId, error: oneLine(error) });
      await journal.append('run-stopped', { data: { error: oneLine(error) } }).catch(() => undefined);
      throw error;
    }
  } finally {
    client.destroy();
  }
}

async function prepareNewRun(
  config: BackfillConfig,
  adapter: TargetAdapter,
  client: S3Client,
  location: ObjectStoreLocation,
  target: TargetDescription,
): Promise<RunStartedData> {
  const objects = await listObjects(client, location);
  const source = await validateSource(client, objects, adapter, target);
  const filter = await resolveFilter(config, adapter);
  const batches = planBatches(objects, config.batch);
  const before = await adapter.measure(target);
  return {
    table: `${config.target.database}.${config.target.table}`,
    sourceUrl: config.source.url,
    filter,
    sourceColumns: source.columns,
    batches,
    objectRows: source.objectRows,
    before,
  };
}

/** Resolves `before: auto` to the live table's current minimum — fixed once, when the run starts. */
export async function resolveFilter(
  config: BackfillConfig,
  adapter: TargetAdapter,
): Promise<RowFilter | undefined> {
  const f = config.filter;
  if (!f) return undefined;
  let before = f.before;
  if (before === 'auto') {
    const min = await adapter.minValue(f.column);
    if (min === null) {
      throw new ConfigError(
        `filter.before: auto needs rows in ${config.target.database}.${config.target.table} to find the oldest ` +
          `${f.column}, but the table is empty — set filter.before to a value`,
      );
    }
    before = min;
  }
  return { column: f.column, before, after: f.after };
}

function contextOf(
  config: BackfillConfig,
  store: ObjectStoreLocation,
  target: TargetDescription,
  runId: string,
  started: RunStartedData,
  emit: (event: RunEvent) => void,
): RunContext {
  return { runId, config, store, target, filter: started.filter, sourceColumns: started.sourceColumns, emit };
}

async function* streamBytes(client: S3Client, batch: BatchSpec): AsyncIterable<ObjectBytes> {
  for (const object of batch.objects) yield { object, body: readObject(client, object) };
}

async function* streamRows(
  client: S3Client,
  batch: BatchSpec,
  filter: RowFilter | undefined,
  columns: readonly string[],
  counter: { rows: number },
): AsyncIterable<RowChunk> {
  for (const object of batch.objects) {
    const chunks = readRowChunks(s3AsyncBuffer(client, object), object, { columns: [...columns] });
    for await (const chunk of filterRowChunks(chunks, filter)) {
      counter.rows += chunk.numRows;
      yield chunk;
    }
  }
}
