/**
 * Renders run events: on a TTY one live status line (batches, rows, bytes, rate, ETA, current step) on
 * stderr; off a TTY plain lines on stderr; with --json one JSON object per event on stdout.
 */
import type { RunEvent } from '../runner/events.ts';
import { formatBytes, formatCount, formatSeconds } from './format.ts';

export interface ProgressOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export function createProgress(options: ProgressOptions): (event: RunEvent) => void {
  const start = Date.now();
  let batches = 0;
  let totalBytes = 0;
  let live = false;
  const tty = options.stderr.isTTY === true;
  const line = (text: string) => {
    if (options.quiet) return;
    if (tty) {
      options.stderr.write(`\r\x1b[2K${text}`);
      live = true;
    } else {
      options.stderr.write(`${text}\n`);
    }
  };
  const note = (text: string) => {
    if (options.quiet) return;
    if (live) options.stderr.write('\n');
    live = false;
    options.stderr.write(`${text}\n`);
  };
  return (event) => {
    if (options.json) {
      options.stdout.write(`${JSON.stringify({ ...event, at: new Date().toISOString() })}\n`);
      return;
    }
    const elapsed = (Date.now() - start) / 1000;
    switch (event.type) {
      case 'run-started':
        batches = event.batches;
        totalBytes = event.bytes;
        note(
          `${event.resumed ? 'resuming' : 'starting'} run ${event.runId}: ${event.objects} objects, ` +
            `${formatBytes(event.bytes)} in ${event.batches} batches`,
        );
        break;
      case 'batch-started':
        line(`batch ${event.batch + 1}/${batches}: loading ${event.objects} objects${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`);
        break;
      case 'batch-verified':
        line(`batch ${event.batch + 1}/${batches}: verified ${formatCount(event.rows)} rows`);
        break;
      case 'batch-committed': {
        const rate = event.rowsSoFar / Math.max(elapsed, 0.001);
        const mbs = event.bytesSoFar / 1024 ** 2 / Math.max(elapsed, 0.001);
        const eta = totalBytes > 0 && event.bytesSoFar > 0 ? (elapsed * (totalBytes - event.bytesSoFar)) / event.bytesSoFar : NaN;
        line(
          `batches ${event.batch + 1}/${batches} · ${formatCount(event.rowsSoFar)} rows · ${formatBytes(event.bytesSoFar)} · ` +
            `${formatCount(rate)} rows/s · ${mbs.toFixed(1)} MB/s · ETA ${formatSeconds(eta)}`,
        );
        break;
      }
      case 'batch-failed':
        note(`batch ${event.batch + 1} attempt ${event.attempt} failed: ${event.error}${event.willRetry ? ' — retrying' : ''}`);
        break;
      case 'swap-started':
        note(`swapping ${event.units} unit(s) into the live tables`);
        break;
      case 'swap-unit-done':
        line(`swap ${event.done}/${event.total}: ${event.description}`);
        break;
      case 'swap-finished':
        note(`swap finished in ${formatSeconds(event.seconds)}`);
        break;
      case 'run-finished':
        note(`run ${event.runId} finished: ${formatCount(event.rowsLoaded)} rows in ${formatSeconds(event.seconds)}`);
        break;
      case 'run-stopped':
        note(`run ${event.runId} stopped; run the same command again to resume`);
        break;
      default:
        break;
    }
  };
}
