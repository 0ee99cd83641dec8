/**
 * Names of a run's objects in ClickHouse. For live table `pypi` and run `20261123_ab12cd`:
 *   shadow        pypi_v2_20261123_ab12cd              accumulates committed batches; swapped into `pypi`
 *   landing       pypi_v2_20261123_ab12cd_landing      receives one batch attempt of the default lane; moved into
 *                                                      the shadow
 *   shadow view   pypi_downloads_mv_v2_20261123_ab12cd reads the source landing, writes the target landing
 * Every other worker lane has its own landings and shadow views, suffixed with the lane id:
 *   pypi_v2_20261123_ab12cd_landing_w2, pypi_downloads_mv_v2_20261123_ab12cd_w2 (lane `w2`).
 * Every name of a run contains `_v2_<run>` (what `runObjects` finds).
 */

export interface TableRef {
  readonly database: string;
  readonly table: string;
}

export const JOURNAL_TABLE = 'shadowfill_journal';

export function shadowName(table: string, runId: string): string {
  return `${table}_v2_${runId}`;
}

export function landingName(table: string, runId: string, lane = ''): string {
  return `${table}_v2_${runId}_landing${lane ? `_${lane}` : ''}`;
}

export function shadowViewName(view: string, runId: string, lane = ''): string {
  return `${view}_v2_${runId}${lane ? `_${lane}` : ''}`;
}

export function refKey(ref: TableRef): string {
  return `${ref.database}.${ref.table}`;
}
