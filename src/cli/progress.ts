/**
 * Renders run events for people and programs:
 * - stderr is a TTY: one live status line, redrawn in place (`\r` + clear line) — batches done/total, rows and
 *   bytes loaded, rows/s, MB/s, ETA, the watermark and what holds it, the current step, and TimescaleDB chunk
 *   counts — and, with several workers, one line per worker under it (its batch and for how long); notes (start,
 *   the schedule, failures, swap, finish) are printed above them on their own lines;
 * - stderr is not a TTY: the same status as plain lines, at most one every `intervalSeconds` (plus the last
 *   batch), and the notes; never a control character;
 * - `--json`: one JSON object per event on stdout (schema: docs/EVENTS.md), nothing on stderr.
 *
 * A failure is printed once, as the command's final `error:` line: a batch attempt that will not be retried and
 * the run stopping are shown only with `verbose` (and always as `--json` events).
 */
import type { RunEvent } from '../runner/events.ts';
import { formatBytes, formatCount, formatRate, formatSeconds } from './format.ts';

export interface ProgressOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Also print the notes that repeat the final error (the failed last attempt, the run stopping). */
  readonly verbose?: boolean;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Clock in milliseconds (tests pass a fake one). Default `Date.now`. */
  readonly now?: () => number;
  /** Off a TTY: least seconds between two plain status lines. Default 10. */
  readonly intervalSeconds?: number;
}

/** What the live view shows, folded from the events seen so far. */
export interface ProgressState {
  batches: number;
  batchesDone: number;
  totalBytes: number;
  /** Rows and bytes of committed batches (including those committed by an earlier, resumed invocation). */
  rows: number;
  bytes: number;
  /** Bytes loaded by this invocation: the basis of MB/s and ETA (resumed batches would inflate them). */
  bytesThisRun: number;
  rowsThisRun: number;
  step: string;
  chunksDecompressed: number;
  chunksCompressed: number;
  chunksTotal: number;
  /** Lanes of this process (from the `schedule` event). */
  workers: number;
  /** What each busy worker loads, and since when (ms of the clock). */
  busy: Map<number, { batch: number; attempt: number; since: number }>;
  /** The watermark for people (`2024-12-17 09:00:00`), once it is known, and what holds it. */
  watermark: string | undefined;
  stalledBy: number | undefined;
}

export function initialProgressState(): ProgressState {
  return {
    batches: 0,
    batchesDone: 0,
    totalBytes: 0,
    rows: 0,
    bytes: 0,
    bytesThisRun: 0,
    rowsThisRun: 0,
    step: 'starting',
    chunksDecompressed: 0,
    chunksCompressed: 0,
    chunksTotal: 0,
    workers: 1,
    busy: new Map(),
    watermark: undefined,
    stalledBy: undefined,
  };
}

/** Folds one event into the state (mutates and returns it); `now` stamps when a worker started. */
export function applyEvent(state: ProgressState, event: RunEvent, now = Date.now()): ProgressState {
  switch (event.type) {
    case 'run-started':
      state.batches = event.batches;
      state.totalBytes = event.bytes;
      state.step = 'preparing shadow tables';
      break;
    case 'batch-started':
      state.step = `batch ${event.batch + 1}: load${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`;
      break;
    case 'batch-loaded':
      state.bytesThisRun += event.bytes;
      state.rowsThisRun += event.rows;
      state.step = `batch ${event.batch + 1}: verify`;
      break;
    case 'batch-verified':
      state.step = `batch ${event.batch + 1}: commit`;
      break;
    case 'batch-committed':
      state.batchesDone = event.batchesSoFar;
      state.rows = event.rowsSoFar;
      state.bytes = event.bytesSoFar;
      state.step = state.batchesDone >= state.batches ? 'swap' : 'next batch';
      break;
    case 'batch-failed':
      state.step = `batch ${event.batch + 1}: ${event.willRetry ? 'retry' : 'failed'}`;
      break;
    case 'swap-started':
      state.step = `swap 0/${event.units}`;
      break;
    case 'swap-unit-done':
      state.step = `swap ${event.done}/${event.total}`;
      break;
    case 'swap-finished':
    case 'shadows-dropped':
      state.step = 'cleanup';
      break;
    case 'chunk-decompressed':
      state.chunksDecompressed = event.done;
      state.chunksTotal = Math.max(state.chunksTotal, event.total);
      break;
    case 'chunk-compressed':
      state.chunksCompressed = event.done;
      state.chunksTotal = Math.max(state.chunksTotal, event.total);
      break;
    case 'run-finished':
      state.step = 'finished';
      break;
    case 'run-stopped':
      state.step = 'stopped';
      break;
    case 'schedule':
      state.workers = event.workers;
      break;
    case 'worker-started':
      state.busy.set(event.worker, { batch: event.batch, attempt: event.attempt, since: now });
      break;
    case 'worker-finished':
    case 'worker-idle':
      state.busy.delete(event.worker);
      break;
    case 'watermark-advanced':
      state.watermark = event.text;
      state.stalledBy = event.stalledBy;
      break;
    default:
      break;
  }
  return state;
}

