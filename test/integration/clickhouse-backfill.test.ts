/**
 * End to end on real engines: embedded ClickHouse (chDB) reading Parquet from a local S3 server (s3rver),
 * through the engine's runner and the ClickHouse adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUCKET,
  ANY_DAY,
  fixtureBytes,
  startScenario,
  type Scenario,
} from '../support/clickhouse-scenario.ts';
import { ShadowfillError } from '../../src/errors.ts';
import { PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import type { RunEvent } from '../../src/runner/events.ts';

let s: Scenario;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Everything observable about the live tables of `db`: row counts, aggregate sums, content hash, and the
 * names of the other tables (with `shadows: false`, a run's own shadow and journal tables are left out).
 */
async function snapshot(db: string, options: { shadows: boolean } = { shadows: true }) {
  const own = options.shadows ? '' : ` AND name NOT LIKE '%\\_v2\\_%' AND name != 'shadowfill_journal'`;
  return s.driver.query(
    `SELECT (SELECT count() FROM \`${db}\`.pypi) AS rows, (SELECT sum(count) FROM \`${db}\`.pypi_downloads) AS downloads, ` +
      `(SELECT groupArray(name) FROM (SELECT name FROM system.tables WHERE database = '${db}'${own} ORDER BY name)) AS tables, ` +
      `(SELECT cityHash64(groupArray(h)) FROM (SELECT cityHash64(*) AS h FROM \`${db}\`.pypi ORDER BY h)) AS content`,
  );
}

