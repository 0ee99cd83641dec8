/**
 * The swap of staged rows into the live hypertable. Only rows of committed batches move (the claims table says
 * which): batches still loading, or loaded and not yet committed, stay staged whatever their time.
 * - beginSwap: index + analyze the staging table; with `on_conflict: error`, find every committed staged key that
 *   collides with the hypertable (or with another staged row) and refuse before anything changes; find the
 *   compressed chunks those rows fall into (time and space slices), decide per chunk between decompressing it and
 *   writing into it directly, check storage headroom from the chunks' pre-compression sizes, then pause the
 *   compression policy (prior state recorded) and wait until no run of it is under way. In historical mode it runs
 *   as soon as the first slice is final (the engine's watermark), with later batches still loading;
 * - swap units: one per chunk-interval time slice holding committed staged rows, listed from the claims (each
 *   batch's rows per slice, counted when it loaded) minus what the state table records as moved. One transaction
 *   locks the slice's record, decompresses that slice's compressed chunks (when decided so), copies the rows of its
 *   committed batches not moved yet staging → hypertable (`INSERT … SELECT … ON CONFLICT …`; they stay staged until
 *   the staging table is dropped) and records what it did (chunks touched, batches moved); a slice that only creates
 *   chunks the compression policy would compress is written compressed already (direct compress inserts, where the
 *   server has them and no unique index forbids them), and those chunks recompressed in order behind the
 *   watermark; `commitAll` does every slice in ONE transaction (catchup mode);
 * - chunks to compress: every chunk this run decompressed or wrote into and has not compressed again; the engine
 *   compresses each once the watermark has passed it and no unswapped slice reaches it (`compressChunk`), while
 *   later batches still load;
 * - finishSwap: recompress whatever this run decompressed or wrote into and is not compressed yet, compress new
 *   chunks older than the policy's compress_after, resume the policy (always), refresh every continuous
 *   aggregate over the backfilled range;
 * - a slice that still collides (live ingestion wrote the key after the pre-check) stops the swap with the live
 *   side consistent: its own transaction rolled back, the slices already moved have their chunks compressed again
 *   and the aggregates refreshed over them, and the message says what was swapped and how to finish;
 * - recover: resume a policy a stopped or killed invocation left paused.
 */
