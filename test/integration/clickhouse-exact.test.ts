/**
 * Exactly once on ClickHouse (embedded chDB + s3rver): the run lease with two runners at once, verification of
 * every view target, abandoning runs, advice that works, validation that catches what would fail, and names
 * with dots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ClickHouseAdapter } from '../../adapters/clickhouse/adapter.ts';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import { quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import type { BatchSpec, RunContext, TargetAdapter } from '../../src/adapter/contract.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { ShadowfillError } from '../../src/errors.ts';
import { tableLeaseKey, type LeaseStore } from '../../src/journal/lease.ts';
import { abandonRun } from '../../src/runner/abandon.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import { claimant } from '../../src/runner/lease.ts';
import { runBackfill, type RunOptions } from '../../src/runner/run.ts';
import { PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { BUCKET, ANY_DAY, startScenario, type Scenario } from '../support/clickhouse-scenario.ts';

let s: Scenario;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Tables of `db` named like a run's objects (`…_v2_…`) or a lease. */
async function leftovers(db: string): Promise<string[]> {
  const rows = await s.driver.query<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = ${quoteString(db)} AND (name LIKE '%\\_v2\\_%' OR name LIKE 'shadowfill\\_lease%') ORDER BY name`,
  );
  return rows.map((r) => r.name);
}

async function liveState(db: string) {
  return s.driver.query(
    `SELECT (SELECT count() FROM \`${db}\`.pypi) AS rows, (SELECT sum(count) FROM \`${db}\`.pypi_downloads) AS downloads, ` +
      `(SELECT cityHash64(groupArray(h)) FROM (SELECT cityHash64(*) AS h FROM \`${db}\`.pypi ORDER BY h)) AS content`,
  );
}

/** Runs with a fresh adapter (one per process, as two processes would). */
const runWith = (config: BackfillConfig, options: RunOptions = {}) => s.run(config, options);

beforeAll(async () => {
  s = await startScenario({ files: 20, rowsPerFile: 600, days: 2 });
}, 300_000);

afterAll(async () => {
  await s?.stop();
});

