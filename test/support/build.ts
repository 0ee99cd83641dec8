/**
 * Tests of the built package (the CLI through bin/, `npm pack`) need dist/: this builds it with
 * `tsc -p tsconfig.build.json` unless it is newer than every source, package.json and tsconfig. Test files run in
 * parallel workers: one builds (holding a lock directory) while the others wait for its stamp.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const REPO = join(import.meta.dirname, '..', '..');
const STAMP = join(REPO, 'dist', '.built');
const LOCK = join(REPO, '.dist-build-lock');
const SOURCES = ['src', 'adapters', 'demo'];
const FILES = ['package.json', 'tsconfig.json', 'tsconfig.build.json'];

function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

function builtAt(): number {
  try {
    return statSync(STAMP).mtimeMs;
  } catch {
    return 0;
  }
}

function isFresh(): boolean {
  const sources = Math.max(
    ...SOURCES.map((d) => newest(join(REPO, d))),
    ...FILES.map((f) => newest(join(REPO, f))),
  );
  return builtAt() > sources;
}

/** Takes the build lock, or returns false while another worker holds it (a lock older than 10 minutes is stale). */
function tryLock(): boolean {
  try {
    mkdirSync(LOCK);
    return true;
  } catch {
    try {
      if (Date.now() - statSync(LOCK).mtimeMs > 600_000)
        rmSync(LOCK, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch {
      // the holder just released it
    }
    return false;
  }
}

export async function ensureBuilt(): Promise<void> {
  while (!isFresh()) {
    if (!tryLock()) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      continue;
    }
    try {
      if (isFresh()) return;
      rmSync(join(REPO, 'dist'), { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      await promisify(execFile)(
        process.execPath,
        [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
        { cwd: REPO },
      );
      writeFileSync(STAMP, new Date().toISOString());
    } finally {
      rmSync(LOCK, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  }
}
