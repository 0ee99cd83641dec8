/**
 * `shadowfill add-view --config view.yaml`: adds a materialized view / continuous aggregate to a live table and
 * backfills its history (src/addview/run.ts); resumes an unfinished one; `--abandon` gives one up.
 * `shadowfill plan --config view.yaml` (a file with a `view:` section) prints the add-view's statements.
 *
 * Flags: --config F, --json (events and the report as JSON lines on stdout), --quiet, --new-run, --abandon,
 * --status, and
 * dotted configuration overrides (--view.window 6h, --target.url …, --settings.max_memory_usage 4e9).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseDocument } from 'yaml';
import { addView, abandonAddView } from '../../addview/run.ts';
import { loadViewConfig, type ViewConfig } from '../../addview/config.ts';
import type { AddViewEvent } from '../../addview/events.ts';
import { planAddView } from '../../addview/plan.ts';
import { createViewAdapter } from '../../addview/registry.ts';
import { addViewReportJson, formatAbandonReport, formatAddViewReport } from '../../addview/report.ts';
import { findViewRuns, processAlive, viewFingerprint } from '../../addview/journal.ts';
import { formatPosition, positionFromJson } from '../../addview/position.ts';
import type { ViewAdapter } from '../../adapter/view-contract.ts';
import { ConfigError } from '../../errors.ts';
import type { ParsedArgs } from '../args.ts';

/** Flags of the CLI itself (not configuration fields). */
const CLI_ONLY = new Set(['config', 'json', 'quiet', 'new-run', 'abandon', 'status', 'help']);

/** The file given with --config has a `view:` section: `plan` and `add-view` treat it as a view configuration. */
export function isViewConfig(args: ParsedArgs): boolean {
  const file = typeof args.flags.config === 'string' ? args.flags.config : undefined;
  if (file === undefined) return Object.keys(args.flags).some((k) => k.startsWith('view.'));
  try {
    const tree = parseDocument(readFileSync(file, 'utf8')).toJS() as unknown;
    return typeof tree === 'object' && tree !== null && 'view' in tree;
  } catch {
    return false;
  }
}

export function viewConfigFromArgs(args: ParsedArgs): ViewConfig {
  const flags: Record<string, string | boolean | undefined> = {};
  for (const [k, v] of Object.entries(args.flags)) if (!CLI_ONLY.has(k)) flags[k] = v;
  const file = typeof args.flags.config === 'string' ? args.flags.config : undefined;
  return loadViewConfig({ file, flags, env: process.env });
}

/** `add-view --status`: the journal's view of this configuration's runs (windows, swap, lease); changes nothing. */
async function addViewStatus(
  config: ViewConfig,
  adapter: ViewAdapter,
): Promise<{ text: string; unfinished: string | undefined; finished: string | undefined }> {
  const { unfinished, finished } = await findViewRuns(adapter.journal, viewFingerprint(config));
  const view = `${config.target.database}.${config.view.name}`;
  const lines: string[] = [];
  if (finished) lines.push(`run ${finished.runId} added ${view} at ${finished.finishedAt}`);
  if (unfinished) {
    const s = unfinished;
    const count = (state: string) => s.windows.filter((w) => w === state).length;
    const cutoff = s.started.cutoff ? ` cutoff ${formatPosition(positionFromJson(s.started.cutoff))},` : '';
    lines.push(
      `run ${s.runId} adding ${view} is unfinished (started ${s.startedAt}):${cutoff} windows ${count('committed')}/${s.windows.length} ` +
        `committed, ${count('verified')} verified, ${s.failures} failed attempts; view ${s.viewCreated ? 'created' : 'not created yet'}` +
        `${s.swapBegan ? `; moving partitions (${s.unitsDone.size} done)` : ''}` +
        (s.lease && !(s.lease.host === hostname() && !processAlive(s.lease.pid))
          ? `; worked on by pid ${s.lease.pid} on ${s.lease.host} (lease ${s.lease.at})`
          : '; no process works on it: run add-view to resume it'),
    );
  }
  if (lines.length === 0) lines.push(`no add-view of ${view} in the journal`);
  return { text: lines.join('\n'), unfinished: unfinished?.runId, finished: finished?.runId };
}

export async function addViewCommand(args: ParsedArgs): Promise<number> {
  const config = viewConfigFromArgs(args);
  const json = args.flags.json === true;
  const adapter = await createViewAdapter(config);
  await adapter.connect();
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping after the current step (Ctrl-C again to exit now)…\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    if (args.flags.status === true || args.flags.status === 'true') {
      const status = await addViewStatus(config, adapter);
      process.stdout.write(
        json ? `${JSON.stringify({ type: 'add-view-status', ...status })}\n` : `${status.text}\n`,
      );
      return 0;
    }
    if (args.flags.abandon === true || args.flags.abandon === 'true') {
      const report = await abandonAddView(config, adapter);
      process.stdout.write(
        json
          ? `${JSON.stringify({ type: 'add-view-abandoned', ...report })}\n`
          : `${formatAbandonReport(report)}\n`,
      );
      return 0;
    }
    const report = await addView(config, adapter, {
      signal: abort.signal,
      newRun: args.flags['new-run'] === true,
      onEvent: addViewProgress({
        json,
        quiet: args.flags.quiet === true,
        stdout: process.stdout,
        stderr: process.stderr,
      }),
    });
    process.stdout.write(
      json ? `${JSON.stringify(addViewReportJson(report))}\n` : `${formatAddViewReport(report)}\n`,
    );
    return report.reconciliation.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    await adapter.close();
  }
}

