/** Human formatting of numbers, bytes, durations for progress lines and reports. */

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Bytes in binary units (`6.5 MiB`); the one formatter, shared with configuration messages. */
export { formatBytes } from '../config/bytes.ts';

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** Bytes per second as `12.3 MB/s` (decimal megabytes, as throughput is usually quoted). */
export function formatRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
}
