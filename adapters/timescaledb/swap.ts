/**
 * The swap of staged rows into the live hypertable:
 * - beginSwap: index + analyze the staging table; with `on_conflict: error`, find every staged key that collides
 *   with the hypertable (or with another staged row) and refuse before anything changes; find the compressed
 *   chunks the staged rows fall into (time and space slices), decide per chunk between decompressing it and writing
 *   into it directly, check storage headroom from the chunks' pre-compression sizes, then pause the compression
 *   policy (prior state recorded) and wait until no run of it is under way;
 * - swap units: one per chunk-interval time slice holding staged rows. One transaction decompresses that slice's
 *   compressed chunks (when decided so), moves its rows staging → hypertable (`DELETE … RETURNING` feeding
 *   `INSERT … ON CONFLICT …`) and records what it did; afterwards, every chunk this run decompressed that has no
 *   staged rows left is compressed again (progressive recompression behind the watermark of finished slices);
 * - finishSwap: recompress whatever this run decompressed or wrote into and is not compressed yet, compress new
 *   chunks older than the policy's compress_after, resume the policy (always), refresh every continuous
 *   aggregate over the backfilled range;
 * - a slice that still collides (live ingestion wrote the key after the pre-check) stops the swap with the live
 *   side consistent: its own transaction rolled back, the slices already moved have their chunks compressed again
 *   and the aggregates refreshed over them, and the message says what was swapped and how to finish;
 * - recover: resume a policy a stopped or killed invocation left paused.
 */
import type { SwapState, SwapUnit } from '../../src/adapter/contract.ts';
import { TargetError } from '../../src/errors.ts';
import type { PgConnection, Queryable } from './connection.ts';
import { listChunks, type ChunkInfo, type Hypertable, type UniqueIndex } from './introspect.ts';
import type { Strategy, TimescaleOptions } from './options.ts';
import { currentPolicy, pausePolicy, resumePolicy, waitUntilJobIdle } from './policy.ts';
import type { Statements } from './statements.ts';
import {
  readSwapState,
  recordSwappedSlice,
  stateTableExists,
  writeChunkRecord,
  type PolicyRecord,
} from './swap-state.ts';
import { internalText, intervalText } from './time.ts';
import { qualified } from './sql/quote.ts';
import { versionAtLeast } from './version.ts';

export interface SwapContext {
  readonly db: PgConnection;
  readonly ht: Hypertable;
  readonly stmts: Statements;
  readonly options: TimescaleOptions;
}

/** Staged rows of one chunk-interval slice. */
export interface Slice {
  readonly slice: bigint;
  readonly lo: bigint;
  readonly hi: bigint;
  readonly min: bigint;
  readonly max: bigint;
  readonly rows: number;
}

export interface ChunkPlan {
  readonly chunk: ChunkInfo;
  readonly stagedRows: number;
  readonly how: 'decompress' | 'direct';
}

/** What beginSwap returns (JSON-safe: bigints as text); journaled by the engine and handed back. */
export interface TimescaleSwapState {
  readonly adapter: 'timescaledb';
  readonly strategy: Strategy;
  readonly policy: PolicyRecord | null;
  /** When the swap began (the server's clock, ISO 8601): chunks created since were created by the swap. */
  readonly beganAt: string;
  /** Internal time range of all staged rows [min, max], or null when nothing was staged. */
  readonly range: { readonly min: string; readonly max: string } | null;
  readonly slices: number;
  readonly rows: number;
  readonly chunks: readonly {
    readonly chunk: string;
    readonly how: 'decompress' | 'direct';
    readonly bytes: number;
  }[];
  readonly decompressBytes: number;
}

const fmtBytes = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
};

export async function readSlices(ctx: SwapContext, db: Queryable = ctx.db): Promise<Slice[]> {
  const rows = await db.query<{ slice: string; lo: string; hi: string; n: string }>(
    ctx.stmts.sliceStats(),
    [],
    `reading the staged time range of ${ctx.stmts.names.staging}`,
  );
  const interval = ctx.ht.time.interval;
  return rows.map((r) => {
    const slice = BigInt(r.slice);
    return {
      slice,
      lo: slice * interval,
      hi: (slice + 1n) * interval,
      min: BigInt(r.lo),
      max: BigInt(r.hi),
      rows: Number(r.n),
    };
  });
}

