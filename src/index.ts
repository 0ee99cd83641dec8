/**
 * shadowfill as a library: build or load a configuration, create the adapter for its target, then plan or run.
 *
 *   const config = defineConfig({ target: { kind: 'clickhouse', url: 'http://localhost:8123', table: 'pypi' },
 *                                 source: { url: 's3://bucket/pypi/*.parquet' } });
 *   const adapter = await createAdapter(config);
 *   await adapter.connect();
 *   try { console.log(await runBackfill(config, adapter, { onEvent: console.log })); }
 *   finally { await adapter.close(); }
 *
 * Adding a view to a live table (docs/ADD-VIEW.md): `loadViewConfig` → `createViewAdapter` → `addView` (or
 * `planAddView`, `abandonAddView`).
 */
export { defineConfig, type ConfigInput } from './config/define.ts';
export { loadConfig, redactConfig, type LoadConfigInput, type ConfigFlags } from './config/load.ts';
export { configJsonSchema } from './config/schema.ts';
export type {
  BackfillConfig,
  TargetConfig,
  TargetKind,
  SourceConfig,
  FilterConfig,
  BatchConfig,
  LoadMode,
} from './config/types.ts';
export { createAdapter } from './adapter/registry.ts';
export type * from './adapter/contract.ts';
export { runBackfill, type RunOptions, type RunReport } from './runner/run.ts';
export { planRun, type RunPlan } from './runner/plan.ts';
export { abandonRun, type AbandonOptions, type AbandonReport } from './runner/abandon.ts';
export type { LeaseOptions } from './runner/lease.ts';
export { memoryLeaseStore, type LeaseStore, type LeaseRecord } from './journal/lease.ts';
export type { RunEvent, EventSink } from './runner/events.ts';
export type { JournalEvent, JournalStore } from './journal/types.ts';
export * from './errors.ts';
export {
  loadViewConfig,
  viewConfigJsonSchema,
  type ViewConfig,
  type LoadViewConfigInput,
} from './addview/config.ts';
export { createViewAdapter } from './addview/registry.ts';
export {
  addView,
  abandonAddView,
  type AddViewOptions,
  type AddViewReport,
  type AbandonReport as AddViewAbandonReport,
} from './addview/run.ts';
export { planAddView, type ViewPlan } from './addview/plan.ts';
export type { AddViewEvent, AddViewEventSink } from './addview/events.ts';
export type * from './adapter/view-contract.ts';
