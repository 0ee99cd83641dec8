/**
 * `shadowfill add-view --config view.yaml`: adds a materialized view / continuous aggregate to a live table and
 * backfills its history (src/addview/run.ts); resumes an unfinished one; `--abandon` gives one up; `--status`
 * shows the journal. Every view.yaml field is a flag (`--view.window 6h`, `--target.url …`), plus
 * `--settings.<name>`. Also what `plan` (a file with a `view:` section) and `demo --scenario add-view` use.
 *
 * Exit codes: 0 added (also "nothing to do"), 1 failure (or the reconciliation found a mismatch), 2 bad usage or
 * configuration, 75 stopped while waiting for the source to pass a window's end (view.cutoff_wait; run again
 * later to resume), 130 interrupted.
 */
import { formatStatements } from '../statements.ts';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { parseDocument } from 'yaml';
import { loadViewConfig, viewConfigFields, type ViewConfig } from '../../addview/config.ts';
import type { AddViewEvent } from '../../addview/events.ts';
import { createViewAdapter } from '../../addview/registry.ts';
import type { ViewAdapter } from '../../adapter/view-contract.ts';
import { ConfigError } from '../../errors.ts';
import type { CliContext } from '../context.ts';
import { formatCount } from '../format.ts';
import { handleInterrupts } from '../interrupts.ts';
import { addConfigOptions, addFieldOptions, addOutputOptions, configInput } from '../options.ts';

const VIEW_FIELDS = viewConfigFields();
const VIEW_PATHS: ReadonlySet<string> = new Set(VIEW_FIELDS.map((f) => f.path));

export const ADD_VIEW_EXIT_CODES =
  'Exit codes: 0 added (also "nothing to do"), 1 failure or a reconciliation mismatch, 2 bad usage or\n' +
  'configuration, 75 stopped while waiting for the source to pass a window’s end (view.cutoff_wait: run again\n' +
  'later, it resumes), 130 interrupted.';

export function registerAddView(program: Command, cli: CliContext): void {
  const command = program
    .command('add-view')
    .summary('add a materialized view / continuous aggregate to a live table and backfill its history')
    .description(
      'Adds the view of view.yaml to its live table without pausing ingestion, and\n' +
        'backfills its history window by window, each verified and journaled\n' +
        '(ClickHouse: a cutoff filter, a Null-engine shadow, partition moves;\n' +
        'TimescaleDB: a continuous aggregate WITH NO DATA refreshed window by window).\n' +
        'Resumes the unfinished run of this configuration. Ctrl-C stops after the\n' +
        'step in progress (run the same command again to resume).\n' +
        '`shadowfill plan --config view.yaml` prints every statement; changes nothing.',
    )
    .addOption(
      new Option(
        '--new-run',
        'abandon an unfinished run first, or add the view again although this configuration finished a run (drop the view first)',
      ).conflicts(['abandon', 'status']),
    )
    .addOption(
      new Option(
        '--abandon',
        'give up the unfinished run: drop its shadows, and the view and target it created',
      ).conflicts(['status']),
    )
    .option('--status', "show this configuration's add-view runs and who works on the view; changes nothing")
    .option('--wait', 'wait for another process working on the view instead of stopping');
  addConfigOptions(command, VIEW_FIELDS, 'the add-view configuration (view.yaml, YAML or JSON)');
  addOutputOptions(command, { json: true, quiet: true });
  command.addHelpText(
    'after',
    `JSON Schema of view.yaml: shadowfill config schema --view. Events: docs/ADD-VIEW.md.\n${ADD_VIEW_EXIT_CODES}`,
  );
  command.action(async () => {
    const options = command.opts<{
      newRun?: boolean;
      abandon?: boolean;
      status?: boolean;
      wait?: boolean;
      json?: boolean;
      quiet?: boolean;
      verbose?: boolean;
    }>();
    const config = viewConfigFromOptions(command, cli);
    const json = options.json === true;
    const adapter = await createViewAdapter(config);
    try {
      await adapter.connect();
      if (options.status === true) {
        await printStatus(config, adapter, cli, json);
        return;
      }
      const onEvent = addViewProgress({
        json,
        quiet: options.quiet === true,
        verbose: options.verbose === true,
        stdout: cli.stdout,
        stderr: cli.stderr,
      });
      const lease = { wait: options.wait === true };
      const { abandonAddView, addView } = await import('../../addview/run.ts');
      const { addViewReportJson, formatAbandonReport, formatAddViewReport } =
        await import('../../addview/report.ts');
      if (options.abandon === true) {
        const report = await abandonAddView(config, adapter, { lease, onEvent });
        cli.stdout.write(
          json
            ? `${JSON.stringify({ type: 'add-view-abandoned', ...report })}\n`
            : `${formatAbandonReport(report)}\n`,
        );
        return;
      }
      const interrupts = handleInterrupts({
        stderr: cli.stderr,
        stopping: 'stopping after the current step',
        resume: 'shadowfill add-view',
      });
      try {
        const report = await addView(config, adapter, {
          signal: interrupts.signal,
          newRun: options.newRun === true,
          lease,
          onEvent,
        });
        cli.stdout.write(
          json ? `${JSON.stringify(addViewReportJson(report))}\n` : `${formatAddViewReport(report)}\n`,
        );
        cli.exitCode = report.reconciliation.ok ? 0 : 1;
      } finally {
        interrupts.dispose();
      }
    } finally {
      await adapter.close();
    }
  });
}

