/**
 * Exactly once on the real TimescaleDB server (2.28, `startTestPostgres({ timescaledb: true })`): two CLI
 * processes of one configuration (the second joins the first's run), a run abandoned with its compression policy left paused, and a corrupt object
 * removed mid-run then `--new-run`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTimescaleAdapter } from '../../adapters/timescaledb/index.ts';
import type { SwapState, TargetAdapter } from '../../src/adapter/contract.ts';
import { defineConfig } from '../../src/config/define.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import type { ShadowfillError } from '../../src/errors.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { abandonRun } from '../../src/runner/abandon.ts';
import { runBackfill, type RunOptions } from '../../src/runner/run.ts';
import { generatePypiParquet, type GeneratedFile } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { startTestPostgres, type TestPostgres } from '../support/postgres-server.ts';

const repo = join(import.meta.dirname, '..', '..');
let root: string;
let server: TestPostgres;
let s3: LocalS3Server;
let files: GeneratedFile[];
let sql: pg.Client;
let client: S3Client;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shadowfill-tsdb-exact-'));
  server = await startTestPostgres({ timescaledb: true });
  s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['exact'] });
  files = [
    ...(
      await generatePypiParquet({
        dir: join(root, 'parquet'),
        files: [0, 1, 2, 3, 4, 5, 6, 7],
        rowsPerFile: 5000,
        days: 4,
        filesPerDay: 2,
        rowGroupRows: 2500,
      })
    ).files,
  ];
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  await uploadDirectory(s3.endpoint, 'exact', join(root, 'parquet'), credentials);
  client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  sql = new pg.Client({ connectionString: server.url });
  await sql.connect();
}, 300_000);

afterAll(async () => {
  await sql?.end();
  client?.destroy();
  await s3?.stop();
  await server?.stop();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

const total = (list: readonly GeneratedFile[]) => list.reduce((n, f) => n + f.rows, 0);

/** A compressed hypertable with a scheduled compression policy. */
async function createTable(table: string): Promise<void> {
  await sql.query(
    `CREATE TABLE ${table} (timestamp timestamptz NOT NULL, country_code text, project text, type text, installer text,
       python_minor text, system text, version text)`,
  );
  await sql.query(`SELECT create_hypertable('${table}', by_range('timestamp', INTERVAL '1 day'))`);
  await sql.query(
    `ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'project', timescaledb.compress_orderby = 'timestamp DESC')`,
  );
  await sql.query(`SELECT add_compression_policy('${table}', INTERVAL '100 years')`);
}

async function tableState(table: string) {
  const rows = await sql.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`);
  const policy = await sql.query<{ scheduled: boolean }>(
    `SELECT scheduled FROM timescaledb_information.jobs WHERE hypertable_name = $1 AND proc_name = 'policy_compression'`,
    [table],
  );
  const leftovers = await sql.query<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE $1 ORDER BY 1`,
    [`${table}\\_v2\\_%`],
  );
  return {
    rows: Number(rows.rows[0]!.n),
    scheduled: policy.rows[0]?.scheduled,
    leftovers: leftovers.rows.map((r) => r.relname),
  };
}

function config(table: string, extra: Partial<BackfillConfig> & { url?: string } = {}): BackfillConfig {
  const { url, ...rest } = extra;
  return defineConfig({
    target: { kind: 'timescaledb', url: server.url, table },
    source: {
      url: url ?? 's3://exact/pypi/*/*.parquet',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    },
    batch: { files: 1, bytes: 1e12 },
    attempts: 1,
    ...rest,
  });
}

async function run(c: BackfillConfig, options: RunOptions = {}, wrap?: (a: TargetAdapter) => TargetAdapter) {
  const inner = createTimescaleAdapter(c);
  const adapter = wrap ? wrap(inner) : inner;
  await adapter.connect();
  try {
    return await runBackfill(c, adapter, options);
  } finally {
    await adapter.close();
  }
}

