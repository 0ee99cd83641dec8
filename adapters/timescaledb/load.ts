/**
 * Loads one batch into the staging table, tagged with the batch index, in ONE transaction with
 * `synchronous_commit = off`. The input is either
 * - encoded pieces (`streamInput: 'encoded'`): the bytes copy-encoder.ts made in the engine's decode workers,
 *   sent as they are by `COPY staging (…) FROM STDIN` — `(FORMAT binary)` with its header and trailer when
 *   `copyFormatFor` chose binary for the table's columns, else text; or
 * - decoded rows (`rows`), encoded here through encode.ts: COPY text on a real server, or on the embedded server
 *   (whose socket breaks on COPY) `INSERT … SELECT … FROM unnest($1::text[], …)` of `insert_rows` rows at a time.
 * COPY streams with backpressure (pg-copy-streams). A value the column cannot take fails with an error naming the
 * object, column and row group (from the encoder, or mapped from the server's error and the COPY line).
 */
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { BatchInput, EncodedPiece, LoadResult, RowChunk } from '../../src/adapter/contract.ts';
import { SchemaMismatchError, ShadowfillError } from '../../src/errors.ts';
import type { PgConnection, Queryable } from './connection.ts';
import { toTargetError } from './connection.ts';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from './copy-binary.ts';
import { copyFormatFor, type CopyFormat } from './copy-encoder.ts';
import { BatchTallier, type BatchTally } from './slice-tally.ts';
import { copyField, EncodeError, encoderFor, type Encoder } from './encode.ts';
import { checkedTypeName } from './sql/quote.ts';
import type { ColumnMapping, Statements } from './statements.ts';

export interface LoadPlan {
  readonly statements: Statements;
  readonly mapping: readonly ColumnMapping[];
  readonly batch: number;
  readonly method: 'copy' | 'insert';
  readonly insertRows: number;
  /** `public.m`, for messages. */
  readonly tableName: string;
}

interface PreparedColumn {
  readonly source: string;
  readonly target: string;
  readonly encode: Encoder;
}

/** Where a run of loaded rows came from, to name it in errors. */
interface Origin {
  readonly firstLine: number;
  readonly lastLine: number;
  readonly uri: string;
  readonly rowGroup: number;
}

const COPY_PIECE_ROWS = 4096;

function prepare(plan: LoadPlan): PreparedColumn[] {
  return plan.mapping.map((m) => ({
    source: m.source.name,
    target: m.target.name,
    encode: encoderFor(m.target.type, m.source.type),
  }));
}

function columnValues(chunk: RowChunk, column: PreparedColumn): ArrayLike<unknown> {
  const values = chunk.columns.get(column.source);
  if (!values) {
    throw new SchemaMismatchError(
      `${chunk.object.uri} row group ${chunk.rowGroup} has no column "${column.source}" although the first object has it — export every object with the same columns`,
    );
  }
  return values;
}

