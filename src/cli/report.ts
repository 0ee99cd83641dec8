/** The final verification report of a run, as text. */
import type { RunReport } from '../runner/run.ts';
import { formatBytes, formatCount, formatSeconds } from './format.ts';

export function formatReport(report: RunReport): string {
  const lines: string[] = [];
  lines.push(`run ${report.runId}${report.resumed ? ' (resumed)' : ''} → ${report.table}`);
  lines.push(
    `  loaded ${formatCount(report.rowsLoaded)} rows from ${report.objects} objects (${formatBytes(report.bytes)}) ` +
      `in ${report.batches} batches, ${report.swapUnits} swap units, ${report.retries} retries, ${formatSeconds(report.seconds)}`,
  );
  const rate = report.rowsLoaded / Math.max(report.seconds, 0.001);
  lines.push(`  throughput ${formatCount(rate)} rows/s, ${(report.bytes / 1024 ** 2 / Math.max(report.seconds, 0.001)).toFixed(1)} MB/s`);
  lines.push(
    `  phases: ${Object.entries(report.phases)
      .map(([k, v]) => `${k} ${formatSeconds(v)}`)
      .join(', ')}`,
  );
  for (const after of report.after) {
    const before = report.before.find((b) => b.table === after.table);
    const b = before?.rows ?? 0;
    lines.push(`  ${after.table}: rows ${formatCount(b)} → ${formatCount(after.rows)} (+${formatCount(after.rows - b)})`);
    for (const [expr, value] of Object.entries(after.aggregates)) {
      const prev = before?.aggregates[expr] ?? 0;
      lines.push(`    ${expr}: ${formatCount(prev)} → ${formatCount(value)} (+${formatCount(value - prev)})`);
    }
  }
  const main = report.after[0];
  const mainBefore = report.before[0];
  if (main && mainBefore) {
    const delta = main.rows - mainBefore.rows;
    const verdict = delta >= report.rowsLoaded ? 'OK' : 'MISMATCH';
    lines.push(
      `  verification: ${verdict} — ${report.table} grew by ${formatCount(delta)} rows, ${formatCount(report.rowsLoaded)} loaded` +
        (delta > report.rowsLoaded ? ' (the rest arrived through live ingestion meanwhile)' : ''),
    );
  }
  return lines.join('\n');
}
