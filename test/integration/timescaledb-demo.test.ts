/**
 * `shadowfill demo --target timescaledb` as a user runs it: the CLI in a child process (bin/shadowfill.js) with a
 * small `--rows`, once with the text report and once with `--json`. It must exit 0 and print a verification in
 * which every check read back from the database is OK; with --json, every stdout line is a JSON object.
 * The same demo on a real TimescaleDB server (its `url` option, what `--target.url postgres://…` passes): twice
 * (the second run replaces the first's schema), and refused where a schema of its name is not its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SCHEMA, runTimescaleDemo } from '../../demo/timescaledb.ts';
import { ensureBuilt } from '../support/build.ts';
import { startTestPostgres } from '../support/postgres-server.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'shadowfill-tsdb-demo-'));

beforeAll(ensureBuilt, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

function demo(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(repo, 'bin/shadowfill.js'), 'demo', '--target', 'timescaledb', ...args],
      {
        cwd: repo,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('shadowfill demo --target timescaledb', () => {
  it('backfills compressed chunks, uncompressed chunks and a gap, and verifies the result', async () => {
    const { code, stdout, stderr } = await demo(['--rows', '200', '--dir', join(root, 'text')]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^demo verification: OK$/m);
    expect(stdout).not.toContain('MISMATCH');
    // 120 files × 200 rows; the backfill brings 30 of them.
    expect(stdout).toMatch(/rows: all files have 24,000 rows; count\(\*\) of pypi = 24,000 → OK/);
    // The report counts only the backfilled range (days 6 to the first file of day 26, from the footers).
    expect(stdout).toMatch(/public\.pypi(?: \([^)]*\))?: rows 10,200 → 16,200 \(\+6,000\)/);
    expect(stdout).toMatch(/continuous aggregate pypi_daily: [\d,]+ \(day, project\) rows, 0 differ/);
    expect(stdout).toMatch(/compressed chunks: (\d+) before, \1 of them fully compressed after/);
    expect(stdout).toMatch(/compression policy job \d+: scheduled before true, after true → OK/);
  }, 300_000);

  it('with --json prints only JSON lines on stdout, ending with an OK verification', async () => {
    const { code, stdout, stderr } = await demo(['--rows', '100', '--dir', join(root, 'json'), '--json']);
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    const objects = lines.map((line) => JSON.parse(line) as { type: string } & Record<string, unknown>);
    expect(objects.some((o) => o.type === 'run-started')).toBe(true);
    expect(objects.some((o) => o.type === 'swap-unit-done')).toBe(true);
    const report = objects.find((o) => o.type === 'report') as unknown as {
      verification: { verdict: string };
    };
    expect(report.verification.verdict).toBe('OK');
    const verification = objects.at(-1)!;
    expect(verification).toMatchObject({
      type: 'demo-verification',
      target: 'timescaledb',
      totalRows: 12_000,
      hypertableRows: 12_000,
      aggregateDifferences: 0,
      policyScheduledAfter: true,
      stagingTablesLeft: 0,
      ok: true,
    });
    expect(verification.compressedAfter).toBe(verification.compressedBefore);
    expect(verification.outsideRangeUntouched).toBe(verification.outsideRange);
  }, 300_000);
});

describe('the TimescaleDB demo on a real server (url)', () => {
  it('runs in its own schema, verified, twice; refuses a schema of its name it did not create', async () => {
    const server = await startTestPostgres({ timescaledb: true });
    const sql = new pg.Client({ connectionString: server.url });
    await sql.connect();
    try {
      const lines: string[] = [];
      for (const round of [1, 2]) {
        const { report, verification } = await runTimescaleDemo({
          dir: join(root, `real-${round}`),
          url: server.url,
          rows: 50,
          log: (line) => lines.push(line),
        });
        expect(verification, JSON.stringify(verification)).toMatchObject({
          totalRows: 6000,
          hypertableRows: 6000,
          aggregateDifferences: 0,
          ok: true,
        });
        expect(report.table).toBe(`${DEMO_SCHEMA}.pypi`);
      }
      expect(lines.join('\n')).toMatch(
        /TimescaleDB 2\.28\.\d+ on PostgreSQL 15\.\d+.* at postgres:\/\/127\.0\.0\.1:\d+\/postgres, schema shadowfill_demo/,
      );
      const outside = await sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_tables WHERE schemaname = 'public'`,
      );
      expect(outside.rows[0]!.n).toBe('0'); // nothing outside its schema

      await sql.query(`DROP SCHEMA ${DEMO_SCHEMA} CASCADE`);
      await sql.query(`CREATE SCHEMA ${DEMO_SCHEMA}`);
      await sql.query(`CREATE TABLE ${DEMO_SCHEMA}.mine (x int)`);
      const error = await runTimescaleDemo({
        dir: join(root, 'real-3'),
        url: server.url,
        rows: 50,
        log: () => undefined,
      }).catch((e: unknown) => e);
      expect((error as Error).message).toBe(
        'schema shadowfill_demo already exists and was not created by the demo: the demo will not touch it — drop it yourself or point --target.url at another database',
      );
      const mine = await sql.query(`SELECT count(*) FROM ${DEMO_SCHEMA}.mine`);
      expect(mine.rows).toHaveLength(1);
    } finally {
      await sql.end();
      await server.stop();
    }
  }, 600_000);
});
