/**
 * Leases in ClickHouse. ClickHouse has no transactions or conditional updates, but creating a table is
 * exclusive: of two `CREATE TABLE x` (without IF NOT EXISTS) one fails with TABLE_ALREADY_EXISTS. A lease is
 * therefore a table per generation in the target database, `shadowfill_lease_<hash of key>_<generation>`:
 * - its COMMENT (written atomically with the table) names the holder: id, host, pid, PID namespace, key, ttl;
 * - its rows are the heartbeats (`at`, `expires` from the server's `now64()`, the run id once known);
 * - compare-and-set from generation g is `CREATE TABLE …_<g+1>`, then a first heartbeat, then a check that no
 *   higher generation exists; older generations are then dropped;
 * - release drops the holder's table, so a command that ends leaves nothing behind.
 * An empty generation table (its creator died before the first heartbeat) expires `ttl` after its creation.
 * Single-server semantics; on a cluster, DDL must go through one replicated database (or use Keeper).
 */
import { createHash } from 'node:crypto';
import type { LeaseClaimant, LeaseRecord, LeaseStore } from '../../src/journal/lease.ts';
import type { ClickHouseDriver } from './driver.ts';
import { sql } from './sql/statements.ts';
import type { TableRef } from './names.ts';

interface Holder extends LeaseClaimant {
  readonly key: string;
  readonly ttlMs: number;
}

interface Generation {
  readonly table: TableRef;
  readonly generation: number;
  readonly holder: Holder | undefined;
  readonly created: number;
}

const TABLE_ALREADY_EXISTS = '57';
const UNKNOWN_TABLE = '60';

export function clickHouseLeases(driver: ClickHouseDriver, database: string): LeaseStore {
  const prefix = (key: string) =>
    `shadowfill_lease_${createHash('sha256').update(key).digest('hex').slice(0, 12)}_`;
  const tableOf = (key: string, generation: number): TableRef => ({
    database,
    table: `${prefix(key)}${generation}`,
  });

  const generations = async (key: string): Promise<Generation[]> => {
    const rows = await driver.query<{ name: string; comment: string; created: string }>(
      sql.leaseTables(database, prefix(key)),
    );
    return rows
      .map((r) => {
        const generation = Number(r.name.slice(prefix(key).length));
        let holder: Holder | undefined;
        try {
          holder = JSON.parse(r.comment) as Holder;
        } catch {
          holder = undefined;
        }
        return { table: { database, table: r.name }, generation, holder, created: Number(r.created) };
      })
      .filter((g) => Number.isInteger(g.generation) && g.generation > 0 && g.holder?.key === key)
      .sort((a, b) => b.generation - a.generation);
  };

  const recordOf = async (key: string, g: Generation): Promise<LeaseRecord | undefined> => {
    const holder = g.holder!;
    let state: { n: string; heartbeat: string; expires: string; run_id: string; now: string } | undefined;
    try {
      [state] = await driver.query<{
        n: string;
        heartbeat: string;
        expires: string;
        run_id: string;
        now: string;
      }>(sql.leaseState(g.table));
    } catch (error) {
      if (nativeCode(error) === UNKNOWN_TABLE) return undefined; // released or taken over meanwhile
      throw error;
    }
    const beats = Number(state?.n ?? 0);
    const heartbeat = beats > 0 ? Number(state!.heartbeat) : g.created;
    const expires = beats > 0 ? Number(state!.expires) : g.created + holder.ttlMs;
    const now = Number(state?.now ?? Date.now());
    return {
      key,
      id: holder.id,
      host: holder.host,
      pid: holder.pid,
      pidNamespace: holder.pidNamespace,
      generation: g.generation,
      runId: state?.run_id ?? '',
      acquiredAt: new Date(g.created).toISOString(),
      heartbeatAt: new Date(heartbeat).toISOString(),
      expiresAt: new Date(expires).toISOString(),
      released: false,
      expired: expires <= now,
    };
  };

  const drop = async (table: TableRef) => {
    await driver.command(sql.dropTable(table));
  };

  const read = async (key: string): Promise<LeaseRecord | undefined> => {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const [top] = await generations(key);
      if (!top) return undefined;
      const record = await recordOf(key, top);
      if (record) return record;
    }
    return undefined;
  };

  return {
    async ensure() {
      // Nothing to create ahead: each generation is its own table.
    },
    read,
    async compareAndSet(key, expected, claimant, ttlMs) {
      const [top] = await generations(key);
      if ((top?.generation ?? 0) !== expected) return undefined;
      const mine = tableOf(key, expected + 1);
      const holder: Holder = { ...claimant, key, ttlMs };
      try {
        await driver.command(sql.createLease(mine, JSON.stringify(holder)));
      } catch (error) {
        if (nativeCode(error) === TABLE_ALREADY_EXISTS) return undefined;
        throw error;
      }
      await driver.command(sql.leaseBeat(mine, ttlMs, '', 'acquired'));
      const [now] = await generations(key);
      if (now?.generation !== expected + 1 || now.holder?.id !== claimant.id) {
        await drop(mine).catch(() => undefined);
        return undefined;
      }
      for (const old of await generations(key)) {
        if (old.generation < expected + 1) await drop(old.table).catch(() => undefined);
      }
      return recordOf(key, now);
    },
    async renew(key, claimant, generation, ttlMs, runId) {
      const [top] = await generations(key);
      if (!top || top.generation !== generation || top.holder?.id !== claimant.id) return false;
      try {
        await driver.command(sql.leaseBeat(top.table, ttlMs, runId ?? '', 'heartbeat'));
      } catch (error) {
        if (nativeCode(error) === UNKNOWN_TABLE) return false;
        throw error;
      }
      return true;
    },
    async release(key, claimant, generation) {
      const [top] = await generations(key);
      if (!top || top.generation !== generation || top.holder?.id !== claimant.id) return;
      await drop(top.table);
    },
  };
}

function nativeCode(error: unknown): string | undefined {
  return (error as { nativeCode?: string }).nativeCode;
}
