/**
 * The built library (dist/) that benchmark sides run as users run shadowfill: `npm run build` once per benchmark
 * process (a few seconds, never timed), so a side never runs stale JavaScript.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
let built = false;

/** Compiles src/, adapters/ and demo/ into dist/ (tsconfig.build.json), once per process. */
export function buildLibrary(): void {
  if (built) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  built = true;
}

/**
 * Runs `script` (a plain JavaScript file under bench/support) in a Node process without tsx, writes `input` as
 * JSON to its stdin and resolves with the JSON of its last stdout line. `BENCH_CHILD_ARGS` (space-separated) are
 * passed to that Node process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (one profile per thread).
 */
export async function runBuiltChild<T>(script: string, input: unknown): Promise<T> {
  buildLibrary();
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_CHILD_ARGS?.split(' ') ?? []), fileURLToPath(new URL(script, import.meta.url))],
    {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stdin.end(JSON.stringify(input));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const last = out.trim().split('\n').at(-1);
  if (code !== 0 || !last) throw new Error(`${script} exited with code ${code}`);
  return JSON.parse(last) as T;
}
