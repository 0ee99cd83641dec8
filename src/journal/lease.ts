/**
 * Leases: who may act for a live table right now. A lease is a record in the target database, next to the
 * journal, that names its holder (an id unique to one process's use of it, the host, the pid), when it was
 * taken, its last heartbeat and when it expires. Only the holder changes anything of a run; a second process
 * finds the record and either waits or stops at once. A holder that stops heartbeating (killed, frozen,
 * partitioned) loses the lease when it expires, and the next process takes it over.
 *
 * Terminology:
 * - **key**         what the lease guards (`table:["clickhouse","db","pypi"]` for a live table). The scheduler
 *                   (several processes sharing one run) adds keys for batch claims, with the same store.
 * - **generation**  increases every time the lease changes hands; a holder acts only while the store still has
 *                   its generation and holder id (a fencing token), so a holder that was taken over cannot renew.
 * - **expired**     judged by the database's clock (`now()`), never by the caller's, so hosts with skewed clocks
 *                   agree.
 *
 * The store is a small contract (read, compare-and-set, renew, release) that every adapter implements in its
 * database; `memoryLeaseStore` implements it in memory, so the engine's lease logic is unit-tested in
 * milliseconds (as umzug does for its migration storage).
 */

/** Who asks for (or holds) a lease. */
export interface LeaseClaimant {
  /** Unique per process and lease attempt (random). */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /**
   * The holder's PID namespace (`pid:[4026531836]` on Linux), so that a pid is only judged dead by a process
   * that shares the namespace; '' when unknown.
   */
  readonly pidNamespace: string;
}

/** A lease as the store holds it. */
export interface LeaseRecord extends LeaseClaimant {
  readonly key: string;
  readonly generation: number;
  /** The run the holder works on, once it knows ('' before). */
  readonly runId: string;
  /** ISO-8601 times, from the database's clock. */
  readonly acquiredAt: string;
  readonly heartbeatAt: string;
  readonly expiresAt: string;
  /** The holder let go of it. */
  readonly released: boolean;
  /** `expiresAt` is in the past by the database's clock. */
  readonly expired: boolean;
}

export interface LeaseStore {
  /** Creates whatever the store needs (a table). Idempotent, safe to call from several processes at once. */
  ensure(): Promise<void>;
  /** The lease of `key`, or undefined when nobody ever held it (or the store dropped a released one). */
  read(key: string): Promise<LeaseRecord | undefined>;
  /**
   * Takes the lease for `claimant` if its generation is still `expected` (0: nobody holds it), atomically
   * against every other process; the new generation is `expected + 1`. Returns the new record, or undefined
   * when another process changed it first. The caller decides beforehand whether taking it is right (free,
   * released, expired, holder dead).
   */
  compareAndSet(
    key: string,
    expected: number,
    claimant: LeaseClaimant,
    ttlMs: number,
  ): Promise<LeaseRecord | undefined>;
  /** Extends the lease by `ttlMs` from now if `claimant` still holds `generation`; false when it does not. */
  renew(
    key: string,
    claimant: LeaseClaimant,
    generation: number,
    ttlMs: number,
    runId?: string,
  ): Promise<boolean>;
  /** Lets go of the lease if `claimant` still holds `generation`. Idempotent. */
  release(key: string, claimant: LeaseClaimant, generation: number): Promise<void>;
}

/** The lease key of a live table. */
export function tableLeaseKey(kind: string, database: string, table: string): string {
  return `table:${JSON.stringify([kind, database, table])}`;
}

/** A LeaseStore in memory, for unit tests of the engine (and for one process sharing one store). */
export function memoryLeaseStore(now: () => number = Date.now): LeaseStore & {
  /** Every record, for assertions. */
  readonly records: ReadonlyMap<string, LeaseRecord>;
} {
  const records = new Map<string, LeaseRecord>();
  const iso = (ms: number) => new Date(ms).toISOString();
  const view = (r: LeaseRecord): LeaseRecord => ({ ...r, expired: Date.parse(r.expiresAt) <= now() });
  return {
    records,
    async ensure() {},
    async read(key) {
      const r = records.get(key);
      return r ? view(r) : undefined;
    },
    async compareAndSet(key, expected, claimant, ttlMs) {
      const current = records.get(key);
      if ((current?.generation ?? 0) !== expected) return undefined;
      const t = now();
      const record: LeaseRecord = {
        ...claimant,
        key,
        generation: expected + 1,
        runId: '',
        acquiredAt: iso(t),
        heartbeatAt: iso(t),
        expiresAt: iso(t + ttlMs),
        released: false,
        expired: false,
      };
      records.set(key, record);
      return view(record);
    },
    async renew(key, claimant, generation, ttlMs, runId) {
      const current = records.get(key);
      if (!current || current.generation !== generation || current.id !== claimant.id || current.released) {
        return false;
      }
      const t = now();
      records.set(key, {
        ...current,
        heartbeatAt: iso(t),
        expiresAt: iso(t + ttlMs),
        runId: runId ?? current.runId,
      });
      return true;
    },
    async release(key, claimant, generation) {
      const current = records.get(key);
      if (!current || current.generation !== generation || current.id !== claimant.id) return;
      records.set(key, { ...current, released: true, expiresAt: iso(now()) });
    },
  };
}
