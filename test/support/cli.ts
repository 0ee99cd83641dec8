/**
 * The command line in this process, for unit tests: `runCli` with captured streams and an empty environment.
 */
import { runCli } from '../../src/cli/main.ts';

/** A writable stream that keeps what is written (`text()`), a TTY or not. */
export function capturedStream(isTTY = false) {
  let text = '';
  return {
    isTTY,
    write(chunk: string) {
      text += chunk;
      return true;
    },
    text: () => text,
  } as unknown as NodeJS.WritableStream & { isTTY: boolean; text: () => string };
}

/** Runs `shadowfill <argv…>`: its exit code and what it wrote to stdout and stderr. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capturedStream();
  const stderr = capturedStream();
  const code = await runCli(argv, { stdout, stderr, env: {} });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