/** Compressed chunks that staged rows fall into (time and space), with the rows each receives and how. */
export async function planChunks(
  ctx: SwapContext,
  slices: readonly Slice[],
  db: Queryable = ctx.db,
  chunks?: readonly ChunkInfo[],
): Promise<ChunkPlan[]> {
  const all = chunks ?? (await listChunks(db, ctx.ht));
  const plans: ChunkPlan[] = [];
  for (const chunk of all) {
    if (!chunk.compressed) continue;
    if (!slices.some((s) => s.min < chunk.end && s.max >= chunk.start)) continue;
    const rows = await db.query<{ n: string }>(
      ctx.stmts.countStagedIn(chunk.start, chunk.end, chunk.space),
      [],
      `counting staged rows for chunk ${chunk.name}`,
    );
    const stagedRows = Number(rows[0]?.n ?? 0);
    if (stagedRows === 0) continue;
    plans.push({ chunk, stagedRows, how: decide(ctx, chunk, stagedRows) });
  }
  return plans;
}

function decide(ctx: SwapContext, chunk: ChunkInfo, stagedRows: number): 'decompress' | 'direct' {
  const { strategy, directMaxFraction } = ctx.options;
  if (strategy !== 'auto') return strategy;
  if (!versionAtLeast(ctx.ht.timescaleVersion, 2, 11)) return 'decompress';
  const existing = chunk.rowsBeforeCompression;
  if (existing === undefined || existing === 0) return 'decompress';
  return stagedRows <= existing * directMaxFraction ? 'direct' : 'decompress';
}

/** Why `auto` decides as it does, for the plan and notes. */
export function strategyExplanation(ht: Hypertable, options: TimescaleOptions): string {
  const version = `TimescaleDB ${ht.timescaleVersion}`;
  const dml = versionAtLeast(ht.timescaleVersion, 2, 11);
  switch (options.strategy) {
    case 'decompress':
      return `strategy decompress: every compressed chunk that receives rows is decompressed first and compressed again after`;
    case 'direct':
      return dml
        ? `strategy direct: rows are inserted into compressed chunks as they are (${version} ≥ 2.11 accepts DML on compressed chunks); touched chunks are recompressed after`
        : `strategy direct needs TimescaleDB ≥ 2.11 (DML on compressed chunks) but the server runs ${version}`;
    case 'auto':
      return dml
        ? `strategy auto on ${version} (≥ 2.11 accepts DML on compressed chunks): a compressed chunk receiving at most ${options.directMaxFraction * 100}% of the rows it holds is written directly, any other is decompressed first; all are recompressed after`
        : `strategy auto on ${version} (< 2.11, no DML on compressed chunks): every compressed chunk that receives rows is decompressed first`;
  }
}

/** beginSwap's result: the state to journal, and the staged slices it read (reused by the first listing). */
export interface SwapBeginning {
  readonly state: TimescaleSwapState;
  readonly slices: readonly Slice[];
}

