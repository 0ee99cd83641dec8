/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that changes things:
 * - the first stops the work after the step in progress (`signal` aborts; the runner checks it between steps)
 *   and the command ends with its own message saying how to resume;
 * - the second aborts the step in progress: the registered cleanups run (closing database connections, so the
 *   server rolls back an open transaction at once) for at most `abortGraceMs`, and the process exits with 130.
 *   Every step is safe to cut off like this: the journal lets the next `run` continue where it stopped.
 */
export interface Interrupts {
  /** Aborted by the first Ctrl-C. */
  readonly signal: AbortSignal;
  /** Runs `cleanup` if the step in progress is aborted; returns a function that unregisters it. */
  onAbort(cleanup: () => Promise<void>): () => void;
  /** Removes the signal handlers. */
  dispose(): void;
}

export interface InterruptOptions {
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** What the first Ctrl-C is about to do, e.g. `stopping after the current step`. */
  readonly stopping: string;
  /** The command that continues the work, shown when the step is aborted. */
  readonly resume: string;
  readonly abortGraceMs?: number;
  /** Exit the process (tests replace it). */
  readonly exit?: (code: number) => void;
}

export function handleInterrupts(options: InterruptOptions): Interrupts {
  const stop = new AbortController();
  const cleanups = new Set<() => Promise<void>>();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const line = (text: string) =>
    options.stderr.write(`${options.stderr.isTTY ? '\r\x1b[2K' : '\n'}${text}\n`);
  let aborting = false;

  const onSignal = () => {
    if (!stop.signal.aborted) {
      line(`${options.stopping} — press Ctrl-C again to abort the step in progress`);
      stop.abort();
      return;
    }
    if (aborting) return;
    aborting = true;
    line(`aborting the step in progress — its work is discarded; \`${options.resume}\` resumes the run`);
    const grace = new Promise<void>((resolve) => setTimeout(resolve, options.abortGraceMs ?? 3000).unref());
    const closing = Promise.allSettled([...cleanups].map((cleanup) => cleanup()));
    void Promise.race([closing, grace]).then(() => exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    onAbort(cleanup) {
      cleanups.add(cleanup);
      return () => cleanups.delete(cleanup);
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
