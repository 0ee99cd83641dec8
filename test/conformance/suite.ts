/**
 * The conformance suite every target adapter passes: the same backfill scenarios through the same runner,
 * on real engines. An adapter's test file supplies a harness (how to create a live table and count its
 * rows on that target) and calls `defineConformanceSuite`. Adapter-specific behaviour (partitions, views,
 * chunks, policies) is tested in each adapter's own tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { BatchSpec, RunContext, TargetAdapter } from '../../src/adapter/contract.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { defineConfig } from '../../src/config/define.ts';
import { ShadowfillError } from '../../src/errors.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import { runBackfill, type RunOptions, type RunReport } from '../../src/runner/run.ts';
import { abandonRun } from '../../src/runner/abandon.ts';
import { planRun } from '../../src/runner/plan.ts';
import type { RunEvent } from '../../src/runner/events.ts';
import { generatePypiParquet, type ChdbQueryRunner, type GeneratedFile } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';

export const CONFORMANCE_BUCKET = 'conformance';

/** What the suite needs from a target. Tables have the guide's PyPI columns. */
export interface ConformanceHarness {
  /** Runs the fixture generator's SQL (chDB binds one data directory per process). */
  readonly fixtureRunner?: ChdbQueryRunner;
  /** Creates an empty live table `name` (and whatever the target needs around it). */
  createLiveTable(name: string): Promise<void>;
  /** Inserts rows of local Parquet files directly (live ingestion, not through the engine). */
  insertLive(name: string, files: readonly GeneratedFile[]): Promise<void>;
  rowCount(name: string): Promise<number>;
  /** A value that changes whenever the table's rows change. */
  contentHash(name: string): Promise<string>;
  /** The target part of the config for table `name`. */
  target(name: string): BackfillConfig['target'];
  /** Target-specific config defaults (load mode, options). */
  readonly defaults?: Partial<BackfillConfig>;
  createAdapter(config: BackfillConfig): TargetAdapter;
  /**
   * The server serves one connection at a time (the embedded TimescaleDB): a second process cannot reach it
   * while the first works, so two runs at once cannot be tried. Default: true for `embedded:` TimescaleDB.
   */
  readonly oneConnectionAtATime?: boolean;
  stop(): Promise<void>;
}