async function writeConfig(table: string): Promise<string> {
  const file = join(root, `${table}.yaml`);
  await writeFile(
    file,
    [
      'target:',
      '  kind: timescaledb',
      `  url: '${server.url}'`,
      `  table: ${table}`,
      'source:',
      "  url: 's3://exact/pypi/*/*.parquet'",
      `  endpoint: '${s3.endpoint}'`,
      `  access_key_id: ${s3.accessKeyId}`,
      `  secret_access_key: ${s3.secretAccessKey}`,
      'batch:',
      '  files: 1',
      '',
    ].join('\n'),
  );
  return file;
}

interface Cli {
  readonly done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Resolves at the first stdout line satisfying `match`. */
  line(match: (line: string) => boolean): Promise<string>;
}

/** `npx tsx src/cli/bin.ts …` in a child process. */
function cli(args: readonly string[]): Cli {
  const child = spawn(
    process.execPath,
    [join(repo, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(repo, 'src/cli/bin.ts'), ...args],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const line of stdout.split('\n')) {
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return {
    done,
    line: (match) =>
      new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        void done.then(() => reject(new Error(`the CLI ended before printing the line: ${stderr}`)));
      }),
  };
}

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('error:'));

describe('two shadowfill processes of one configuration on a real TimescaleDB server', () => {
  it('the second, started while the first runs, joins its run and ends with it; no row is duplicated', async () => {
    await createTable('pair');
    const file = await writeConfig('pair');
    // Hold the first process in its swap (its INSERT into the hypertable waits for this lock), so the second
    // surely starts while the first runs, however slow the machine.
    const blocker = new pg.Client({ connectionString: server.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE pair IN SHARE MODE');
    const first = cli(['run', '--config', file, '--json']);
    await first.line((l) => l.includes('"type":"run-started"'));
    for (;;) {
      const waiting = await sql.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()`,
      );
      if (Number(waiting.rows[0]!.n) > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const second = cli(['run', '--config', file, '--json']);
    const joined = JSON.parse(await second.line((l) => l.includes('"type":"run-joined"'))) as {
      holder: string;
    };
    expect(joined.holder).toMatch(/^pid \d+ on /);
    await blocker.query('COMMIT');
    await blocker.end();
    const one = await first.done;
    expect(one.code, one.stderr).toBe(0);
    const two = await second.done;
    expect(two.code, two.stderr).toBe(0);
    // It ends when the first finished the run: the swap was the first's alone.
    const report = JSON.parse(two.stdout.trim().split('\n').at(-1)!) as { joined?: { performedBy: boolean } };
    expect(report.joined).toMatchObject({ performedBy: true });
    expect(await tableState('pair')).toEqual({ rows: total(files), scheduled: true, leftovers: [] });
    const third = await cli(['run', '--config', file]).done;
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/nothing to do/);
    expect((await tableState('pair')).rows).toBe(total(files));
  });

  it('two started at the same moment: one backfills, the other changes nothing (twice over)', async () => {
    for (const table of ['together1', 'together2']) {
      await createTable(table);
      const file = await writeConfig(table);
      const [a, b] = await Promise.all([
        cli(['run', '--config', file]).done,
        cli(['run', '--config', file]).done,
      ]);
      // Same configuration: the second either finds the run finished, or joins it (then ends when it ends).
      const outcomes = [a, b].map((r) =>
        r.code === 0 && /nothing to do/.test(r.stderr)
          ? 'nothing to do'
          : r.code === 0 && /joining run/.test(r.stderr)
            ? 'joined'
            : r.code === 0
              ? 'ran'
              : errorLines(r.stderr).join(' '),
      );
      expect(
        outcomes.filter((o) => o === 'ran'),
        outcomes.join(' | '),
      ).toHaveLength(1);
      const other = outcomes.find((o) => o !== 'ran')!;
      expect(other).toMatch(/^(nothing to do|joined)$/);
      // The policy is scheduled again: nobody recorded the other's pause as the prior state.
      expect(await tableState(table)).toEqual({ rows: total(files), scheduled: true, leftovers: [] });
    }
  });
});

describe('abandoning a TimescaleDB run', () => {
  it('restores a compression policy the run left paused, drops its staging and swap-state tables', async () => {
    await createTable('paused');
    const c = config('paused');
    // The process dies right after beginSwap paused the policy, before the journal recorded it (kill -9).
    const crash = await run(
      c,
      {},
      (adapter) =>
        new Proxy(adapter, {
          get(target, property) {
            if (property === 'beginSwap') {
              return async (...args: Parameters<TargetAdapter['beginSwap']>): Promise<SwapState> => {
                await target.beginSwap(...args);
                throw new Error('killed after the policy was paused');
              };
            }
            const value = Reflect.get(target, property, target) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        }),
    ).catch((e: unknown) => e);
    expect((crash as Error).message).toContain('killed after');
    const mid = await tableState('paused');
    expect(mid.scheduled).toBe(false);
    expect(mid.leftovers.length).toBe(3); // staging, swap-state and claims tables
    expect(mid.rows).toBe(0);

    const adapter = createTimescaleAdapter(c);
    await adapter.connect();
    try {
      const report = await abandonRun(c, adapter);
      expect(report.abandoned).toHaveLength(1);
      // Mode historical: the swap begins once the first slice is final, while later batches may still load.
      expect(report.abandoned[0]!.committedBatches).toBeGreaterThan(0);
      expect(report.abandoned[0]!.committedBatches).toBeLessThanOrEqual(files.length);
    } finally {
      await adapter.close();
    }
    expect(await tableState('paused')).toEqual({ rows: 0, scheduled: true, leftovers: [] });
    const journal = await sql.query<{ kind: string }>(
      `SELECT kind FROM shadowfill_journal WHERE run_id = (SELECT run_id FROM shadowfill_journal WHERE kind = 'run-abandoned' LIMIT 1) ORDER BY seq DESC LIMIT 1`,
    );
    expect(journal.rows[0]?.kind).toBe('run-abandoned');
    const again = await run(c);
    expect(again.resumed).toBe(false);
    expect(await tableState('paused')).toEqual({ rows: total(files), scheduled: true, leftovers: [] });
  });

  it('a corrupt object removed mid-run: the advice says --new-run, which completes and leaves nothing', async () => {
    await createTable('removed');
    const victim = files[5]!;
    const good = await readFile(victim.path);
    const bad = Buffer.from(good);
    for (let i = 4; i < Math.floor(bad.length * 0.6); i += 7) bad[i] = (bad[i]! * 31 + 17) & 0xff;
    // Its own prefix, so the other tests keep reading the good files.
    const key = `removed/${victim.key}`;
    for (const f of files) {
      await client.send(
        new PutObjectCommand({
          Bucket: 'exact',
          Key: `removed/${f.key}`,
          Body: f === victim ? bad : await readFile(f.path),
        }),
      );
    }
    // mode catchup: nothing is swapped before every batch is loaded, so the run can still be abandoned (in mode
    // historical the slices before the failing batch may be live already; the advice then is to fix and resume).
    const c = config('removed', { url: 's3://exact/removed/pypi/*/*.parquet', mode: 'catchup' });
    const error = (await run(c).catch((e: unknown) => e)) as ShadowfillError;
    expect(error.code).toBe('SOURCE_CORRUPT');
    expect(error.message).toContain(key);
    expect(error.message).toMatch(
      /remove it and run with --new-run to abandon run \w+ and start over without it$/,
    );
    await client.send(new DeleteObjectCommand({ Bucket: 'exact', Key: key }));
    const vanished = (await run(c).catch((e: unknown) => e)) as ShadowfillError;
    expect(vanished.message).toMatch(
      /run with --new-run to abandon run \w+ and start over with the objects that exist now$/,
    );
    const report = await run(c, { newRun: true });
    expect(report.objects).toBe(files.length - 1);
    expect(await tableState('removed')).toEqual({
      rows: total(files) - victim.rows,
      scheduled: true,
      leftovers: [],
    });
  });
});