/** The watermark part of the status line: `watermark 2024-12-17 09:00:00 (waiting for batch 5)`. */
function watermarkPart(state: ProgressState): string | undefined {
  if (state.watermark === undefined) return undefined;
  if (state.watermark === 'all') return 'watermark: every batch';
  const held = state.stalledBy !== undefined ? ` (waiting for batch ${state.stalledBy + 1})` : '';
  return state.watermark === 'none' ? `watermark: none yet${held}` : `watermark ${state.watermark}${held}`;
}

/** One line per busy worker (only when the run has several): `  worker 2: batch 7, 12.3 s`. */
export function workerLines(state: ProgressState, now: number): string[] {
  if (state.workers <= 1) return [];
  return [...state.busy.entries()]
    .sort(([a], [b]) => a - b)
    .map(
      ([worker, w]) =>
        `  worker ${worker}: batch ${w.batch + 1}${w.attempt > 1 ? ` (attempt ${w.attempt})` : ''}, ${formatSeconds((now - w.since) / 1000)}`,
    );
}

/** The one-line status: `batches 2/5 · 1,234 rows · 3.4 MiB · 5,678 rows/s · 1.2 MB/s · ETA 4.0 s · batch 3: load`. */
export function statusLine(state: ProgressState, elapsedSeconds: number): string {
  const seconds = Math.max(elapsedSeconds, 0.001);
  const bytesPerSecond = state.bytesThisRun / seconds;
  const remaining = Math.max(state.totalBytes - state.bytes, 0);
  const eta = remaining === 0 ? 0 : bytesPerSecond > 0 ? remaining / bytesPerSecond : Number.NaN;
  const parts = [
    `batches ${state.batchesDone}/${state.batches}`,
    `${formatCount(state.rows)} rows`,
    formatBytes(state.bytes),
    `${formatCount(state.rowsThisRun / seconds)} rows/s`,
    formatRate(bytesPerSecond),
    `ETA ${formatSeconds(eta)}`,
  ];
  const watermark = watermarkPart(state);
  if (watermark) parts.push(watermark);
  if (state.chunksTotal > 0) {
    parts.push(
      `chunks ${state.chunksDecompressed}/${state.chunksTotal} decompressed, ${state.chunksCompressed} recompressed`,
    );
  }
  parts.push(state.workers > 1 && state.busy.size > 0 ? `${state.busy.size} loading` : state.step);
  return parts.join(' · ');
}

