/**
 * The engine's side of verification: the message when a shadow does not hold what its batches verified, and the
 * per-table summary of every check a run made (for the report).
 */
import type { TableVerification } from '../adapter/contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import { VerifyError } from '../errors.ts';

export function shadowMismatch(
  config: BackfillConfig,
  runId: string,
  held: number,
  expected: number,
  batches: number,
  when: string,
): VerifyError {
  return new VerifyError(
    `the shadow of ${config.target.database}.${config.target.table} holds ${held} rows but its batches verified ` +
      `${expected}; nothing was swapped (run ${runId}, ${batches} committed batches, checked ${when}) — the shadow ` +
      `lost or gained rows (e.g. a restart of the database emptied an UNLOGGED staging table, or something outside ` +
      `the run changed it): run \`shadowfill abandon\` with the same configuration, or run with --new-run, to start over`,
  );
}

/**
 * One entry per table, scope and method: the batch checks of this invocation folded into one line each
 * (`12 batches: 240000 rows`), the shadow checks as they are.
 */
export function summarizeChecks(checks: readonly TableVerification[]): TableVerification[] {
  const out: TableVerification[] = [];
  const batches = new Map<string, TableVerification[]>();
  for (const c of checks) {
    if (c.scope === 'shadow') {
      out.push(c);
      continue;
    }
    const key = JSON.stringify([c.table, c.method]);
    const list = batches.get(key) ?? [];
    list.push(c);
    batches.set(key, list);
  }
  const folded = [...batches.values()].map((list) => {
    const first = list[0]!;
    return {
      ...first,
      exact: list.every((c) => c.exact),
      ok: list.every((c) => c.ok),
      detail: `${list.length} batch${list.length === 1 ? '' : 'es'} this invocation (${list
        .slice(0, 3)
        .map((c) => c.detail)
        .join('; ')}${list.length > 3 ? '; …' : ''})`,
    };
  });
  return [...folded, ...out];
}