function encodeValue(chunk: RowChunk, column: PreparedColumn, plan: LoadPlan, value: unknown): string | null {
  try {
    return column.encode(value);
  } catch (error) {
    if (error instanceof EncodeError) {
      throw new SchemaMismatchError(
        `${chunk.object.uri} column "${column.source}" row group ${chunk.rowGroup}: ${error.message} (column "${column.target}" of ${plan.tableName}) — change the column type or fix those rows in the source`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** A data error from the server (SQLSTATE class 22 or 23) becomes a SchemaMismatchError naming the rows' origin. */
function dataError(
  error: unknown,
  plan: LoadPlan,
  origin: Origin | undefined,
  where: string,
  knownColumn?: string,
): ShadowfillError {
  const raw = error instanceof ShadowfillError ? error.cause : error;
  if (origin && isDataError(raw)) {
    const e = raw as { message?: string; where?: string; column?: string };
    // COPY's context: `COPY t, line 8, column s: "…"` (text) or `COPY t, line 8, column s` (binary)
    const column = knownColumn ?? e.column ?? /, column (.+?)(?::|\n|$)/m.exec(e.where ?? '')?.[1];
    const text = (e.message ?? '').split('\n')[0];
    return new SchemaMismatchError(
      `${origin.uri} ${column ? `column "${column}" ` : ''}row group ${origin.rowGroup}: ${plan.tableName} refused a value: ${text} — change the column type or fix those rows in the source`,
      { cause: raw },
    );
  }
  if (error instanceof ShadowfillError) return error;
  return toTargetError(error, `loading batch ${plan.batch + 1} into ${plan.statements.names.staging}`, where);
}

function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

/** Statements of the caller's run inside the load's transaction (the adapter's batch claim). */
export interface LoadHooks {
  /** First, before any row is written (claim the batch, clear an earlier attempt); throwing writes nothing. */
  readonly begin?: (tx: Queryable) => Promise<void>;
  /**
   * Last, with the rows written, before the transaction commits (verify, mark the claim loaded). `tally`: the
   * batch's rows per slice as the encoder tallied them, when every piece carried its tally (slice-tally.ts).
   */
  readonly end?: (tx: Queryable, rows: number, tally: BatchTally | undefined) => Promise<void>;
}

/** The COPY format of the encoded pieces for this plan's columns (the encoder decided the same way). */
export function copyFormatOf(plan: Pick<LoadPlan, 'mapping'>): CopyFormat {
  return copyFormatFor(
    plan.mapping.map((m) => ({
      source: m.source.name,
      type: m.target.type,
      sourceType: m.source.type,
      parquetType: m.source.parquetType,
    })),
  );
}

/** What this adapter loads: decoded rows, or pieces its own encoder made (never raw Parquet bytes). */
export type StagingInput = Extract<BatchInput, { kind: 'rows' } | { kind: 'encoded' }>;

export async function loadBatch(
  db: PgConnection,
  plan: LoadPlan,
  input: StagingInput,
  hooks: LoadHooks = {},
): Promise<LoadResult> {
  const columns = prepare(plan);
  const targets = plan.mapping.map((m) => m.target);
  const objects = new Map<string, number>();
  const track = (item: { object: { uri: string; size: number } }) =>
    objects.set(item.object.uri, item.object.size);
  if (input.kind === 'encoded' && plan.method !== 'copy') {
    throw new ShadowfillError(
      'TARGET_UNSUPPORTED',
      `encoded pieces need COPY, which ${db.description} does not take — the adapter offers no encoder there (a defect if this appears)`,
    );
  }
  const tallier = input.kind === 'encoded' ? new BatchTallier() : undefined;
  const rows = await db.transaction(async (client) => {
    await client.query('SET LOCAL synchronous_commit = off');
    await hooks.begin?.(client);
    const written =
      input.kind === 'encoded'
        ? await copyPieces(client, plan, targets, input.pieces, track, db.description, tallier)
        : plan.method === 'copy'
          ? await copyRows(client, plan, columns, targets, input.chunks, track, db.description)
          : await insertRows(client, plan, columns, targets, input.chunks, track, db.description);
    await hooks.end?.(client, written, tallier?.result());
    return written;
  });
  await db.query(
    plan.statements.summarizeBatchIndex(),
    [],
    `summarizing the batch index of ${plan.statements.names.staging}`,
  );
  // The first batch loaded gives the staging table statistics (30–60 ms): without them every later batch's
  // statements scan all staged rows, not only the batch's (quadratic over a run of many batches).
  await analyzeStagingOnce(db, plan.statements);
  return { rowsWritten: rows, bytesRead: [...objects.values()].reduce((a, b) => a + b, 0) };
}

/** The first column whose values the server refuses to cast (each probed under its own savepoint), if any. */
async function refusingColumn(
  client: Queryable,
  targets: readonly LoadPlan['mapping'][number]['target'][],
  arrays: readonly (string | null)[][],
): Promise<string | undefined> {
  for (let c = 0; c < targets.length; c++) {
    const target = targets[c]!;
    await client.query('SAVEPOINT shadowfill_probe');
    try {
      await client.query(`SELECT count(x::${checkedTypeName(target.type)}) FROM unnest($1::text[]) AS x`, [
        arrays[c],
      ]);
      await client.query('RELEASE SAVEPOINT shadowfill_probe');
    } catch {
      await client.query('ROLLBACK TO SAVEPOINT shadowfill_probe');
      return target.name;
    }
  }
  return undefined;
}

async function insertRows(
  client: Queryable,
  plan: LoadPlan,
  columns: readonly PreparedColumn[],
  targets: LoadPlan['mapping'][number]['target'][],
  input: AsyncIterable<RowChunk>,
  track: (chunk: RowChunk) => void,
  where: string,
): Promise<number> {
  const sql = plan.statements.insertUnnest(targets);
  let written = 0;
  for await (const chunk of input) {
    track(chunk);
    const values = columns.map((c) => columnValues(chunk, c));
    for (let start = 0; start < chunk.numRows; start += plan.insertRows) {
      const end = Math.min(chunk.numRows, start + plan.insertRows);
      const arrays = columns.map((column, c) => {
        const out = new Array<string | null>(end - start);
        const source = values[c]!;
        for (let i = start; i < end; i++)
          out[i - start] = encodeValue(chunk, column, plan, source[i] ?? null);
        return out;
      });
      // A savepoint per statement lets a refused value be traced to its column afterwards.
      await client.query('SAVEPOINT shadowfill_rows');
      try {
        await client.query(sql, [...arrays, plan.batch]);
      } catch (error) {
        await client.query('ROLLBACK TO SAVEPOINT shadowfill_rows');
        const column = await refusingColumn(client, targets, arrays);
        throw dataError(
          error,
          plan,
          { firstLine: 0, lastLine: 0, uri: chunk.object.uri, rowGroup: chunk.rowGroup },
          where,
          column,
        );
      }
      await client.query('RELEASE SAVEPOINT shadowfill_rows');
      written += end - start;
    }
  }
  return written;
}

/**
 * One COPY into the staging table: `write` writes the data through `send` (which waits while the stream is full
 * and returns false once the server failed); a failure of the source aborts the COPY (the server rolls it back),
 * a failure of the server is mapped to the rows' origin from the COPY line it names.
 */
async function copyStream(
  client: Queryable & { readonly raw: pg.PoolClient },
  plan: LoadPlan,
  sql: string,
  where: string,
  write: (
    send: (bytes: string | Uint8Array, written?: () => void) => Promise<boolean>,
    origins: Origin[],
  ) => Promise<void>,
): Promise<number> {
  const stream = client.raw.query(copyFrom(sql));
  const origins: Origin[] = [];
  let failure: unknown;
  const done = new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', (error) => {
      failure = error;
      reject(error);
    });
  });
  done.catch(() => undefined);
  // `written` runs from the write's callback: pg-copy-streams calls it once the socket took the bytes whole (its
  // write returned true, or it drained), so nothing reads them after (EncodedPiece.release).
  const send = async (bytes: string | Uint8Array, written?: () => void): Promise<boolean> => {
    if (failure) return false;
    const ok = written
      ? stream.write(bytes, (error) => {
          if (!error) written();
        })
      : stream.write(bytes);
    if (!ok) await Promise.race([once(stream, 'drain'), done]);
    return !failure;
  };
  try {
    await write(send, origins);
    if (!failure) {
      stream.end();
      await done;
    }
  } catch (error) {
    // The source (or an encoder) failed: abort the COPY so the server rolls it back, then report the cause.
    if (!failure) {
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
      await done.catch(() => undefined);
    }
    if (error !== failure) throw error;
  }
  if (failure) {
    const lineNo = Number(/line (\d+)/.exec((failure as { where?: string }).where ?? '')?.[1] ?? NaN);
    const origin = origins.find((o) => lineNo >= o.firstLine && lineNo <= o.lastLine);
    throw dataError(failure, plan, origin, where);
  }
  return stream.rowCount;
}

