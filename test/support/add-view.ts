/**
 * Helpers for add-view tests: view configurations written to a file and loaded as a user's would be, the
 * engine run in-process, a live inserter that keeps writing rows stamped with the server clock, and the exact
 * comparison of a view target with its SELECT recomputed over the whole source.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ClickHouseDriver } from '../../adapters/clickhouse/driver.ts';
// Through the library's entry point, as a program using shadowfill would.
import {
  abandonAddView,
  addView,
  createViewAdapter,
  loadViewConfig,
  type AddViewAbandonReport as AbandonReport,
  type AddViewEvent,
  type AddViewReport,
  type LeaseOptions,
  type ViewConfig,
} from '../../src/index.ts';

/** Writes `tree` as `<dir>/<name>.yaml` and loads it as `add-view --config` would. */
export function viewConfig(
  dir: string,
  name: string,
  tree: Record<string, unknown>,
  flags: Record<string, string> = {},
): ViewConfig {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(tree));
  return loadViewConfig({ file, flags, env: {} });
}

/** The config file's path for CLI tests. */
export function writeViewConfig(dir: string, name: string, tree: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(tree));
  return file;
}

/** Runs (or resumes) the add-view in this process; events are collected. */
export async function runAddView(
  config: ViewConfig,
  options: { events?: AddViewEvent[]; newRun?: boolean; lease?: LeaseOptions } = {},
): Promise<AddViewReport> {
  const adapter = await createViewAdapter(config);
  await adapter.connect();
  try {
    return await addView(config, adapter, {
      newRun: options.newRun,
      lease: options.lease,
      onEvent: (e) => options.events?.push(e),
    });
  } finally {
    await adapter.close();
  }
}

export async function abandon(config: ViewConfig): Promise<AbandonReport> {
  const adapter = await createViewAdapter(config);
  await adapter.connect();
  try {
    return await abandonAddView(config, adapter);
  } finally {
    await adapter.close();
  }
}

/** Runs `fn` expecting it to fail; returns the error. */
export async function failure(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure, but it succeeded');
}

/** Keeps inserting until stopped (the demo's live writer). */
export { liveWriter as liveInserter } from '../../demo/add-view.ts';

/**
 * Rows in which two queries over the same keys differ (both directions, multiset): 0 means equal. Each query
 * must produce the same columns in the same order.
 */
export async function clickHouseDifference(
  driver: ClickHouseDriver,
  expected: string,
  actual: string,
): Promise<number> {
  const [row] = await driver.query<{ n: string }>(
    `SELECT (SELECT count() FROM ((${expected}) EXCEPT ALL (${actual}))) + (SELECT count() FROM ((${actual}) EXCEPT ALL (${expected}))) AS n`,
  );
  return Number(row?.n ?? -1);
}

export async function scalar(driver: ClickHouseDriver, sql: string): Promise<number> {
  const [row] = await driver.query<{ v: string }>(`SELECT toString((${sql})) AS v`);
  return Number(row?.v);
}

export async function tableNames(driver: ClickHouseDriver, database: string): Promise<string[]> {
  const rows = await driver.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`,
  );
  return rows.map((r) => r.name);
}
