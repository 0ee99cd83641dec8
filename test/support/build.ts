/**
 * Tests of the built package (the CLI through bin/, `npm pack`) need dist/: this builds it with
 * `tsc -p tsconfig.build.json` unless it is newer than every source, package.json and tsconfig.
 */
import { execFile } from 'node:child_process';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const REPO = join(import.meta.dirname, '..', '..');
const STAMP = join(REPO, 'dist', '.built');
const SOURCES = ['src', 'adapters', 'fixtures'];
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

export async function ensureBuilt(): Promise<void> {
  const sources = Math.max(
    ...SOURCES.map((d) => newest(join(REPO, d))),
    ...FILES.map((f) => newest(join(REPO, f))),
  );
  if (builtAt() > sources) return;
  rmSync(join(REPO, 'dist'), { recursive: true, force: true });
  await promisify(execFile)(
    process.execPath,
    [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: REPO },
  );
  writeFileSync(STAMP, new Date().toISOString());
}
