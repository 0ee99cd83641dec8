/**
 * Progress events of a run, emitted in order to `onEvent` (the CLI renders them as a live view on a TTY,
 * plain lines otherwise, or one JSON object per line with --json). Schema: docs/EVENTS.md.
 */
import type { TableVerification } from '../adapter/contract.ts';

export type RunEvent =
  | { type: 'run-started'; runId: string; resumed: boolean; batches: number; objects: number; bytes: number }
  | { type: 'validated'; objects: number; bytes: number; sourceRows: number; columns: number }
  | { type: 'batch-started'; batch: number; attempt: number; objects: number; bytes: number }
  | { type: 'batch-loaded'; batch: number; rows: number; bytes: number; seconds: number }
  | { type: 'batch-verified'; batch: number; rows: number; sourceRows: number }
  | { type: 'batch-committed'; batch: number; rowsSoFar: number; bytesSoFar: number; batchesSoFar: number }
  | { type: 'batch-failed'; batch: number; attempt: number; error: string; willRetry: boolean }
  | { type: 'swap-started'; units: number }
  | { type: 'swap-unit-done'; unit: string; description: string; done: number; total: number }
  | { type: 'swap-finished'; units: number; seconds: number }
  | { type: 'shadows-dropped' }
  | { type: 'run-finished'; runId: string; rowsLoaded: number; seconds: number }
  | { type: 'run-stopped'; runId: string; error: string }
  // The lease (see docs/EVENTS.md): waiting for another process, or taking over from one that died.
  | { type: 'lease-waiting'; holder: string; since: string; expiresAt: string }
  | { type: 'lease-taken-over'; from: string; lastHeartbeat: string }
  // Verification of everything that is swapped (per table), before the swap begins.
  | { type: 'shadow-verified'; checks: readonly TableVerification[] }
  | { type: 'run-abandoned'; runId: string; reason: string }
  // The scheduler (docs/SCHEDULER.md): what it runs with, each worker's batch, the watermark, joined processes.
  | {
      type: 'schedule';
      workers: number;
      reason: string;
      mode: 'historical' | 'catchup';
      policy: 'progressive' | 'after-all' | 'one-transaction';
      order: 'time' | 'object';
    }
  | { type: 'worker-started'; worker: number; batch: number; attempt: number }
  | { type: 'worker-finished'; worker: number; batch: number; rows: number; seconds: number }
  | { type: 'worker-idle'; worker: number; reason: string }
  | {
      type: 'watermark-advanced';
      /** Time key as decimal text, `none` or `all` (src/scheduler/watermark.ts). */
      watermark: string;
      /** The watermark for people: a UTC time (`2024-12-17 09:00:00`), the integer, or `none`/`all`. */
      text: string;
      prefix: number;
      batches: number;
      /** The unfinished batch holding it back (0-based), absent once every batch is finished. */
      stalledBy?: number;
    }
  | {
      type: 'batch-outside-range';
      batch: number;
      /** The batch's objects (URIs). */
      objects: readonly string[];
      /** Where its objects' footer statistics say it begins, and the start of the earliest slice its rows reach. */
      declaredStart: string;
      rowsFrom: string;
      /** Slices its rows reach that end before `declaredStart` (swapped again once the batch commits). */
      slices: number;
    }
  | { type: 'run-joined'; runId: string; holder: string }
  // TimescaleDB only (emitted by the adapter through the runner; see docs/EVENTS.md).
  | { type: 'policy-paused'; table: string; jobs: readonly number[] }
  | { type: 'policy-resumed'; table: string; jobs: readonly number[] }
  | { type: 'chunk-decompressed'; chunk: string; done: number; total: number; seconds: number }
  | { type: 'chunk-compressed'; chunk: string; done: number; total: number; seconds: number };

export type EventSink = (event: RunEvent) => void;
