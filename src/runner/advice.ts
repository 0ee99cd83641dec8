/**
 * Advice that works inside a run. An object that turns out corrupt, or vanishes, while a run loads it cannot be
 * fixed by "remove the object and run again" — the run's plan still names it. The errors of the Parquet reader
 * and the object-store module say what is wrong with an object, followed by ` — ` and advice for a command that
 * starts afresh; once a run exists, the runner replaces that advice with the two commands that work: fix the
 * object and resume, or start a new run (which abandons this one and plans the objects that exist now).
 */
import { ShadowfillError, SourceError } from '../errors.ts';

/** `error` with advice for run `runId` when it is about one object of the run; otherwise `error` itself. */
export function withRunAdvice(error: unknown, runId: string): unknown {
  if (!(error instanceof ShadowfillError)) return error;
  const detail = withoutAdvice(error.message);
  if (error.code === 'SOURCE_CORRUPT') {
    return new SourceError(
      'SOURCE_CORRUPT',
      `${detail} — replace the object and run the same command to resume run ${runId}, or remove it and run with ` +
        `--new-run to abandon run ${runId} and start over without it`,
      { cause: error },
    );
  }
  if (error.code === 'SOURCE_EMPTY') {
    return new SourceError(
      'SOURCE_EMPTY',
      `${detail} — restore it and run the same command to resume run ${runId}, or run with --new-run to abandon ` +
        `run ${runId} and start over with the objects that exist now`,
      { cause: error },
    );
  }
  return error;
}

/** The message up to its advice (the last ` — `), first line only. */
function withoutAdvice(message: string): string {
  const line = message.split('\n')[0] ?? message;
  const i = line.lastIndexOf(' — ');
  return i > 0 ? line.slice(0, i) : line;
}