describe('the run lease', () => {
  it('of two runners of one configuration started together, one runs and the other stops at once naming it', async () => {
    await s.createGuideTables('twice');
    await s.loadLive('twice', range(0, 9));
    const config = s.config('twice');
    const before = await liveState('twice');
    const events: RunEvent[][] = [[], []];
    const results = await Promise.allSettled([
      runWith(config, { onEvent: (e) => events[0]!.push(e) }),
      runWith(config, { onEvent: (e) => events[1]!.push(e) }),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    const error = refused[0]!.reason as ShadowfillError;
    expect(error.code).toBe('JOURNAL_CONFLICT');
    expect(error.message).toMatch(
      new RegExp(
        `twice\\.pypi is being backfilled by another shadowfill process \\(pid ${process.pid} on .*\\) since \\d{4}-`,
      ),
    );
    expect(error.message.split('\n')).toHaveLength(1);
    // The refused runner changed nothing and started nothing.
    const loser = results[0]!.status === 'rejected' ? events[0]! : events[1]!;
    expect(loser.some((e) => e.type === 'run-started' || e.type === 'batch-started')).toBe(false);
    const total = s.rowsOf(range(0, 19));
    expect(await s.scalar('SELECT count() FROM twice.pypi')).toBe(total);
    expect(await s.scalar('SELECT sum(count) FROM twice.pypi_downloads')).toBe(total);
    expect(await leftovers('twice')).toEqual([]);
    expect(before).not.toEqual(await liveState('twice'));
  });

  it('a second runner that waits for the lease then finds the run finished, duplicating nothing', async () => {
    await s.createGuideTables('waits');
    const config = s.config('waits');
    const waited: RunEvent[] = [];
    let started!: () => void;
    const isStarted = new Promise<void>((resolve) => (started = resolve));
    const first = runWith(config, {
      onEvent: (e) => {
        if (e.type === 'run-started') started();
      },
    });
    await isStarted;
    const second = runWith(config, { lease: { wait: true }, onEvent: (e) => waited.push(e) }).catch(
      (e: unknown) => e,
    );
    await first;
    expect(((await second) as ShadowfillError).code).toBe('NOTHING_TO_DO');
    expect(waited.some((e) => e.type === 'lease-waiting')).toBe(true);
    expect(await s.scalar('SELECT count() FROM waits.pypi')).toBe(s.rowsOf(range(10, 19)));
    expect(await s.scalar('SELECT sum(count) FROM waits.pypi_downloads')).toBe(s.rowsOf(range(10, 19)));
  });

  it('takes over at once from a holder on this machine whose process died, and resumes its run', async () => {
    await s.createGuideTables('dead');
    const config = s.config('dead');
    // A run that stops after batch 1 (its process is still this one: the lease is released on the way out).
    const crash = await runWith(config, {
      onEvent: (e) => {
        if (e.type === 'batch-committed' && e.batch === 0) throw new Error('simulated crash');
      },
    }).catch((e: unknown) => e);
    expect((crash as Error).message).toContain('simulated crash');
    // The lease as a killed process leaves it: held, not expired, by a pid that no longer exists.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(child.stdout.toString());
    const adapter = new ClickHouseAdapter(config, new ChdbDriver(s.chDir));
    const key = tableLeaseKey('clickhouse', 'dead', 'pypi');
    const held = await adapter.lease.compareAndSet(key, 0, { ...claimant(), pid: deadPid }, 3_600_000);
    expect(held?.expired).toBe(false);
    const events: RunEvent[] = [];
    const report = await runWith(config, { onEvent: (e) => events.push(e) });
    await adapter.close();
    expect(report.resumed).toBe(true);
    expect(events.find((e) => e.type === 'lease-taken-over')).toMatchObject({
      from: expect.stringContaining(`pid ${deadPid}`),
    });
    expect(await s.scalar('SELECT count() FROM dead.pypi')).toBe(s.rowsOf(range(10, 19)));
    expect(await leftovers('dead')).toEqual([]);
  });

  it('takes over an expired lease of a live holder elsewhere; the old holder stops before its next step', async () => {
    await s.createGuideTables('expired');
    const config = s.config('expired');
    // Runner A is cut off from the database in the middle of a step (a network partition): its heartbeats do
    // not arrive, and its lease (400 ms) expires while its process lives on.
    let partitioned = false;
    let heal!: () => void;
    const healed = new Promise<void>((resolve) => (heal = resolve));
    let stalled!: () => void;
    const isStalled = new Promise<void>((resolve) => (stalled = resolve));
    const inner = new ClickHouseAdapter(config, new ChdbDriver(s.chDir));
    const lease: LeaseStore = {
      ...inner.lease,
      renew: async (...args) => {
        if (partitioned) await healed;
        return inner.lease.renew(...args);
      },
    };
    const a = new Proxy(inner, {
      get(target, property) {
        if (property === 'lease') return lease;
        if (property === 'prepareBatch') {
          return async (run: RunContext, batch: BatchSpec) => {
            if (batch.index === 1 && !partitioned) {
              partitioned = true;
              stalled();
              await healed;
            }
            return (target as TargetAdapter).prepareBatch(run, batch);
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await a.connect();
    const aResult = runBackfill(config, a, { lease: { ttlMs: 400 } }).catch((e: unknown) => e);
    await isStalled;
    await new Promise((resolve) => setTimeout(resolve, 600));
    // B finds A's lease expired (A's pid is alive: only the expiry lets B in) and continues A's run.
    const b = await runWith(config);
    heal();
    const error = await aResult;
    await a.close();
    expect(b.resumed).toBe(true);
    expect((error as ShadowfillError).code).toBe('JOURNAL_CONFLICT');
    expect((error as Error).message).toMatch(/this process lost its lease on expired\.pypi/);
    expect(await s.scalar('SELECT count() FROM expired.pypi')).toBe(s.rowsOf(range(10, 19)));
    expect(await s.scalar('SELECT sum(count) FROM expired.pypi_downloads')).toBe(s.rowsOf(range(10, 19)));
    expect(await leftovers('expired')).toEqual([]);
  });
});

describe('verification of everything that is swapped', () => {
  it('refuses to commit a batch whose view-target landing does not match its view, then retries it', async () => {
    await s.createGuideTables('vlanding');
    let tampered = false;
    const events: RunEvent[] = [];
    // One worker: the tampered landing below is the default lane's, the one batch 2 is verified in.
    const report = await runWith(s.config('vlanding', { attempts: 2, workers: 1 }), {
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'batch-loaded' && e.batch === 1 && !tampered) {
          tampered = true;
          // Something writes into the view target's landing behind the run's back (the other process of
          // issue 7, or a stray view): the source landing still has exactly the batch's rows.
          void s.driver.command(
            'INSERT INTO vlanding.pypi_downloads_v2_' +
              `${(events.find((x) => x.type === 'run-started') as { runId: string }).runId}_landing VALUES ('numpy', 1000)`,
          );
        }
      },
    });
    const failed = events.filter((e) => e.type === 'batch-failed');
    expect(failed).toHaveLength(1);
    expect((failed[0] as { error: string }).error).toMatch(
      /the landing of view target vlanding\.pypi_downloads does not match its views/,
    );
    expect(report.retries).toBe(1);
    expect(await s.scalar('SELECT sum(count) FROM vlanding.pypi_downloads')).toBe(s.rowsOf(range(10, 19)));
    const checks = report.checks ?? [];
    expect(checks.find((c) => c.table === 'vlanding.pypi_downloads' && c.scope === 'shadow')).toMatchObject({
      ok: true,
      exact: true,
      method: expect.stringContaining('sum(`count`)'),
    });
    expect(checks.find((c) => c.table === 'vlanding.pypi_downloads' && c.scope === 'batch')).toBeDefined();
    expect(checks.find((c) => c.table === 'vlanding.pypi' && c.scope === 'shadow')).toMatchObject({
      ok: true,
    });
  });

  it('refuses to swap a view-target shadow that does not match its view over the shadow source', async () => {
    await s.createGuideTables('vshadow');
    await s.loadLive('vshadow', range(0, 9));
    const before = await liveState('vshadow');
    const crash = await runWith(s.config('vshadow'), {
      onEvent: (e) => {
        if (e.type === 'batch-committed' && e.batch === 2) throw new Error('simulated crash before the swap');
      },
    }).catch((e: unknown) => e);
    expect((crash as Error).message).toContain('simulated crash');
    const [shadow] = await s.driver.query<{ name: string }>(
      "SELECT name FROM system.tables WHERE database = 'vshadow' AND name LIKE 'pypi\\_downloads\\_v2\\_%' AND name NOT LIKE '%landing'",
    );
    // A batch's view rows lost from the shadow of the view target (the source's shadow is intact).
    await s.driver.command(
      `ALTER TABLE vshadow.\`${shadow!.name}\` DELETE WHERE project = 'numpy' SETTINGS mutations_sync = 2`,
    );
    const error = await runWith(s.config('vshadow')).catch((e: unknown) => e);
    expect((error as ShadowfillError).code).toBe('VERIFY_FAILED');
    expect((error as Error).message).toMatch(
      /the shadow of view target vshadow\.pypi_downloads does not match its views .*nothing was swapped/,
    );
    expect(await liveState('vshadow')).toEqual(before);
  });

  it('reconciles a chain of views and an aggregating target exactly, a plain target row by row', async () => {
    await s.createGuideTables('chain', { partitionBy: 'toYYYYMMDD(timestamp)' });
    await s.driver.command(
      'CREATE TABLE chain.by_country (country_code String, c AggregateFunction(count), p AggregateFunction(uniqExact, String)) ENGINE = AggregatingMergeTree ORDER BY country_code',
    );
    await s.driver.command(
      'CREATE MATERIALIZED VIEW chain.by_country_mv TO chain.by_country AS SELECT country_code, countState() AS c, uniqExactState(project) AS p FROM chain.pypi GROUP BY country_code',
    );
    // A view reading a view target (chained), and a row-wise view into a plain MergeTree.
    await s.driver.command(
      'CREATE TABLE chain.big_projects (project String, count Int64) ENGINE = SummingMergeTree ORDER BY project',
    );
    await s.driver.command(
      'CREATE MATERIALIZED VIEW chain.big_projects_mv TO chain.big_projects AS SELECT project, count FROM chain.pypi_downloads WHERE count > 3',
    );
    await s.driver.command(
      'CREATE TABLE chain.versions (project String, version String, day Date) ENGINE = MergeTree ORDER BY (project, version)',
    );
    await s.driver.command(
      'CREATE MATERIALIZED VIEW chain.versions_mv TO chain.versions AS SELECT project, version, toDate(timestamp) AS day FROM chain.pypi',
    );
    const report = await runWith(s.config('chain'));
    const shadow = new Map(
      (report.checks ?? []).filter((c) => c.scope === 'shadow').map((c) => [c.table, c]),
    );
    expect(shadow.get('chain.by_country')).toMatchObject({ ok: true, exact: true });
    expect(shadow.get('chain.by_country')?.method).toContain('countMerge(`c`), uniqExactMerge(`p`)');
    expect(shadow.get('chain.big_projects')).toMatchObject({ ok: true, exact: true });
    expect(shadow.get('chain.versions')).toMatchObject({ ok: true, exact: true });
    expect(shadow.get('chain.versions')?.method).toMatch(/^every row/);
    expect(await s.scalar('SELECT count() FROM chain.versions')).toBe(s.rowsOf(range(10, 19)));
    expect(await s.scalar('SELECT countMerge(c) FROM chain.by_country')).toBe(s.rowsOf(range(10, 19)));
  });
});

describe('abandoning a run', () => {
  it('abandon drops every object of the run, journals it, and the next run starts afresh', async () => {
    await s.createGuideTables('gone');
    await s.loadLive('gone', range(0, 9));
    const before = await liveState('gone');
    const config = s.config('gone', { workers: 2 });
    // Two lanes: batch 1 may commit before or after batch 0, and the other lane may finish its
    // commit while the crash unwinds. Every commit announced is one the journal holds.
    let announced = 0;
    await runWith(config, {
      onEvent: (e) => {
        if (e.type !== 'batch-committed') return;
        announced += 1;
        if (e.batch === 1) throw new Error('simulated crash');
      },
    }).catch(() => undefined);
    expect(announced).toBeGreaterThanOrEqual(1);
    // 2 shadows; 2 lanes with 2 landings and 1 shadow view each.
    expect((await leftovers('gone')).length).toBe(8);
    const adapter = new ClickHouseAdapter(config, new ChdbDriver(s.chDir));
    await adapter.connect();
    const events: RunEvent[] = [];
    const result = await abandonRun(config, adapter, { onEvent: (e) => events.push(e) });
    expect(result.abandoned).toHaveLength(1);
    expect(result.abandoned[0]).toMatchObject({ committedBatches: announced, batches: 3 });
    expect(events.map((e) => e.type)).toContain('run-abandoned');
    expect(await leftovers('gone')).toEqual([]);
    expect(await liveState('gone')).toEqual(before);
    // Nothing left to abandon.
    await expect(abandonRun(config, adapter)).rejects.toMatchObject({ code: 'NOTHING_TO_DO' });
    await adapter.close();
    const report = await runWith(config);
    expect(report.resumed).toBe(false);
    expect(await s.scalar('SELECT count() FROM gone.pypi')).toBe(s.rowsOf(range(0, 19)));
  });

  it('--new-run abandons the unfinished run first; a run that began its swap is never abandoned', async () => {
    await s.createGuideTables('again', { partitionBy: 'toYYYYMMDD(timestamp)' });
    const config = s.config('again', { batch: { files: 5, bytes: 1e12 } });
    await runWith(config, {
      onEvent: (e) => {
        if (e.type === 'batch-committed') throw new Error('simulated crash');
      },
    }).catch(() => undefined);
    const first = await leftovers('again');
    const report = await runWith(config, { newRun: true });
    expect(report.resumed).toBe(false);
    expect(await leftovers('again')).toEqual([]);
    expect(first.length).toBeGreaterThan(0);
    expect(await s.scalar('SELECT count() FROM again.pypi')).toBe(s.rowsOf(range(10, 19)));

    // A run interrupted mid-swap: --new-run and abandon refuse, and say how to finish it.
    let moves = 0;
    await runWith(config, {
      newRun: true,
      onEvent: (e) => {
        if (e.type === 'swap-unit-done' && ++moves === 1) throw new Error('simulated crash mid-swap');
      },
    }).catch(() => undefined);
    const refused = await runWith(config, { newRun: true }).catch((e: unknown) => e);
    expect((refused as ShadowfillError).code).toBe('JOURNAL_CONFLICT');
    expect((refused as Error).message).toMatch(
      /began swapping .* finish it by running the same command without --new-run/,
    );
    const adapter = new ClickHouseAdapter(config, new ChdbDriver(s.chDir));
    await adapter.connect();
    await expect(abandonRun(config, adapter)).rejects.toMatchObject({ code: 'JOURNAL_CONFLICT' });
    await adapter.close();
    await runWith(config);
    expect(await s.scalar('SELECT count() FROM again.pypi')).toBe(2 * s.rowsOf(range(10, 19)));
    expect(await leftovers('again')).toEqual([]);
  });

  it('a corrupt object removed mid-run: the advice names --new-run, which completes without it', async () => {
    await s.driver.command('CREATE DATABASE removed');
    await s.driver.command(
      `CREATE TABLE removed.pypi (${PYPI_STRUCTURE.replace('timestamp DateTime', "timestamp DateTime64(3, 'UTC')")}) ENGINE = MergeTree ORDER BY project`,
    );
    const key = s.file(15).key.replace(/015\.parquet$/, '115.parquet');
    const good = await import('node:fs/promises').then((fs) => fs.readFile(s.file(15).path));
    const bad = Buffer.from(good);
    for (let i = 4; i < Math.floor(bad.length * 0.6); i += 7) bad[i] = (bad[i]! * 31 + 17) & 0xff;
    await s.put(key, bad);
    const config = s.config('removed', { url: `s3://${BUCKET}/${ANY_DAY}{0,1}1?.parquet`, attempts: 1 });
    const error = (await runWith(config).catch((e: unknown) => e)) as ShadowfillError;
    expect(error.code).toBe('SOURCE_CORRUPT');
    expect(error.message).toMatch(
      /replace the object and run the same command to resume run \w+, or remove it and run with --new-run to abandon run \w+ and start over without it$/,
    );
    // The user removes the object: resuming cannot load it, and says what works.
    await import('@aws-sdk/client-s3').then(async ({ DeleteObjectCommand, S3Client }) => {
      const client = new S3Client({
        endpoint: s.s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: s.s3.accessKeyId, secretAccessKey: s.s3.secretAccessKey },
      });
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      client.destroy();
    });
    const vanished = (await runWith(config).catch((e: unknown) => e)) as ShadowfillError;
    expect(vanished.code).toBe('SOURCE_EMPTY');
    expect(vanished.message).toMatch(
      /run with --new-run to abandon run \w+ and start over with the objects that exist now$/,
    );
    const report = await runWith(config, { newRun: true });
    expect(report.objects).toBe(10);
    expect(await s.scalar('SELECT count() FROM removed.pypi')).toBe(s.rowsOf(range(10, 19)));
    expect(await leftovers('removed')).toEqual([]);
  });
});

describe('validation that catches what will fail', () => {
  it('probes a text column loaded into UInt64 before any DDL, naming column, a value and the object', async () => {
    await s.driver.command('CREATE DATABASE casts');
    await s.driver.command(
      'CREATE TABLE casts.t (id UInt64, label String, small UInt8) ENGINE = MergeTree ORDER BY id',
    );
    const dir = join(s.root, 'casts');
    const write = (name: string, rows: string) =>
      s.driver.command(
        `INSERT INTO FUNCTION file(${quoteString(join(dir, name))}, 'Parquet', 'id String, label String, small Int64') ` +
          `SELECT * FROM values('id String, label String, small Int64', ${rows})`,
      );
    const { readFile } = await import('node:fs/promises');
    await write('a.parquet', "('1', 'x', 1), ('2', 'y', 2)");
    await write('b.parquet', "('3', 'z', 3), ('n/a', 'w', 4)");
    await write('c.parquet', "('5', 'v', 300)");
    await write('d.parquet', "('6', 'u', 6)");
    for (const n of ['a', 'b', 'c', 'd'])
      await s.put(`casts/${n}.parquet`, await readFile(join(dir, `${n}.parquet`)));
    const tables = async () =>
      s.driver.query<{ name: string }>(
        "SELECT name FROM system.tables WHERE database = 'casts' ORDER BY name",
      );
    const before = await tables();
    const config = (url: string, load: 'server' | 'client' = 'server') =>
      s.config('casts', {
        target: { ...s.config('casts').target, table: 't' },
        url: `s3://${BUCKET}/casts/${url}`,
        load,
      });
    const error = (await runWith(config('{a,b}.parquet')).catch((e: unknown) => e)) as ShadowfillError;
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toBe(
      `column id: 1 value of the source cannot be stored as UInt64 in casts.t without failing or changing, e.g. "n/a" in s3://${BUCKET}/casts/b.parquet`,
    );
    // Narrowing: 300 does not fit UInt8 (ClickHouse would store 44 without a word).
    const narrow = (await runWith(config('{a,c}.parquet')).catch((e: unknown) => e)) as ShadowfillError;
    expect(narrow.message).toMatch(
      /^column small: 1 value of the source cannot be stored as UInt8 .* e\.g\. "300" in s3:\/\/.*c\.parquet$/,
    );
    expect(await tables()).toEqual(before);
    // A bad value in an object between the first and the last: validation probes those two; the load's own read
    // checks every value (a guard in its INSERT … SELECT) and stops before anything of the batch is kept.
    const middle = config('{a,b,d}.parquet');
    const late = (await runWith(middle).catch((e: unknown) => e)) as ShadowfillError;
    expect(late.code).toBe('SCHEMA_MISMATCH');
    expect(late.message).toMatch(
      /^column id: 1 value of the batch cannot be stored as UInt64 in casts\.t .* e\.g\. "n\/a" in s3:\/\/.*casts\/b\.parquet — fix those values .* --new-run/,
    );
    expect(await s.scalar('SELECT count() FROM casts.t')).toBe(0);
    const adapter = new ClickHouseAdapter(middle, new ChdbDriver(s.chDir));
    await adapter.connect();
    await abandonRun(middle, adapter);
    await adapter.close();
    // Everything of the run is gone (the journal stays: it says the run was abandoned).
    expect((await tables()).filter((t) => t.name !== 'shadowfill_journal')).toEqual(before);
    // load: client, where the server does not read the objects: the load itself names column, value and object.
    const client = (await runWith(config('b.parquet', 'client')).catch((e: unknown) => e)) as ShadowfillError;
    expect(client.code).toBe('SCHEMA_MISMATCH');
    expect(client.message).not.toMatch(/could not be read as Parquet|corrupt/);
    expect(client.message).toMatch(/column id.*"n\/a".*casts\/b\.parquet.*casts\.t/);
    expect(client.message).toMatch(/run with --new-run/);
    const fine = await runWith(config('a.parquet'));
    expect(fine.rowsLoaded).toBe(2);
  });

  it('compares each object with the table: what the table has and what the object has', async () => {
    await s.driver.command('CREATE DATABASE shapes');
    await s.driver.command('CREATE TABLE shapes.t (id UInt64, temp Float64) ENGINE = MergeTree ORDER BY id');
    const dir = join(s.root, 'shapes');
    const { readFile } = await import('node:fs/promises');
    await s.driver.command(
      `INSERT INTO FUNCTION file(${quoteString(join(dir, 'day10.parquet'))}, 'Parquet', 'id UInt64, temp Float64') SELECT 1, 2.5`,
    );
    await s.driver.command(
      `INSERT INTO FUNCTION file(${quoteString(join(dir, 'day11.parquet'))}, 'Parquet', 'id UInt64, temp Float64, humidity_extra Float64') SELECT 2, 3.5, 0.4`,
    );
    for (const n of ['day10', 'day11'])
      await s.put(`shapes/${n}.parquet`, await readFile(join(dir, `${n}.parquet`)));
    const config = s.config('shapes', {
      target: { ...s.config('shapes').target, table: 't' },
      url: `s3://${BUCKET}/shapes/*.parquet`,
    });
    const error = (await runWith(config).catch((e: unknown) => e)) as ShadowfillError;
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toMatch(
      new RegExp(
        `^column humidity_extra \\(DOUBLE\\) of s3://${BUCKET}/shapes/day11\\.parquet has no column in shapes\\.t`,
      ),
    );
    expect(error.message).not.toMatch(/than s3:/);
  });

  it('a database whose name contains a dot: views re-pointed by structure, nothing left behind', async () => {
    await s.createGuideTables('my.db', { partitionBy: 'toYYYYMMDD(timestamp)' });
    const report = await runWith(s.config('my.db'));
    expect(report.rowsLoaded).toBe(s.rowsOf(range(10, 19)));
    expect(await s.scalar('SELECT sum(count) FROM `my.db`.pypi_downloads')).toBe(s.rowsOf(range(10, 19)));
    expect(await leftovers('my.db')).toEqual([]);
  });
});
