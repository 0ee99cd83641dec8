/**
 * The lease of an add-view: the project's run lease (src/runner/lease.ts, stored by the adapter's LeaseStore next
 * to the journal) under a key of its own — the target database and the view's name — so that two add-views of
 * one view exclude each other (the second stops at once, or waits with --wait), while a `run` of the source
 * table, which holds the table's key, is not blocked by it. Taken before anything of the add-view is read or
 * changed; confirmed by the journal writer before every write; released when the command ends.
 */
import type { ViewAdapter } from '../adapter/view-contract.ts';
import { acquireLeaseWithEvents, type HeldLease, type LeaseOptions } from '../runner/lease.ts';
import type { ViewConfig } from './config.ts';
import type { AddViewEventSink } from './events.ts';

/** The lease key of a view: `view:["clickhouse","db","pypi_downloads_per_day_mv"]`. */
export function viewLeaseKey(kind: string, database: string, view: string): string {
  return `view:${JSON.stringify([kind, database, view])}`;
}

/** The configured view's lease key. */
export function leaseKeyOf(config: ViewConfig): string {
  return viewLeaseKey(config.target.kind, config.target.database, config.view.name);
}

/** Takes the view's lease for this process, reporting waits and takeovers as events. */
export async function leaseView(
  config: ViewConfig,
  adapter: ViewAdapter,
  options: { readonly lease?: LeaseOptions; readonly signal?: AbortSignal },
  emit: AddViewEventSink,
): Promise<HeldLease> {
  return acquireLeaseWithEvents(
    adapter.lease,
    leaseKeyOf(config),
    `view ${config.target.database}.${config.view.name}`,
    options,
    emit,
  );
}