/** `shadowfill demo --scenario add-view [--rows N] [--dir D] [--json]`: the guide's scenario 2, embedded. */
export async function addViewDemoCommand(args: ParsedArgs): Promise<number> {
  const rows = args.flags.rows === undefined ? 100_000 : Number(args.flags.rows);
  if (!Number.isInteger(rows) || rows < 1) {
    throw new ConfigError('--rows must be a positive whole number of rows per file');
  }
  const dir = typeof args.flags.dir === 'string' ? args.flags.dir : '.data/demo-add-view';
  const json = args.flags.json === true;
  const { addViewDemo, addViewDemoText } = await import('../../demo/add-view.ts');
  const result = await addViewDemo({
    dir,
    rowsPerFile: rows,
    onEvent: addViewProgress({ json, quiet: false, stdout: process.stdout, stderr: process.stderr }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(addViewReportJson(result.report))}\n`);
    const { report: _report, ...verification } = result;
    process.stdout.write(`${JSON.stringify({ type: 'demo-verification', ...verification })}\n`);
  } else {
    process.stdout.write(`${formatAddViewReport(result.report)}\n${addViewDemoText(result)}\n`);
  }
  return result.ok ? 0 : 1;
}

/** `plan --config view.yaml`: every statement of the add-view; changes nothing. */
export async function planViewCommand(args: ParsedArgs): Promise<number> {
  const config = viewConfigFromArgs(args);
  const adapter = await createViewAdapter(config);
  await adapter.connect();
  try {
    const plan = await planAddView(config, adapter);
    const d = plan.description;
    const out: string[] = [
      `add-view ${d.view} on ${d.source} → ${d.target} (${config.target.kind} ${d.serverVersion})`,
      ...d.notes.map((n) => `  ${n}`),
      `  the view gives: ${d.columns.map((c) => `${c.name} ${c.type}`).join(', ')}`,
      ...plan.notes.map((n) => `  ${n}`),
    ];
    if (plan.cutoff)
      out.push(
        `  cutoff ${formatPosition(plan.cutoff)} (a run resolves an auto cutoff again when it starts)`,
      );
    if (!plan.resumes)
      out.push("  (the run's own objects are shown with run id `plan`; a run names them with its id)");
    if (plan.resumes) out.push(`an unfinished run ${plan.resumes} exists: \`add-view\` resumes it`);
    else if (plan.finished)
      out.push(`run ${plan.finished} already added this view: \`add-view\` has nothing to do`);
    let phase = '';
    for (const s of plan.statements) {
      if (s.phase !== phase) {
        phase = s.phase;
        out.push('', `-- ${phase}`);
      }
      out.push(`-- ${s.title}`, s.sql.startsWith('--') ? s.sql : `${s.sql};`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  } finally {
    await adapter.close();
  }
}

export interface AddViewProgressOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly now?: () => number;
}

/**
 * Renders events: JSON lines on stdout with --json; else notes on stderr and a status line (windows done,
 * rows, rows/s, ETA) redrawn in place on a TTY, printed at most every 10 s otherwise.
 */
export function addViewProgress(options: AddViewProgressOptions): (event: AddViewEvent) => void {
  const now = options.now ?? Date.now;
  const tty = options.stderr.isTTY === true;
  let start = now();
  let lastPlain = 0;
  let rowsThisRun = 0;
  let doneThisRun = 0;
  const note = (line: string) => {
    if (options.quiet) return;
    options.stderr.write(`${tty ? '\r\x1b[2K' : ''}${line}\n`);
  };
  return (event) => {
    if (options.json) {
      options.stdout.write(`${JSON.stringify(event)}\n`);
      return;
    }
    switch (event.type) {
      case 'add-view-started':
        start = now();
        note(
          `${event.resumed ? 'resuming' : 'adding'} ${event.view} (run ${event.runId}): ${event.windows} windows` +
            (event.cutoff ? `, cutoff ${event.cutoff}` : ''),
        );
        break;
      case 'view-created':
        note(
          `created ${event.view}${event.cutoff ? `: live rows from ${event.cutoff} on go through it` : ''}`,
        );
        break;
      case 'waiting-for-horizon':
        note(
          `waiting for the source to pass ${event.needed} (now complete up to ${event.horizon}) before window ${event.window + 1}`,
        );
        break;
      case 'window-failed':
        note(
          `window ${event.window + 1} failed (attempt ${event.attempt}): ${event.error}${event.willRetry ? ' — retrying' : ''}`,
        );
        break;
      case 'window-done': {
        rowsThisRun += event.rows;
        doneThisRun += 1;
        if (options.quiet) break;
        const elapsed = (now() - start) / 1000;
        const rate = elapsed > 0 ? rowsThisRun / elapsed : 0;
        const left = event.total - event.done;
        const eta = doneThisRun > 0 ? (elapsed / doneThisRun) * left : NaN;
        const line =
          `window ${event.done}/${event.total} · ${Math.round(event.rowsSoFar).toLocaleString('en-US')} rows · ` +
          `${Math.round(rate).toLocaleString('en-US')} rows/s · ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'} · ${event.range}`;
        if (tty) options.stderr.write(`\r\x1b[2K${line}`);
        else if (now() - lastPlain >= 10_000 || event.done === event.total) {
          lastPlain = now();
          options.stderr.write(`${line}\n`);
        }
        break;
      }
      case 'catch-up':
        note(`catch-up refresh of ${event.range} in ${event.seconds.toFixed(1)} s`);
        break;
      case 'swap-started':
        note(`moving ${event.units} partitions into the view target`);
        break;
      case 'swap-finished':
        note(`moved ${event.units} partitions in ${event.seconds.toFixed(1)} s`);
        break;
      case 'view-finished':
        note(`${event.view} finished`);
        break;
      case 'add-view-stopped':
        note(`stopped: ${event.error}`);
        break;
      default:
        break;
    }
  };
}
