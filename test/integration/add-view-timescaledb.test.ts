/**
 * add-view on the real TimescaleDB server (2.28, `startTestPostgres({ timescaledb: true })`): a continuous
 * aggregate added to a live hypertable with compressed chunks while rows keep arriving, refreshed window by
 * window and then equal to its SELECT over the whole hypertable; plan changes nothing; bad input is one line
 * and creates nothing; an engine killed (SIGKILL) mid-window is finished by the next add-view.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planAddView } from '../../src/addview/plan.ts';
import { createViewAdapter } from '../../src/addview/registry.ts';
import { runCli } from '../../src/cli/main.ts';
import type { AddViewEvent } from '../../src/addview/events.ts';
import { leaseKeyOf } from '../../src/addview/lease.ts';
import { ConfigError, JournalError } from '../../src/errors.ts';
import { tableLeaseKey } from '../../src/journal/lease.ts';
import { acquireLease } from '../../src/runner/lease.ts';
import { failure, liveInserter, runAddView, viewConfig } from '../support/add-view.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres-server.ts';

const require = createRequire(import.meta.url);
const repo = join(import.meta.dirname, '..', '..');
let server: TestPostgres;
let sql: pg.Client;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'shadowfill-addview-ts-'));
  server = await startTestPostgres({ timescaledb: true });
  sql = new pg.Client({ connectionString: server.url });
  await sql.connect();
  await sql.query("SET TimeZone = 'UTC'");
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
  rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

const HOURLY =
  "SELECT time_bucket('1 hour', timestamp) AS hour, project, count(*) AS downloads, sum(size) AS bytes FROM pypi GROUP BY 1, 2";

/** A live hypertable in `schema`: `days` days of history, old chunks compressed under a compression policy. */
async function livePypi(schema: string, days = 5): Promise<void> {
  await sql.query(`CREATE SCHEMA ${schema}`);
  await sql.query(`CREATE TABLE ${schema}.pypi (timestamp timestamptz NOT NULL, project text, size bigint)`);
  await sql.query(
    `SELECT create_hypertable('${schema}.pypi', 'timestamp', chunk_time_interval => INTERVAL '1 day')`,
  );
  await sql.query(
    `INSERT INTO ${schema}.pypi SELECT now() - INTERVAL '${days} days' + g * INTERVAL '37 seconds', 'project-' || (g % 20), g % 1000
       FROM generate_series(0, ${Math.floor((days * 86400) / 37)}) g`,
  );
  await sql.query(
    `ALTER TABLE ${schema}.pypi SET (timescaledb.compress, timescaledb.compress_segmentby = 'project')`,
  );
  await sql.query(`SELECT add_compression_policy('${schema}.pypi', INTERVAL '2 days')`);
  await sql.query(
    `SELECT compress_chunk(c) FROM show_chunks('${schema}.pypi', older_than => INTERVAL '2 days') c`,
  );
}

function viewTree(schema: string, extra: Record<string, unknown> = {}) {
  return {
    target: { kind: 'timescaledb', url: server.url, schema, table: 'pypi' },
    view: {
      name: 'pypi_hourly',
      select: HOURLY,
      window: '1 day',
      materialized_only: false,
      refresh_policy: { start_offset: '3 days', end_offset: '1 hour', schedule_interval: '30 minutes' },
      ...extra,
    },
  };
}

/** `shadowfill add-view --config <schema>.yaml --status`, in this process: its stdout. */
async function status(schema: string): Promise<string> {
  let out = '';
  const stdout = { write: (text: string) => ((out += text), true) } as unknown as NodeJS.WritableStream;
  const code = await runCli(['add-view', '--config', join(root, `${schema}.yaml`), '--status'], {
    stdout,
    stderr: process.stderr,
    env: {},
  });
  expect(code).toBe(0);
  return out;
}

/** Rows in which the aggregate and its SELECT over the whole hypertable differ (0 = equal). */
async function difference(schema: string): Promise<number> {
  const fresh = `SELECT time_bucket('1 hour', timestamp), project, count(*), sum(size) FROM ${schema}.pypi GROUP BY 1, 2`;
  const stored = `SELECT hour, project, downloads, bytes FROM ${schema}.pypi_hourly`;
  const { rows } = await sql.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM ((${fresh} EXCEPT ALL ${stored}) UNION ALL (${stored} EXCEPT ALL ${fresh})) d`,
  );
  return Number(rows[0]!.n);
}

/** The schema's tables and views, but the lease table: the engine's own, taken before anything is read (as by `run`). */
async function relations(schema: string): Promise<string[]> {
  const { rows } = await sql.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm') AND c.relname <> 'shadowfill_lease' ORDER BY 1`,
    [schema],
  );
  return rows.map((r) => r.name);
}

