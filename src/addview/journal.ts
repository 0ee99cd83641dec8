/**
 * The journal of add-view runs: the same append-only table as backfill runs (each adapter's JournalStore),
 * with the same event kinds where they mean the same thing — a window is a batch (`batch-loaded` = verified,
 * `batch-committed`), the partition moves are swap units — plus `view-created` and `lease`. This is the only
 * place that gives add-view events meaning.
 *
 * A **lease** keeps two processes off one run: each invocation appends a lease with its owner id and renews
 * it while it works; an invocation that finds another owner's lease younger than LEASE_SECONDS stops with
 * JOURNAL_CONFLICT. Two invocations starting at the same moment both append, re-read, and the earliest lease
 * wins.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { TableMeasurement } from '../adapter/contract.ts';
import type { ViewSpec, ViewWindow } from '../adapter/view-contract.ts';
import { JournalError } from '../errors.ts';
import { groupRuns } from '../journal/state.ts';
import type { JournalEvent, JournalStore } from '../journal/types.ts';
import { JournalWriter } from '../journal/writer.ts';
import type { ViewConfig } from './config.ts';
import { positionFromJson, positionToJson, type PositionJson } from './position.ts';

/** A lease older than this is a dead process's. Leases are renewed every LEASE_SECONDS / 6. */
export const LEASE_SECONDS = 120;

export interface WindowJson {
  readonly index: number;
  readonly lo: PositionJson | null;
  readonly hi: PositionJson;
  /** Object keys (history from object storage); the objects themselves are in `objects`. */
  readonly objects?: readonly { key: string; size: number; uri: string; httpUrl: string }[];
}

/** What `run-started` records for an add-view: everything a resumed invocation needs. */
export interface AddViewStartedData {
  readonly addView: {
    readonly spec: ViewSpec;
    readonly cutoff: PositionJson | null;
    readonly history:
      { readonly kind: 'source-table' } | { readonly kind: 'object-store'; readonly split: PositionJson };
    readonly windows: readonly WindowJson[];
    /** window, margin (column units), settle and wait (µs), as decimal text. */
    readonly sizes: {
      readonly window: string;
      readonly margin: string;
      readonly settle: string;
      readonly wait: string;
    };
    readonly before: readonly TableMeasurement[];
  };
}

/** A verified window, as `batch-loaded` records it. */
export interface WindowResult {
  readonly sourceRows: number;
  /** Checked against a full recomputation from the source (else by cheap comparisons only). */
  readonly full?: boolean;
  readonly comparisons: readonly { what: string; expected: number; actual: number }[];
  readonly landed: Readonly<Record<string, number>>;
}

export type WindowState = 'pending' | 'verified' | 'committed';

export interface AddViewState {
  readonly runId: string;
  readonly startedAt: string;
  readonly started: AddViewStartedData['addView'];
  readonly windows: readonly WindowState[];
  readonly results: ReadonlyMap<number, WindowResult>;
  readonly failures: number;
  readonly viewCreated: boolean;
  readonly swapBegan: boolean;
  readonly unitsDone: ReadonlySet<string>;
  readonly swapFinished: boolean;
  readonly finished: boolean;
  /** Set when the run was abandoned (`--abandon`, or a new run that lost the race for the view). */
  readonly abandoned: string | undefined;
  readonly finishedAt: string | undefined;
  readonly lastSeq: number;
  /** The newest lease: its owner and when. */
  readonly lease:
    { readonly owner: string; readonly at: string; readonly pid: number; readonly host: string } | undefined;
}

/**
 * A configuration's identity for add-view: what makes two invocations "the same view". Not `window` (a run
 * resumed with another window re-plans its remaining windows), nor settings and credentials.
 */