async function shadowTables(db: string): Promise<string[]> {
  const rows = await s.driver.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = '${db}' AND name LIKE '%\\_v2\\_%'`,
  );
  return rows.map((r) => r.name);
}

beforeAll(async () => {
  // 30 files over 3 days (10 files a day → one daily partition each), 3 row groups per file.
  s = await startScenario({ files: 30, rowsPerFile: 1500, days: 3 });
}, 300_000);

afterAll(async () => {
  await s?.stop();
});

describe('ClickHouse backfill through shadow tables', () => {
  it("runs the guide's scenario: live {000..009}, backfill {010..019} with its materialized view", async () => {
    await s.createGuideTables('guide');
    await s.loadLive('guide', range(0, 9));
    const events: RunEvent[] = [];
    const report = await s.run(s.config('guide'), { onEvent: (e) => events.push(e) });
    const total = s.rowsOf(range(0, 19));
    expect(report.rowsLoaded).toBe(s.rowsOf(range(10, 19)));
    expect(report.batches).toBe(3);
    expect(await s.scalar('SELECT count() FROM guide.pypi')).toBe(total);
    expect(await s.scalar('SELECT sum(count) FROM guide.pypi_downloads')).toBe(total);
    expect(await shadowTables('guide')).toEqual([]);
    const downloads = report.after.find((m) => m.table === 'guide.pypi_downloads');
    expect(downloads?.aggregates['sum(`count`)']).toBe(total);
    expect(events.map((e) => e.type).filter((t) => t === 'batch-committed')).toHaveLength(3);

    // The same configuration again: nothing to do, and nothing changes.
    await expect(s.run(s.config('guide'))).rejects.toMatchObject({ code: 'NOTHING_TO_DO' });
    expect(await s.scalar('SELECT count() FROM guide.pypi')).toBe(total);
  });

  it('swaps every daily partition of a partitioned table and fills two view targets (Summing + Aggregating)', async () => {
    await s.createGuideTables('parts', { partitionBy: 'toYYYYMMDD(timestamp)' });
    await s.driver.command(
      'CREATE TABLE parts.by_country (country_code String, c AggregateFunction(count), p AggregateFunction(uniqExact, String)) ' +
        'ENGINE = AggregatingMergeTree ORDER BY country_code',
    );
    await s.driver.command(
      'CREATE MATERIALIZED VIEW parts.by_country_mv TO parts.by_country AS ' +
        'SELECT country_code, countState() AS c, uniqExactState(project) AS p FROM parts.pypi GROUP BY country_code',
    );
    const config = s.config('parts', {
      url: `s3://${BUCKET}/${ANY_DAY}{000..029}.parquet`,
      batch: { files: 7, bytes: 1e12 },
    });
    const report = await s.run(config);
    const total = s.rowsOf(range(0, 29));
    expect(report.swapUnits).toBeGreaterThanOrEqual(3 + 1 + 1); // 3 daily partitions of pypi + one per view target
    expect(
      await s.scalar(
        "SELECT uniqExact(partition_id) FROM system.parts WHERE database = 'parts' AND table = 'pypi' AND active",
      ),
    ).toBe(3);
    expect(await s.scalar('SELECT count() FROM parts.pypi')).toBe(total);
    expect(await s.scalar('SELECT sum(count) FROM parts.pypi_downloads')).toBe(total);
    expect(await s.scalar('SELECT countMerge(c) FROM parts.by_country')).toBe(total);
    const projectsPerCountry = await s.driver.query<{ a: string; b: string }>(
      'SELECT (SELECT groupArray((country_code, n)) FROM (SELECT country_code, uniqExactMerge(p) AS n FROM parts.by_country GROUP BY country_code ORDER BY country_code)) AS a, ' +
        '(SELECT groupArray((country_code, n)) FROM (SELECT country_code, uniqExact(project) AS n FROM parts.pypi GROUP BY country_code ORDER BY country_code)) AS b',
    );
    expect(projectsPerCountry[0]?.a).toEqual(projectsPerCountry[0]?.b);
    expect(await shadowTables('parts')).toEqual([]);
  });

  it('before: auto loads only rows older than the oldest live row', async () => {
    await s.createGuideTables('auto', { partitionBy: 'toYYYYMMDD(timestamp)' });
    await s.loadLive('auto', range(15, 29)); // the live stream started mid day 2
    const liveRows = await s.scalar('SELECT count() FROM auto.pypi');
    const minLive = await s.driver.query<{ v: string }>(
      'SELECT toString(min(timestamp)) AS v FROM auto.pypi',
    );
    const files = s.files.map((f) => `'${f.path}'`).join(', ');
    const expectedOlder = await s.scalar(
      `SELECT count() FROM (SELECT timestamp FROM file('${s.parquetDir}/pypi/**/*.parquet', 'Parquet')) ` +
        `WHERE timestamp < toDateTime('${minLive[0]!.v}')`,
    );
    expect(files.length).toBeGreaterThan(0);
    expect(expectedOlder).toBeGreaterThan(0);
    const config = s.config('auto', {
      url: `s3://${BUCKET}/pypi/2024-12-1{7,8,9}/*.parquet`,
      filter: { column: 'timestamp', before: 'auto', after: undefined },
    });
    const report = await s.run(config);
    expect(report.rowsLoaded).toBe(expectedOlder);
    expect(await s.scalar('SELECT count() FROM auto.pypi')).toBe(liveRows + expectedOlder);
    expect(await s.scalar('SELECT sum(count) FROM auto.pypi_downloads')).toBe(liveRows + expectedOlder);
    // No duplicates: every (timestamp, project, version, country) occurs as often as in the files.
    expect(
      await s.scalar(
        `SELECT count() FROM (SELECT timestamp, project, version, country_code, installer, count() AS n FROM auto.pypi GROUP BY ALL) AS a ` +
          `FULL OUTER JOIN (SELECT timestamp, project, version, country_code, installer, count() AS n FROM file('${s.parquetDir}/pypi/**/*.parquet', 'Parquet') GROUP BY ALL) AS b ` +
          `USING (timestamp, project, version, country_code, installer) WHERE a.n != b.n`,
      ),
    ).toBe(0);
  });

  it('a corrupt object in batch 2 fails the run naming it, leaves live tables identical, and a rerun after the fix completes', async () => {
    // The guide's tables with the objects' own timestamp type: no cast to probe before the run, so the corrupt
    // pages are met mid-run, in batch 2.
    await s.driver.command('CREATE DATABASE corrupt');
    await s.driver.command(
      `CREATE TABLE corrupt.pypi (${PYPI_STRUCTURE.replace('timestamp DateTime', "timestamp DateTime64(3, 'UTC')")}) ` +
        'ENGINE = MergeTree ORDER BY (project, timestamp)',
    );
    await s.driver.command(
      'CREATE TABLE corrupt.pypi_downloads (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project',
    );
    await s.driver.command(
      'CREATE MATERIALIZED VIEW corrupt.pypi_downloads_mv TO corrupt.pypi_downloads ' +
        'AS SELECT project, count() AS count FROM corrupt.pypi GROUP BY project',
    );
    await s.loadLive('corrupt', range(0, 9));
    const before = await snapshot('corrupt', { shadows: false });
    // Objects 10..19 in batches of 4: object 15 is in batch 2. Its footer stays valid; its data pages are garbage.
    const key = s.file(15).key;
    const good = await fixtureBytes(s.file(15));
    const bad = Buffer.from(good);
    for (let i = 4; i < Math.floor(bad.length * 0.6); i += 7) bad[i] = (bad[i]! * 31 + 17) & 0xff;
    await s.put(key, bad);
    // One worker: batch 2 is loaded after batch 1 is committed (with more, batch 1 may be loaded and not committed).
    const config = s.config('corrupt', { workers: 1 });
    const error = await s.run(config).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShadowfillError);
    expect((error as ShadowfillError).code).toBe('SOURCE_CORRUPT');
    expect((error as Error).message).toContain(`s3://${BUCKET}/${key}`);
    expect((error as Error).message.split('\n')).toHaveLength(1);
    expect(await snapshot('corrupt', { shadows: false })).toEqual(before);

    await s.put(key, good);
    const events: RunEvent[] = [];
    const report = await s.run(config, { onEvent: (e) => events.push(e) });
    expect(report.resumed).toBe(true);
    // Batch 1 was committed before the failure: it is not loaded again.
    expect(
      events.filter((e) => e.type === 'batch-started').map((e) => (e as { batch: number }).batch),
    ).toEqual([1, 2]);
    expect(await s.scalar('SELECT count() FROM corrupt.pypi')).toBe(s.rowsOf(range(0, 19)));
    expect(await s.scalar('SELECT sum(count) FROM corrupt.pypi_downloads')).toBe(s.rowsOf(range(0, 19)));
  });

  it('an interruption between two partition moves is completed, not repeated, by the next run', async () => {
    await s.createGuideTables('swap', { partitionBy: 'toYYYYMMDD(timestamp)' });
    const config = s.config('swap', {
      url: `s3://${BUCKET}/${ANY_DAY}{000..029}.parquet`,
      batch: { files: 10, bytes: 1e12 },
    });
    let moves = 0;
    const crash = await s
      .run(config, {
        onEvent: (e) => {
          if (e.type === 'swap-unit-done' && ++moves === 2)
            throw new Error('simulated crash between partition moves');
        },
      })
      .catch((e: unknown) => e);
    expect((crash as Error).message).toContain('simulated crash');
    const partial = await s.scalar('SELECT count() FROM swap.pypi');
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(s.rowsOf(range(0, 29)));

    const events: RunEvent[] = [];
    const report = await s.run(config, { onEvent: (e) => events.push(e) });
    expect(report.resumed).toBe(true);
    expect(events.some((e) => e.type === 'batch-started')).toBe(false);
    expect(await s.scalar('SELECT count() FROM swap.pypi')).toBe(s.rowsOf(range(0, 29)));
    expect(await s.scalar('SELECT sum(count) FROM swap.pypi_downloads')).toBe(s.rowsOf(range(0, 29)));
    expect(await shadowTables('swap')).toEqual([]);
  });

  it('load: client streams each object into INSERT … FORMAT Parquet with the same result', async () => {
    await s.createGuideTables('client');
    await s.loadLive('client', range(0, 9));
    const report = await s.run(s.config('client', { load: 'client' }));
    expect(report.rowsLoaded).toBe(s.rowsOf(range(10, 19)));
    expect(await s.scalar('SELECT count() FROM client.pypi')).toBe(s.rowsOf(range(0, 19)));
    expect(await s.scalar('SELECT sum(count) FROM client.pypi_downloads')).toBe(s.rowsOf(range(0, 19)));
    // A filter needs ClickHouse to read the objects itself.
    expect(() =>
      s.config('client', {
        load: 'client',
        filter: { column: 'timestamp', before: 'auto', after: undefined },
      }),
    ).not.toThrow();
    const refused = await s
      .run(
        s.config('client2', {
          load: 'client',
          filter: { column: 'timestamp', before: '2030-01-01', after: undefined },
        }),
      )
      .catch((e: unknown) => e);
    expect((refused as ShadowfillError).code).toBe('CONFIG_INVALID');
  });

  it('retries a batch whose attempt failed, discarding the partial landing, without duplicates', async () => {
    await s.createGuideTables('retry');
    let failed = false;
    const events: RunEvent[] = [];
    const report = await s.run(s.config('retry', { attempts: 2 }), {
      onEvent: (e) => {
        events.push(e);
        // A transient fault after batch 2 landed (e.g. a dropped connection before verification).
        if (e.type === 'batch-loaded' && e.batch === 1 && !failed) {
          failed = true;
          throw new Error('simulated transient fault');
        }
      },
    });
    expect(report.retries).toBe(1);
    const failures = events.filter((e) => e.type === 'batch-failed');
    expect(failures).toEqual([expect.objectContaining({ batch: 1, attempt: 1, willRetry: true })]);
    expect(await s.scalar('SELECT count() FROM retry.pypi')).toBe(s.rowsOf(range(10, 19)));
    expect(await s.scalar('SELECT sum(count) FROM retry.pypi_downloads')).toBe(s.rowsOf(range(10, 19)));
  });

  it('passes insert settings through to ClickHouse', async () => {
    await s.createGuideTables('settings');
    const ok = await s.run(
      s.config('settings', { settings: { max_insert_threads: 2, min_insert_block_size_rows: 100_000 } }),
    );
    expect(ok.rowsLoaded).toBe(s.rowsOf(range(10, 19)));
    await s.createGuideTables('settings_bad');
    const error = await s
      .run(s.config('settings_bad', { settings: { no_such_setting_xyz: 1 }, attempts: 1 }))
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no_such_setting_xyz/);
    expect(await s.scalar('SELECT count() FROM settings_bad.pypi')).toBe(0);
  });

  it('plans every statement with its exact SQL, credentials redacted, changing nothing', async () => {
    await s.createGuideTables('plan');
    const { planRun } = await import('../../src/runner/plan.ts');
    const { ClickHouseAdapter } = await import('../../adapters/clickhouse/adapter.ts');
    const { ChdbDriver } = await import('../../adapters/clickhouse/drivers/chdb.ts');
    const config = s.config('plan');
    const adapter = new ClickHouseAdapter(config, new ChdbDriver(s.chDir));
    await adapter.connect();
    const plan = await planRun(config, adapter);
    await adapter.close();
    const text = plan.statements.map((st) => st.sql).join(';\n');
    expect(plan.batches).toHaveLength(3);
    expect(text).toContain('CREATE TABLE IF NOT EXISTS `plan`.`pypi_v2_<run>` AS `plan`.`pypi`');
    expect(text).toContain('CREATE MATERIALIZED VIEW IF NOT EXISTS `plan`.`pypi_downloads_mv_v2_<run>`');
    // The partition moves: the text the run sends, the partition id bound from the listing before it.
    const moves = plan.statements.filter((st) => st.sql.includes('MOVE PARTITION'));
    expect(moves.map((st) => st.sql)).toContain(
      'ALTER TABLE `plan`.`pypi_v2_<run>` MOVE PARTITION ID {partition_id:String} TO TABLE `plan`.`pypi`',
    );
    expect(moves.every((st) => st.params?.partition_id?.startsWith('each partition_id listed by'))).toBe(
      true,
    );
    // The view target's checks per batch: the two fingerprint queries the run compares.
    expect(
      plan.statements.filter(
        (st) => st.phase === 'verify' && st.sql.includes('pypi_downloads_v2_<run>_landing'),
      ),
    ).not.toHaveLength(0);
    expect(text).not.toMatch(/<partition_id>|…|^-- /m);
    expect(text).toContain("'***', '***'");
    expect(text).not.toContain(s.s3.secretAccessKey + "'");
    expect(await shadowTables('plan')).toEqual([]);
    expect(
      await s.scalar(
        "SELECT count() FROM system.tables WHERE database = 'plan' AND name = 'shadowfill_journal'",
      ),
    ).toBe(0);
  });

  it('an abort (Ctrl-C) stops after the step in progress; the next run continues', async () => {
    await s.createGuideTables('abort');
    const abort = new AbortController();
    // One worker: nothing but batch 1 is under way when Ctrl-C comes.
    const stopped = await s
      .run(s.config('abort', { workers: 1 }), {
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type === 'batch-committed' && e.batch === 0) abort.abort();
        },
      })
      .catch((e: unknown) => e);
    expect((stopped as ShadowfillError).code).toBe('INTERRUPTED');
    expect(await s.scalar('SELECT count() FROM abort.pypi')).toBe(0);
    const events: RunEvent[] = [];
    const report = await s.run(s.config('abort', { workers: 1 }), { onEvent: (e) => events.push(e) });
    expect(report.resumed).toBe(true);
    expect(
      events.filter((e) => e.type === 'batch-started').map((e) => (e as { batch: number }).batch),
    ).toEqual([1, 2]);
    expect(await s.scalar('SELECT count() FROM abort.pypi')).toBe(s.rowsOf(range(10, 19)));
  });

  it('verifies exact counts for a ReplacingMergeTree table whose rows collapse on insert and merge', async () => {
    await s.driver.command('CREATE DATABASE replacing');
    await s.driver.command(
      `CREATE TABLE replacing.pypi (${PYPI_STRUCTURE}) ENGINE = ReplacingMergeTree ORDER BY (project, country_code)`,
    );
    const report = await s.run(s.config('replacing', { load: 'server' }));
    expect(report.rowsLoaded).toBe(s.rowsOf(range(10, 19)));
    const distinct = await s.scalar(
      `SELECT count() FROM (SELECT DISTINCT project, country_code FROM file('${s.parquetDir}/pypi/*/*-0000000000{10..19}.parquet', 'Parquet'))`,
    );
    expect(distinct).toBeLessThan(report.rowsLoaded); // the data really has duplicate keys
    expect(await s.scalar('SELECT count() FROM replacing.pypi FINAL')).toBe(distinct);
  });

  it('refuses to swap a shadow that lost rows since its batches were verified', async () => {
    await s.createGuideTables('lost');
    await s.loadLive('lost', range(0, 9));
    const before = await snapshot('lost', { shadows: false });
    const crash = await s
      .run(s.config('lost'), {
        onEvent: (e) => {
          if (e.type === 'batch-committed' && e.batch === 2)
            throw new Error('simulated crash before the swap');
        },
      })
      .catch((e: unknown) => e);
    expect((crash as Error).message).toContain('simulated crash');
    // Something outside the run removes rows from the shadow (a dropped part, a mistaken TRUNCATE, …).
    const [shadow] = await s.driver.query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = 'lost' AND name LIKE 'pypi\\_v2\\_%' AND name NOT LIKE '%landing'",
    );
    await s.driver.command(`TRUNCATE TABLE lost.\`${shadow!.name}\``);
    const error = await s.run(s.config('lost')).catch((e: unknown) => e);
    expect((error as ShadowfillError).code).toBe('VERIFY_FAILED');
    expect((error as Error).message).toMatch(
      /holds 0 rows but its batches verified \d+; nothing was swapped .*when the run resumed/,
    );
    expect(await snapshot('lost', { shadows: false })).toEqual(before);
  });

  it('bad input fails before any DDL with one line naming the thing', async () => {
    await s.createGuideTables('bad');
    await s.driver.command(
      'CREATE TABLE bad.extra (timestamp DateTime, project String, flag UInt8) ENGINE = MergeTree ORDER BY project',
    );
    const before = await snapshot('bad');
    const cases: [Partial<Parameters<Scenario['config']>[1]>, string, RegExp][] = [
      [
        { target: { ...s.config('bad').target, table: 'nope' } },
        'TARGET_MISSING',
        /bad\.nope.*does not exist/,
      ],
      [{ url: `s3://${BUCKET}/${ANY_DAY}{900..999}.parquet` }, 'SOURCE_EMPTY', /no object matches/],
      [{ target: { ...s.config('bad').target, table: 'extra' } }, 'SCHEMA_MISMATCH', /flag|country_code/],
      [
        {
          source: {
            ...s.config('bad').source,
            credentials: { accessKeyId: 'wrong', secretAccessKey: 'wrong-secret-123' },
          },
        },
        'SOURCE_ACCESS_DENIED',
        /credentials/,
      ],
      [
        { source: { ...s.config('bad').source, endpoint: 'http://127.0.0.1:9' } },
        'SOURCE_UNREACHABLE',
        /127\.0\.0\.1:9/,
      ],
    ];
    for (const [override, code, pattern] of cases) {
      const error = await s.run(s.config('bad', override)).catch((e: unknown) => e);
      expect(error, code).toBeInstanceOf(ShadowfillError);
      expect((error as ShadowfillError).code).toBe(code);
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message).not.toContain('wrong-secret-123');
      expect((error as Error).message.split('\n')).toHaveLength(1);
    }
    expect(await snapshot('bad')).toEqual(before);
  });
});
