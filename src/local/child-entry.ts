/**
 * How to start a helper child process (the local S3 server, the embedded TimescaleDB) from this module tree:
 * compiled (dist/, `.js`) Node runs the child's `.js` directly; from sources (tests, `npm run shadowfill`) Node
 * runs the `.ts` with tsx's loader — Node itself, not the tsx CLI, which would put a relay process in between
 * (the child would not notice this process dying, and the IPC channel would not reach it).
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Node arguments that run the module `name` (without extension) beside the module at `base`. */
export function childEntry(name: string, base: string): string[] {
  if (base.endsWith('.js')) return [fileURLToPath(new URL(`./${name}.js`, base))];
  const tsx = createRequire(base).resolve('tsx');
  return ['--import', pathToFileURL(tsx).href, fileURLToPath(new URL(`./${name}.ts`, base))];
}