async function copyRows(
  client: Queryable & { readonly raw: pg.PoolClient },
  plan: LoadPlan,
  columns: readonly PreparedColumn[],
  targets: LoadPlan['mapping'][number]['target'][],
  input: AsyncIterable<RowChunk>,
  track: (chunk: RowChunk) => void,
  where: string,
): Promise<number> {
  const batchField = `\t${plan.batch}\n`;
  return copyStream(client, plan, plan.statements.copyInto(targets), where, async (send, origins) => {
    let line = 0;
    for await (const chunk of input) {
      track(chunk);
      origins.push({
        firstLine: line + 1,
        lastLine: line + chunk.numRows,
        uri: chunk.object.uri,
        rowGroup: chunk.rowGroup,
      });
      const values = columns.map((c) => columnValues(chunk, c));
      for (let start = 0; start < chunk.numRows; start += COPY_PIECE_ROWS) {
        const end = Math.min(chunk.numRows, start + COPY_PIECE_ROWS);
        let text = '';
        for (let i = start; i < end; i++) {
          for (let c = 0; c < columns.length; c++) {
            if (c > 0) text += '\t';
            text += copyField(encodeValue(chunk, columns[c]!, plan, values[c]![i] ?? null));
          }
          text += columns.length === 0 ? `${plan.batch}\n` : batchField;
        }
        if (!(await send(text))) return;
      }
      line += chunk.numRows;
    }
  });
}