export async function beginSwap(ctx: SwapContext): Promise<SwapBeginning> {
  const { db, ht, stmts, options } = ctx;
  if (options.strategy === 'direct' && !versionAtLeast(ht.timescaleVersion, 2, 11)) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `strategy direct needs TimescaleDB ≥ 2.11 (DML on compressed chunks) but ${db.description} runs ${ht.timescaleVersion}: use strategy decompress or auto`,
    );
  }
  await db.query(stmts.createTimeIndex(), [], `indexing ${stmts.names.staging} on ${ht.time.column}`);
  await db.query(stmts.analyzeStaging(), [], `analyzing ${stmts.names.staging}`);
  const slices = await readSlices(ctx);
  if (options.onConflict === 'error') await refuseConflicts(ctx, slices);
  const before = await planChunks(ctx, slices, db);
  checkHeadroom(ctx, slices, before);
  let policy: PolicyRecord | undefined;
  if (ht.compressionEnabled) {
    policy = await db.transaction((tx) => pausePolicy(tx, ht, stmts));
    if (policy) await waitUntilJobIdle(db, ht, policy.jobId);
  }
  const clock = await db.query<{ now: string }>(
    `SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now`,
    [],
    'reading the server clock',
  );
  // The policy may have compressed chunks between the first plan and the pause: plan again now that it cannot.
  const plans = policy ? await planChunks(ctx, slices, db) : before;
  const decompress = plans.filter((p) => p.how === 'decompress');
  const min = slices.reduce<bigint | undefined>(
    (m, s) => (m === undefined || s.min < m ? s.min : m),
    undefined,
  );
  const max = slices.reduce<bigint | undefined>(
    (m, s) => (m === undefined || s.max > m ? s.max : m),
    undefined,
  );
  const state: TimescaleSwapState = {
    adapter: 'timescaledb',
    strategy: options.strategy,
    policy: policy ?? null,
    beganAt: clock[0]?.now ?? new Date().toISOString(),
    range: min === undefined || max === undefined ? null : { min: String(min), max: String(max) },
    slices: slices.length,
    rows: slices.reduce((n, s) => n + s.rows, 0),
    chunks: plans.map((p) => ({
      chunk: `${p.chunk.schema}.${p.chunk.name}`,
      how: p.how,
      bytes: p.chunk.uncompressedBytes ?? 0,
    })),
    decompressBytes: decompress.reduce((n, p) => n + (p.chunk.uncompressedBytes ?? 0), 0),
  };
  return { state, slices };
}

/** Refuses a swap that would decompress more than max_decompressed_bytes at once (before anything is paused). */
function checkHeadroom(ctx: SwapContext, slices: readonly Slice[], plans: readonly ChunkPlan[]): void {
  const { ht, options } = ctx;
  const decompress = plans.filter((p) => p.how === 'decompress');
  const total = decompress.reduce((n, p) => n + (p.chunk.uncompressedBytes ?? 0), 0);
  // With progressive recompression a chunk is compressed again as soon as its slices are done, so the peak is
  // the largest slice's share; otherwise everything stays decompressed until finishSwap.
  const peak = options.progressiveRecompress
    ? Math.max(
        0,
        ...slices.map((s) =>
          decompress
            .filter((p) => p.chunk.start < s.hi && p.chunk.end > s.lo)
            .reduce((n, p) => n + (p.chunk.uncompressedBytes ?? 0), 0),
        ),
      )
    : total;
  if (peak > options.maxDecompressedBytes) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `the backfill of ${ht.schema}.${ht.name} would decompress ${decompress.length} chunk(s) needing ${fmtBytes(peak)} uncompressed at once (${fmtBytes(total)} in all), above max_decompressed_bytes ${fmtBytes(options.maxDecompressedBytes)}: make room and raise max_decompressed_bytes, or use strategy direct`,
    );
  }
}

/** `{"device":1,"t":"2024-12-17T00:00:00+00:00"}` → `(device, t) = (1, 2024-12-17T00:00:00+00:00)`. */
function keyText(index: UniqueIndex, json: string | null | undefined): string {
  if (!json) return `(${index.columns.join(', ')})`;
  try {
    const value = JSON.parse(json) as Record<string, unknown>;
    const values = index.columns.map((c) => {
      const v = value[c];
      return typeof v === 'string' ? v : JSON.stringify(v);
    });
    return `(${index.columns.join(', ')}) = (${values.join(', ')})`;
  } catch {
    return json;
  }
}

/**
 * `on_conflict: error`: every staged key that would collide with a unique index of the hypertable (or with
 * another staged row), slice by slice, before anything changes. Refuses with the count and one key.
 */
