/**
 * Leases in PostgreSQL: table `<schema>.shadowfill_lease`, one row per key. Compare-and-set is one
 * `INSERT … ON CONFLICT (key) DO UPDATE … WHERE generation = $expected RETURNING` (atomic under concurrency:
 * of two processes expecting the same generation, one updates the row and the other gets no row back); renewal
 * and release update the row only while it still has the holder's id and generation. Times are the server's
 * (`now()`), so hosts with skewed clocks agree on expiry.
 *
 * The adapter gives the store its own connection on a real server, so heartbeats are not queued behind a long
 * COPY or swap transaction on the adapter's connection (the embedded server serves one connection: there the
 * store shares it, and no other process can reach that server anyway).
 */
import type { LeaseRecord, LeaseStore } from '../../src/journal/lease.ts';
import type { PgConnection } from './connection.ts';
import { qualified } from './sql/quote.ts';

export const LEASE_TABLE = 'shadowfill_lease';

interface LeaseRow {
  key: string;
  generation: string;
  holder: string;
  host: string;
  pid: number;
  pid_namespace: string;
  run_id: string;
  acquired_at: string;
  heartbeat_at: string;
  expires_at: string;
  released: boolean;
  expired: boolean;
}

const COLUMNS =
  `key, generation::text AS generation, holder, host, pid, pid_namespace, run_id, ` +
  `to_char(acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS acquired_at, ` +
  `to_char(heartbeat_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS heartbeat_at, ` +
  `to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS expires_at, ` +
  `released, expires_at <= now() AS expired`;

function toRecord(row: LeaseRow): LeaseRecord {
  return {
    key: row.key,
    generation: Number(row.generation),
    id: row.holder,
    host: row.host,
    pid: row.pid,
    pidNamespace: row.pid_namespace,
    runId: row.run_id,
    acquiredAt: row.acquired_at,
    heartbeatAt: row.heartbeat_at,
    expiresAt: row.expires_at,
    released: row.released,
    expired: row.expired,
  };
}

export function createLeaseStore(db: PgConnection, schema: string): LeaseStore {
  const table = qualified(schema, LEASE_TABLE);
  const where = `${schema}.${LEASE_TABLE}`;
  return {
    async ensure() {
      try {
        await db.query(
          `CREATE TABLE IF NOT EXISTS ${table} (
             key text PRIMARY KEY, generation bigint NOT NULL, holder text NOT NULL, host text NOT NULL,
             pid integer NOT NULL, pid_namespace text NOT NULL, run_id text NOT NULL,
             acquired_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL, expires_at timestamptz NOT NULL,
             released boolean NOT NULL)`,
          [],
          `creating the lease table ${where}`,
        );
      } catch (error) {
        // Two processes creating it at once: one of them gets a unique violation on the catalog; it exists now.
        const code = (error as { nativeCode?: string }).nativeCode;
        if (code !== '23505' && code !== '42P07') throw error;
      }
    },
    async read(key) {
      const exists = await db.query<{ found: boolean }>(
        'SELECT to_regclass($1) IS NOT NULL AS found',
        [table],
        `looking up ${where}`,
      );
      if (exists[0]?.found !== true) return undefined;
      const rows = await db.query<LeaseRow>(
        `SELECT ${COLUMNS} FROM ${table} WHERE key = $1`,
        [key],
        `reading the lease ${where}`,
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    },
    async compareAndSet(key, expected, claimant, ttlMs) {
      const rows = await db.query<LeaseRow>(
        `INSERT INTO ${table} AS l (key, generation, holder, host, pid, pid_namespace, run_id, acquired_at,
                                    heartbeat_at, expires_at, released)
         VALUES ($1, $2::bigint + 1, $3, $4, $5, $6, '', now(), now(), now() + $7 * interval '1 millisecond', false)
         ON CONFLICT (key) DO UPDATE SET generation = excluded.generation, holder = excluded.holder,
           host = excluded.host, pid = excluded.pid, pid_namespace = excluded.pid_namespace, run_id = '',
           acquired_at = excluded.acquired_at, heartbeat_at = excluded.heartbeat_at,
           expires_at = excluded.expires_at, released = false
         WHERE l.generation = $2::bigint
         RETURNING ${COLUMNS}`,
        [key, expected, claimant.id, claimant.host, claimant.pid, claimant.pidNamespace, ttlMs],
        `taking the lease ${where}`,
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    },
    async renew(key, claimant, generation, ttlMs, runId) {
      const rows = await db.query<{ ok: number }>(
        `UPDATE ${table} SET heartbeat_at = now(), expires_at = now() + $4 * interval '1 millisecond',
                run_id = COALESCE($5, run_id)
          WHERE key = $1 AND generation = $2 AND holder = $3 AND NOT released
          RETURNING 1 AS ok`,
        [key, generation, claimant.id, ttlMs, runId ?? null],
        `renewing the lease ${where}`,
      );
      return rows.length === 1;
    },
    async release(key, claimant, generation) {
      await db.query(
        `UPDATE ${table} SET released = true, expires_at = now()
          WHERE key = $1 AND generation = $2 AND holder = $3`,
        [key, generation, claimant.id],
        `releasing the lease ${where}`,
      );
    },
  };
}
