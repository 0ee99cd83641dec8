/**
 * The driver calls both ClickHouse adapters make — the backfill's (adapter.ts) and the add-view's
 * (add-view/adapter.ts) — each failure mapped to a typed error by the adapter's own mapping: statements and
 * queries named by their first words, the driver the journal and the lease write through, and the partition
 * moves (a commit moves every partition of a landing into its shadow; the swap moves one shadow partition into
 * its live table per swap unit, `ALTER TABLE <shadow> MOVE PARTITION ID … TO TABLE <live>`, atomic each while the
 * server runs; parts a move left in both tables when the server stopped halfway are not moved twice: moved-parts.ts).
 */
import type { SwapUnit } from '../../src/adapter/contract.ts';
import { unbind, type ClickHouseDriver, type Statement } from './driver.ts';
import { alreadyMoved, type PartRow } from './moved-parts.ts';
import { refKey, type TableRef } from './names.ts';
import { sql } from './sql/statements.ts';

/** Runs a driver call, mapping its failure to a typed error that says `what` was being done. */
export type MapFailures = <T>(call: () => Promise<T>, what: string) => Promise<T>;

/** An active partition of a table (system.parts). */
export interface PartitionRow extends Record<string, unknown> {
  partition_id: string;
  partition: string;
  rows: string;
}

export class ClickHouseCalls {
  /** Table pairs checked for parts an interrupted move left in both (see movePartition). */
  private readonly checkedPairs = new Set<string>();

  constructor(
    private readonly driver: ClickHouseDriver,
    private readonly mapFailures: MapFailures,
  ) {}

  command(statement: Statement): Promise<void> {
    return this.mapFailures(() => this.driver.command(statement), firstWords(unbind(statement).sql));
  }

  query<Row extends Record<string, unknown>>(statement: string): Promise<Row[]> {
    return this.mapFailures(() => this.driver.query<Row>(statement), firstWords(statement));
  }

  /** The driver with failures mapped, `writing <what>` / `reading <what>` (used by the journal and the lease). */
  guarded(what: string): ClickHouseDriver {
    const driver = this.driver;
    return {
      description: driver.description,
      command: (s, settings) => this.mapFailures(() => driver.command(s, settings), `writing ${what}`),
      query: (s, settings) => this.mapFailures(() => driver.query(s, settings), `reading ${what}`),
      insertStream: (t, f, b, s) => driver.insertStream(t, f, b, s),
      close: () => driver.close(),
    };
  }

  partitions(table: TableRef): Promise<PartitionRow[]> {
    return this.query<PartitionRow>(sql.activePartitions(table));
  }

  /** Moves every active partition of `from` into `to` (a commit: landing → shadow). */
  async moveAllPartitions(from: TableRef, to: TableRef): Promise<void> {
    for (const p of await this.partitions(from)) await this.movePartition(from, to, p.partition_id);
  }

  /** Moves the partition of a swap unit (see `partitionSwapUnit`) from `shadowOf(live)` into its live table. */
  async swapPartition(unit: SwapUnit, shadowOf: (live: TableRef) => TableRef): Promise<void> {
    const [database, table, partitionId] = JSON.parse(unit.id) as [string, string, string];
    const live = { database, table };
    await this.movePartition(shadowOf(live), live, partitionId);
  }

  /**
   * Moves one partition exactly once: before the first move between two tables in this process, and after a move
   * between them failed, the parts an interrupted move already put into `to` are dropped from `from` (moved-parts.ts).
   */
  private async movePartition(from: TableRef, to: TableRef, partitionId: string): Promise<void> {
    const pair = `${refKey(from)} → ${refKey(to)}`;
    if (!this.checkedPairs.has(pair)) {
      const parts = await this.query<PartRow>(sql.tableParts(from, to));
      for (const part of alreadyMoved(parts)) await this.command(sql.dropPart(from, part));
      this.checkedPairs.add(pair);
    }
    try {
      await this.command(sql.movePartition(from, to, partitionId));
    } catch (error) {
      this.checkedPairs.delete(pair);
      throw error;
    }
  }
}

/** The swap unit moving partition `p` of the shadow of `live` into `live`. */
export function partitionSwapUnit(live: TableRef, p: PartitionRow): SwapUnit {
  return {
    id: JSON.stringify([live.database, live.table, p.partition_id]),
    description: `${refKey(live)} partition ${p.partition} (${p.rows} rows)`,
  };
}

/** What a statement does, for messages: its first four words. */
export function firstWords(statement: string): string {
  return statement.split(/\s+/).slice(0, 4).join(' ');
}
