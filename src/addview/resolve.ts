/**
 * What a new add-view run is fixed to, resolved once when it starts (and previewed by `plan`): the cutoff
 * (`auto` = the server's clock, or the largest id, plus the margin, rounded up to the column's grain), the
 * history source, and the windows. The cutoff must be ahead of every row already in the source: a row at or
 * beyond it inserted before the view exists would be in neither the history nor the view.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type {
  Position,
  ViewAdapter,
  ViewDescription,
  ViewHistory,
  ViewWindow,
} from '../adapter/view-contract.ts';
import { DEFAULT_BATCH } from '../config/types.ts';
import { ConfigError, SchemaMismatchError } from '../errors.ts';
import { readSourceSchema } from '../parquet/schema.ts';
import { planBatches } from '../planner/batches.ts';
import { mapLimit } from '../runner/concurrency.ts';
import { listObjects } from '../source/list-objects.ts';
import { resolveLocation } from '../source/location.ts';
import { s3AsyncBuffer } from '../source/range-reader.ts';
import { configuredPosition, resolveSizes, type ViewConfig, type ViewSizes } from './config.ts';
import { ceilTo, formatPosition, formatSize, MICROS_PER_SECOND } from './position.ts';
import { objectWindows, planWindows, windowEdges, windowsFromEdges } from './windows.ts';

export interface ResolvedRun {
  readonly cutoff: Position | undefined;
  readonly history: ViewHistory;
  readonly windows: readonly ViewWindow[];
  readonly sizes: ViewSizes;
  /** How the cutoff and the windows were found, for the plan. */
  readonly notes: readonly string[];
}

const FOOTER_CONCURRENCY = 8;

export async function resolveRun(
  config: ViewConfig,
  adapter: ViewAdapter,
  description: ViewDescription,
  client: S3Client | undefined,
): Promise<ResolvedRun> {
  const { kind, name: column, grain, grainOrigin } = description.windowColumn;
  const sizes = resolveSizes(config, kind, column);
  const extent = await adapter.sourceExtent(description);
  const notes: string[] = [];

  if (!adapter.capabilities.cutoffFilter) {
    // The database tracks live rows itself: materialize every complete bucket up to now.
    const now = await adapter.serverTime();
    const [end] = adapter.alignEdges
      ? await adapter.alignEdges(description, [
          { kind, value: kind === 'time' ? now : (extent.max?.value ?? 0n) + 1n },
        ])
      : [{ kind, value: now }];
    if (!end || extent.min === null || extent.min.value >= end.value) {
      notes.push(`nothing to materialize yet (${description.source} has no rows before the current bucket)`);
      return { cutoff: undefined, history: { kind: 'source-table' }, windows: [], sizes, notes };
    }
    let edges = windowEdges({ kind, start: extent.min, end, size: sizes.window });
    if (adapter.alignEdges) edges = [...(await adapter.alignEdges(description, edges))];
    const windows = windowsFromEdges(edges, end, undefined);
    notes.push(
      `windows of ${formatSize(kind, sizes.window)} from the oldest row (${formatPosition(extent.min)}) up to ` +
        `${formatPosition(end)} (the start of the current bucket; newer rows are the refresh policy's)`,
    );
    return { cutoff: undefined, history: { kind: 'source-table' }, windows, sizes, notes };
  }

  const configured = configuredPosition(config, 'cutoff', kind, column);
  let cutoff: Position;
  if (configured === 'auto') {
    const step = kind === 'time' ? (grain > MICROS_PER_SECOND ? grain : MICROS_PER_SECOND) : grain;
    if (kind === 'time') {
      const now = await adapter.serverTime();
      const base = extent.max !== null && extent.max.value > now ? extent.max.value : now;
      cutoff = { kind, value: grainOrigin + ceilTo(base + sizes.margin - grainOrigin, step) };
      notes.push(
        `cutoff auto = ${extent.max !== null && extent.max.value > now ? `newest ${column}` : 'server time'} + ` +
          `${formatSize(kind, sizes.margin)}, rounded up to ${formatSize(kind, step)}: ${formatPosition(cutoff)} UTC`,
      );
    } else {
      cutoff = { kind, value: ceilTo((extent.max?.value ?? 0n) + sizes.margin, step) };
      notes.push(
        `cutoff auto = largest ${column} (${extent.max === null ? 'none' : extent.max.value}) + ${sizes.margin}: ${cutoff.value}`,
      );
    }
  } else {
    cutoff = configured;
    notes.push(`cutoff ${formatPosition(cutoff)}${kind === 'time' ? ' UTC' : ''} (configured)`);
  }
  const ahead = await adapter.countFrom(description, cutoff);
  if (ahead > 0) {
    throw new ConfigError(
      `view.cutoff ${formatPosition(cutoff)} is not ahead of ${description.source}: ${ahead} rows already have ${column} >= it, ` +
        `and rows inserted before the view exists would be missed — use a later cutoff, or auto`,
    );
  }

  let history: ViewHistory = { kind: 'source-table' };
  const windows: ViewWindow[] = [];
  let from: Position | undefined;
  if (config.source) {
    if (!adapter.capabilities.historyFromObjectStore || !client) {
      throw new ConfigError(
        `source: history from object storage is not supported for ${adapter.kind} — remove source`,
      );
    }
    const configuredSplit = configuredPosition(config, 'source_before', kind, column);
    const split = configuredSplit === 'auto' ? (extent.min ?? cutoff) : configuredSplit;
    if (split.value > cutoff.value) {
      throw new ConfigError(
        `view.source_before ${formatPosition(split)} is after the cutoff ${formatPosition(cutoff)} — use a value at or below it, or auto`,
      );
    }
    const location = resolveLocation(config.source);
    const objects = await listObjects(client, location);
    await checkObjectColumns(client, objects, description);
    const batches = planBatches(objects, DEFAULT_BATCH);
    windows.push(...objectWindows(batches, split));
    history = { kind: 'object-store', store: location, split };
    from = split;
    notes.push(
      `history: ${objects.length} objects of ${config.source.url} below ${column} ${formatPosition(split)}` +
        `${configuredSplit === 'auto' ? ' (the oldest row of the live table)' : ''}, in ${batches.length} windows; ` +
        `then ${description.source} from there up to the cutoff`,
    );
  }
  windows.push(
    ...planWindows({
      kind,
      start: extent.min,
      end: cutoff,
      size: sizes.window,
      from,
      firstIndex: windows.length,
    }),
  );
  notes.push(
    `${windows.length} windows of ${formatSize(kind, sizes.window)} below the cutoff, oldest first; each runs once ` +
      `${kind === 'time' ? 'the server clock' : `the largest ${column}`} has passed its end and ${formatSize('time', sizes.settle)} more have gone by`,
  );
  return { cutoff, history, windows, sizes, notes };
}

