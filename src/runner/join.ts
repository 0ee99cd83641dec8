/**
 * Entering a run: take the live table's lease (this process performs the run), or — when another live process
 * holds it for an unfinished run of this very configuration, on a target other processes can reach — join that
 * run: load batches beside it, and take the lease over (with the rest of the run) if its holder dies. A holder
 * still validating (no run yet) is waited for; a holder working on another configuration refuses this one as
 * before (or is waited for, with `wait`).
 */
import type { TargetAdapter } from '../adapter/contract.ts';
import type { BackfillConfig } from '../config/types.ts';
import { JournalError } from '../errors.ts';
import { tableLeaseKey, type LeaseRecord } from '../journal/lease.ts';
import { reduceRun, type RunState } from '../journal/state.ts';
import type { RunEvent } from './events.ts';
import { acquireLease, claimant, holderIsDead, type HeldLease, type LeaseOptions } from './lease.ts';
import { leaseTable, tableOf } from './runs.ts';

export type Entry =
  | { readonly kind: 'perform'; readonly lease: HeldLease }
  | { readonly kind: 'join'; readonly state: RunState; readonly holder: LeaseRecord };

export interface EntryOptions {
  readonly lease?: LeaseOptions;
  readonly signal?: AbortSignal;
  /** `--new-run`: never join (a new run needs the lease). */
  readonly newRun?: boolean;
}

export async function enterRun(
  config: BackfillConfig,
  adapter: TargetAdapter,
  fingerprint: string,
  options: EntryOptions,
  emit: (event: RunEvent) => void,
): Promise<Entry> {
  const joinable = adapter.capabilities.multiProcess === true && !options.newRun;
  for (;;) {
    try {
      // Joining is tried first when another process holds the table; `wait` then applies to other configurations.
      const lease = await leaseTable(
        config,
        adapter,
        { ...options, lease: { ...options.lease, wait: joinable ? false : options.lease?.wait } },
        emit,
      );
      return { kind: 'perform', lease };
    } catch (error) {
      if (!joinable || !(error instanceof JournalError) || error.code !== 'JOURNAL_CONFLICT') throw error;
      const joined = await joinableRun(
        adapter,
        tableLeaseKey(adapter.kind, config.target.database, config.target.table),
        fingerprint,
        options.signal,
      );
      if (joined === 'retry') continue;
      if (joined) return { kind: 'join', ...joined };
      if (!options.lease?.wait) throw error;
      // Another configuration's run holds the table: wait for it as asked.
      const lease = await leaseTable(config, adapter, options, emit);
      return { kind: 'perform', lease };
    }
  }
}

/**
 * The holder's run when this process can join it; 'retry' when the lease changed hands meanwhile (take it);
 * undefined when the holder works on something this process cannot join.
 */
async function joinableRun(
  adapter: TargetAdapter,
  key: string,
  fingerprint: string,
  signal: AbortSignal | undefined,
): Promise<{ state: RunState; holder: LeaseRecord } | 'retry' | undefined> {
  const self = claimant();
  for (;;) {
    const holder = await adapter.lease.read(key);
    if (!holder || holder.released || holder.expired || holderIsDead(holder, self)) return 'retry';
    if (holder.runId) {
      const state = reduceRun(await adapter.journal.readRun(holder.runId));
      if (state && state.fingerprint === fingerprint && !state.finished && !state.abandoned) {
        return { state, holder };
      }
      return undefined;
    }
    // The holder is still validating: its run exists once it journals run-started.
    if (signal?.aborted) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The lease of the table, taken only if free (for a joined process watching its holder). */
export async function tryTakeTable(
  config: BackfillConfig,
  adapter: TargetAdapter,
  options: EntryOptions,
): Promise<HeldLease | undefined> {
  try {
    return await acquireLease(
      adapter.lease,
      tableLeaseKey(adapter.kind, config.target.database, config.target.table),
      tableOf(config),
      { ...options.lease, wait: false },
      options.signal,
    );
  } catch (error) {
    if (error instanceof JournalError && error.code === 'JOURNAL_CONFLICT') return undefined;
    throw error;
  }
}
