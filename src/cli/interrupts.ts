/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that changes things:
 * - the first stops the work after the step in progress (`signal` aborts; the runner checks it between steps)
 *   and the command ends with its own message saying how to resume;
 * - the second aborts the step in progress: the process ends at once, killed by that signal as Unix programs do
 *   on an interrupt (status 130 in a shell for Ctrl-C). The database sees its connections close and rolls back
 *   an open transaction; an embedded engine stops with the process. Every step is safe to cut off like this (as
 *   by kill -9): the journal lets the next `run` continue where it stopped. Nothing is closed or exited
 *   normally first: chDB crashes when its session is closed, or the process exits, under a running query.
 */
export interface Interrupts {
  /** Aborted by the first Ctrl-C. */
  readonly signal: AbortSignal;
  /** Removes the signal handlers. */
  dispose(): void;
}

export interface InterruptOptions {
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** What the first Ctrl-C is about to do, e.g. `stopping after the current step`. */
  readonly stopping: string;
  /** The command that continues the work, shown when the step is aborted. */
  readonly resume: string;
  /** Ends the process by `signal` (tests replace it). */
  readonly kill?: (signal: NodeJS.Signals) => void;
}

export function handleInterrupts(options: InterruptOptions): Interrupts {
  const stop = new AbortController();
  const kill = options.kill ?? ((signal: NodeJS.Signals) => process.kill(process.pid, signal));
  const line = (text: string) =>
    options.stderr.write(`${options.stderr.isTTY ? '\r\x1b[2K' : '\n'}${text}\n`);
  let aborting = false;

  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      line(`${options.stopping} — press Ctrl-C again to abort the step in progress`);
      stop.abort();
      return;
    }
    if (aborting) return;
    aborting = true;
    line(`aborting the step in progress — its work is discarded; \`${options.resume}\` resumes the run`);
    dispose();
    // With no listener left, the signal's default action ends the process (no exit handlers run).
    kill(signal);
  };
  const dispose = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: stop.signal, dispose };
}