/** A one-off line worth keeping in the scrollback, or undefined. */
function noteFor(event: RunEvent, verbose: boolean): string | undefined {
  switch (event.type) {
    case 'run-started':
      return (
        `${event.resumed ? 'resuming' : 'starting'} run ${event.runId}: ${event.objects} objects, ` +
        `${formatBytes(event.bytes)} in ${event.batches} batches`
      );
    case 'schedule':
      return (
        `${event.workers} worker${event.workers === 1 ? '' : 's'} (${event.reason}) · mode ${event.mode}: ` +
        `${POLICY_TEXT[event.policy]} · batches in ${event.order} order`
      );
    case 'run-joined':
      return `joining run ${event.runId}, performed by ${event.holder}: loading batches beside it (it swaps; this process takes over if it stops)`;
    case 'lease-taken-over':
      return `took the run over from ${event.from} (last heartbeat ${event.lastHeartbeat || 'unknown'})`;
    case 'batch-failed':
      // The last attempt's error is the command's error line; say it twice only when asked.
      if (!event.willRetry && !verbose) return undefined;
      return `batch ${event.batch + 1} attempt ${event.attempt} failed: ${event.error}${event.willRetry ? ' — retrying' : ''}`;
    case 'batch-outside-range':
      return (
        `warning: batch ${event.batch + 1} (${event.objects.slice(0, 2).join(', ')}${event.objects.length > 2 ? ', …' : ''}) ` +
        `has rows from ${event.rowsFrom}, before ${event.declaredStart} where the Parquet footer statistics of its ` +
        `objects say it begins — the statistics are wrong; ${event.slices} slice(s) it reaches may be swapped and ` +
        `compressed already and will be swapped again when it commits (its rows go in exactly once)`
      );
    case 'policy-paused':
      return `paused background jobs ${event.jobs.join(', ')} of ${event.table}`;
    case 'policy-resumed':
      return `resumed background jobs ${event.jobs.join(', ')} of ${event.table}`;
    case 'swap-started':
      return `swapping ${event.units} unit(s) into the live tables`;
    case 'swap-finished':
      return `swap finished in ${formatSeconds(event.seconds)}`;
    case 'run-finished':
      return `run ${event.runId} finished: ${formatCount(event.rowsLoaded)} rows in ${formatSeconds(event.seconds)}`;
    case 'run-stopped':
      return verbose ? `run ${event.runId} stopped: ${event.error}` : undefined;
    default:
      return undefined;
  }
}

const POLICY_TEXT: Readonly<Record<Extract<RunEvent, { type: 'schedule' }>['policy'], string>> = {
  progressive: 'slices behind the watermark are swapped in and compressed while later batches load',
  'after-all': 'the swap follows once every batch is committed',
  'one-transaction': 'every slice is swapped in one transaction once every batch is committed',
};

/** Events after which the plain (non-TTY) output prints a status line, subject to the interval. */
const STATUS_EVENTS = new Set<RunEvent['type']>(['batch-committed', 'swap-unit-done', 'chunk-compressed']);

export function createProgress(options: ProgressOptions): (event: RunEvent) => void {
  const now = options.now ?? Date.now;
  const intervalMs = (options.intervalSeconds ?? 10) * 1000;
  const start = now();
  const state = initialProgressState();
  const tty = options.stderr.isTTY === true;
  /** Lines of the live block on screen (0: none; the cursor is at the end of its last line). */
  let live = 0;
  let lastPlain = Number.NEGATIVE_INFINITY;

  /** Clears the live block and leaves the cursor at the start of its first line. */
  const clear = () => {
    if (live === 0) return;
    options.stderr.write(`\r\x1b[2K${'\x1b[1A\x1b[2K'.repeat(live - 1)}`);
    live = 0;
  };
  const writeNote = (text: string) => {
    clear();
    options.stderr.write(`${text}\n`);
  };
  const redraw = () => {
    const width = options.stderr.columns ?? 0;
    // A wrapped line cannot be redrawn in place: keep each within the terminal.
    const fit = (text: string) => (width > 1 && text.length >= width ? `${text.slice(0, width - 2)}…` : text);
    const t = now();
    const lines = [statusLine(state, (t - start) / 1000), ...workerLines(state, t)].map(fit);
    clear();
    if (lines.length === 1) options.stderr.write(`\r\x1b[2K${lines[0]}`);
    else options.stderr.write(lines.join('\n'));
    live = lines.length;
  };

  return (event) => {
    if (options.json) {
      options.stdout.write(`${JSON.stringify({ ...event, at: new Date(now()).toISOString() })}\n`);
      return;
    }
    applyEvent(state, event, now());
    if (options.quiet) return;
    const note = noteFor(event, options.verbose === true);
    if (tty) {
      if (note !== undefined) writeNote(note);
      if (event.type === 'run-finished' || event.type === 'run-stopped') {
        // The command's own last line (report or error) starts on a clean line.
        clear();
        return;
      }
      redraw();
      return;
    }
    if (note !== undefined) options.stderr.write(`${note}\n`);
    if (!STATUS_EVENTS.has(event.type)) return;
    const last =
      (event.type === 'batch-committed' && state.batchesDone >= state.batches) ||
      (event.type === 'swap-unit-done' && event.done === event.total);
    const t = now();
    if (last || t - lastPlain >= intervalMs) {
      options.stderr.write(`${statusLine(state, (t - start) / 1000)}\n`);
      lastPlain = t;
    }
  };
}