import type { ChunkToCompress, SwapState, SwapUnit } from '../../src/adapter/contract.ts';
import { z } from 'zod';
import { JournalError, TargetError, VerifyError } from '../../src/errors.ts';
import type { PgConnection, Queryable } from './connection.ts';
import { listChunks, type ChunkInfo, type Hypertable, type UniqueIndex } from './introspect.ts';
import type { TimescaleOptions } from './options.ts';
import { compressionOrder } from './compression-order.ts';
import { currentPolicy, pausePolicy, resumePolicy, waitUntilJobIdle } from './policy.ts';
import { timeIndexDecision } from './staging-layout.ts';
import type { Statements } from './statements.ts';
import {
  lockSliceBatches,
  readSwapState,
  recordSliceBatches,
  recordSwappedSlice,
  stateTableExists,
  writeChunkRecord,
  type ChunkRecord,
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
/**
 * What `beginSwap` journals (`swap-began`) and the engine hands back to `finishSwap`, `recover` and `abandon`:
 * validated by this schema when read back, never cast (the type is the schema's).
 */
export const timescaleSwapStateSchema = z.object({
  adapter: z.literal('timescaledb'),
  strategy: z.enum(['decompress', 'direct', 'auto']),
  /** The compression policy as this run found and paused it; null without a policy. */
  policy: z.object({ jobId: z.number().int(), priorScheduled: z.boolean(), paused: z.boolean() }).nullable(),
  /** When the swap began (the server's clock, ISO 8601): chunks created since were created by the swap. */
  beganAt: z.string(),
  /** Internal time range of all staged rows [min, max], or null when nothing was staged. */
  range: z.object({ min: z.string(), max: z.string() }).nullable(),
  slices: z.number(),
  rows: z.number(),
  chunks: z.array(z.object({ chunk: z.string(), how: z.enum(['decompress', 'direct']), bytes: z.number() })),
  decompressBytes: z.number(),
});

export type TimescaleSwapState = Readonly<z.infer<typeof timescaleSwapStateSchema>>;

/**
 * The swap state the journal holds for this adapter, validated: undefined when the run journaled none (or an
 * empty one); a state of another shape fails with what is wrong and what to do.
 */
export function parseTimescaleSwapState(state: SwapState | undefined): TimescaleSwapState | undefined {
  if (state === undefined || Object.keys(state).length === 0) return undefined;
  const parsed = timescaleSwapStateSchema.safeParse(state);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new JournalError(
    'JOURNAL_CONFLICT',
    `the journaled swap state is not this TimescaleDB adapter's (${issue?.path.join('.') || 'state'}: ${issue?.message ?? 'invalid'}) — ` +
      'a run begun by another shadowfill version: finish it with that version, or give it up with `shadowfill abandon --config <file>`',
  );
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

/**
 * Compressed chunks that staged rows fall into (time and space), with the rows each receives and how. `committed`:
 * the batches whose rows count; `moved` (per slice number): batches a slice has moved already, left out of the
 * count for the chunks that slice reaches.
 */
export async function planChunks(
  ctx: SwapContext,
  slices: readonly Slice[],
  db: Queryable = ctx.db,
  committed?: readonly number[],
  moved?: ReadonlyMap<string, ReadonlySet<number>>,
): Promise<ChunkPlan[]> {
  const all = await listChunks(db, ctx.ht);
  const plans: ChunkPlan[] = [];
  for (const chunk of all) {
    if (!chunk.compressed) continue;
    const reaching = slices.filter((s) => s.min < chunk.end && s.max >= chunk.start);
    if (reaching.length === 0) continue;
    const batches =
      committed && moved
        ? [...new Set(reaching.flatMap((s) => notMoved(committed, moved.get(String(s.slice)))))]
        : committed;
    if (batches?.length === 0) continue;
    const rows = await db.query<{ n: string }>(
      ctx.stmts.countStagedIn(chunk.start, chunk.end, chunk.space, batches ? '$1' : undefined),
      batches ? [batches] : [],
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

/** Whether the swap needs a b-tree on time to find the staged slices' rows (staging-layout.ts), and why. */
export async function stagingLayout(ctx: SwapContext): Promise<{ build: boolean; why: string }> {
  const [row] = await ctx.db.query<{ unknown: number; slice_blocks: string; batch_blocks: string }>(
    ctx.stmts.blockSpread(),
    [],
    `reading the committed batches' blocks in ${ctx.stmts.names.claims}`,
  );
  return timeIndexDecision({
    unknown: Number(row?.unknown ?? 0),
    sliceBlocks: Number(row?.slice_blocks ?? 0),
    batchBlocks: Number(row?.batch_blocks ?? 0),
  });
}

/** beginSwap's result: the state to journal, and the staged slices it read (reused by the first listing). */
export interface SwapBeginning {
  readonly state: TimescaleSwapState;
  readonly slices: readonly Slice[];
}

/**
 * `oneTransaction`: catchup mode, where every slice moves in one transaction (everything decompressed at once
 * counts against max_decompressed_bytes).
 */
export async function beginSwap(ctx: SwapContext, oneTransaction = false): Promise<SwapBeginning> {
  const { db, ht, stmts, options } = ctx;
  if (options.strategy === 'direct' && !versionAtLeast(ht.timescaleVersion, 2, 11)) {
    throw new TargetError(
      'TARGET_UNSUPPORTED',
      `strategy direct needs TimescaleDB ≥ 2.11 (DML on compressed chunks) but ${db.description} runs ${ht.timescaleVersion}: use strategy decompress or auto`,
    );
  }
  if ((await stagingLayout(ctx)).build) {
    await db.query(stmts.createTimeIndex(), [], `indexing ${stmts.names.staging} on ${ht.time.column}`);
  }
  await db.query(stmts.analyzeStaging(), [], `analyzing ${stmts.names.staging}`);
  const committed = await committedBatches(ctx);
  const slices = await pendingSlices(ctx);
  if (options.onConflict === 'error') await refuseConflicts(ctx, slices, committed);
  // A resumed run: batches a slice moved before the kill are not counted again.
  const moved = (await readSwapState(db, ht.schema, stmts.names.state)).slices;
  const before = await planChunks(ctx, slices, db, committed, moved);
  checkHeadroom(ctx, slices, before, oneTransaction);
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
  const plans = policy ? await planChunks(ctx, slices, db, committed, moved) : before;
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
function checkHeadroom(
  ctx: SwapContext,
  slices: readonly Slice[],
  plans: readonly ChunkPlan[],
  oneTransaction: boolean,
): void {
  const { ht, options } = ctx;
  const decompress = plans.filter((p) => p.how === 'decompress');
  const total = decompress.reduce((n, p) => n + (p.chunk.uncompressedBytes ?? 0), 0);
  // With progressive recompression a chunk is compressed again as soon as its slices are done, so the peak is
  // the largest slice's share; otherwise (or in one transaction) everything stays decompressed until the end.
  const peak =
    options.progressiveRecompress && !oneTransaction
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
async function refuseConflicts(
  ctx: SwapContext,
  slices: readonly Slice[],
  committed: readonly number[],
): Promise<void> {
  const { db, ht, stmts } = ctx;
  const moved = (await readSwapState(db, ht.schema, stmts.names.state)).slices;
  for (const index of ht.uniqueIndexes) {
    let count = 0;
    let sample: string | null = null;
    for (const slice of slices) {
      const pending = notMoved(committed, moved.get(String(slice.slice)));
      if (pending.length === 0) continue;
      const rows = await db.query<{ n: string; sample: string | null }>(
        stmts.conflictCheck(index, slice.lo, slice.hi, '$1'),
        [pending],
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

/** The batches of `committed` a slice has not moved yet. */
function notMoved(committed: readonly number[], moved: ReadonlySet<number> | undefined): number[] {
  return moved ? committed.filter((b) => !moved.has(b)) : [...committed];
}

/** The committed batches (the claims table). */
export async function committedBatches(ctx: SwapContext, db: Queryable = ctx.db): Promise<number[]> {
  const rows = await db.query<{ batch: number }>(
    ctx.stmts.committedBatches(),
    [],
    `reading the committed batches of ${ctx.stmts.names.claims}`,
  );
  return rows.map((r) => Number(r.batch));
}

/**
 * Slices holding rows of committed batches not moved yet: each committed batch's rows per slice (counted when it
 * loaded), minus the batches each slice has moved (the state table). No scan of the staging table.
 */
export async function pendingSlices(ctx: SwapContext, db: Queryable = ctx.db): Promise<Slice[]> {
  const claims = await db.query<{ batch: number; slices: Record<string, number | string> | null }>(
    ctx.stmts.committedSlices(),
    [],
    `reading the committed batches of ${ctx.stmts.names.claims}`,
  );
  const moved = (await readSwapState(db, ctx.ht.schema, ctx.stmts.names.state)).slices;
  const rows = new Map<string, number>();
  for (const claim of claims) {
    for (const [slice, n] of Object.entries(claim.slices ?? {})) {
      if (moved.get(slice)?.has(Number(claim.batch))) continue;
      rows.set(slice, (rows.get(slice) ?? 0) + Number(n));
    }
  }
  const interval = ctx.ht.time.interval;
  return [...rows]
    .map(([text, n]) => {
      const slice = BigInt(text);
      const lo = slice * interval;
      const hi = lo + interval;
      return { slice, lo, hi, min: lo, max: hi - 1n, rows: n };
    })
    .sort((a, b) => (a.slice < b.slice ? -1 : a.slice > b.slice ? 1 : 0));
}

/** One unit per slice holding committed rows not moved yet (`slice:<n>`, with its time range). */
export async function listSwapUnits(ctx: SwapContext): Promise<SwapUnit[]> {
  const { ht } = ctx;
  const kind = ht.time.kind;
  return (await pendingSlices(ctx)).map((s) => ({
    id: `slice:${s.slice}`,
    description: `${ht.time.column} [${internalText(kind, s.lo)}, ${internalText(kind, s.hi)}) ${s.rows} rows → ${ht.schema}.${ht.name}`,
    lo: s.lo,
    hi: s.hi,
  }));
}

function parseUnit(ctx: SwapContext, unit: SwapUnit): { slice: bigint; lo: bigint; hi: bigint } {
  const match = /^slice:(-?\d+)$/.exec(unit.id);
  if (!match) {
    throw new TargetError(
      'TARGET_QUERY_FAILED',
      `swap unit ${JSON.stringify(unit.id)} is not a TimescaleDB time slice`,
    );
  }
  const slice = BigInt(match[1]!);
  return { slice, lo: slice * ctx.ht.time.interval, hi: (slice + 1n) * ctx.ht.time.interval };
}

export interface SliceResult {
  /** Chunks the slice decompressed (reported as `chunk-decompressed`). */
  readonly decompressed: readonly string[];
}

/** A resumed swap (after recover() resumed the policy) pauses it again, and waits for a run to stop. */
async function pauseAgain(ctx: SwapContext): Promise<void> {
  const { db, ht, stmts } = ctx;
  if (!ht.compressionEnabled) return;
  const stored = await readSwapState(db, ht.schema, stmts.names.state);
  if (stored.policy?.paused) return;
  const paused = await db.transaction((tx) => pausePolicy(tx, ht, stmts));
  if (paused) await waitUntilJobIdle(db, ht, paused.jobId);
}

/** One slice inside the caller's transaction: decompress what it must, move the committed rows, record it all. */
async function moveSlice(
  ctx: SwapContext,
  tx: Queryable,
  unit: SwapUnit,
  committed: readonly number[],
  checkPeak: boolean,
): Promise<SliceResult> {
  const { ht, stmts } = ctx;
  const { slice: number, lo, hi } = parseUnit(ctx, unit);
  const range = `${ht.time.column} [${internalText(ht.time.kind, lo)}, ${internalText(ht.time.kind, hi)})`;
  // Held until the transaction ends: another session moving this slice waits, then sees these batches as moved.
  const moved = await lockSliceBatches(tx, ht.schema, stmts.names.state, number);
  const batches = notMoved(committed, moved);
  const none: SliceResult = { decompressed: [] };
  if (batches.length === 0) return none;
  const [staged] = await tx.query<{ rows: string; unknown: boolean }>(
    stmts.stagedIn(),
    [batches, String(number)],
    `checking ${range} in the claims ${stmts.names.claims}`,
  );
  const expected = staged && !staged.unknown ? Number(staged.rows) : undefined;
  if (expected === 0) {
    await recordSliceBatches(tx, ht.schema, stmts.names.state, number, batches);
    return none;
  }
  if (ht.compressionEnabled) await pausePolicy(tx, ht, stmts);
  const slice: Slice = { slice: number, lo, hi, min: lo, max: hi - 1n, rows: 0 };
  const plans = await planChunks(ctx, [slice], tx, batches);
  if (checkPeak) checkHeadroom(ctx, [slice], plans, false);
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
      start: String(plan.chunk.start),
      end: String(plan.chunk.end),
    });
  }
  const existing = new Set(
    (await listChunks(tx, ht)).filter((c) => c.start < hi && c.end > lo).map((c) => `${c.schema}.${c.name}`),
  );
  const compressed = existing.size === 0 && (await compressesOnInsert(ctx, tx, hi));
  // Rows sent in the compression order come out compressed as compress_chunk would leave them (else unordered).
  const order = compressed ? compressionOrder(ht.segmentBy, ht.orderBy, ht.columns) : undefined;
  if (compressed) {
    for (const set of stmts.directCompressInsert(true, order !== undefined))
      await tx.query(set, [], `turning on direct compress for ${range}`);
  }
  const inserted = await tx.execute(
    stmts.moveSlice(lo, hi, '$1', order),
    [batches],
    `moving ${range} from ${stmts.names.staging} into ${ht.schema}.${ht.name}`,
  );
  // Every row the claims say these batches staged here, no more and no fewer: else nothing of the slice moves.
  if (expected !== undefined && stmts.movesEveryRow() && inserted !== expected) {
    throw new VerifyError(
      `moving ${range} into ${ht.schema}.${ht.name}: ${inserted} rows of batches ${batches.map((b) => b + 1).join(', ')} ` +
        `are staged in ${stmts.names.staging} but their claims in ${stmts.names.claims} count ${expected}; the slice ` +
        `was not moved (its transaction rolled back) — the staging table was changed outside shadowfill, or this is a ` +
        `defect: keep both tables and report it`,
      { retryable: false },
    );
  }
  if (compressed) {
    for (const set of stmts.directCompressInsert(false))
      await tx.query(set, [], `turning off direct compress`);
  }
  await recordCreatedChunks(ctx, tx, lo, hi, existing);
  await recordSwappedSlice(tx, ht.schema, stmts.names.state, lo, hi);
  await recordSliceBatches(tx, ht.schema, stmts.names.state, number, batches);
  return { decompressed };
}

/**
 * Why this hypertable's new chunks are never written compressed by the swap, or undefined when they may be (then
 * per slice: the server has the setting and the slice lies before the policy's compress_after).
 */
export function directCompressBlocker(ht: Hypertable, options: TimescaleOptions): string | undefined {
  if (!options.directCompressInsert) return 'direct_compress_insert: false';
  if (!options.progressiveRecompress) return 'progressive_recompress: false';
  if (!ht.compressionEnabled) return 'compression is not enabled';
  if (ht.uniqueIndexes.length > 0) return 'the hypertable has a unique index';
  // With space partitions a slice's rows alternate between chunks, and the server closes its compressed batch at
  // every switch: tiny batches.
  if (ht.space.length > 0) return 'the hypertable has a space dimension';
  // 2.23 refuses direct compress on a hypertable with continuous aggregates (with a warning); 2.24 accepts it.
  if (ht.aggregates.length > 0 && !versionAtLeast(ht.timescaleVersion, 2, 24))
    return `continuous aggregates on TimescaleDB ${ht.timescaleVersion} (< 2.24)`;
  if (!ht.policy) return 'no compression policy';
  return undefined;
}

/** What the plan says about new chunks written compressed. */
export function directCompressExplanation(ht: Hypertable, options: TimescaleOptions): string {
  const blocker = directCompressBlocker(ht, options);
  if (blocker) return `direct compress inserts: not used (${blocker})`;
  const order = compressionOrder(ht.segmentBy, ht.orderBy, ht.columns);
  return (
    `direct compress inserts: a slice that only creates chunks older than the policy's compress_after writes them compressed, ` +
    (order
      ? `its rows in the compression order (${order}), nothing to recompress`
      : 'then they are recompressed in order (no explicit segmentby and orderby to sort by)') +
    ` — where the server has timescaledb.enable_direct_compress_insert (≥ 2.23)`
  );
}

/**
 * Whether a slice that creates all its chunks writes them compressed (`timescaledb.enable_direct_compress_insert`):
 * only where the option allows it, the server has it, the hypertable has no unique index (the server would refuse
 * it, and ON CONFLICT needs row-by-row checks), no space dimension and, before 2.24, no continuous aggregate; where
 * this run recompresses behind the watermark (a chunk written out of the compression order comes out unordered and
 * is recompressed); and where the slice lies wholly before the compression policy's boundary (its chunks are ones
 * the policy compresses; newer ones stay as live ingestion leaves them).
 */
async function compressesOnInsert(ctx: SwapContext, tx: Queryable, hi: bigint): Promise<boolean> {
  const { ht, stmts, options } = ctx;
  if (directCompressBlocker(ht, options) !== undefined) return false;
  const policy = await currentPolicy(tx, ht);
  const check =
    policy?.compressAfter !== undefined ? stmts.directCompressCheck(hi, policy.compressAfter) : undefined;
  if (!check) return false;
  const rows = await tx.query<{ available: boolean; past: boolean }>(
    check,
    [],
    `checking direct compress inserts on ${ht.schema}.${ht.name}`,
  );
  return rows[0]?.available === true && rows[0]?.past === true;
}

/**
 * Chunks the slice's move created that the compression policy would compress (older than its compress_after):
 * recorded, so they are compressed behind the watermark like the ones the swap decompressed — not left to the
 * policy after the run.
 */
async function recordCreatedChunks(
  ctx: SwapContext,
  tx: Queryable,
  lo: bigint,
  hi: bigint,
  existing: ReadonlySet<string>,
): Promise<void> {
  const { ht, stmts } = ctx;
  if (!ht.compressionEnabled || !ctx.options.progressiveRecompress) return;
  // A chunk written compressed out of order (direct compress: unordered; or partial, when live ingestion created it
  // between the check and the insert) is recorded too, to be recompressed.
  const created = (await listChunks(tx, ht)).filter(
    (c) =>
      c.start < hi &&
      c.end > lo &&
      !existing.has(`${c.schema}.${c.name}`) &&
      (!c.compressed || c.unordered || c.partial),
  );
  if (created.length === 0) return;
  const policy = await currentPolicy(tx, ht);
  const listing =
    policy?.compressAfter !== undefined ? stmts.chunksPastCompressAfter(policy.compressAfter) : undefined;
  if (!listing) return;
  const past = new Set(
    (await tx.query<{ chunk: string }>(listing, [], `listing chunks older than compress_after`)).map((r) =>
      r.chunk.replace(/"/g, ''),
    ),
  );
  for (const chunk of created) {
    if (!past.has(`${chunk.schema}.${chunk.name}`) && !chunk.compressed) continue;
    await writeChunkRecord(tx, ht.schema, stmts.names.state, {
      schema: chunk.schema,
      name: chunk.name,
      how: 'created',
      recompressed: false,
      start: String(chunk.start),
      end: String(chunk.end),
    });
  }
}

/** One slice, one transaction (the committed rows of batches committed when it starts). */
export async function swapUnit(ctx: SwapContext, unit: SwapUnit): Promise<SliceResult> {
  await pauseAgain(ctx);
  const { ht } = ctx;
  const { lo, hi } = parseUnit(ctx, unit);
  const range = `${ht.time.column} [${internalText(ht.time.kind, lo)}, ${internalText(ht.time.kind, hi)})`;
  try {
    return await ctx.db.transaction(async (tx) => {
      const committed = await committedBatches(ctx, tx);
      return moveSlice(ctx, tx, unit, committed, ctx.options.progressiveRecompress);
    });
  } catch (error) {
    if (ctx.options.onConflict === 'error' && error instanceof TargetError && error.nativeCode === '23505') {
      throw await stopAfterConflict(ctx, range, error);
    }
    throw error;
  }
}

/** Every unit in ONE transaction (catchup mode): readers see all of them or none. */
export async function commitAll(ctx: SwapContext, units: readonly SwapUnit[]): Promise<SliceResult[]> {
  await pauseAgain(ctx);
  return ctx.db.transaction(async (tx) => {
    const committed = await committedBatches(ctx, tx);
    const results: SliceResult[] = [];
    for (const unit of units) results.push(await moveSlice(ctx, tx, unit, committed, false));
    return results;
  });
}

/** Chunks this run decompressed or wrote into and has not compressed again, with their time ranges. */
export async function chunksToCompress(ctx: SwapContext): Promise<ChunkToCompress[]> {
  const { db, ht, stmts } = ctx;
  if (!ctx.options.progressiveRecompress) return [];
  const open = (await readSwapState(db, ht.schema, stmts.names.state)).chunks.filter((c) => !c.recompressed);
  if (open.length === 0) return [];
  const known = open.some((c) => c.start === undefined || c.end === undefined)
    ? new Map((await listChunks(db, ht)).map((c) => [`${c.schema}.${c.name}`, c]))
    : new Map<string, ChunkInfo>();
  return open.map((c) => {
    const id = `${c.schema}.${c.name}`;
    const chunk = known.get(id);
    return {
      id,
      lo: c.start !== undefined ? BigInt(c.start) : (chunk?.start ?? -(2n ** 63n)),
      hi: c.end !== undefined ? BigInt(c.end) : (chunk?.end ?? 2n ** 63n - 1n),
    };
  });
}

/** Compresses one chunk this run touched again (if it is not compressed, or only partly) and records it. */
export async function compressChunk(ctx: SwapContext, id: string): Promise<boolean> {
  const { db, ht, stmts } = ctx;
  const record = (await readSwapState(db, ht.schema, stmts.names.state)).chunks.find(
    (c) => `${c.schema}.${c.name}` === id,
  );
  if (!record || record.recompressed) return false;
  const chunk = (await listChunks(db, ht)).find((c) => `${c.schema}.${c.name}` === id);
  return compressRecord(ctx, record, chunk);
}

async function compressRecord(
  ctx: SwapContext,
  record: ChunkRecord,
  chunk: ChunkInfo | undefined,
): Promise<boolean> {
  const { db, ht, stmts } = ctx;
  const name = `${record.schema}.${record.name}`;
  let compressed = false;
  await db.transaction(async (tx) => {
    if (chunk && (!chunk.compressed || chunk.partial || chunk.unordered)) {
      await tx.query(
        stmts.compressChunk(),
        [qualified(record.schema, record.name)],
        `compressing chunk ${name}`,
      );
      compressed = true;
    }
    await writeChunkRecord(tx, ht.schema, stmts.names.state, { ...record, recompressed: true });
  });
  return compressed;
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
  const left = await pendingSlices(ctx).catch(() => [] as Slice[]);
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
 * partially) — when `all` is false, only those no slice still has committed rows to move into.
 */
async function recompressFinished(ctx: SwapContext, all: boolean): Promise<string[]> {
  const { db, ht, stmts } = ctx;
  const stored = await readSwapState(db, ht.schema, stmts.names.state);
  const open = stored.chunks.filter((c) => !c.recompressed);
  if (open.length === 0) return [];
  const chunks = new Map((await listChunks(db, ht)).map((c) => [`${c.schema}.${c.name}`, c]));
  const pending = all ? [] : await pendingSlices(ctx);
  const done: string[] = [];
  for (const record of open) {
    const name = `${record.schema}.${record.name}`;
    const chunk = chunks.get(name);
    if (chunk && pending.some((s) => s.lo < chunk.end && s.hi > chunk.start)) continue;
    await compressRecord(ctx, record, chunk);
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
  state: TimescaleSwapState | undefined,
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
    if (listing && state) {
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
    await resumePolicy(db, ht, stmts, state?.policy ?? undefined);
  }
  // Over what was moved (in historical mode beginSwap saw only the first batches), else what beginSwap saw.
  const swapped = (await readSwapState(db, ht.schema, stmts.names.state)).swapped;
  const range = swapped
    ? { min: BigInt(swapped.min), max: BigInt(swapped.max) - 1n }
    : state?.range
      ? { min: BigInt(state.range.min), max: BigInt(state.range.max) }
      : undefined;
  const refreshed = range ? await refreshAggregates(ctx, range.min, range.max) : [];
  return { recompressed, compressedNew, refreshed };
}

export async function recover(ctx: SwapContext, state: TimescaleSwapState | undefined): Promise<void> {
  await resumePolicy(ctx.db, ctx.ht, ctx.stmts, state?.policy ?? undefined);
}

/** Plan text for the chunk interval, e.g. `1 day`. */
export function chunkIntervalText(ht: Hypertable): string {
  return intervalText(ht.time.kind, ht.time.interval);
}
