/**
 * How `plan` shows a partition move (run: commitBatch, swapUnit; add-view: commit and swap): the listing of the
 * source table's active partitions after the check for parts moved already (moved-parts.ts), then the MOVE statement
 * bound to each `partition_id` it lists. All are the statements the run sends (sql/statements.ts), the partition ids
 * only known once the rows have landed.
 */
import { refKey, type TableRef } from '../names.ts';
import { sql } from './statements.ts';

interface Planned<Phase extends string> {
  readonly phase: Phase;
  readonly title: string;
  readonly sql: string;
  readonly params?: Readonly<Record<string, string>>;
}

export function movePlan<P extends Planned<string>>(
  phase: P['phase'],
  title: string,
  from: TableRef,
  to: TableRef,
): Planned<P['phase']>[] {
  const listing = `${title}: the partitions of ${refKey(from)}`;
  return [
    {
      phase,
      title:
        `${title}: once per process (and after a failed move), the parts of both tables — a part of ${refKey(from)} ` +
        `whose UUID ${refKey(to)} holds already (a move the server stopped halfway) is dropped from ${refKey(from)} ` +
        `(DROP PART), not moved twice`,
      sql: sql.tableParts(from, to),
    },
    { phase, title: listing, sql: sql.activePartitions(from) },
    {
      phase,
      title: `${title}: each partition into ${refKey(to)}, atomically`,
      sql: sql.movePartition(from, to).sql,
      params: { partition_id: `each partition_id listed by "${listing}"` },
    },
  ];
}
