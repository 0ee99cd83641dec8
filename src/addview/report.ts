/** The add-view report for people (text) and programs (JSON): windows, rows, time, the reconciliation, before/after. */
import type { TableMeasurement } from '../adapter/contract.ts';
import type { AbandonReport, AddViewReport } from './run.ts';

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (s: number) =>
  s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

function measurementLine(before: TableMeasurement | undefined, after: TableMeasurement): string {
  const parts = [`rows ${count(before?.rows ?? 0)} → ${count(after.rows)}`];
  for (const [expr, value] of Object.entries(after.aggregates)) {
    parts.push(`${expr} ${count(before?.aggregates[expr] ?? 0)} → ${count(value)}`);
  }
  return `  ${after.table}: ${parts.join('; ')}`;
}

export function formatAddViewReport(report: AddViewReport): string {
  const r = report.reconciliation;
  const lines = [
    `add-view ${report.view} (run ${report.runId}${report.resumed ? ', resumed' : ''}): ${report.windows} windows` +
      `${report.resumed ? ` (${report.windowsThisRun} by this invocation)` : ''}, ${count(report.rows)} history rows, ` +
      `${seconds(report.seconds)}, ${report.retries} retries, ${report.swapUnits} partitions moved`,
  ];
  if (report.cutoff !== undefined) {
    lines.push(
      `  cutoff: rows of ${report.source} from ${report.cutoff} on go through the view; below it is history`,
    );
  }
  const verdict = (ok: boolean) => (ok ? 'OK' : 'MISMATCH');
  lines.push(
    `  history reconciled: rows of ${report.source} in the history now ${count(r.sourceRows)}, rows the view consumed ` +
      `${count(r.rowsConsumed)} — ${verdict(r.sourceRows === r.rowsConsumed)}`,
  );
  lines.push(
    `    windows checked against a recomputation from the source: ${r.recomputedWindows} of ${report.windows}`,
  );
  if (r.comparisons.length === 0) {
    for (const a of r.aggregates) {
      lines.push(
        a.expected === undefined
          ? `    ${a.what}: landed in ${report.target} ${count(a.landed)} (not every window recomputed)`
          : `    ${a.what}: the view's SELECT over the history ${count(a.expected)}, landed in ${report.target} ${count(a.landed)} — ${verdict(a.expected === a.landed)}`,
      );
    }
  }
  for (const c of r.comparisons) {
    lines.push(
      `    ${c.what} over the history: recomputed from ${report.source} ${count(c.expected)}, in ${report.target} ${count(c.actual)} — ${verdict(c.expected === c.actual)}`,
    );
  }
  for (const after of report.after) {
    lines.push(
      measurementLine(
        report.before.find((b) => b.table === after.table),
        after,
      ),
    );
  }
  if (report.cutoff !== undefined)
    lines.push('  (after − before also counts live rows the view took since the cutoff)');
  const phases = Object.entries(report.phases)
    .filter(([, s]) => s >= 0.05)
    .map(([p, s]) => `${p} ${seconds(s)}`)
    .join(', ');
  if (phases) lines.push(`  phases: ${phases}`);
  lines.push(`verification: ${verdict(r.ok)}`);
  return lines.join('\n');
}

export function addViewReportJson(
  report: AddViewReport,
): AddViewReport & { type: 'add-view-report'; ok: boolean } {
  return { type: 'add-view-report', ...report, ok: report.reconciliation.ok };
}

export function formatAbandonReport(report: AbandonReport): string {
  const lines = [
    `abandoned run ${report.runId} of ${report.view}: shadows dropped` +
      (report.droppedView
        ? `; view ${report.view} dropped`
        : `; view ${report.view} left alone (not this run's)`) +
      (report.droppedTarget ? `; ${report.target} dropped (the run had created it)` : ''),
  ];
  if (!report.droppedTarget && report.droppedView && report.cutoff !== undefined) {
    lines.push(
      `  ${report.target} keeps what the view wrote for rows from ${report.cutoff} on — remove those before adding the view again, or they count twice`,
    );
  }
  return lines.join('\n');
}