/** The add-view configuration from `--config`, the view.yaml field flags, `--settings.*` and the environment. */
export function viewConfigFromOptions(command: Command, cli: CliContext): ViewConfig {
  return loadViewConfig({ ...configInput(command, cli, VIEW_PATHS), env: cli.env });
}

/** `plan` also takes the view fields (`--view.window`, …), for a view.yaml. */
export function addViewOnlyOptions(command: Command): Command {
  return addFieldOptions(
    command,
    VIEW_FIELDS.filter((f) => f.path.startsWith('view.')),
  );
}

/**
 * Whether `plan` was given an add-view configuration: the file has a `view:` section (or, without a file, a
 * `--view.*` flag was given). A file that cannot be read or parsed is not one: the backfill loader reports it.
 */
export function isViewConfig(command: Command): boolean {
  const options = command.opts<Record<string, unknown>>();
  const file = typeof options.config === 'string' ? options.config : undefined;
  const viewFlag = Object.keys(options).find((k) => k.startsWith('view.') && options[k] !== undefined);
  if (file === undefined) return viewFlag !== undefined;
  let tree: unknown;
  try {
    tree = parseDocument(readFileSync(file, 'utf8')).toJS() as unknown;
  } catch {
    return false;
  }
  const isView = typeof tree === 'object' && tree !== null && !Array.isArray(tree) && 'view' in tree;
  if (!isView && viewFlag !== undefined) {
    throw new ConfigError(
      `--${viewFlag} applies to an add-view configuration (a file with a view: section), not to ${basename(file)} — remove it`,
    );
  }
  return isView;
}

/** `plan --config view.yaml`: every statement of the add-view; changes nothing. */
export async function planView(command: Command, cli: CliContext): Promise<void> {
  const config = viewConfigFromOptions(command, cli);
  const { planAddView } = await import('../../addview/plan.ts');
  const { formatPosition } = await import('../../addview/position.ts');
  const adapter = await createViewAdapter(config);
  try {
    await adapter.connect();
    const plan = await planAddView(config, adapter);
    const d = plan.description;
    const out: string[] = [
      `add-view ${d.view} on ${d.source} → ${d.target} (${config.target.kind} ${d.serverVersion})`,
      ...d.notes.map((n) => `  ${n}`),
      `  the view gives: ${d.columns.map((c) => `${c.name} ${c.type}`).join(', ')}`,
      ...plan.notes.map((n) => `  ${n}`),
    ];
    if (plan.cutoff) {
      out.push(
        `  cutoff ${formatPosition(plan.cutoff)} (a run resolves an auto cutoff again when it starts)`,
      );
    }
    if (!plan.resumes)
      out.push("  (the run's own objects are shown with run id `plan`; a run names them with its id)");
    if (plan.resumes) out.push(`an unfinished run ${plan.resumes} exists: \`add-view\` resumes it`);
    else if (plan.finished)
      out.push(`run ${plan.finished} already added this view: \`add-view\` has nothing to do`);
    out.push(...formatStatements(plan.statements));
    cli.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await adapter.close();
  }
}