async function refuseConflicts(ctx: SwapContext, slices: readonly Slice[]): Promise<void> {
  const { db, ht, stmts } = ctx;
  for (const index of ht.uniqueIndexes) {
    let count = 0;
    let sample: string | null = null;
    for (const slice of slices) {
      const rows = await db.query<{ n: string; sample: string | null }>(
        stmts.conflictCheck(index, slice.lo, slice.hi),
        [],
        `looking for staged keys of ${stmts.names.staging} already in ${ht.schema}.${ht.name} (${index.name})`,
      );
      const n = Number(rows[0]?.n ?? 0);
      if (n > 0) {
        count += n;
        sample ??= rows[0]?.sample ?? null;
      }
    }
    if (count > 0) {
      throw new TargetError(
        'TARGET_QUERY_FAILED',
        `on_conflict: error — ${count} staged key${count === 1 ? '' : 's'} of ${ht.schema}.${ht.name} on unique index ${index.name} ` +
          `already exist in the table or twice in the source, e.g. ${keyText(index, sample)}; nothing was swapped and ${ht.schema}.${ht.name} is unchanged: ` +
          `run again with on_conflict: nothing (keep the existing rows) or update (take the source's), or remove those rows from the source and start over with --new-run`,
        { nativeCode: '23505' },
      );
    }
  }
}

/** One unit per staged slice; `known` are slices just read by beginSwap (saves a scan of the staging table). */
export async function listSwapUnits(ctx: SwapContext, known?: readonly Slice[]): Promise<SwapUnit[]> {
  const { ht } = ctx;
  const slices = known ?? (await readSlices(ctx));
  const kind = ht.time.kind;
  return slices.map((s) => ({
    id: `slice:${s.slice}`,
    description: `${ht.time.column} [${internalText(kind, s.lo)}, ${internalText(kind, s.hi)}) ${s.rows} rows → ${ht.schema}.${ht.name}`,
  }));
}

function parseUnit(ctx: SwapContext, unit: SwapUnit): { lo: bigint; hi: bigint } {
  const match = /^slice:(-?\d+)$/.exec(unit.id);
  if (!match) {
    throw new TargetError(
      'TARGET_QUERY_FAILED',
      `swap unit ${JSON.stringify(unit.id)} is not a TimescaleDB time slice`,
    );
  }
  const slice = BigInt(match[1]!);
  return { lo: slice * ctx.ht.time.interval, hi: (slice + 1n) * ctx.ht.time.interval };
}

export interface SliceResult {
  readonly moved: number;
  readonly inserted: number;
  readonly decompressed: readonly string[];
}

export async function swapUnit(ctx: SwapContext, unit: SwapUnit): Promise<SliceResult> {
  const { db, ht, stmts } = ctx;
  const { lo, hi } = parseUnit(ctx, unit);
  const range = `${ht.time.column} [${internalText(ht.time.kind, lo)}, ${internalText(ht.time.kind, hi)})`;
  // A resumed swap (after recover() resumed the policy) pauses it again, and waits for a run under way to stop,
  // before touching chunks.
  if (ht.compressionEnabled) {
    const stored = await readSwapState(db, ht.schema, stmts.names.state);
    if (!stored.policy?.paused) {
      const paused = await db.transaction((tx) => pausePolicy(tx, ht, stmts));
      if (paused) await waitUntilJobIdle(db, ht, paused.jobId);
    }
  }
  let result: SliceResult;
  try {
    result = await db.transaction(async (tx) => {
      const pending = await tx.query<{ found: boolean }>(
        stmts.anyStagedIn(lo, hi),
        [],
        `checking ${range} in ${stmts.names.staging}`,
      );
      if (!pending[0]?.found) return { moved: 0, inserted: 0, decompressed: [] as string[] };
      if (ht.compressionEnabled) await pausePolicy(tx, ht, stmts);
      const slice: Slice = { slice: 0n, lo, hi, min: lo, max: hi - 1n, rows: 0 };
      const plans = await planChunks(ctx, [slice], tx);
      const decompressed: string[] = [];
      for (const plan of plans) {
        const name = `${plan.chunk.schema}.${plan.chunk.name}`;
        if (plan.how === 'decompress') {
          await tx.query(
            stmts.decompressChunk(),
            [qualified(plan.chunk.schema, plan.chunk.name)],
            `decompressing chunk ${name}`,
          );
          decompressed.push(name);
        }
        await writeChunkRecord(tx, ht.schema, stmts.names.state, {
          schema: plan.chunk.schema,
          name: plan.chunk.name,
          how: plan.how === 'decompress' ? 'decompressed' : 'direct',
          recompressed: false,
        });
      }
      const moved = await tx.query<{ moved: string; inserted: string }>(
        stmts.moveSlice(lo, hi),
        [],
        `moving ${range} from ${stmts.names.staging} into ${ht.schema}.${ht.name}`,
      );
      await recordSwappedSlice(tx, ht.schema, stmts.names.state, lo, hi);
      return {
        moved: Number(moved[0]?.moved ?? 0),
        inserted: Number(moved[0]?.inserted ?? 0),
        decompressed,
      };
    });
  } catch (error) {
    if (ctx.options.onConflict === 'error' && error instanceof TargetError && error.nativeCode === '23505') {
      throw await stopAfterConflict(ctx, range, error);
    }
    throw error;
  }
  if (ctx.options.progressiveRecompress) await recompressFinished(ctx, false);
  return result;
}