/** Every object's footer must hold the columns the view reads. */
async function checkObjectColumns(
  client: S3Client,
  objects: readonly import('../source/types.ts').SourceObject[],
  description: ViewDescription,
): Promise<void> {
  const schemas = await mapLimit(objects, FOOTER_CONCURRENCY, (object) =>
    readSourceSchema(s3AsyncBuffer(client, object), object),
  );
  for (const schema of schemas) {
    const names = new Set(schema.columns.map((c) => c.name));
    const missing = description.readsColumns.find((c) => !names.has(c.name));
    if (missing) {
      throw new SchemaMismatchError(
        `${schema.object.uri} has no column ${missing.name}, which the view reads from ${description.source} — ` +
          `export it with that column, or narrow source.url`,
      );
    }
  }
}

/**
 * A resumed run whose `view.window` changed (e.g. lowered after a window ran out of memory): the windows not
 * yet begun are planned again with the new size, between the end of the last begun window and the end of
 * history. Undefined when the size is unchanged or nothing is left to plan.
 */
export async function replanRemaining(
  config: ViewConfig,
  adapter: ViewAdapter,
  description: ViewDescription,
  windows: readonly ViewWindow[],
  pending: readonly boolean[],
  journaledSize: bigint,
): Promise<{ from: number; windows: ViewWindow[]; size: bigint } | undefined> {
  const { kind, name } = description.windowColumn;
  const size = resolveSizes(config, kind, name).window;
  if (size === journaledSize || windows.length === 0) return undefined;
  let from = windows.length;
  while (from > 0 && pending[from - 1] && !windows[from - 1]!.objects) from -= 1;
  if (from >= windows.length) return undefined;
  const lo = windows[from]!.lo;
  const end = windows[windows.length - 1]!.hi;
  const start = lo ?? (await adapter.sourceExtent(description)).min;
  let edges = windowEdges({ kind, start, end, size, from: lo });
  if (adapter.alignEdges) edges = [...(await adapter.alignEdges(description, edges))];
  return { from, windows: windowsFromEdges(edges, end, lo, from), size };
}
