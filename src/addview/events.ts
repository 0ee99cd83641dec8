/**
 * Progress events of an add-view, emitted in order to `onEvent` (the CLI prints them as a status line on a
 * TTY, plain lines otherwise, or one JSON object per line with --json). Schema: docs/ADD-VIEW.md.
 * Window numbers are 0-based (`window`); `total` is the number of windows of the run.
 */
export type AddViewEvent =
  /** Another process holds the view's lease (emitted while waiting, with --wait). */
  | { type: 'lease-waiting'; holder: string; since: string; expiresAt: string }
  /** The lease of a holder that stopped heartbeating (or died on this machine) was taken over. */
  | { type: 'lease-taken-over'; from: string; lastHeartbeat: string }
  /** An unfinished run was given up (`--abandon`, or `--new-run` before a new run). */
  | { type: 'run-abandoned'; runId: string; reason: string }
  | {
      type: 'add-view-started';
      runId: string;
      resumed: boolean;
      view: string;
      windows: number;
      /** The cutoff, for targets that filter the live view on one. */
      cutoff: string | undefined;
    }
  | { type: 'view-created'; view: string; cutoff: string | undefined }
  | { type: 'waiting-for-horizon'; window: number; horizon: string; needed: string; seconds: number }
  | { type: 'window-started'; window: number; total: number; range: string; attempt: number }
  | {
      type: 'window-done';
      window: number;
      total: number;
      range: string;
      rows: number;
      seconds: number;
      done: number;
      rowsSoFar: number;
    }
  | { type: 'window-failed'; window: number; attempt: number; error: string; willRetry: boolean }
  | { type: 'catch-up'; range: string; seconds: number }
  | { type: 'swap-started'; units: number }
  | { type: 'swap-unit-done'; unit: string; description: string; done: number; total: number }
  | { type: 'swap-finished'; units: number; seconds: number }
  | { type: 'view-finished'; view: string }
  | { type: 'add-view-finished'; runId: string; rows: number; seconds: number }
  | { type: 'add-view-stopped'; runId: string; error: string };

export type AddViewEventSink = (event: AddViewEvent) => void;
