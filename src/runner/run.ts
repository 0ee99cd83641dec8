/**
 * The runner: executes a run against one adapter, journaling every step so that any interruption is
 * continued — never repeated — by the next invocation.
 *
 *   lease → validate → (journal run-started) → create shadows → per batch: prepare → load → verify (source
 *   count, every view-target landing) → commit → shadow check → verify the whole shadow (rows, every view
 *   target) → swap (beginSwap → units → finishSwap) → drop shadows → (journal run-finished) → report
 *
 * One process acts for a live table at a time: the run lease (src/runner/lease.ts) is taken before anything of
 * the run is read and confirmed before every step that changes something. Live tables change only in swap
 * units. Before the swap every failure leaves them exactly as they were.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type {
  BatchSpec,
  ObjectBytes,
  RowChunk,
  RowFilter,
  SwapState,
  TableMeasurement,
  TableVerification,
  TargetAdapter,
  TargetDescription,
} from '../adapter/contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import { ConfigError, JournalError, ShadowfillError, VerifyError, isRetryable, oneLine } from '../errors.ts';
import type { RunStartedData, RunState } from '../journal/state.ts';
import { JournalWriter } from '../journal/writer.ts';
import { readRowChunks } from '../parquet/rows.ts';
import { planBatches } from '../planner/batches.ts';
import { listObjects } from '../source/list-objects.ts';
import { resolveLocation } from '../source/location.ts';
import { s3AsyncBuffer } from '../source/range-reader.ts';
import { readObject } from '../source/read-object.ts';
import { createS3Client } from '../source/s3-client.ts';
import type { ObjectStoreLocation } from '../source/types.ts';
import { abandonUnfinished } from './abandon.ts';
import { withRunAdvice } from './advice.ts';
import type { EventSink, RunEvent } from './events.ts';
import { configFingerprint, newRunId } from './fingerprint.ts';
import { contextOf, findRuns, leaseTable, tableOf } from './runs.ts';
import type { HeldLease, LeaseOptions } from './lease.ts';
import { filterRowChunks } from './row-filter.ts';
import { probeSourceValues, validateSource } from './validate.ts';
import { shadowMismatch, summarizeChecks } from './verify.ts';
import { encodedBatch } from '../workers/stream.ts';

export { findRuns } from './runs.ts';

export interface RunOptions {
  /** Start a new run even if this configuration already finished one; an unfinished run is abandoned first. */
  readonly newRun?: boolean;
  readonly onEvent?: EventSink;
  /** Aborting stops the run after the step in progress (the CLI aborts on Ctrl-C); resume by running again. */
  readonly signal?: AbortSignal;
  /** The run lease: how long it lasts without a heartbeat, and whether to wait for another holder. */
  readonly lease?: LeaseOptions;
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
  /** What was verified, per table: every batch's landings before their commit, the whole shadow before the swap. */
  readonly checks?: readonly TableVerification[];
  readonly phases: Readonly<Record<string, number>>;
  readonly seconds: number;
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
  const table = tableOf(config);
  let lease: HeldLease | undefined;

  try {
    // Nothing of the run is read or changed before this process holds the table's lease: a second process
    // stops here at once, before it introspects anything.
    lease = await leaseTable(config, adapter, options, emit);
    const held = lease;
    const target = await timed('validate', () => adapter.describe());
    /** Before every step that changes something: stop on Ctrl-C, or when another process took the lease. */
    const step = async () => {
      checkpoint();
      await held.confirm();
    };
    const runs = await findRuns(adapter, fingerprint);
    if (options.newRun) {
      await abandonUnfinished(
        { config, adapter, target, location, lease: held, emit },
        runs.all,
        'a new run was asked for (--new-run)',
      );
    }

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
    let journal: JournalWriter;
    if (state) {
      runId = state.runId;
      started = state.started;
      await held.setRun(runId);
      journal = new JournalWriter(adapter.journal, runId, fingerprint, state.lastSeq, () => held.confirm());
      await step();
      await adapter.recover(contextOf(config, location, target, runId, started, emit), state.swapState);
    } else {
      runId = newRunId();
      started = await timed('validate', () =>
        prepareNewRun(config, adapter, client, location, target, runId, emit),
      );
      // Validation ran no DDL; from here on the run exists and is journaled.
      await step();
      await held.setRun(runId);
      await adapter.journal.ensure();
      journal = new JournalWriter(adapter.journal, runId, fingerprint, 0, () => held.confirm());
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
    const checks: TableVerification[] = [];
    try {
      await step();
      await timed('prepare', () => adapter.createShadows(run));
      const batchStates = state ? [...state.batches] : batches.map(() => 'pending' as const);
      const batchRows = new Map(state?.batchRows ?? []);
      let retries = state?.failures ?? 0;
      let rowsSoFar = [...batchRows.values()].reduce((a, b) => a + b, 0);
      let bytesSoFar = 0;
      const committed = new Set(
        batches.filter((b) => batchStates[b.index] === 'committed').map((b) => b.index),
      );
      const committedRows = () => [...committed].reduce((n, i) => n + (batchRows.get(i) ?? 0), 0);
      /**
       * The shadow holds exactly the committed batches' verified rows (else it lost or gained rows). `atLeast`:
       * only a loss counts (a resumed run's shadow may also hold a batch an earlier invocation was committing).
       */
      const checkShadow = async (when: string, atLeast = false) => {
        const expected = committedRows();
        const heldRows = await timed('verify', () => adapter.countShadowRows(run));
        if (atLeast ? heldRows < expected : heldRows !== expected) {
          throw shadowMismatch(config, runId, heldRows, expected, committed.size, when);
        }
      };
      // A resumed run first checks what earlier invocations committed (e.g. a restart of the database may have
      // emptied an UNLOGGED staging table, or merges may have collapsed rows).
      if (state && !state.swapState && committed.size > 0) await checkShadow('when the run resumed', true);

      for (const batch of batches) {
        const batchBytes = batch.objects.reduce((n, o) => n + o.size, 0);
        if (batchStates[batch.index] === 'committed') {
          bytesSoFar += batchBytes;
          continue;
        }
        await step();
        if (batchStates[batch.index] !== 'loaded') {
          const rows = await loadWithRetries(batch);
          batchRows.set(batch.index, rows);
          rowsSoFar += rows;
        }
        // A verified batch is committed (idempotently) even if an earlier invocation was cut off mid-commit.
        await step();
        await timed('commit', () => adapter.commitBatch(run, batch));
        committed.add(batch.index);
        if (adapter.capabilities.countsShadowCheaply) {
          await checkShadow(`after the commit of batch ${batch.index + 1}`);
        }
        await journal.append('batch-committed', { batch: batch.index });
        bytesSoFar += batchBytes;
        emit({ type: 'batch-committed', batch: batch.index, rowsSoFar, bytesSoFar });
      }

      // ---- swap: the only step that changes live tables ----
      const swapStart = Date.now();
      swapState = state?.swapState;
      if (!swapState) {
        await step();
        await checkShadow('before the swap');
        const shadowChecks: TableVerification[] = [
          {
            table,
            scope: 'shadow',
            method: 'rows in the shadow = the committed batches’ verified rows',
            exact: true,
            ok: true,
            detail: `${committedRows()} rows in ${committed.size} batches`,
          },
        ];
        if (adapter.capabilities.shadowsViews && adapter.verifyViewTargets) {
          const views = await timed('verify', () => adapter.verifyViewTargets!(run, 'shadow'));
          shadowChecks.push(...views);
          const failed = views.find((v) => !v.ok);
          if (failed) {
            throw new VerifyError(
              `the shadow of view target ${failed.table} does not match its views over the shadow of ${table} ` +
                `(${failed.method}: ${failed.detail}); nothing was swapped — run \`shadowfill abandon\` with the same ` +
                `configuration (or run with --new-run) to start over`,
            );
          }
        }
        await journal.append('shadow-verified', { data: shadowChecks });
        emit({ type: 'shadow-verified', checks: shadowChecks });
        checks.push(...shadowChecks);
        await step();
        swapState = await timed('swap', () => adapter.beginSwap(run));
        await journal.append('swap-began', { data: swapState });
      } else {
        checks.push(...(state?.shadowChecks ?? []));
      }
      const units = await timed('swap', () => adapter.listSwapUnits(run));
      emit({ type: 'swap-started', units: units.length });
      let done = 0;
      for (const unit of units) {
        await step();
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
        await step();
        await timed('swap', () => adapter.finishSwap(run, swapState ?? {}));
        await journal.append('swap-finished');
      }
      emit({ type: 'swap-finished', units: units.length, seconds: (Date.now() - swapStart) / 1000 });

      await held.confirm();
      await timed('cleanup', () => adapter.dropShadows(run));
      emit({ type: 'shadows-dropped' });
      const rowsLoaded = [...batchRows.values()].reduce((a, b) => a + b, 0);
      await journal.append('run-finished', { data: { rowsLoaded } });
      const after = await adapter.measure(target, started.scope);
      const seconds = (Date.now() - t0) / 1000;
      emit({ type: 'run-finished', runId, rowsLoaded, seconds });
      return {
        runId,
        resumed,
        table,
        batches: batches.length,
        objects: batches.reduce((n, b) => n + b.objects.length, 0),
        bytes,
        rowsLoaded,
        retries,
        swapUnits: units.length,
        before: started.before,
        after,
        checks: summarizeChecks(checks),
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
            await step();
            await timed('load', () => adapter.prepareBatch(run, batch));
            await step();
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
            checks.push({
              table,
              scope: 'batch',
              method: 'rows landed = rows the source selects',
              exact: true,
              ok: true,
              detail: `batch ${batch.index + 1}: ${landed} rows`,
            });
            if (adapter.capabilities.shadowsViews && adapter.verifyViewTargets) {
              const views = await timed('verify', () => adapter.verifyViewTargets!(run, 'landing'));
              const failed = views.find((v) => !v.ok);
              if (failed) {
                throw new VerifyError(
                  `batch ${batch.index + 1}: the landing of view target ${failed.table} does not match its views ` +
                    `over the batch (${failed.method}: ${failed.detail}) — the batch was discarded; rerun to retry it`,
                );
              }
              checks.push(...views.map((v) => ({ ...v, detail: `batch ${batch.index + 1}: ${v.detail}` })));
            }
            emit({ type: 'batch-verified', batch: batch.index, rows: landed, sourceRows });
            await journal.append('batch-loaded', { batch: batch.index, data: { rows: landed } });
            return landed;
          } catch (error) {
            // A lost lease or a Ctrl-C is not a failure of the batch: stop without touching anything else. A step
            // that failed because another process took the lease over (and, say, finished the run and dropped the
            // landing) reports the lost lease, its cause.
            if ((error as ShadowfillError).code === 'INTERRUPTED') throw error;
            await held.confirm(true).catch((lost: unknown) => {
              if (held.lost) throw lost;
            });
            if (held.lost) throw error;
            const willRetry = isRetryable(error) && attempt < config.attempts;
            await journal.append('batch-failed', {
              batch: batch.index,
              data: { attempt, error: oneLine(error) },
            });
            emit({ type: 'batch-failed', batch: batch.index, attempt, error: oneLine(error), willRetry });
            retries += 1;
            if (!willRetry) throw withRunAdvice(error, runId);
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
        const encoder =
          adapter.capabilities.streamInput === 'encoded' ? await adapter.encoderFor?.(run, batch) : undefined;
        if (encoder) {
          const pieces = encodedBatch({
            pool: undefined,
            client,
            location: run.store,
            objects: batch.objects,
            columns,
            filter: run.filter,
            encoder,
            counter,
          });
          const r = await adapter.loadBatchFromStream(run, batch, pieces);
          return { landed: r.rowsWritten, streamedRows: counter.rows };
        }
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
      // the next invocation — unless another process holds the lease now and continues the run itself.
      if (swapState && !held.lost) await adapter.recover(run, swapState).catch(() => undefined);
      emit({ type: 'run-stopped', runId, error: oneLine(error) });
      await journal.append('run-stopped', { data: { error: oneLine(error) } }).catch(() => undefined);
      throw error;
    }
  } finally {
    await lease?.release().catch(() => undefined);
    client.destroy();
  }
}

async function prepareNewRun(
  config: BackfillConfig,
  adapter: TargetAdapter,
  client: S3Client,
  location: ObjectStoreLocation,
  target: TargetDescription,
  runId: string,
  emit: (event: RunEvent) => void,
): Promise<RunStartedData> {
  const objects = await listObjects(client, location);
  const source = await validateSource(client, objects, adapter, target);
  const filter = await resolveFilter(config, adapter);
  const batches = planBatches(objects, config.batch);
  // Every statement of the run can be built (e.g. each shadow view re-points at its landing) before any DDL.
  const context = contextOf(config, location, target, runId, { filter, sourceColumns: source.columns }, emit);
  adapter.planStatements(context, batches);
  await probeSourceValues(adapter, { target, store: location, objects, columns: source.columns, filter });
  // Only what the run can change: the range the source's footers give (chunk/partition-pruned by the adapter).
  const scope = { ranges: source.ranges };
  const before = await adapter.measure(target, scope);
  return {
    table: tableOf(config),
    sourceUrl: config.source.url,
    filter,
    sourceColumns: source.columns,
    batches,
    objectRows: source.objectRows,
    before,
    scope,
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
