/**
 * add-view on embedded ClickHouse (chDB), in-process: the guide's pypi_downloads_per_day added to a live pypi
 * while rows keep arriving (before, across and after the cutoff), then compared exactly with its SELECT over
 * the whole source; plan changes nothing; bad input is one line and creates nothing; a window over the memory
 * limit fails naming the window and the fix, and a smaller window finishes the same run; chains, several
 * views feeding one target, history from object storage, a second process, and abandoning a run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { generatePypiParquet, PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { planAddView } from '../../src/addview/plan.ts';
import { createViewAdapter } from '../../src/addview/registry.ts';
import { addView } from '../../src/addview/run.ts';
import type { AddViewEvent } from '../../src/addview/events.ts';
import {
  ConfigError,
  JournalError,
  ResourceLimitError,
  ShadowfillError,
  TargetError,
} from '../../src/errors.ts';
import { tableLeaseKey } from '../../src/journal/lease.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { acquireLease } from '../../src/runner/lease.ts';
import {
  abandon,
  clickHouseDifference,
  failure,
  liveInserter,
  runAddView,
  scalar,
  tableNames,
  viewConfig,
} from '../support/add-view.ts';

let root: string;
let chDir: string;
let driver: ChdbDriver;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'shadowfill-addview-ch-'));
  chDir = join(root, 'ch');
  driver = new ChdbDriver(chDir);
});

afterAll(async () => {
  await driver.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

const HOURLY_SELECT =
  'SELECT toStartOfHour(timestamp) AS hour, project, count() AS count FROM pypi GROUP BY hour, project';
const HOURLY_DDL =
  'CREATE TABLE pypi_downloads_per_day (hour DateTime, project String, count Int64) ' +
  'ENGINE = SummingMergeTree PARTITION BY toYYYYMMDD(hour) ORDER BY (project, hour)';

/** The guide's live pypi in `db`, with `days` days of history (one row every `step` seconds). */
async function livePypi(db: string, days = 3, step = 7): Promise<number> {
  await driver.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await driver.command(
    `CREATE TABLE ${db}.pypi (${PYPI_STRUCTURE}) ENGINE = MergeTree ORDER BY (project, timestamp)`,
  );
  const rows = Math.floor((days * 86400) / step);
  await driver.command(
    `INSERT INTO ${db}.pypi (timestamp, country_code, project) SELECT now() - INTERVAL ${days} DAY + number * ${step}, ` +
      `'US', 'project-' || toString(cityHash64(number) % 40) FROM numbers(${rows})`,
  );
  return rows;
}

/** A live inserter: 40 rows stamped now() every 100 ms, marked country_code = 'LIVE'. */
function ingest(db: string, table = 'pypi') {
  return liveInserter(() =>
    driver.command(
      `INSERT INTO ${db}.${table} (timestamp, country_code, project) SELECT now(), 'LIVE', 'live-' || toString(number % 4) FROM numbers(40)`,
    ),
  );
}

function hourlyView(db: string, extra: Record<string, unknown> = {}) {
  return {
    target: { kind: 'clickhouse', url: `embedded:${chDir}`, database: db, table: 'pypi' },
    view: {
      name: 'pypi_downloads_per_day_mv',
      to: 'pypi_downloads_per_day',
      to_ddl: HOURLY_DDL,
      select: HOURLY_SELECT,
      cutoff_column: 'timestamp',
      cutoff_margin: '2 seconds',
      settle: '1 second',
      window: '1 day',
      ...extra,
    },
  };
}

/** Target rows that differ from the view's SELECT recomputed over the whole source (0 = exact). */
function hourlyDifference(db: string): Promise<number> {
  return clickHouseDifference(
    driver,
    `SELECT toStartOfHour(timestamp) AS hour, project, toInt64(count()) AS c FROM ${db}.pypi GROUP BY hour, project`,
    `SELECT hour, project, sum(count) AS c FROM ${db}.pypi_downloads_per_day GROUP BY hour, project HAVING c != 0`,
  );
}