export function viewFingerprint(config: ViewConfig): string {
  const v = config.view;
  const identity = {
    command: 'add-view',
    kind: config.target.kind,
    database: config.target.database,
    source: config.target.table,
    view: v.name,
    to: v.to ?? null,
    select: v.select.trim(),
    cutoffColumn: v.cutoff_column ?? null,
    cutoff: v.cutoff,
    history: config.source ? { url: config.source.url, endpoint: config.source.endpoint ?? null } : null,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

export function windowToJson(w: ViewWindow): WindowJson {
  return {
    index: w.index,
    lo: w.lo === undefined ? null : positionToJson(w.lo),
    hi: positionToJson(w.hi),
    ...(w.objects
      ? { objects: w.objects.map((o) => ({ key: o.key, size: o.size, uri: o.uri, httpUrl: o.httpUrl })) }
      : {}),
  };
}

export function windowFromJson(w: WindowJson): ViewWindow {
  return {
    index: w.index,
    lo: w.lo === null ? undefined : positionFromJson(w.lo),
    hi: positionFromJson(w.hi),
    ...(w.objects ? { objects: w.objects } : {}),
  };
}

/** Whether a process with this id runs on this host (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function leaseData(e: JournalEvent): { owner: string; pid: number; host: string } {
  return parse<{ owner: string; pid: number; host: string }>(e.data) ?? { owner: '', pid: 0, host: '' };
}

function parse<T>(data: string): T | undefined {
  if (!data) return undefined;
  try {
    return JSON.parse(data) as T;
  } catch {
    return undefined;
  }
}

/** One add-view run's state from its events; undefined for runs that are not add-views. */
export function reduceAddView(events: readonly JournalEvent[]): AddViewState | undefined {
  const start = events.find((e) => e.kind === 'run-started');
  const started = start ? parse<AddViewStartedData>(start.data)?.addView : undefined;
  if (!start || !started) return undefined;
  let plan = started;
  const windows: WindowState[] = started.windows.map(() => 'pending');
  const results = new Map<number, WindowResult>();
  const unitsDone = new Set<string>();
  let failures = 0;
  let viewCreated = false;
  let swapBegan = false;
  let swapFinished = false;
  let finishedAt: string | undefined;
  let abandoned: string | undefined;
  let lastSeq = 0;
  let lease: AddViewState['lease'];
  for (const e of events) {
    lastSeq = Math.max(lastSeq, e.seq);
    switch (e.kind) {
      case 'view-created':
        viewCreated = true;
        break;
      case 'batch-loaded': {
        const result = parse<WindowResult>(e.data);
        if (result) results.set(e.batch, result);
        if (windows[e.batch] === 'pending') windows[e.batch] = 'verified';
        break;
      }
      case 'batch-committed':
        windows[e.batch] = 'committed';
        break;
      case 'batch-failed':
        failures += 1;
        break;
      case 'swap-began':
        swapBegan = true;
        break;
      case 'swap-unit-done':
        unitsDone.add(e.unit);
        break;
      case 'swap-finished':
        swapFinished = true;
        break;
      case 'run-finished':
        finishedAt = e.at;
        abandoned = parse<{ abandoned?: string }>(e.data)?.abandoned;
        break;
      case 'windows-planned': {
        const data = parse<{ from: number; windows: WindowJson[]; window: string }>(e.data);
        if (!data) break;
        plan = {
          ...plan,
          windows: [...plan.windows.slice(0, data.from), ...data.windows],
          sizes: { ...plan.sizes, window: data.window },
        };
        windows.length = data.from;
        for (let i = data.from; i < plan.windows.length; i += 1) {
          windows.push('pending');
          results.delete(i);
        }
        break;
      }
      case 'lease': {
        const data = parse<{ owner: string; pid: number; host: string; released?: boolean }>(e.data);
        if (data)
          lease = data.released ? undefined : { owner: data.owner, pid: data.pid, host: data.host, at: e.at };
        break;
      }
      default:
        break;
    }
  }
  return {
    runId: start.runId,
    startedAt: start.at,
    started: plan,
    windows,
    results,
    failures,
    viewCreated,
    swapBegan,
    unitsDone,
    swapFinished,
    finished: finishedAt !== undefined,
    abandoned,
    finishedAt,
    lastSeq,
    lease,
  };
}

/** The add-view runs of a fingerprint: the one to resume, and the last finished (not abandoned) one. */
export async function findViewRuns(
  journal: JournalStore,
  fingerprint: string,
): Promise<{ unfinished: AddViewState | undefined; finished: AddViewState | undefined }> {
  const runs = groupRuns(await journal.readByFingerprint(fingerprint))
    .map(reduceAddView)
    .filter((r): r is AddViewState => r !== undefined);
  return {
    unfinished: [...runs].reverse().find((r) => !r.finished),
    finished: [...runs].reverse().find((r) => r.finished && r.abandoned === undefined),
  };
}

/** The run's writer to the journal (one per invocation), with the lease. */
export class ViewJournal extends JournalWriter {
  readonly owner = randomBytes(6).toString('hex');
  private lastLease = 0;

  /**
   * Takes the run for this process, or throws JOURNAL_CONFLICT naming the other one. `pause` waits for a
   * concurrent starter's lease to become visible before deciding who won (the lower (seq, owner) wins).
   */
  async acquire(view: string, pause: (ms: number) => Promise<void>): Promise<void> {
    const current = reduceAddView(await this.store.readRun(this.runId));
    this.refuseIfHeld(current?.lease, view);
    if (current) this.seq = Math.max(this.seq, current.lastSeq);
    // Leases written before this read were judged above; only a racer's can come after it.
    const seen = this.seq;
    await this.renew(true);
    const mine = { seq: this.seq, owner: this.owner };
    await pause(300);
    const events = await this.store.readRun(this.runId);
    const now = Date.now();
    const rival = events
      .filter(
        (e) =>
          e.kind === 'lease' &&
          e.seq > seen &&
          now - Date.parse(e.at) <= LEASE_SECONDS * 1000 &&
          !e.data.includes('"released":true'),
      )
      .map((e) => ({ seq: e.seq, at: e.at, ...leaseData(e) }))
      .find(
        (l) => l.owner !== this.owner && (l.seq < mine.seq || (l.seq === mine.seq && l.owner < mine.owner)),
      );
    if (rival) this.refuseIfHeld(rival, view, true);
    this.seq = Math.max(this.seq, ...events.map((e) => e.seq));
  }

  /** Appends a lease now (`force`) or when the last one is older than a sixth of LEASE_SECONDS. */
  async renew(force = false): Promise<void> {
    if (!force && Date.now() - this.lastLease < (LEASE_SECONDS * 1000) / 6) return;
    this.lastLease = Date.now();
    await this.append('lease', { data: { owner: this.owner, pid: process.pid, host: hostname() } });
  }

  /** Gives the run up for others (the invocation stops): the next one need not wait for the lease to age. */
  async release(): Promise<void> {
    await this.append('lease', {
      data: { owner: this.owner, pid: process.pid, host: hostname(), released: true },
    });
  }

  /** Renews the lease in the background while long statements run; returns the stop function. */
  heartbeat(): () => void {
    const timer = setInterval(() => void this.renew().catch(() => undefined), (LEASE_SECONDS * 1000) / 6);
    timer.unref();
    return () => clearInterval(timer);
  }

  private refuseIfHeld(lease: AddViewState['lease'], view: string, raced = false): void {
    if (!lease || lease.owner === this.owner) return;
    // A lease of a process on this host that is gone (killed) holds nothing, however young.
    if (lease.host === hostname() && !processAlive(lease.pid)) return;
    const age = (Date.now() - Date.parse(lease.at)) / 1000;
    if (!raced && age > LEASE_SECONDS) return;
    throw new JournalError(
      'JOURNAL_CONFLICT',
      `another shadowfill process (pid ${lease.pid} on ${lease.host}) is adding view ${view} (run ${this.runId}, ` +
        `last seen ${Math.max(0, Math.round(age))} s ago) — wait for it to finish, or stop it and run again`,
    );
  }
}
