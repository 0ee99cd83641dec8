/**
 * The run lease as the engine uses it: taken before anything of a run is read or changed, renewed by a
 * heartbeat while the process works, confirmed before every step that changes something (a process that lost
 * it stops before its next step), released at the end. The storage is the adapter's LeaseStore
 * (src/journal/lease.ts); the rules — when a lease may be taken, waiting, dead holders — live here.
 */
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { JournalError } from '../errors.ts';
import type { LeaseClaimant, LeaseRecord, LeaseStore } from '../journal/lease.ts';

export interface LeaseOptions {
  /** How long a lease lasts without a heartbeat; a holder silent for this long is taken over. Default 60 s. */
  readonly ttlMs?: number;
  /**
   * When another live process holds the lease: `false` (default) stops at once with one line naming it; `true`
   * waits until it is released or expires; a number waits at most that many milliseconds.
   */
  readonly wait?: boolean | number;
  /** Called while waiting for another holder (at most every few seconds). */
  readonly onWait?: (holder: LeaseRecord) => void;
}

export const DEFAULT_LEASE_TTL_MS = 60_000;
/** A step re-confirms the lease with the store when the last confirmation is older than this. */
const CONFIRM_AFTER_MS = 1_000;

let namespace: string | undefined;

/** This process as a lease claimant (a fresh id per lease). */
export function claimant(): LeaseClaimant {
  namespace ??= pidNamespace();
  return { id: randomBytes(8).toString('hex'), host: hostname(), pid: process.pid, pidNamespace: namespace };
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

/** The holder runs on this machine, in this PID namespace, and its process no longer exists. */
export function holderIsDead(record: LeaseRecord, self: LeaseClaimant): boolean {
  if (record.host !== self.host || !record.pidNamespace || record.pidNamespace !== self.pidNamespace) {
    return false;
  }
  if (record.pid === self.pid) return false;
  try {
    process.kill(record.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** One line naming the holder of a lease, since when, and what to do. */
export function heldMessage(what: string, record: LeaseRecord): string {
  return (
    `${what} is being backfilled by another shadowfill process (pid ${record.pid} on ${record.host}` +
    `${record.runId ? `, run ${record.runId}` : ''}) since ${record.acquiredAt}, last heartbeat ${record.heartbeatAt}` +
    ` — nothing was changed; wait for it to finish (or run again with --wait), or stop it: if it died, its lease ` +
    `expires at ${record.expiresAt} and the next run takes over`
  );
}

/** A lease this process holds. */
export class HeldLease {
  private lostTo: string | undefined;
  private lastConfirmed = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<boolean> | undefined;
  private runId: string | undefined;
  private released = false;

  constructor(
    private readonly store: LeaseStore,
    readonly key: string,
    private readonly what: string,
    readonly holder: LeaseClaimant,
    readonly record: LeaseRecord,
    private readonly ttlMs: number,
    /** The previous holder when this lease was taken over from a process that stopped heartbeating. */
    readonly tookOverFrom: LeaseRecord | undefined,
  ) {
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(10, ttlMs / 4));
    this.timer.unref();
  }

  get generation(): number {
    return this.record.generation;
  }

  /** Records the run the holder works on (shown to a process that finds the lease taken). */
  async setRun(runId: string): Promise<void> {
    this.runId = runId;
    await this.confirm(true);
  }

  /** Throws when the lease was lost; re-confirms with the store when the last confirmation is over 1 s old. */
  async confirm(force = false): Promise<void> {
    if (this.lostTo === undefined && (force || Date.now() - this.lastConfirmed > CONFIRM_AFTER_MS)) {
      await this.renew();
    }
    if (this.lostTo !== undefined) {
      throw new JournalError(
        'JOURNAL_CONFLICT',
        `this process lost its lease on ${this.what} (${this.lostTo}); it stopped before its next step and changed ` +
          `nothing more — the process holding the lease now continues the run (see shadowfill status)`,
      );
    }
  }

  /** True once another process took the lease (or it was released). */
  get lost(): boolean {
    return this.lostTo !== undefined;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.released || this.lostTo !== undefined) return;
    this.released = true;
    this.lostTo = 'released';
    await this.store.release(this.key, this.holder, this.record.generation);
  }

  /** One renewal at a time; concurrent callers share it. */
  private renew(): Promise<boolean> {
    if (this.lostTo !== undefined) return Promise.resolve(false);
    this.pending ??= (async () => {
      const started = Date.now();
      try {
        const ok = await this.store.renew(
          this.key,
          this.holder,
          this.record.generation,
          this.ttlMs,
          this.runId,
        );
        if (ok) this.lastConfirmed = started;
        else {
          this.lostTo = 'another process took it over after its heartbeat was late';
          if (this.timer) clearInterval(this.timer);
        }
        return ok;
      } finally {
        this.pending = undefined;
      }
    })();
    return this.pending;
  }
}

/**
 * Takes the lease of `key` for this process: free, released, expired, or held by a process on this machine
 * that no longer exists. Otherwise stops with one line naming the holder (or waits, per `options.wait`).
 */
export async function acquireLease(
  store: LeaseStore,
  key: string,
  what: string,
  options: LeaseOptions = {},
  signal?: AbortSignal,
): Promise<HeldLease> {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const self = claimant();
  const wait = options.wait ?? false;
  const deadline = wait === true ? Infinity : Date.now() + (typeof wait === 'number' ? wait : 0);
  await store.ensure();
  for (;;) {
    const current = await store.read(key);
    const free = !current || current.released || current.expired || holderIsDead(current, self);
    if (free) {
      const taken = await store.compareAndSet(key, current?.generation ?? 0, self, ttlMs);
      if (taken) {
        const previous = current && !current.released ? current : undefined;
        return new HeldLease(store, key, what, self, taken, ttlMs, previous);
      }
      continue; // another process changed it first: look again
    }
    if (Date.now() >= deadline || signal?.aborted) {
      throw new JournalError('JOURNAL_CONFLICT', heldMessage(what, current));
    }
    options.onWait?.(current);
    await sleep(Math.min(2_000, Math.max(50, ttlMs / 4)), signal);
  }
}

/** The lease events the run and the add-view both emit (docs/EVENTS.md, docs/ADD-VIEW.md). */
export type LeaseEvent =
  /** Another process holds the lease (emitted while waiting, with --wait). */
  | { type: 'lease-waiting'; holder: string; since: string; expiresAt: string }
  /** The lease of a holder that stopped heartbeating (or died on this machine) was taken over. */
  | { type: 'lease-taken-over'; from: string; lastHeartbeat: string };

/** A holder in events: `pid 123 on host (run r1)`. */
export function holderOf(record: LeaseRecord): string {
  return `pid ${record.pid} on ${record.host}${record.runId ? ` (run ${record.runId})` : ''}`;
}

/**
 * {@link acquireLease}, reporting the waits (`lease-waiting`, before `options.lease.onWait`) and a takeover
 * (`lease-taken-over`) to `emit`.
 */
export async function acquireLeaseWithEvents(
  store: LeaseStore,
  key: string,
  what: string,
  options: { readonly lease?: LeaseOptions; readonly signal?: AbortSignal },
  emit: (event: LeaseEvent) => void,
): Promise<HeldLease> {
  const lease = await acquireLease(
    store,
    key,
    what,
    {
      ...options.lease,
      onWait: (holder) => {
        emit({
          type: 'lease-waiting',
          holder: holderOf(holder),
          since: holder.acquiredAt,
          expiresAt: holder.expiresAt,
        });
        options.lease?.onWait?.(holder);
      },
    },
    options.signal,
  );
  const previous = lease.tookOverFrom;
  if (previous)
    emit({ type: 'lease-taken-over', from: holderOf(previous), lastHeartbeat: previous.heartbeatAt });
  return lease;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