/**
 * A slice collided with a row live ingestion wrote after the pre-check: its transaction rolled back. Leaves the
 * live side consistent — the chunks of the slices already moved compressed again, every aggregate refreshed over
 * them — and returns the error saying what was swapped and how to finish. (The engine then resumes the policy.)
 */
async function stopAfterConflict(ctx: SwapContext, range: string, error: TargetError): Promise<TargetError> {
  const { db, ht, stmts } = ctx;
  const table = `${ht.schema}.${ht.name}`;
  const cause = error.cause as { detail?: string } | undefined;
  const key = cause?.detail ? ` (${cause.detail.replace(/\.$/, '')})` : '';
  let done = 'none of its slices had been moved';
  try {
    await recompressFinished(ctx, false);
    const stored = await readSwapState(db, ht.schema, stmts.names.state);
    const swapped = stored.swapped;
    if (swapped) {
      const lo = BigInt(swapped.min);
      const hi = BigInt(swapped.max);
      const refreshed = await refreshAggregates(ctx, lo, hi - 1n);
      done =
        `${swapped.slices} slice${swapped.slices === 1 ? ' was' : 's were'} moved (${ht.time.column} ` +
        `[${internalText(ht.time.kind, lo)}, ${internalText(ht.time.kind, hi)})), their chunks compressed again` +
        (refreshed.length > 0 ? ` and ${refreshed.join(', ')} refreshed over them` : '');
    }
  } catch (settle) {
    done += ` (settling the swapped part failed too: ${(settle as Error).message.split('\n')[0]})`;
  }
  const left = await readSlices(ctx).catch(() => [] as Slice[]);
  return new TargetError(
    'TARGET_QUERY_FAILED',
    `on_conflict: error — ${range} of ${table} collides with a row written after the pre-check (live ingestion)${key}; ` +
      `that slice was not changed; ${done}; ${left.length} slice${left.length === 1 ? '' : 's'} stay staged in ${stmts.names.staging}. ` +
      `To finish: remove the colliding live rows and run the same command again, or run it again with on_conflict: nothing or update — slices already moved are not repeated`,
    { cause: error, nativeCode: '23505' },
  );
}

/** Refreshes every continuous aggregate (lowest level first) over internal time [min, max]. */
async function refreshAggregates(ctx: SwapContext, min: bigint, max: bigint): Promise<string[]> {
  const { db, ht, stmts } = ctx;
  const refreshed: string[] = [];
  for (const agg of [...ht.aggregates].sort((a, b) => a.level - b.level)) {
    await db.query(
      stmts.refreshAggregate(agg.schema, agg.name, agg.bucketWidth, min, max),
      [],
      `refreshing continuous aggregate ${agg.schema}.${agg.name}`,
    );
    refreshed.push(`${agg.schema}.${agg.name}`);
  }
  return refreshed;
}