export function defineConformanceSuite(kind: string, start: () => Promise<ConformanceHarness>): void {
  describe(`adapter conformance: ${kind}`, () => {
    let h: ConformanceHarness;
    let s3: LocalS3Server;
    let root: string;
    let files: GeneratedFile[];
    let client: S3Client;
    const secret = 'conformance-secret-value';

    const config = (table: string, url: string, extra: Partial<BackfillConfig> = {}): BackfillConfig =>
      defineConfig({
        target: h.target(table),
        source: {
          url,
          endpoint: s3.endpoint,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        },
        batch: { files: 2, bytes: 1e12 },
        attempts: 2,
        ...h.defaults,
        ...extra,
      });
    const run = async (c: BackfillConfig, options?: RunOptions): Promise<RunReport> => {
      const adapter = h.createAdapter(c);
      await adapter.connect();
      try {
        return await runBackfill(c, adapter, options);
      } finally {
        await adapter.close();
      }
    };
    const rows = (list: readonly GeneratedFile[]) => list.reduce((n, f) => n + f.rows, 0);
    const url = (glob: string) => `s3://${CONFORMANCE_BUCKET}/${glob}`;

    beforeAll(async () => {
      h = await start();
      root = await mkdtemp(join(tmpdir(), 'shadowfill-conformance-'));
      s3 = await startLocalS3({ directory: join(root, 's3'), buckets: [CONFORMANCE_BUCKET] });
      const generated = await generatePypiParquet({
        dir: join(root, 'parquet'),
        files: [0, 1, 2, 3, 4, 5],
        rowsPerFile: 700,
        days: 3,
        runner: h.fixtureRunner,
      });
      files = [...generated.files];
      await uploadDirectory(s3.endpoint, CONFORMANCE_BUCKET, join(root, 'parquet'), {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
      });
      client = new S3Client({
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
    }, 300_000);

    afterAll(async () => {
      client?.destroy();
      await h?.stop();
      await s3?.stop();
      if (root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    });

    it('backfills every object exactly once next to live rows, then has nothing to do', async () => {
      await h.createLiveTable('c_basic');
      await h.insertLive('c_basic', files.slice(0, 1));
      const events: RunEvent[] = [];
      const report = await run(config('c_basic', url('pypi/*/*-00000000000{1,2,3,4,5}.parquet')), {
        onEvent: (e) => events.push(e),
      });
      expect(report.rowsLoaded).toBe(rows(files.slice(1)));
      expect(report.batches).toBe(3);
      expect(await h.rowCount('c_basic')).toBe(rows(files));
      expect(events.filter((e) => e.type === 'batch-verified')).toHaveLength(3);
      expect(events.at(-1)?.type).toBe('run-finished');
      const again = await run(config('c_basic', url('pypi/*/*-00000000000{1,2,3,4,5}.parquet'))).catch(
        (e: unknown) => e,
      );
      expect((again as ShadowfillError).code).toBe('NOTHING_TO_DO');
      expect(await h.rowCount('c_basic')).toBe(rows(files));
    });

    it('completes an interrupted swap on the next run without duplicating rows', async () => {
      await h.createLiveTable('c_resume');
      const c = config('c_resume', url('pypi/**.parquet'), { batch: { files: 1, bytes: 1e12 } });
      const crash = await run(c, {
        onEvent: (e) => {
          if (e.type === 'swap-unit-done') throw new Error('simulated crash after the first swap unit');
        },
      }).catch((e: unknown) => e);
      expect((crash as Error).message).toContain('simulated crash');
      const report = await run(c);
      expect(report.resumed).toBe(true);
      expect(await h.rowCount('c_resume')).toBe(rows(files));
    });

    it('refuses a corrupt object before any change, then completes once it is fixed', async () => {
      await h.createLiveTable('c_corrupt');
      await h.insertLive('c_corrupt', files.slice(0, 1));
      const before = await h.contentHash('c_corrupt');
      const victim = files[3]!;
      await client.send(
        new PutObjectCommand({ Bucket: CONFORMANCE_BUCKET, Key: victim.key, Body: 'not parquet at all' }),
      );
      const c = config('c_corrupt', url('pypi/*/*-00000000000{1,2,3,4,5}.parquet'));
      const error = await run(c).catch((e: unknown) => e);
      expect((error as ShadowfillError).code).toBe('SOURCE_CORRUPT');
      expect((error as Error).message).toContain(victim.key);
      expect(await h.contentHash('c_corrupt')).toBe(before);
      await client.send(
        new PutObjectCommand({
          Bucket: CONFORMANCE_BUCKET,
          Key: victim.key,
          Body: await readFile(victim.path),
        }),
      );
      await run(c);
      expect(await h.rowCount('c_corrupt')).toBe(rows(files));
    });

    it('a second run of the table (another configuration) stops at once while the first runs; abandon gives the first up cleanly', async () => {
      await h.createLiveTable('c_lease');
      await h.insertLive('c_lease', files.slice(0, 1));
      const before = await h.contentHash('c_lease');
      // One worker: batches commit in order, so the crash at batch 3's commit leaves exactly 3 committed.
      const base = config('c_lease', url('pypi/*/*-00000000000{1,2,3,4,5}.parquet'), {
        batch: { files: 1, bytes: 1e12 },
        workers: 1,
      });
      // Nothing may be swapped before the crash (abandon refuses a run whose swap began): where the target can
      // swap while batches load (mode historical), the run uses mode catchup.
      const probe = h.createAdapter(base);
      const c: BackfillConfig = probe.capabilities.swapsInOneTransaction
        ? { ...base, mode: 'catchup' }
        : base;
      await probe.close();
      // The same configuration would join the run (where the target serves several processes): another one is
      // refused.
      const other: BackfillConfig = { ...c, batch: { files: 2, bytes: 1e12 } };
      const target = h.target('c_lease');
      const oneConnection =
        h.oneConnectionAtATime ?? (target.kind === 'timescaledb' && target.url.startsWith('embedded:'));
      let second: Promise<unknown> | undefined;
      // The first run holds the lease while the second tries: its commit of batch 2 waits for the second to
      // have been refused (however slow the machine), then the first "crashes".
      const first = h.createAdapter(c);
      const gated = new Proxy(first, {
        get(adapter, property) {
          if (property === 'commitBatch') {
            return async (runContext: RunContext, batch: BatchSpec) => {
              if (batch.index === 1 && second) await second;
              return adapter.commitBatch(runContext, batch);
            };
          }
          const value = Reflect.get(adapter, property, adapter) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(adapter) : value;
        },
      });
      await first.connect();
      const crash = await runBackfill(c, gated, {
        onEvent: (e) => {
          if (e.type === 'batch-committed' && e.batch === 0 && !oneConnection) {
            second = run(other).catch((error: unknown) => error);
          }
          if (e.type === 'batch-committed' && e.batch === 2) throw new Error('simulated crash');
        },
      })
        .catch((e: unknown) => e)
        .finally(() => first.close());
      expect((crash as Error).message).toContain('simulated crash');
      if (!oneConnection) {
        const refused = (await second) as ShadowfillError;
        expect(refused.code).toBe('JOURNAL_CONFLICT');
        expect(refused.message).toMatch(/is being backfilled by another shadowfill process \(pid \d+ on /);
      }
      expect(await h.contentHash('c_lease')).toBe(before);
      const adapter = h.createAdapter(c);
      await adapter.connect();
      try {
        const abandoned = await abandonRun(c, adapter);
        expect(abandoned.abandoned.map((r) => r.committedBatches)).toEqual([3]);
      } finally {
        await adapter.close();
      }
      expect(await h.contentHash('c_lease')).toBe(before);
      const report = await run(c);
      expect(report.resumed).toBe(false);
      expect(await h.rowCount('c_lease')).toBe(rows(files));
    });

    it('names a missing table and an empty glob in one line, changing nothing', async () => {
      const missing = await run(config('c_nope', url('pypi/**.parquet'))).catch((e: unknown) => e);
      expect((missing as ShadowfillError).code).toBe('TARGET_MISSING');
      expect((missing as Error).message).toContain('c_nope');
      await h.createLiveTable('c_empty');
      const empty = await run(config('c_empty', url('pypi/*/nothing-{1..3}.parquet'))).catch(
        (e: unknown) => e,
      );
      expect((empty as ShadowfillError).code).toBe('SOURCE_EMPTY');
      expect((empty as Error).message.split('\n')).toHaveLength(1);
      expect(await h.rowCount('c_empty')).toBe(0);
    });

    it('plans every phase without running anything and without printing credentials', async () => {
      await h.createLiveTable('c_plan');
      const c = config('c_plan', url('pypi/**.parquet'));
      const withSecret: BackfillConfig = {
        ...c,
        source: { ...c.source, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: secret } },
      };
      const adapter = h.createAdapter(withSecret);
      await adapter.connect();
      try {
        // s3rver does not check secrets, so the plan succeeds with any secret.
        const plan = await planRun(withSecret, adapter);
        const text = plan.statements.map((s) => s.sql).join('\n');
        expect(plan.statements.length).toBeGreaterThan(3);
        expect(new Set(plan.statements.map((s) => s.phase)).has('swap')).toBe(true);
        expect(text).not.toContain(secret);
      } finally {
        await adapter.close();
      }
      expect(await h.rowCount('c_plan')).toBe(0);
    });
  });
}
