/**
 * Moves that happened but were not finished. `ALTER TABLE <from> MOVE PARTITION … TO TABLE <to>` is not atomic
 * across a crash: ClickHouse commits the cloned parts in `to` first and takes them out of `from` after (its own
 * source says "NOTE It doesn't look atomic"). A server — or a chDB process — that dies in between comes back with
 * the same rows in both tables, and moving the partition again would duplicate them.
 *
 * Every run table assigns each part a UUID (`assign_part_uuids`), and a move keeps it. So a part of `from` whose UUID
 * `to` lists (active, or inactive: merged or moved on since) was moved already; so was an active part of `from`
 * that a merge after the restart made out of such parts (it covers their block range). Those parts are dropped
 * from `from` instead of being moved again. A run table receives no rows once its batch is verified (a landing)
 * or once the swap began (a shadow), so nothing else can hide in such a part.
 *
 * Only a move that did not report success can leave parts in both tables (once it returns, the source holds an
 * empty part covering the moved ones), so ClickHouseCalls checks a pair of tables once per process — before its
 * first move between them: the previous process may have died in one — and again after a move between them failed.
 *
 * What this cannot see: evidence the server already removed — the moved parts merged in `to` and their old
 * versions cleaned up (`old_parts_lifetime`, 8 minutes by default) before the move is tried again. For a commit
 * (landing → shadow) the shadow checks (rows, view reconciliation) then refuse the swap rather than swap a
 * duplicate in; for a swap (shadow → live) nothing downstream would notice, so the README asks for a prompt rerun.
 */

/** A part of either table (sql.tableParts), as the driver returns it. */
export interface PartRow extends Record<string, unknown> {
  readonly side: string;
  readonly partition_id: string;
  readonly name: string;
  readonly uuid: string;
  readonly active: number | string | boolean;
  readonly rows: number | string;
  readonly min_block_number: number | string;
  readonly max_block_number: number | string;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

const isActive = (p: PartRow) => p.active === true || Number(p.active) === 1;

/** The active parts of `from` (with rows) that `to` holds already: drop them instead of moving them again. */
export function alreadyMoved(parts: readonly PartRow[]): string[] {
  const inTarget = new Set(parts.filter((p) => p.side === 'to' && p.uuid !== NIL_UUID).map((p) => p.uuid));
  if (inTarget.size === 0) return [];
  const source = parts.filter((p) => p.side === 'from');
  const moved = source.filter((p) => inTarget.has(p.uuid));
  return source
    .filter((p) => isActive(p) && Number(p.rows) > 0)
    .filter((p) =>
      moved.some(
        (m) =>
          m.uuid === p.uuid ||
          (m.partition_id === p.partition_id &&
            BigInt(p.min_block_number) <= BigInt(m.min_block_number) &&
            BigInt(m.max_block_number) <= BigInt(p.max_block_number)),
      ),
    )
    .map((p) => p.name);
}