describe('add-view on ClickHouse', () => {
  it('plan prints the exact SQL and changes nothing', async () => {
    const db = 'av_plan';
    await livePypi(db, 2);
    const before = await tableNames(driver, db);
    const config = viewConfig(root, db, hourlyView(db));
    const adapter = await createViewAdapter(config);
    await adapter.connect();
    try {
      const plan = await planAddView(config, adapter);
      const sql = plan.statements.map((s) => s.sql).join('\n');
      expect(plan.cutoff).toBeDefined();
      expect(sql).toContain('CREATE TABLE IF NOT EXISTS `av_plan`.`pypi_downloads_per_day`');
      expect(sql).toMatch(
        /CREATE MATERIALIZED VIEW `av_plan`.`pypi_downloads_per_day_mv` TO `av_plan`.`pypi_downloads_per_day` AS SELECT .* FROM \(SELECT \* FROM `av_plan`.`pypi` WHERE `timestamp` >= toDateTime64\('/s,
      );
      expect(sql).toContain('ENGINE = Null');
      expect(sql).toContain('MOVE PARTITION');
      expect(sql).toContain('MODIFY QUERY');
      expect(plan.windows.length).toBeGreaterThanOrEqual(3);
    } finally {
      await adapter.close();
    }
    expect(await tableNames(driver, db)).toEqual(before);
  });

  it('live ingestion before, across and after the cutoff: the target equals its SELECT over the whole source', async () => {
    const db = 'av_live';
    const history = await livePypi(db, 3);
    const live = ingest(db);
    await new Promise((r) => setTimeout(r, 500)); // rows arrive before the view exists
    const events: AddViewEvent[] = [];
    const report = await runAddView(viewConfig(root, db, hourlyView(db)), { events });
    await new Promise((r) => setTimeout(r, 1500)); // and after it is finished
    const batches = await live.stop();
    expect(batches).toBeGreaterThan(10);

    expect(report.reconciliation.ok).toBe(true);
    expect(report.reconciliation.sourceRows).toBe(report.reconciliation.rowsConsumed);
    expect(report.rows).toBeGreaterThan(history);
    const cutoff = report.cutoff!;
    // Live rows landed on both sides of the cutoff: history took those below it, the view those from it on.
    expect(
      await scalar(
        driver,
        `SELECT countIf(timestamp < '${cutoff}') FROM ${db}.pypi WHERE country_code = 'LIVE'`,
      ),
    ).toBeGreaterThan(0);
    expect(
      await scalar(
        driver,
        `SELECT countIf(timestamp >= '${cutoff}') FROM ${db}.pypi WHERE country_code = 'LIVE'`,
      ),
    ).toBeGreaterThan(0);
    expect(await hourlyDifference(db)).toBe(0);
    expect(await scalar(driver, `SELECT sum(count) FROM ${db}.pypi_downloads_per_day`)).toBe(
      await scalar(driver, `SELECT count() FROM ${db}.pypi`),
    );
    // The view no longer filters, nothing of the run is left, and the journal says finished.
    const [view] = await driver.query<{ q: string }>(
      `SELECT as_select AS q FROM system.tables WHERE database = '${db}' AND name = 'pypi_downloads_per_day_mv'`,
    );
    expect(view?.q).not.toContain('toDateTime64');
    expect(await tableNames(driver, db)).toEqual([
      'pypi',
      'pypi_downloads_per_day',
      'pypi_downloads_per_day_mv',
      'shadowfill_journal',
    ]);
    expect(events.some((e) => e.type === 'waiting-for-horizon')).toBe(true);
    expect(events.at(-1)?.type).toBe('add-view-finished');
    // Running again: nothing to do.
    const again = await failure(() => runAddView(viewConfig(root, db, hourlyView(db))));
    expect(again).toBeInstanceOf(JournalError);
    expect((again as JournalError).code).toBe('NOTHING_TO_DO');
  });

  describe('bad input: one line each, nothing created', () => {
    const db = 'av_bad';
    let before: string[];
    beforeAll(async () => {
      await livePypi(db, 1, 59);
      await driver.command(`CREATE VIEW ${db}.pypi_plain AS SELECT * FROM ${db}.pypi`);
      await driver.command(
        `CREATE TABLE ${db}.existing_target (hour DateTime, project String, count Int64) ENGINE = SummingMergeTree ORDER BY (project, hour)`,
      );
      before = await tableNames(driver, db);
    });

    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'a SELECT that does not parse',
        { select: 'SELECT toStartOfHour(timestamp) AS hour, project count() FROM pypi GROUP' },
        /view\.select does not parse: syntax error at position \d+/,
      ],
      [
        'a missing cutoff column',
        { cutoff_column: 'ts' },
        /view\.cutoff_column ts is not a column of av_bad\.pypi .* — fix view\.cutoff_column/,
      ],
      [
        'a target ORDER BY that cannot take the view columns (existing target)',
        {
          to: 'existing_target',
          to_ddl: undefined,
          select:
            'SELECT toStartOfDay(timestamp) AS day, project, count() AS count FROM pypi GROUP BY day, project',
        },
        /view\.select gives column day, which av_bad\.existing_target does not have/,
      ],
      [
        'a target ORDER BY that cannot take the view columns (DDL)',
        {
          to_ddl:
            'CREATE TABLE pypi_downloads_per_day (day DateTime, hour DateTime, project String, count Int64) ENGINE = SummingMergeTree ORDER BY (project, hour)',
          select:
            'SELECT toStartOfDay(timestamp) AS day, project, count() AS count FROM pypi GROUP BY day, project',
        },
        /the ORDER BY\/PARTITION BY of view\.to_ddl \(av_bad\.pypi_downloads_per_day\) cannot take the view's columns: it needs hour/,
      ],
      [
        'a SELECT reading through a plain view',
        {
          select:
            'SELECT toStartOfHour(v.timestamp) AS hour, p.project AS project, count() AS count FROM pypi AS p JOIN pypi_plain AS v ON v.project = p.project GROUP BY hour, project',
        },
        /view\.select reads through plain view av_bad\.pypi_plain, which is refused: ClickHouse triggers a materialized view only on INSERTs/,
      ],
      [
        'a SELECT not reading the source',
        {
          select:
            'SELECT toStartOfHour(timestamp) AS hour, project, count() AS count FROM pypi_plain GROUP BY hour, project',
        },
        /view\.select does not read av_bad\.pypi/,
      ],
      [
        'a cutoff behind the source',
        { cutoff: '2020-01-01 00:00:00' },
        /view\.cutoff 2020-01-01 00:00:00 is not ahead of av_bad\.pypi: \d+ rows already have timestamp >= it/,
      ],
      ['an unknown key', { windw: '1 day' }, /unknown key `view\.windw` in av_bad-case\.yaml/],
      [
        'a window that is no duration',
        { window: 'one day' },
        /^`view\.window` is `one day` in av_bad-case\.yaml — write a duration like 1 day, 6 hours or 90 minutes, or a number of ids$/,
      ],
    ];
    for (const [name, change, message] of cases) {
      it(name, async () => {
        const error = await failure(async () => {
          const tree = hourlyView(db);
          const config = viewConfig(root, `${db}-case`, { ...tree, view: { ...tree.view, ...change } });
          await runAddView(config);
        });
        expect(error.message).toMatch(message);
        expect(error.message).not.toContain('\n');
        expect(error instanceof ConfigError || error instanceof TargetError).toBe(true);
        expect(await tableNames(driver, db)).toEqual(before);
      });
    }
  });

  it('a window over max_memory_usage fails with one line naming the window and the fix; a smaller window finishes the run', async () => {
    const db = 'av_memory';
    await driver.command(`CREATE DATABASE ${db}`);
    await driver.command(
      `CREATE TABLE ${db}.pypi (timestamp DateTime, project String) ENGINE = MergeTree ORDER BY timestamp`,
    );
    // 864,000 rows in 12 hours over 200,000 projects: 12 hours' GROUP BY needs ~40 MiB, 2 hours' a few.
    await driver.command(
      `INSERT INTO ${db}.pypi SELECT toStartOfDay(now()) - INTERVAL 1 DAY + intDiv(number, 20), 'project-' || toString(cityHash64(number) % 200000) FROM numbers(864000)`,
    );
    const tree = (window: string) => ({
      ...hourlyView(db, { window }),
      settings: { max_memory_usage: 30_000_000 },
    });
    const events: AddViewEvent[] = [];
    const error = await failure(() => runAddView(viewConfig(root, db, tree('12 hours')), { events }));
    expect(events.filter((e) => e.type === 'window-failed')).toEqual([
      expect.objectContaining({ window: 0, attempt: 1, willRetry: false }),
    ]);
    expect(error).toBeInstanceOf(ResourceLimitError);
    // In the failure taxonomy: a resource limit, and not retryable (the same window fails the same way).
    expect(error).toMatchObject({ failure: 'resources', retryable: false, code: 'TARGET_QUERY_FAILED' });
    expect(error.message).not.toContain('\n');
    expect(error.message).toMatch(
      /^window 1\/\d+ \[…, .*\) of av_memory\.pypi_downloads_per_day_mv: ClickHouse ran out of memory .*would use .*, the limit is .* — lower view\.window \(now 12 hours\) or raise settings\.max_memory_usage/,
    );
    // Nothing moved into the target yet; the view exists and takes live rows from the cutoff on.
    expect(await scalar(driver, `SELECT count() FROM ${db}.pypi_downloads_per_day`)).toBe(0);
    const report = await runAddView(viewConfig(root, db, tree('2 hours')));
    expect(report.resumed).toBe(true);
    expect(report.reconciliation.ok).toBe(true);
    expect(report.windows).toBeGreaterThan(6);
    expect(await hourlyDifference(db)).toBe(0);
  });

  it('chains: a view on another view’s target, and a target that feeds a further view', async () => {
    const db = 'av_chain';
    await livePypi(db, 2, 11);
    await driver.command(
      `CREATE TABLE ${db}.per_10s (bucket DateTime, project String, count Int64) ENGINE = SummingMergeTree ORDER BY (project, bucket)`,
    );
    await driver.command(
      `CREATE MATERIALIZED VIEW ${db}.per_10s_mv TO ${db}.per_10s AS SELECT toStartOfInterval(timestamp, INTERVAL 10 SECOND) AS bucket, project, count() AS count FROM ${db}.pypi GROUP BY bucket, project`,
    );
    await driver.command(
      `INSERT INTO ${db}.per_10s SELECT toStartOfInterval(timestamp, INTERVAL 10 SECOND) AS bucket, project, count() FROM ${db}.pypi GROUP BY bucket, project`,
    );
    // The new view's target already feeds a per-project total.
    await driver.command(
      `CREATE TABLE ${db}.per_day (day Date, project String, count Int64) ENGINE = SummingMergeTree ORDER BY (project, day)`,
    );
    await driver.command(
      `CREATE TABLE ${db}.totals (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project`,
    );
    await driver.command(
      `CREATE MATERIALIZED VIEW ${db}.totals_mv TO ${db}.totals AS SELECT project, sum(count) AS count FROM ${db}.per_day GROUP BY project`,
    );
    const live = ingest(db);
    const report = await runAddView(
      viewConfig(root, db, {
        target: { kind: 'clickhouse', url: `embedded:${chDir}`, database: db, table: 'per_10s' },
        view: {
          name: 'per_day_mv',
          to: 'per_day',
          select:
            'SELECT toDate(bucket) AS day, project, sum(count) AS count FROM per_10s GROUP BY day, project',
          cutoff_column: 'bucket',
          cutoff_margin: '1 second',
          settle: '1 second',
          window: '12 hours',
        },
      }),
    );
    await new Promise((r) => setTimeout(r, 1200));
    await live.stop();
    expect(report.reconciliation.ok).toBe(true);
    // The cutoff sits on the 10-second grid of the source's buckets.
    expect(Number(report.cutoff!.slice(-1))).toBe(0);
    const expected = `SELECT toDate(timestamp) AS day, project, toInt64(count()) AS c FROM ${db}.pypi GROUP BY day, project`;
    expect(
      await clickHouseDifference(
        driver,
        expected,
        `SELECT day, project, sum(count) AS c FROM ${db}.per_day GROUP BY day, project HAVING c != 0`,
      ),
    ).toBe(0);
    expect(
      await clickHouseDifference(
        driver,
        `SELECT project, toInt64(count()) AS c FROM ${db}.pypi GROUP BY project`,
        `SELECT project, sum(count) AS c FROM ${db}.totals GROUP BY project HAVING c != 0`,
      ),
    ).toBe(0);
  });

  it('a source whose parts collapse rows when they merge: merges after the windows ran are not late rows', async () => {
    const db = 'av_merge';
    await driver.command(`CREATE DATABASE ${db}`);
    await driver.command(
      `CREATE TABLE ${db}.per_min (bucket DateTime, project String, count Int64) ENGINE = SummingMergeTree ORDER BY (project, bucket)`,
    );
    // Three parts with the same keys (a second apart: the cutoff's grid is a second): merged, they collapse to a
    // third of the rows, the sums unchanged.
    await driver.command(`SYSTEM STOP MERGES ${db}.per_min`);
    for (let part = 0; part < 3; part += 1) {
      await driver.command(
        `INSERT INTO ${db}.per_min SELECT now() - INTERVAL 1 DAY + number, ` +
          `'project-' || toString(number % 7), 1 FROM numbers(2000)`,
      );
    }
    const config = viewConfig(root, db, {
      target: { kind: 'clickhouse', url: `embedded:${chDir}`, database: db, table: 'per_min' },
      view: {
        name: 'per_day_mv',
        to: 'per_day',
        to_ddl: `CREATE TABLE per_day (day Date, project String, count Int64) ENGINE = SummingMergeTree ORDER BY (project, day)`,
        select:
          'SELECT toDate(bucket) AS day, project, sum(count) AS count FROM per_min GROUP BY day, project',
        cutoff_column: 'bucket',
        cutoff_margin: '1 second',
        settle: '1 second',
        window: '1 day',
      },
    });
    const adapter = await createViewAdapter(config);
    await adapter.connect();
    let merged = false;
    // The parts merge after every window ran, right before the run looks for rows that arrived late.
    const merging = new Proxy(adapter, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (property !== 'countWindow' || typeof value !== 'function') {
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return async (run: unknown, window: { index: number }) => {
          if (window.index === -1 && !merged) {
            merged = true;
            await driver.command(`SYSTEM START MERGES ${db}.per_min`);
            await driver.command(`OPTIMIZE TABLE ${db}.per_min FINAL`);
          }
          return (value as (r: unknown, w: unknown) => Promise<number>).call(target, run, window);
        };
      },
    });
    try {
      const report = await addView(config, merging, {});
      expect(merged).toBe(true);
      expect(await scalar(driver, `SELECT count() FROM ${db}.per_min`)).toBe(2000);
      expect(report.reconciliation.ok).toBe(true);
    } finally {
      await adapter.close();
    }
    expect(
      await clickHouseDifference(
        driver,
        `SELECT toDate(bucket) AS day, project, sum(count) AS c FROM ${db}.per_min GROUP BY day, project`,
        `SELECT day, project, sum(count) AS c FROM ${db}.per_day GROUP BY day, project HAVING c != 0`,
      ),
    ).toBe(0);
  });

  it('several views feeding one target: a second view into a target another view already fills', async () => {
    const db = 'av_many';
    await livePypi(db, 2, 13);
    await driver.command(
      `CREATE TABLE ${db}.mirror (timestamp DateTime, project String) ENGINE = MergeTree ORDER BY timestamp`,
    );
    await driver.command(
      `INSERT INTO ${db}.mirror SELECT now() - INTERVAL 2 DAY + number * 31, 'mirror-' || toString(number % 7) FROM numbers(5570)`,
    );
    await driver.command(
      `CREATE TABLE ${db}.downloads (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project`,
    );
    await driver.command(
      `CREATE MATERIALIZED VIEW ${db}.downloads_mv TO ${db}.downloads AS SELECT project, count() AS count FROM ${db}.pypi GROUP BY project`,
    );
    await driver.command(
      `INSERT INTO ${db}.downloads SELECT project, count() FROM ${db}.pypi GROUP BY project`,
    );
    const live = ingest(db);
    const liveMirror = liveInserter(() =>
      driver.command(`INSERT INTO ${db}.mirror SELECT now(), 'mirror-live' FROM numbers(10)`),
    );
    const report = await runAddView(
      viewConfig(root, db, {
        target: { kind: 'clickhouse', url: `embedded:${chDir}`, database: db, table: 'mirror' },
        view: {
          name: 'mirror_downloads_mv',
          to: 'downloads',
          select: 'SELECT project, count() AS count FROM mirror GROUP BY project',
          cutoff_column: 'timestamp',
          cutoff_margin: '2 seconds',
          settle: '1 second',
        },
      }),
    );
    await new Promise((r) => setTimeout(r, 1200));
    await live.stop();
    await liveMirror.stop();
    expect(report.reconciliation.ok).toBe(true);
    const expected = `SELECT project, toInt64(count()) AS c FROM (SELECT project FROM ${db}.pypi UNION ALL SELECT project FROM ${db}.mirror) GROUP BY project`;
    expect(
      await clickHouseDifference(
        driver,
        expected,
        `SELECT project, sum(count) AS c FROM ${db}.downloads GROUP BY project HAVING c != 0`,
      ),
    ).toBe(0);
  });

  it('a second process is refused while one works; --abandon drops the run and the view is added again', async () => {
    const db = 'av_twice';
    await livePypi(db, 1, 17);
    // A cutoff an hour ahead: the first run waits for it (and stops after cutoff_wait).
    const config = viewConfig(
      root,
      db,
      hourlyView(db, { cutoff_margin: '1 hour', cutoff_wait: '3 seconds' }),
    );
    const first = runAddView(config);
    await new Promise((r) => setTimeout(r, 1500));
    const second = await failure(() => runAddView(config));
    expect(second).toBeInstanceOf(JournalError);
    expect(second.message).toMatch(
      /^view av_twice\.pypi_downloads_per_day_mv is being backfilled by another shadowfill process \(pid \d+ on .*, run \S+\) since .* — nothing was changed; wait for it to finish \(or run again with --wait\)/,
    );
    // The view's lease is its own: a backfill (`run`) of the source table is not blocked by the add-view.
    const adapter = await createViewAdapter(config);
    await adapter.connect();
    try {
      const table = await acquireLease(adapter.lease, tableLeaseKey('clickhouse', db, 'pypi'), `${db}.pypi`);
      await table.release();
    } finally {
      await adapter.close();
    }
    const stopped = await failure(() => first);
    expect(stopped.message).toMatch(
      /av_twice\.pypi has not passed .* after waiting 3 seconds: live rows below it may still arrive — run add-view again later/,
    );
    // Give it up: the view and the target it created are dropped, and so are its shadows.
    const abandoned = await abandon(config);
    expect(abandoned).toMatchObject({ droppedView: true, droppedTarget: true });
    expect(await tableNames(driver, db)).toEqual(['pypi', 'shadowfill_journal']);
    const report = await runAddView(viewConfig(root, db, hourlyView(db)));
    expect(report.resumed).toBe(false);
    expect(await hourlyDifference(db)).toBe(0);
  });

  it('--new-run abandons the unfinished run first (its view and target dropped), then adds the view afresh', async () => {
    const db = 'av_newrun';
    await livePypi(db, 1, 17);
    const stopped = await failure(() =>
      runAddView(viewConfig(root, db, hourlyView(db, { cutoff_margin: '1 hour', cutoff_wait: '1 second' }))),
    );
    expect((stopped as ShadowfillError).exitCode).toBe(75);
    expect(await tableNames(driver, db)).toContain('pypi_downloads_per_day_mv');
    const events: AddViewEvent[] = [];
    const report = await runAddView(viewConfig(root, db, hourlyView(db)), { events, newRun: true });
    expect(events[0]).toMatchObject({ type: 'run-abandoned', reason: 'a new run was asked for (--new-run)' });
    expect(report.resumed).toBe(false);
    expect(report.reconciliation.ok).toBe(true);
    expect(await hourlyDifference(db)).toBe(0);
    // Without --new-run, a finished add-view has nothing to do.
    const again = await failure(() => runAddView(viewConfig(root, db, hourlyView(db))));
    expect(again).toMatchObject({ code: 'NOTHING_TO_DO', exitCode: 0 });
  });

  describe('history from object storage', () => {
    let s3: LocalS3Server;
    beforeAll(async () => {
      s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['history'] });
    });
    afterAll(async () => {
      await s3.stop();
    });

    it('objects below the live table’s oldest row, then the live table up to the cutoff', async () => {
      const db = 'av_s3';
      // The export: 6 files spread over days long gone from the live table (which keeps only recent rows).
      const generated = await generatePypiParquet({
        dir: join(root, 'parquet'),
        files: [0, 1, 2, 3, 4, 5],
        rowsPerFile: 2000,
        days: 3,
        runner: { queryAsync: (sql: string) => driver.command(sql) },
      });
      await uploadDirectory(s3.endpoint, 'history', join(root, 'parquet'), {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      });
      await livePypi(db, 1, 13);
      const live = ingest(db);
      const report = await runAddView(
        viewConfig(root, db, {
          ...hourlyView(db),
          source: {
            url: 's3://history/pypi/*/*.parquet',
            endpoint: s3.endpoint,
            access_key_id: s3.accessKeyId,
            secret_access_key: s3.secretAccessKey,
          },
        }),
      );
      await new Promise((r) => setTimeout(r, 1200));
      await live.stop();
      expect(report.reconciliation.ok).toBe(true);
      expect(report.rows).toBeGreaterThanOrEqual(generated.totalRows);
      const url = `${s3.endpoint}/history/pypi/*/*.parquet`;
      const expected =
        `SELECT toStartOfHour(timestamp) AS hour, project, toInt64(count()) AS c FROM (` +
        `SELECT timestamp, project FROM ${db}.pypi UNION ALL ` +
        `SELECT timestamp, project FROM s3('${url}', '${s3.accessKeyId}', '${s3.secretAccessKey}', 'Parquet', 'timestamp DateTime, project String')) GROUP BY hour, project`;
      expect(
        await clickHouseDifference(
          driver,
          expected,
          `SELECT hour, project, sum(count) AS c FROM ${db}.pypi_downloads_per_day GROUP BY hour, project HAVING c != 0`,
        ),
      ).toBe(0);
    });
  });

  it('the adapter refuses to create a view that exists under another run', async () => {
    const db = 'av_exists';
    await livePypi(db, 1, 59);
    await driver.command(
      `CREATE TABLE ${db}.pypi_downloads_per_day (hour DateTime, project String, count Int64) ENGINE = SummingMergeTree ORDER BY (project, hour)`,
    );
    await driver.command(
      `CREATE MATERIALIZED VIEW ${db}.pypi_downloads_per_day_mv TO ${db}.pypi_downloads_per_day AS ${HOURLY_SELECT.replace('FROM pypi', `FROM ${db}.pypi`)}`,
    );
    const config = viewConfig(root, db, hourlyView(db));
    const adapter = await createViewAdapter(config);
    await adapter.connect();
    try {
      const error = await failure(() => addView(config, adapter));
      expect(error.message).toMatch(
        /av_exists\.pypi_downloads_per_day_mv already exists \(MaterializedView\) — drop it first, or choose another view\.name/,
      );
    } finally {
      await adapter.close();
    }
  });
});
