/**
 * `shadowfill demo --scenario add-view` on the embedded default: scenario 2 of ClickHouse's backfilling guide.
 * Embedded ClickHouse (chDB) under `.data/demo-add-view`, the guide's live `pypi` (with its `pypi_downloads_mv`)
 * holding three days of PyPI-shaped downloads that end now, and a live writer that keeps inserting downloads
 * stamped with the current time — before, during and after the add-view. The guide's `pypi_downloads_per_day`
 * (hourly per project, SummingMergeTree) is then added with `add-view` from a `view.yaml` written next to the
 * data, and the demo prints the report and an exact check: the new target equals its SELECT over all of pypi.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { ChdbDriver } from '../adapters/clickhouse/drivers/chdb.ts';
import { quoteString } from '../adapters/clickhouse/sql/quote.ts';
import { generatePypiParquet } from './data/pypi.ts';
import { projectNames } from './data/pypi-vocabulary.ts';
import { loadViewConfig } from '../src/addview/config.ts';
import type { AddViewEventSink } from '../src/addview/events.ts';
import { createViewAdapter } from '../src/addview/registry.ts';
import { addView, type AddViewReport } from '../src/addview/run.ts';
import { createGuideTables } from './clickhouse.ts';

export interface AddViewDemoOptions {
  readonly dir: string;
  /** Rows per history file (8 files a day, 3 days). Default 100,000: 2.4M rows. */
  readonly rowsPerFile: number;
  readonly onEvent?: AddViewEventSink;
  readonly log: (line: string) => void;
  /** Aborting stops the add-view after its step in progress (the first Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface AddViewDemoResult {
  readonly report: AddViewReport;
  /** Rows of pypi at the end (history + everything the live writer inserted). */
  readonly pypiRows: number;
  /** Rows the live writer inserted while the demo ran. */
  readonly liveRows: number;
  /** Live rows below / from the cutoff. */
  readonly liveBeforeCutoff: number;
  readonly liveAfterCutoff: number;
  /** `sum(count)` of pypi_downloads_per_day. */
  readonly perDaySum: number;
  /** (hour, project) groups where the target differs from its SELECT over pypi (0 = exact). */
  readonly differingGroups: number;
  readonly configFile: string;
  readonly ok: boolean;
}

const DAYS = 3;
const FILES_PER_DAY = 8;

/** The view as a user would write it: the guide's pypi_downloads_per_day. */
export function demoViewConfig(chDir: string): Record<string, unknown> {
  return {
    target: { kind: 'clickhouse', url: `embedded:${chDir}`, table: 'pypi' },
    view: {
      name: 'pypi_downloads_per_day_mv',
      to: 'pypi_downloads_per_day',
      to_ddl:
        'CREATE TABLE pypi_downloads_per_day (hour DateTime, project String, count Int64)\n' +
        'ENGINE = SummingMergeTree ORDER BY (project, hour)\n',
      select:
        'SELECT toStartOfHour(timestamp) AS hour, project, count() AS count\n' +
        'FROM pypi\nGROUP BY hour, project\n',
      cutoff_column: 'timestamp',
      cutoff: 'auto',
      cutoff_margin: '5 seconds',
      settle: '2 seconds',
      window: '1 day',
    },
    settings: { max_insert_threads: 2 },
  };
}