/** Encoded pieces as they are; binary COPY gets its header first and its trailer last. */
async function copyPieces(
  client: Queryable & { readonly raw: pg.PoolClient },
  plan: LoadPlan,
  targets: LoadPlan['mapping'][number]['target'][],
  input: AsyncIterable<EncodedPiece>,
  track: (piece: EncodedPiece) => void,
  where: string,
  tallier?: BatchTallier,
): Promise<number> {
  const binary = copyFormatOf(plan) === 'binary';
  const sql = `${plan.statements.copyInto(targets)}${binary ? ' (FORMAT binary)' : ''}`;
  return copyStream(client, plan, sql, where, async (send, origins) => {
    if (binary && !(await send(BINARY_COPY_HEADER))) return;
    let line = 0;
    for await (const piece of input) {
      track(piece);
      const last = origins[origins.length - 1];
      if (last && last.uri === piece.object.uri && last.rowGroup === piece.rowGroup) {
        origins[origins.length - 1] = { ...last, lastLine: line + piece.rows };
      } else {
        origins.push({
          firstLine: line + 1,
          lastLine: line + piece.rows,
          uri: piece.object.uri,
          rowGroup: piece.rowGroup,
        });
      }
      line += piece.rows;
      tallier?.add(piece);
      if (!(await send(piece.bytes, piece.release))) return;
    }
    if (binary) await send(BINARY_COPY_TRAILER);
  });
}

/**
 * ANALYZE of the staging table's swap columns (`Statements.analyzeStaging`) when it has no statistics yet. Without
 * them the planner prices its BRIN as useless (no correlation known) and reads every staged row for a batch's
 * count or clearing and for a slice's move; with statistics from any batch it finds them by the BRIN.
 */
export async function analyzeStagingOnce(db: Queryable, statements: Statements): Promise<void> {
  const [stats] = await db.query<{ analyzed: boolean }>(
    statements.stagingAnalyzed(),
    [],
    `reading the statistics of ${statements.names.staging}`,
  );
  if (stats?.analyzed) return;
  await db.query(statements.analyzeStaging(), [], `analyzing ${statements.names.staging}`);
}
