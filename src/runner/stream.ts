/**
 * How a batch's data reaches the adapter — the one place the engine hands a batch over: the database reads the
 * objects itself (`load: server`), or the engine streams them: raw Parquet bytes, pieces already encoded for the
 * target (`streamInput: 'encoded'`, TimescaleDB's COPY: downloaded, decoded and encoded in the run's decode pool —
 * worker threads shared by the lanes — or on this thread when the run has one lane), or decoded row groups. Rows are
 * counted as they pass, so that the rows the source selects are known without another read. Everything around it
 * (claims, verification, journaling, retries) is the executor's (executor.ts, batch-load.ts).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type {
  BatchSpec,
  LoadAttempt,
  LoadResult,
  ObjectBytes,
  RowChunk,
  RowFilter,
  RunContext,
  TargetAdapter,
} from '../adapter/contract.ts';
import { readRowChunks } from '../parquet/rows.ts';
import type { DecodePool } from '../workers/pool.ts';
import { encodedBatch } from '../workers/stream.ts';
import { s3AsyncBuffer } from '../source/range-reader.ts';
import { readObject } from '../source/read-object.ts';
import { filterRowChunks } from './row-filter.ts';

export interface StreamedBatch extends LoadResult {
  /** Rows the engine streamed (after the filter); undefined when the database read the objects itself. */
  readonly streamedRows: number | undefined;
}

/** Loads `batch` into `run.lane` the way the configuration and the adapter's capabilities say. */
export async function loadBatchData(
  adapter: TargetAdapter,
  client: S3Client,
  run: RunContext,
  batch: BatchSpec,
  attempt: (counted: () => number | undefined) => LoadAttempt,
  pool: DecodePool | undefined,
): Promise<StreamedBatch> {
  if (run.config.load === 'server' && adapter.capabilities.readsObjectStore && adapter.loadBatchFromStore) {
    const r = await adapter.loadBatchFromStore(
      run,
      batch,
      attempt(() => undefined),
    );
    return { ...r, streamedRows: undefined };
  }
  if (adapter.capabilities.streamInput === 'parquet-bytes') {
    const r = await adapter.loadBatchFromStream(
      run,
      batch,
      { kind: 'parquet-bytes', objects: streamBytes(client, batch) },
      attempt(() => undefined),
    );
    return { ...r, streamedRows: undefined };
  }
  const counter = { rows: 0 };
  const columns = run.target.table.columns
    .map((c) => c.name)
    .filter((n) => run.sourceColumns.some((c) => c.name === n));
  const encoder =
    adapter.capabilities.streamInput === 'encoded' ? await adapter.encoderFor?.(run, batch) : undefined;
  if (encoder) {
    const pieces = encodedBatch({
      pool,
      client,
      location: run.store,
      objects: batch.objects,
      columns,
      filter: run.filter,
      encoder,
      counter,
    });
    const r = await adapter.loadBatchFromStream(
      run,
      batch,
      { kind: 'encoded', pieces },
      attempt(() => counter.rows),
    );
    return { ...r, streamedRows: r.alreadyLoaded ? undefined : counter.rows };
  }
  const r = await adapter.loadBatchFromStream(
    run,
    batch,
    { kind: 'rows', chunks: streamRows(client, batch, run.filter, columns, counter) },
    attempt(() => counter.rows),
  );
  return { ...r, streamedRows: r.alreadyLoaded ? undefined : counter.rows };
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
