/**
 * What a load benchmark (postgres-load, load-pipeline) runs against: a scratch directory, the local S3 server with
 * a bucket per fixture, and the real TimescaleDB server (test/support/postgres-server.ts); plus what the benchmark
 * opens on them — connections, S3 clients, decode pools — all closed by `close()`.
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { openConnection, type PgConnection } from '../../adapters/timescaledb/connection.ts';
import { startLocalS3, type LocalS3Server } from '../../src/local/s3-server.ts';
import type { DecodePool } from '../../src/workers/pool.ts';
import { pgTarget, startTestPostgres, type TestPostgres } from '../../test/support/postgres-server.ts';
import { scratchDir } from '../common.ts';

export interface LoadBench {
  readonly dir: { readonly path: string };
  readonly s3: LocalS3Server;
  readonly server: TestPostgres;
  /** A plain `pg` client, connected. */
  readonly sql: pg.Client;
  /** The TimescaleDB extension's version. */
  readonly timescaledb: string;
  /** S3 clients the benchmark made (destroyed by `close`). */
  readonly clients: S3Client[];
  /** Decode pools by thread count (closed by `close`). */
  readonly pools: Map<number, DecodePool>;
  /** A new connection of the TimescaleDB adapter (table `public.pypi`), connected. */
  connection(): Promise<PgConnection>;
  close(): Promise<void>;
}

export async function startLoadBench(name: string, buckets: readonly string[]): Promise<LoadBench> {
  const dir = await scratchDir(name);
  const s3 = await startLocalS3({ directory: join(dir.path, 's3'), buckets: [...buckets] });
  const server = await startTestPostgres({ timescaledb: true });
  const connections: PgConnection[] = [];
  const clients: S3Client[] = [];
  const pools = new Map<number, DecodePool>();
  const sql = new pg.Client({ connectionString: server.url });
  const close = async (): Promise<void> => {
    for (const pool of pools.values()) await pool.close();
    for (const c of clients) c.destroy();
    await sql.end().catch(() => undefined);
    for (const c of connections) await c.close().catch(() => undefined);
    await server.stop();
    await s3.stop();
    await dir.remove();
  };
  try {
    await sql.connect();
    const version = await sql.query<{ v: string }>(
      "SELECT extversion AS v FROM pg_extension WHERE extname = 'timescaledb'",
    );
    return {
      dir,
      s3,
      server,
      sql,
      timescaledb: String(version.rows[0]?.v),
      clients,
      pools,
      connection: async () => {
        const c = openConnection(pgTarget(server.url));
        connections.push(c);
        await c.connect();
        return c;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
