/**
 * Shared helpers of the benchmarks: the one summary line every benchmark prints
 * (`name: value unit (ratio ×)`), detail lines, timing, scratch directories and fixture generation.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Prints `name: value unit (ratio ×)` — the line `npm run bench` collects and docs/PERFORMANCE.md records. */
export function summary(name: string, value: number, unit: string, ratio?: number, note?: string): void {
  const v = value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(value >= 10 ? 1 : 3);
  const r = ratio === undefined ? '' : ` (${ratio.toFixed(2)} ×)`;
  process.stdout.write(`${name}: ${v} ${unit}${r}${note ? ` — ${note}` : ''}\n`);
}

/** A skipped benchmark still prints its summary line, with the reason. */
export function skipped(name: string, reason: string): void {
  process.stdout.write(`${name}: skipped: ${reason}\n`);
}

export function detail(text: string): void {
  process.stdout.write(`  ${text}\n`);
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function scratchDir(name: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `shadowfill-bench-${name}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export const MB = 1e6;
