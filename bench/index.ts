/**
 * `npm run bench [-- <name> …]`: runs the benchmarks, each in its own child process (chDB binds one data
 * directory per process, and a crash or an RSS measurement of one must not affect the others), then repeats
 * every summary line at the end.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { silenceNodeVersionWarning } from '../src/local/quiet-warnings.ts';

const BENCHMARKS = [
  'clickhouse-overhead',
  'postgres-load',
  'timescaledb-backfill',
  'memory',
  'parquet-decode',
  'load-pipeline',
] as const;

const require = createRequire(import.meta.url);
// Children inherit the switch through the environment.
silenceNodeVersionWarning();

function runOne(name: string): Promise<{ code: number | null; summary: string[] }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [require.resolve('tsx/cli'), fileURLToPath(new URL(`./${name}.ts`, import.meta.url))],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const summary: string[] = [];
    let pending = '';
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines)
        if (line.startsWith(`${name}:`) || line.startsWith(`${name}/`)) summary.push(line);
    });
    child.on('close', (code) =>
      resolve({
        code,
        summary: summary.length > 0 && code === 0 ? summary : [...summary, `${name}: failed (exit ${code})`],
      }),
    );
  });
}

async function main(): Promise<number> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((a) => !(BENCHMARKS as readonly string[]).includes(a));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark ${unknown.join(', ')} — choose from ${BENCHMARKS.join(', ')}\n`);
    return 2;
  }
  const names = asked.length > 0 ? asked : [...BENCHMARKS];
  const summaries: string[] = [];
  let failed = 0;
  for (const name of names) {
    process.stdout.write(`\n== ${name}\n`);
    const { code, summary } = await runOne(name);
    summaries.push(...summary);
    if (code !== 0) failed += 1;
  }
  process.stdout.write(`\n== summary (${new Date().toISOString()})\n${summaries.join('\n')}\n`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => {
  process.exitCode = code;
});