describe('add-view on TimescaleDB (server)', () => {
  it('plan prints the statements and changes nothing', async () => {
    await livePypi('ts_plan', 3);
    const before = await relations('ts_plan');
    const config = viewConfig(root, 'ts_plan', viewTree('ts_plan'));
    const adapter = await createViewAdapter(config);
    await adapter.connect();
    try {
      const plan = await planAddView(config, adapter);
      const text = plan.statements.map((s) => s.sql).join('\n');
      expect(text).toContain(
        'CREATE MATERIALIZED VIEW "ts_plan"."pypi_hourly" WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS SELECT',
      );
      expect(text).toContain('WITH NO DATA');
      expect(text).toContain(
        `CALL refresh_continuous_aggregate('"ts_plan"."pypi_hourly"', NULL::timestamp with time zone,`,
      );
      expect(text).toContain('add_continuous_aggregate_policy');
      expect(plan.windows.length).toBeGreaterThanOrEqual(3);
      // Window edges sit on the aggregate's bucket grid (whole hours).
      for (const w of plan.windows) expect(w.hi.value % 3_600_000_000n).toBe(0n);
    } finally {
      await adapter.close();
    }
    expect(await relations('ts_plan')).toEqual(before);
  });

  it('live ingestion during add-view: the aggregate equals its SELECT over the whole hypertable; the policy is added', async () => {
    await livePypi('ts_live');
    const live = new pg.Client({ connectionString: server.url });
    await live.connect();
    const inserter = liveInserter(async () => {
      await live.query(
        `INSERT INTO ts_live.pypi SELECT now(), 'live-' || (g % 3), 7 FROM generate_series(1, 25) g`,
      );
    });
    await new Promise((r) => setTimeout(r, 300));
    const report = await runAddView(viewConfig(root, 'ts_live', viewTree('ts_live')));
    await new Promise((r) => setTimeout(r, 500));
    expect(await inserter.stop()).toBeGreaterThan(3);
    await live.end();
    expect(report.reconciliation.ok).toBe(true);
    expect(report.reconciliation.recomputedWindows).toBe(3);
    expect(report.reconciliation.comparisons.map((c) => c.what)).toEqual([
      'rows',
      'sum(downloads)',
      'sum(bytes)',
    ]);
    expect(await difference('ts_live')).toBe(0);
    const { rows: jobs } = await sql.query<{ config: { start_offset: string; end_offset: string } }>(
      `SELECT config FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'ts_live'`,
    );
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.config).toMatchObject({ start_offset: '3 days', end_offset: '01:00:00' });
    // Compressed chunks stayed compressed (a refresh only reads them).
    const { rows: chunks } = await sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM timescaledb_information.chunks WHERE hypertable_schema = 'ts_live' AND is_compressed`,
    );
    expect(Number(chunks[0]!.n)).toBeGreaterThanOrEqual(3);
  });

  describe('bad input: one line each, nothing created', () => {
    beforeAll(async () => {
      await livePypi('ts_bad', 2);
      await sql.query(`CREATE VIEW ts_bad.pypi_plain AS SELECT * FROM ts_bad.pypi`);
    });
    const cases: [string, string, RegExp][] = [
      [
        'a SELECT that does not parse',
        "SELEC time_bucket('1 hour', timestamp) AS hour, count(*) FROM pypi GROUP BY 1",
        /^view\.select does not parse: syntax error at or near "SELEC" \(position 1\) — fix view\.select$/,
      ],
      [
        'a missing column',
        "SELECT time_bucket('1 hour', ts) AS hour, count(*) AS n FROM pypi GROUP BY 1",
        /^view\.select: column "ts" does not exist \(position \d+\)/,
      ],
      [
        'a SELECT reading through a plain view',
        "SELECT time_bucket('1 hour', timestamp) AS hour, count(*) AS n FROM pypi_plain GROUP BY 1",
        /^view\.select reads plain view ts_bad\.pypi_plain, which is refused: a continuous aggregate must read its hypertable/,
      ],
      [
        'a SELECT that is no continuous aggregate',
        'SELECT project, count(*) AS n FROM pypi GROUP BY 1',
        /^view\.select cannot be a continuous aggregate: continuous aggregate view must include a valid time bucket function/,
      ],
    ];
    for (const [name, select, message] of cases) {
      it(name, async () => {
        const before = await relations('ts_bad');
        const error = await failure(() =>
          runAddView(viewConfig(root, 'ts_bad', viewTree('ts_bad', { select }))),
        );
        expect(error).toBeInstanceOf(ConfigError);
        expect(error.message).toMatch(message);
        expect(error.message).not.toContain('\n');
        expect(await relations('ts_bad')).toEqual(before);
      });
    }
  });

  it('a second add-view of the view is refused while another process holds its lease; a run of the table is not', async () => {
    await livePypi('ts_lease', 2);
    const config = viewConfig(root, 'ts_lease', viewTree('ts_lease'));
    const adapter = await createViewAdapter(config);
    await adapter.connect();
    try {
      // Another process's add-view of this view (its lease), and a backfill of the source table (the table's).
      const other = await acquireLease(adapter.lease, leaseKeyOf(config), 'view ts_lease.pypi_hourly');
      const table = await acquireLease(
        adapter.lease,
        tableLeaseKey('timescaledb', 'ts_lease', 'pypi'),
        'ts_lease.pypi',
      );
      const before = await relations('ts_lease');
      const refused = await failure(() => runAddView(config));
      expect(refused).toBeInstanceOf(JournalError);
      expect(refused.message).toMatch(
        /^view ts_lease\.pypi_hourly is being backfilled by another shadowfill process \(pid \d+ on \S+\) since .* — nothing was changed/,
      );
      expect(await relations('ts_lease')).toEqual(before);
      // `add-view --status` names the holder, and changes nothing either.
      expect(await status('ts_lease')).toMatch(
        /^pid \d+ on \S+ holds the lease of ts_lease\.pypi_hourly since \S+, last heartbeat \S+\nno add-view of ts_lease\.pypi_hourly in the journal yet\n$/,
      );
      // With --wait it goes on once the other process lets go; the table's lease never stood in its way.
      const waiting = runAddView(config, { lease: { wait: true } });
      await new Promise((r) => setTimeout(r, 700));
      await other.release();
      const report = await waiting;
      expect(report.reconciliation.ok).toBe(true);
      expect(await difference('ts_lease')).toBe(0);
      expect(await status('ts_lease')).toMatch(
        /^run \S+ adding ts_lease\.pypi_hourly started \S+: finished \S+\n {2}windows: (\d+) committed, 0 verified, 0 pending of \1 /,
      );
      await table.release();
    } finally {
      await adapter.close();
    }
  });

  it('killed (SIGKILL) in the middle of a window: the next add-view finishes the same run', async () => {
    await livePypi('ts_kill', 6);
    const file = join(root, 'ts_kill.yaml');
    viewConfig(root, 'ts_kill', viewTree('ts_kill'));
    // The real command line, killed with SIGKILL when the fourth window starts.
    const child = spawn(
      process.execPath,
      [
        '--import',
        pathToFileURL(require.resolve('tsx')).href,
        join(repo, 'src/cli/bin.ts'),
        'add-view',
        '--config',
        file,
        '--json',
      ],
      { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const event = JSON.parse(line) as { type: string; window?: number };
        if (event.type === 'window-started' && event.window === 3) child.kill('SIGKILL');
      });
      child.once('exit', (code, signal) =>
        signal === 'SIGKILL'
          ? resolve()
          : reject(new Error(`child exited (${code}) before it was killed: ${stderr}`)),
      );
    });
    expect(await relations('ts_kill')).toContain('pypi_hourly');
    // The killed process's lease is still there: the next add-view takes it over (its holder is gone).
    const events: AddViewEvent[] = [];
    const report = await runAddView(viewConfig(root, 'ts_kill', viewTree('ts_kill')), { events });
    expect(events[0]).toMatchObject({ type: 'lease-taken-over' });
    expect(report.resumed).toBe(true);
    expect(report.windowsThisRun).toBeLessThan(report.windows);
    expect(report.reconciliation.ok).toBe(true);
    expect(await difference('ts_kill')).toBe(0);
  });
});