/**
 * Compresses again every chunk this run decompressed (or wrote into directly) that is not compressed (or only
 * partially) — when `all` is false, only those with no staged rows left in their time range.
 */
async function recompressFinished(ctx: SwapContext, all: boolean): Promise<string[]> {
  const { db, ht, stmts } = ctx;
  const stored = await readSwapState(db, ht.schema, stmts.names.state);
  const open = stored.chunks.filter((c) => !c.recompressed);
  if (open.length === 0) return [];
  const chunks = new Map((await listChunks(db, ht)).map((c) => [`${c.schema}.${c.name}`, c]));
  const done: string[] = [];
  for (const record of open) {
    const name = `${record.schema}.${record.name}`;
    const chunk = chunks.get(name);
    if (chunk && !all) {
      const staged = await db.query<{ found: boolean }>(
        stmts.anyStagedIn(chunk.start, chunk.end),
        [],
        `checking chunk ${name}`,
      );
      if (staged[0]?.found) continue;
    }
    await db.transaction(async (tx) => {
      if (chunk && (!chunk.compressed || chunk.partial)) {
        await tx.query(
          stmts.compressChunk(),
          [qualified(record.schema, record.name)],
          `compressing chunk ${name}`,
        );
      }
      await writeChunkRecord(tx, ht.schema, stmts.names.state, { ...record, recompressed: true });
    });
    done.push(name);
  }
  return done;
}

export interface FinishResult {
  readonly recompressed: readonly string[];
  readonly compressedNew: readonly string[];
  readonly refreshed: readonly string[];
}

export async function finishSwap(
  ctx: SwapContext,
  state: Partial<TimescaleSwapState>,
): Promise<FinishResult> {
  const { db, ht, stmts } = ctx;
  let recompressed: string[] = [];
  const compressedNew: string[] = [];
  try {
    if (await stateTableExists(db, ht.schema, stmts.names.state))
      recompressed = await recompressFinished(ctx, true);
    const policy = ht.compressionEnabled ? await currentPolicy(db, ht) : undefined;
    const listing =
      policy?.compressAfter !== undefined ? stmts.chunksPastCompressAfter(policy.compressAfter) : undefined;
    if (listing && typeof state.beganAt === 'string') {
      const old = await db.query<{ chunk: string }>(
        listing,
        [],
        `listing chunks of ${ht.schema}.${ht.name} older than compress_after ${policy?.compressAfter}`,
      );
      const past = new Set(old.map((r) => r.chunk.replace(/"/g, '')));
      for (const chunk of await listChunks(db, ht)) {
        const name = `${chunk.schema}.${chunk.name}`;
        if (chunk.createdAt < state.beganAt || chunk.compressed || !past.has(name)) continue;
        await db.query(
          stmts.compressChunk(),
          [qualified(chunk.schema, chunk.name)],
          `compressing new chunk ${name}`,
        );
        compressedNew.push(name);
      }
    }
  } finally {
    await resumePolicy(db, ht, stmts, state.policy ?? undefined);
  }
  const refreshed = state.range
    ? await refreshAggregates(ctx, BigInt(state.range.min), BigInt(state.range.max))
    : [];
  return { recompressed, compressedNew, refreshed };
}

export async function recover(
  ctx: SwapContext,
  state: Partial<TimescaleSwapState> | undefined,
): Promise<void> {
  await resumePolicy(ctx.db, ctx.ht, ctx.stmts, state?.policy ?? undefined);
}

/** Plan text for the chunk interval, e.g. `1 day`. */
export function chunkIntervalText(ht: Hypertable): string {
  return intervalText(ht.time.kind, ht.time.interval);
}

export function asTimescaleSwapState(state: SwapState | undefined): Partial<TimescaleSwapState> | undefined {
  if (!state || typeof state !== 'object') return undefined;
  return state as Partial<TimescaleSwapState>;
}
