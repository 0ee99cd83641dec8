/**
 * The final report of a run: per table rows before/after, per view-target aggregate delta, time per phase,
 * throughput, retries and the verification verdict — as text (`formatReport`) or as the JSON object printed
 * as the last stdout line with --json (`reportJson`; schema in docs/EVENTS.md).
 */
import type { RunReport } from '../runner/run.ts';
import { formatBytes, formatCount, formatRate, formatSeconds } from './format.ts';

export interface TableDelta {
  readonly table: string;
  /** The part of the table that was measured (e.g. the backfilled time range); absent when the whole table was. */
  readonly scope?: string;
  readonly rowsBefore: number;
  readonly rowsAfter: number;
  readonly rowsDelta: number;
  readonly aggregates: Readonly<Record<string, { before: number; after: number; delta: number }>>;
}

export interface ReportVerdict {
  /** OK: the live table grew by at least the rows loaded (more when live ingestion added rows meanwhile). */
  readonly verdict: 'OK' | 'MISMATCH' | 'UNKNOWN';
  readonly detail: string;
}

export type ReportJson = RunReport & {
  readonly type: 'report';
  readonly tables: readonly TableDelta[];
  readonly throughput: { readonly rowsPerSecond: number; readonly bytesPerSecond: number };
  readonly verification: ReportVerdict;
};

export function tableDeltas(report: RunReport): TableDelta[] {
  return report.after.map((after) => {
    const before = report.before.find((b) => b.table === after.table);
    const rowsBefore = before?.rows ?? 0;
    const aggregates: Record<string, { before: number; after: number; delta: number }> = {};
    for (const [expr, value] of Object.entries(after.aggregates)) {
      const prev = before?.aggregates[expr] ?? 0;
      aggregates[expr] = { before: prev, after: value, delta: value - prev };
    }
    return {
      table: after.table,
      ...(after.scope !== undefined ? { scope: after.scope } : {}),
      rowsBefore,
      rowsAfter: after.rows,
      rowsDelta: after.rows - rowsBefore,
      aggregates,
    };
  });
}

export function verdictOf(report: RunReport): ReportVerdict {
  const main = report.after[0];
  const mainBefore = report.before[0];
  if (!main || !mainBefore) return { verdict: 'UNKNOWN', detail: `${report.table} was not measured` };
  const delta = main.rows - mainBefore.rows;
  const ok = delta >= report.rowsLoaded;
  return {
    verdict: ok ? 'OK' : 'MISMATCH',
    detail:
      `${report.table} grew by ${formatCount(delta)} rows, ${formatCount(report.rowsLoaded)} loaded` +
      (delta > report.rowsLoaded ? ' (the rest arrived through live ingestion meanwhile)' : ''),
  };
}

export function reportJson(report: RunReport): ReportJson {
  const seconds = Math.max(report.seconds, 0.001);
  return {
    type: 'report',
    ...report,
    tables: tableDeltas(report),
    throughput: { rowsPerSecond: report.rowsLoaded / seconds, bytesPerSecond: report.bytes / seconds },
    verification: verdictOf(report),
  };
}

export function formatReport(report: RunReport): string {
  const json = reportJson(report);
  const lines: string[] = [];
  lines.push(`run ${report.runId}${report.resumed ? ' (resumed)' : ''} → ${report.table}`);
  lines.push(
    `  loaded ${formatCount(report.rowsLoaded)} rows from ${report.objects} objects (${formatBytes(report.bytes)}) ` +
      `in ${report.batches} batches, ${report.swapUnits} swap units, ${report.retries} retries, ${formatSeconds(report.seconds)}`,
  );
  if (report.workers !== undefined) {
    lines.push(
      `  ${report.workers} worker${report.workers === 1 ? '' : 's'}, mode ${report.mode ?? 'historical'}`,
    );
  }
  if (report.joined) {
    lines.push(
      `  joined the run: this process loaded ${report.joined.batches} batches (${formatCount(report.joined.rows)} rows); ` +
        (report.joined.performedBy
          ? 'the process it joined performed the rest'
          : 'it took the run over and finished it'),
    );
  }
  lines.push(
    `  throughput ${formatCount(json.throughput.rowsPerSecond)} rows/s, ${formatRate(json.throughput.bytesPerSecond)}`,
  );
  lines.push(
    `  phases: ${Object.entries(report.phases)
      .map(([k, v]) => `${k} ${formatSeconds(v)}`)
      .join(', ')}`,
  );
  for (const t of json.tables) {
    lines.push(
      `  ${t.table}${t.scope !== undefined ? ` (${t.scope})` : ''}: rows ${formatCount(t.rowsBefore)} → ${formatCount(t.rowsAfter)} (+${formatCount(t.rowsDelta)})`,
    );
    for (const [expr, a] of Object.entries(t.aggregates)) {
      lines.push(
        `    ${expr}: ${formatCount(a.before)} → ${formatCount(a.after)} (+${formatCount(a.delta)})`,
      );
    }
  }
  if (json.verification.verdict !== 'UNKNOWN') {
    lines.push(`  verification: ${json.verification.verdict} — ${json.verification.detail}`);
  }
  for (const c of report.checks ?? []) {
    lines.push(
      `  checked ${c.table} ${c.scope === 'batch' ? 'in every batch' : 'before the swap'}: ${c.ok ? 'OK' : 'MISMATCH'} — ` +
        `${c.method}${c.exact ? '' : ' (documented check, not exact)'}; ${c.detail}`,
    );
  }
  return lines.join('\n');
}