export async function addViewDemo(options: AddViewDemoOptions): Promise<AddViewDemoResult> {
  const root = resolve(options.dir);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const log = options.log;
  const chDir = join(root, 'clickhouse');
  const driver = new ChdbDriver(chDir);
  let writer: { stop(): Promise<number> } | undefined;
  try {
    log(`embedded ClickHouse in ${chDir}`);
    const t0 = Date.now();
    const firstDay = new Date(Date.now() - DAYS * 86_400_000).toISOString().slice(0, 10);
    const generated = await generatePypiParquet({
      dir: join(root, 'parquet'),
      files: Array.from({ length: DAYS * FILES_PER_DAY }, (_, i) => i),
      rowsPerFile: options.rowsPerFile,
      day: firstDay,
      days: DAYS,
      filesPerDay: FILES_PER_DAY,
      runner: { queryAsync: (sql: string) => driver.command(sql) },
    });
    await createGuideTables(driver);
    // History: the three days before today (whole days, so that none of it lies ahead of the clock).
    await driver.command(
      `INSERT INTO pypi SELECT * FROM file(${quoteString(join(root, 'parquet', '**', '*.parquet'))}, 'Parquet')`,
    );
    log(
      `live pypi: ${generated.totalRows.toLocaleString('en-US')} downloads from ${firstDay} on, with pypi_downloads_mv ` +
        `(${((Date.now() - t0) / 1000).toFixed(1)} s); a writer keeps inserting downloads stamped now`,
    );

    const projects = projectNames(200).slice(0, 50);
    const list = `[${projects.map(quoteString).join(', ')}]`;
    let inserted = 0;
    writer = liveWriter(async () => {
      await driver.command(
        `INSERT INTO pypi (timestamp, country_code, project, type, installer, python_minor, system, version) ` +
          `SELECT now(), 'US', arrayElement(${list}, (rand() % 50) + 1), 'bdist_wheel', 'pip', '3.12', 'Linux', '1.0' FROM numbers(200)`,
      );
      inserted += 200;
    });
    await new Promise((r) => setTimeout(r, 1000));

    const configFile = join(root, 'view.yaml');
    await writeFile(configFile, stringify(demoViewConfig(chDir)));
    log(`adding pypi_downloads_per_day with: shadowfill add-view --config ${configFile}`);
    const config = loadViewConfig({ file: configFile, flags: {}, env: {} });
    const adapter = await createViewAdapter(config);
    await adapter.connect();
    let report: AddViewReport;
    try {
      report = await addView(config, adapter, { onEvent: options.onEvent, signal: options.signal });
    } finally {
      await adapter.close();
    }
    await new Promise((r) => setTimeout(r, 2000)); // the writer goes on after the view is finished
    await writer.stop();
    writer = undefined;

    const cutoff = report.cutoff ?? '';
    // Live rows are those after the history (which ends where today began).
    const liveSince = `toDateTime(${quoteString(firstDay)}, 'UTC') + INTERVAL ${DAYS} DAY`;
    const perHour =
      'SELECT toStartOfHour(timestamp) AS hour, project, toInt64(count()) AS c FROM pypi GROUP BY hour, project';
    const target =
      'SELECT hour, project, sum(count) AS c FROM pypi_downloads_per_day GROUP BY hour, project HAVING c != 0';
    const [row] = await driver.query<{
      rows: string;
      sum: string;
      before: string;
      after: string;
      diff: string;
    }>(
      `SELECT toString((SELECT count() FROM pypi)) AS rows, toString((SELECT sum(count) FROM pypi_downloads_per_day)) AS sum, ` +
        `toString((SELECT countIf(timestamp < ${quoteString(cutoff)}) FROM pypi WHERE timestamp >= ${liveSince})) AS before, ` +
        `toString((SELECT countIf(timestamp >= ${quoteString(cutoff)}) FROM pypi)) AS after, ` +
        `toString((SELECT count() FROM ((${perHour}) EXCEPT ALL (${target}))) + (SELECT count() FROM ((${target}) EXCEPT ALL (${perHour})))) AS diff`,
    );
    const pypiRows = Number(row?.rows ?? 0);
    const perDaySum = Number(row?.sum ?? 0);
    const differingGroups = Number(row?.diff ?? -1);
    return {
      report,
      pypiRows,
      liveRows: inserted,
      liveBeforeCutoff: Number(row?.before ?? 0),
      liveAfterCutoff: Number(row?.after ?? 0),
      perDaySum,
      differingGroups,
      configFile,
      ok: report.reconciliation.ok && differingGroups === 0 && perDaySum === pypiRows,
    };
  } finally {
    await writer?.stop().catch(() => undefined);
    await driver.close();
  }
}

/**
 * Live ingestion for demos and tests: calls `insert` every `everyMs` until stopped; `stop()` resolves once the
 * last insert finished, with the number of inserts.
 */
export function liveWriter(insert: () => Promise<void>, everyMs = 200): { stop(): Promise<number> } {
  let running = true;
  let batches = 0;
  let failure: unknown;
  // A failed insert ends the writer; stop() reports it (never an unhandled rejection when stop is not reached).
  const loop = (async () => {
    while (running) {
      await insert();
      batches += 1;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })().catch((error: unknown) => {
    failure = error;
  });
  return {
    stop: async () => {
      running = false;
      await loop;
      if (failure !== undefined) throw failure;
      return batches;
    },
  };
}

/** The demo's closing lines. */
export function addViewDemoText(result: AddViewDemoResult): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return [
    `demo verification: the live writer inserted ${n(result.liveRows)} downloads during the demo ` +
      `(${n(result.liveBeforeCutoff)} below the cutoff — history — and ${n(result.liveAfterCutoff)} from it on — through the view)`,
    `  sum(count) of pypi_downloads_per_day = ${n(result.perDaySum)}; count() of pypi = ${n(result.pypiRows)}; ` +
      `(hour, project) groups differing from the view's SELECT over all of pypi: ${n(result.differingGroups)} → ${result.ok ? 'OK' : 'MISMATCH'}`,
    `  the view as configured: ${result.configFile}`,
  ].join('\n');
}
