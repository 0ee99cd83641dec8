/**
 * `shadowfill plan --config view.yaml`: validates the view and prints every statement an add-view would run,
 * with the cutoff and the windows resolved as they would be now (a run resolves them again when it starts,
 * then journals them). Changes nothing: validation runs no DDL, and the journal is only read.
 */
import type {
  Position,
  ViewAdapter,
  ViewDescription,
  ViewPlannedStatement,
  ViewWindow,
} from '../adapter/view-contract.ts';
import { createS3Client } from '../source/s3-client.ts';
import { resolveLocation } from '../source/location.ts';
import type { ViewConfig } from './config.ts';
import { findViewRuns, viewFingerprint, windowFromJson } from './journal.ts';
import { positionFromJson } from './position.ts';
import { resolveRun } from './resolve.ts';
import { viewSpec } from './run.ts';

export interface ViewPlan {
  readonly description: ViewDescription;
  readonly cutoff: Position | undefined;
  readonly windows: readonly ViewWindow[];
  readonly notes: readonly string[];
  readonly statements: readonly ViewPlannedStatement[];
  /** An unfinished run of this configuration, which `add-view` resumes (its journaled cutoff and windows are shown). */
  readonly resumes: string | undefined;
  /** A finished run: `add-view` has nothing to do. */
  readonly finished: string | undefined;
}

export async function planAddView(config: ViewConfig, adapter: ViewAdapter): Promise<ViewPlan> {
  const spec = viewSpec(config);
  const runs = await findViewRuns(adapter.journal, viewFingerprint(config));
  const state = runs.unfinished;
  const description = await adapter.describe(spec, { resuming: state !== undefined });
  let cutoff: Position | undefined;
  let windows: readonly ViewWindow[];
  let notes: readonly string[];
  let runId = 'plan';
  let history = { kind: 'source-table' } as Parameters<ViewAdapter['planStatements']>[0]['history'];
  if (state) {
    runId = state.runId;
    cutoff = state.started.cutoff === null ? undefined : positionFromJson(state.started.cutoff);
    windows = state.started.windows.map(windowFromJson);
    notes = [`resuming run ${state.runId}: cutoff and windows as journaled when it started`];
    if (state.started.history.kind === 'object-store' && config.source) {
      history = {
        kind: 'object-store',
        store: resolveLocation(config.source),
        split: positionFromJson(state.started.history.split),
      };
    }
  } else {
    const client = config.source ? createS3Client(resolveLocation(config.source)) : undefined;
    try {
      const resolved = await resolveRun(config, adapter, description, client);
      cutoff = resolved.cutoff;
      windows = resolved.windows;
      notes = resolved.notes;
      history = resolved.history;
    } finally {
      client?.destroy();
    }
  }
  const statements = adapter.planStatements({ runId, spec, description, cutoff, history, windows });
  return {
    description,
    cutoff,
    windows,
    notes,
    statements,
    resumes: state?.runId,
    finished: state ? undefined : runs.finished?.runId,
  };
}