/** `add-view --status`: the journal's view of this configuration's runs, and who holds the view's lease. */
async function printStatus(
  config: ViewConfig,
  adapter: ViewAdapter,
  cli: CliContext,
  json: boolean,
): Promise<void> {
  const { findViewRuns, viewFingerprint } = await import('../../addview/journal.ts');
  const { leaseKeyOf } = await import('../../addview/lease.ts');
  const { formatPosition, positionFromJson } = await import('../../addview/position.ts');
  const { claimant, holderIsDead } = await import('../../runner/lease.ts');
  const view = `${config.target.database}.${config.view.name}`;
  const { all } = await findViewRuns(adapter.journal, viewFingerprint(config));
  const record = await adapter.lease.read(leaseKeyOf(config));
  const holder =
    record && !record.released && !record.expired && !holderIsDead(record, claimant())
      ? {
          pid: record.pid,
          host: record.host,
          runId: record.runId,
          since: record.acquiredAt,
          heartbeat: record.heartbeatAt,
        }
      : undefined;
  if (holder && !all.some((r) => r.runId === holder.runId)) {
    // Taken, but no run of this configuration yet (validating, or another configuration of the same view).
    cli.stdout.write(
      json
        ? `${JSON.stringify({ type: 'add-view-lease', view, holder })}\n`
        : `pid ${holder.pid} on ${holder.host} holds the lease of ${view} since ${holder.since}` +
            `${holder.runId ? ` (run ${holder.runId})` : ''}, last heartbeat ${holder.heartbeat}\n`,
    );
  }
  if (all.length === 0) {
    cli.stdout.write(json ? '' : `no add-view of ${view} in the journal yet\n`);
    return;
  }
  for (const r of all) {
    const count = (state: string) => r.windows.filter((w) => w === state).length;
    const state = r.finished
      ? `finished ${r.finishedAt}`
      : r.abandoned !== undefined
        ? `abandoned ${r.abandonedAt} (${r.abandoned})`
        : r.swapBegan
          ? 'moving partitions'
          : 'backfilling windows';
    const working = holder && holder.runId === r.runId ? holder : undefined;
    if (json) {
      cli.stdout.write(
        `${JSON.stringify({
          type: 'add-view-status',
          runId: r.runId,
          view,
          startedAt: r.startedAt,
          state,
          cutoff: r.started.cutoff ? formatPosition(positionFromJson(r.started.cutoff)) : null,
          windows: {
            committed: count('committed'),
            verified: count('verified'),
            pending: count('pending'),
            total: r.windows.length,
          },
          failures: r.failures,
          viewCreated: r.viewCreated,
          swapUnitsDone: r.unitsDone.size,
          workedOnBy: working ?? null,
        })}\n`,
      );
      continue;
    }
    const cutoff = r.started.cutoff ? `, cutoff ${formatPosition(positionFromJson(r.started.cutoff))}` : '';
    const who =
      r.finished || r.abandoned !== undefined
        ? ''
        : working
          ? `\n  worked on by pid ${working.pid} on ${working.host} since ${working.since} (last heartbeat ${working.heartbeat})`
          : '\n  no process works on it: `shadowfill add-view` resumes it, `--abandon` gives it up';
    cli.stdout.write(
      `run ${r.runId} adding ${view} started ${r.startedAt}${cutoff}: ${state}\n` +
        `  windows: ${count('committed')} committed, ${count('verified')} verified, ${count('pending')} pending of ` +
        `${r.windows.length} · ${r.failures} failed attempts · view ${r.viewCreated ? 'created' : 'not created yet'}` +
        ` · ${r.unitsDone.size} partitions moved${who}\n`,
    );
  }
}

/** `shadowfill demo --scenario add-view`: the guide's scenario 2 on embedded ClickHouse, verified. */
export async function addViewDemoCommand(
  cli: CliContext,
  options: { rows?: number; dir?: string; json: boolean; verbose: boolean },
): Promise<void> {
  const dir = options.dir ?? '.data/demo-add-view';
  const { addViewDemo, addViewDemoText } = await import('../../../demo/add-view.ts');
  const { addViewReportJson, formatAddViewReport } = await import('../../addview/report.ts');
  const interrupts = handleInterrupts({
    stderr: cli.stderr,
    stopping: 'stopping the demo after the current step',
    resume: 'shadowfill demo --scenario add-view',
  });
  try {
    const result = await addViewDemo({
      dir,
      rowsPerFile: options.rows ?? 100_000,
      onEvent: addViewProgress({
        json: options.json,
        quiet: false,
        verbose: options.verbose,
        stdout: cli.stdout,
        stderr: cli.stderr,
      }),
      log: (line) => cli.stderr.write(`${line}\n`),
      signal: interrupts.signal,
    });
    if (options.json) {
      cli.stdout.write(`${JSON.stringify(addViewReportJson(result.report))}\n`);
      const { report: _report, ...verification } = result;
      cli.stdout.write(`${JSON.stringify({ type: 'demo-verification', ...verification })}\n`);
    } else {
      cli.stdout.write(`${formatAddViewReport(result.report)}\n${addViewDemoText(result)}\n`);
    }
    cli.exitCode = result.ok ? 0 : 1;
  } finally {
    interrupts.dispose();
  }
}

export interface AddViewProgressOptions {
  readonly json: boolean;
  readonly quiet: boolean;
  /** Also print the notes that repeat the final error (the failed last attempt, the run stopping). */
  readonly verbose?: boolean;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly now?: () => number;
}

/**
 * Renders events: JSON lines on stdout with --json (each with `at`); else notes on stderr and a status line
 * (windows done, rows, rows/s, ETA) redrawn in place on a TTY, printed at most every 10 s otherwise. A failure
 * is printed once, as the command's final `error:` line (the last failed attempt and the stop only with verbose).
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
      options.stdout.write(`${JSON.stringify({ ...event, at: new Date(now()).toISOString() })}\n`);
      return;
    }
    switch (event.type) {
      case 'lease-waiting':
        note(`waiting for ${event.holder}, which works on this view since ${event.since}`);
        break;
      case 'lease-taken-over':
        note(`took over from ${event.from} (last heartbeat ${event.lastHeartbeat})`);
        break;
      case 'run-abandoned':
        note(`abandoned run ${event.runId}: ${event.reason}`);
        break;
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
        if (event.willRetry || options.verbose === true) {
          note(
            `window ${event.window + 1} failed (attempt ${event.attempt}): ${event.error}${event.willRetry ? ' — retrying' : ''}`,
          );
        }
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
          `window ${event.done}/${event.total} · ${formatCount(event.rowsSoFar)} rows · ` +
          `${formatCount(rate)} rows/s · ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'} · ${event.range}`;
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
        if (options.verbose === true) note(`stopped: ${event.error}`);
        break;
      default:
        break;
    }
  };
}
