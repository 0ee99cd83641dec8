/**
 * The executor: runs a run's steps with `workers` lanes in flight. Its loop is
 *
 *     state (journal + the adapter's listings + what is in flight) → decideNextSteps (pure, src/scheduler/decide.ts)
 *     → start the steps → wait until one ends (or, where other processes share the run, until it is time to look
 *     at what they did) → again
 *
 * until the decision is `done`. Every step is journaled and idempotent, so a process killed at any point leaves a
 * state from which the same loop, in the next invocation, starts exactly the steps still missing.
 *
 * Steps: `load-batch` (a free lane: claim → prepare → load → verify → journal batch-loaded; batch-load.ts),
 * `commit-batch` (one at a time, from the lane whose landing holds the batch), `begin-swap` (verify the shadow,
 * adapter.beginSwap, journal swap-began), `swap-slice`, `commit-all` (catchup: every slice in one transaction),
 * `compress-chunk`, `final-pass` (adapter.finishSwap, journal swap-finished). Swap-side steps run one at a time,
 * only in the process holding the run's lease; a process that joined the run (another `shadowfill run` with the
 * same configuration) loads batches (and, where a commit is only a record, commits them), watches the journal,
 * and takes the lease over — with the rest of the run — when its holder dies.
 *
 * A failure stops the starting of new steps; the steps in flight end; the first error is thrown. Ctrl-C the same.
 */
import type {
  BatchSpec,
  ChunkToCompress,
  SwapState,
  SwapUnit,
  RunContext,
  TableVerification,
} from '../adapter/contract.ts';
import { ShadowfillError, VerifyError, isRetryable } from '../errors.ts';
import { reduceRun, type BatchState, type RunState } from '../journal/state.ts';
import { decideNextSteps, type Decision, type Step, type SwapPolicy } from '../scheduler/decide.ts';
import { timeKeyText } from '../scheduler/ranges.ts';
import { schedulerState } from '../scheduler/state.ts';
import {
  advanced,
  watermarkText,
  type BatchRange,
  type KeyInterval,
  type Watermark,
} from '../scheduler/watermark.ts';
import { loadBatchOnLane, type LaneWorker } from './batch-load.ts';
import { claimBatch } from './claims.ts';
import type { HeldLease } from './lease.ts';
import { batchBytes, guardStep, laneContext, type RunSession } from './session.ts';
import { shadowMismatch } from './verify.ts';

export interface ExecutorOptions {
  /** Lane ids of this process, one per worker: '' and `w2`… when it performs the run, `j<id>_<n>` when it joins. */
  readonly lanes: readonly string[];
  /** `pid 123 on host`. */
  readonly holder: string;
  readonly policy: SwapPolicy;
  readonly ranges: readonly (BatchRange | undefined)[];
  /** The journal's view when this invocation began (undefined: a new run). */
  readonly state: RunState | undefined;
  /** For a joined process: takes the run's lease when its holder is gone (undefined while it is alive). */
  readonly takeLease?: () => Promise<HeldLease | undefined>;
  /** How long claims last without a heartbeat (engine claims). */
  readonly claimTtlMs: number;
  /** How often a process sharing the run with others looks at the journal (ms). Default 1,000. */
  readonly pollMs?: number;
  /**
   * Lane ids for swap-side steps run at once (swap-slice, compress-chunk), each on its own connection; empty or
   * absent: one at a time on the run's own connection.
   */
  readonly finishers?: readonly string[];
}

export interface ExecutorResult {
  /** Verified rows of every batch of the run. */
  readonly rowsLoaded: number;
  /** Swap units this invocation ran. */
  readonly swapUnits: number;
  readonly swapState: SwapState | undefined;
  /** Batches (and their rows) this process loaded. */
  readonly loadedHere: { readonly batches: number; readonly rows: number };
  /** The run was finished by another process (this one joined it). */
  readonly finishedElsewhere: boolean;
}

interface LaneSlot {
  readonly worker: LaneWorker;
  opened: boolean;
  /** The batch it loads now. */
  loading: number | undefined;
  /** With `commitMovesLanding`: the loaded batch its landing holds until it is committed. */
  holds: number | undefined;
  idle: boolean;
}

/** How long a batch another process holds is left alone before it is tried again (ms). */
const CLAIMED_RECHECK_MS = 2_000;

export class Executor {
  private readonly batches: readonly BatchSpec[];
  private readonly status: BatchState[];
  private readonly rows = new Map<number, number>();
  private readonly lanesOf = new Map<number, string>();
  private readonly failed = new Map<number, unknown>();
  private readonly claimedElsewhere = new Map<number, number>();
  private swapState: SwapState | undefined;
  private swapFinished: boolean;
  private swapStart = Date.now();
  private swapAnnounced = false;
  private finishedElsewhere = false;
  /** The run's shadows exist (a joined process waits for the performer's `shadows-created`). */
  private shadowsReady: boolean;
  /** A commit an earlier invocation began and did not finish: it goes first (the shadow holds part of it). */
  private interruptedCommit: number | undefined;

  private slices: SwapUnit[] = [];
  private chunks: ChunkToCompress[] = [];
  private slicesVersion = 1;
  private slicesListed = 0;
  private chunksVersion = 1;
  private chunksListed = 0;

  private readonly lanes: LaneSlot[];
  /** Swap-side lanes (ExecutorOptions.finishers), with the step each runs. */
  private readonly finisherLanes: { readonly id: string; opened: boolean; busy: boolean }[];
  private readonly loading = new Map<number, LaneSlot>();
  private readonly committing = new Set<number>();
  /** Running slice and chunk steps with their intervals (kept until the step settles: scheduler/state.ts). */
  private readonly slicesRunning = new Map<string, KeyInterval | undefined>();
  private readonly chunksRunning = new Map<string, KeyInterval | undefined>();
  private phase: 'begin-swap' | 'commit-all' | 'final-pass' | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private stopError: unknown;
  private stopping = false;

  private unitsDone = 0;
  private chunksCompressed = 0;
  private loadedHere = { batches: 0, rows: 0 };
  private lastWatermark: Watermark | undefined;
  private lastPoll = 0;

  constructor(
    private readonly session: RunSession,
    private readonly options: ExecutorOptions,
  ) {
    const { started } = session;
    this.batches = started.batches;
    const state = options.state;
    this.status = state ? [...state.batches] : this.batches.map(() => 'pending' as const);
    for (const [k, n] of state?.batchRows ?? []) this.rows.set(k, n);
    for (const [k, lane] of state?.batchLanes ?? []) this.lanesOf.set(k, lane);
    this.swapState = state?.swapState;
    this.swapFinished = state?.swapFinished ?? false;
    this.interruptedCommit = state?.committing;
    this.shadowsReady = session.lease !== undefined || state?.shadowsCreated === true;
    this.lanes = options.lanes.map((id, i) => ({
      worker: { lane: { id, holder: options.holder }, number: i + 1 },
      opened: false,
      loading: undefined,
      holds: undefined,
      idle: false,
    }));
    this.finisherLanes = (options.finishers ?? []).map((id) => ({ id, opened: false, busy: false }));
    this.holdLoadedLanes();
  }

  private get performing(): boolean {
    return this.session.lease !== undefined;
  }

  private get caps() {
    return this.session.adapter.capabilities;
  }

  /** Runs until the run is done (or, for a joined process, finished by another); throws the first failure. */
  async run(): Promise<ExecutorResult> {
    try {
      await this.syncClaims();
      if (this.swapState && this.performing) {
        this.session.checks.push(...(this.options.state?.shadowChecks ?? []));
      }
      for (;;) {
        if (!this.stopping) {
          try {
            await this.maybePoll();
            await this.refreshListings();
          } catch (error) {
            this.stop(error);
          }
        }
        let decision: Decision | undefined;
        if (!this.stopping) {
          decision = this.decide();
          this.noteWatermark(decision);
          if (decision.done && this.inflight.size === 0) break;
          if (this.finishedElsewhere && this.inflight.size === 0) break;
          this.start(decision);
        }
        if (this.inflight.size === 0) {
          if (this.stopping) throw this.stopError;
          if (!this.caps.multiProcess) {
            throw new Error(
              `the scheduler found nothing to start and nothing in flight, but run ${this.session.run.runId} is not done (${this.describeState()})`,
            );
          }
          await delay(this.pollMs).done;
          continue;
        }
        const timer = this.caps.multiProcess && !this.stopping ? delay(this.pollMs) : undefined;
        try {
          await Promise.race(timer ? [...this.inflight, timer.done] : [...this.inflight]);
        } finally {
          timer?.cancel();
        }
      }
      await this.session.journal.flush();
      if (this.swapFinished && this.performing && !this.finishedElsewhere) this.announceFinish();
      return {
        rowsLoaded: [...this.rows.values()].reduce((a, b) => a + b, 0),
        swapUnits: this.unitsDone,
        swapState: this.swapState,
        loadedHere: this.loadedHere,
        finishedElsewhere: this.finishedElsewhere,
      };
    } finally {
      await Promise.allSettled([...this.inflight]);
      await this.session.journal.flush().catch(() => undefined);
      await this.closeLanes();
    }
  }

  /** The swap state (for recover on failure). */
  get currentSwapState(): SwapState | undefined {
    return this.swapState;
  }

  private get pollMs(): number {
    return this.options.pollMs ?? 1_000;
  }

  // ---- state and decisions ----

  /** A swap unit's key interval, where the adapter gave one. */
  private intervalOf(unit: { readonly lo?: bigint; readonly hi?: bigint }): KeyInterval | undefined {
    return unit.lo !== undefined && unit.hi !== undefined ? { lo: unit.lo, hi: unit.hi } : undefined;
  }

  private decide(): Decision {
    const now = Date.now();
    for (const [k, until] of this.claimedElsewhere) if (until <= now) this.claimedElsewhere.delete(k);
    const freeLanes = this.lanes.filter((l) => l.loading === undefined && l.holds === undefined).length;
    const mine = this.loading.size + this.committing.size;
    const state = schedulerState({
      run: { batches: this.status, swapState: this.swapState, swapFinished: this.swapFinished },
      ranges: this.options.ranges,
      slices: this.slices.map((u, i) => ({
        id: u.id,
        lo: u.lo ?? BigInt(i),
        hi: u.hi ?? BigInt(i + 1),
      })),
      chunks: this.chunks,
      claimedElsewhere: new Set(this.claimedElsewhere.keys()),
      failed: new Set(this.failed.keys()),
      inFlight: {
        loading: new Set(this.loading.keys()),
        committing: this.committing,
        slices: this.slicesRunning,
        chunks: this.chunksRunning,
        phase: this.phase,
      },
    });
    return decideNextSteps(state, {
      policy: this.options.policy,
      workers: Math.max(1, mine + freeLanes),
      finishers: Math.max(1, this.finisherLanes.length),
      swapper: this.performing,
    });
  }

  private start(decision: Decision): void {
    let loadsStarted = 0;
    for (const step of decision.start) {
      if (step.kind === 'load-batch') {
        if (!this.shadowsReady) continue;
        const lane = this.lanes.find((l) => l.loading === undefined && l.holds === undefined);
        if (!lane) continue;
        loadsStarted += 1;
        this.launchLoad(step.batch, lane);
        continue;
      }
      if (step.kind === 'commit-batch') {
        // Only the process performing the run moves landings; one commit at a time (the shadow check after a
        // commit must not see another one half done).
        if (this.caps.commitMovesLanding && !this.performing) continue;
        if (this.committing.size > 0) continue;
        if (this.interruptedCommit !== undefined) {
          if (this.status[this.interruptedCommit] !== 'loaded') this.interruptedCommit = undefined;
          else if (step.batch !== this.interruptedCommit) continue;
        }
        this.committing.add(step.batch);
        this.track(this.commitStep(step.batch));
        continue;
      }
      this.launchSwapSide(step);
    }
    if (loadsStarted === 0) this.noteIdleLanes();
  }

  private launchLoad(batch: number, lane: LaneSlot): void {
    lane.loading = batch;
    lane.idle = false;
    this.loading.set(batch, lane);
    this.track(this.loadStep(batch, lane));
  }

  private launchSwapSide(step: Exclude<Step, { kind: 'load-batch' | 'commit-batch' }>): void {
    switch (step.kind) {
      case 'begin-swap':
        this.phase = 'begin-swap';
        this.track(this.beginSwapStep());
        return;
      case 'swap-slice': {
        const unit = this.slices.find((u) => u.id === step.slice);
        if (!unit) return;
        this.slicesRunning.set(unit.id, this.intervalOf(unit));
        this.track(
          this.onFinisher(
            (run) => this.sliceStep(unit, run),
            () => this.slicesRunning.delete(unit.id),
          ),
        );
        return;
      }
      case 'commit-all': {
        const units = this.slices.filter((u) => step.slices.includes(u.id));
        this.phase = 'commit-all';
        for (const u of units) this.slicesRunning.set(u.id, this.intervalOf(u));
        this.track(this.commitAllStep(units));
        return;
      }
      case 'compress-chunk': {
        const chunk = this.chunks.find((c) => c.id === step.chunk);
        if (!chunk) return;
        this.chunksRunning.set(chunk.id, { lo: chunk.lo, hi: chunk.hi });
        this.track(
          this.onFinisher(
            (run) => this.compressStep(chunk, run),
            () => this.chunksRunning.delete(chunk.id),
          ),
        );
        return;
      }
      case 'final-pass':
        this.phase = 'final-pass';
        this.track(this.finalPassStep());
        return;
    }
  }

  private track(step: Promise<void>): void {
    const tracked: Promise<void> = step
      .catch(async (error: unknown) => {
        if (!this.performing && (error as ShadowfillError).code === 'TARGET_MISSING') {
          // Joined: the run's tables are gone — the process performing it finished it and dropped them meanwhile?
          await this.poll().catch(() => undefined);
          if (this.finishedElsewhere) return;
        }
        this.stop(error);
      })
      .finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  private stop(error: unknown): void {
    if (!this.stopping) this.stopError = error;
    this.stopping = true;
  }

  private noteWatermark(decision: Decision): void {
    if (!this.options.ranges.some((r) => r !== undefined)) return;
    const previous = this.lastWatermark;
    if (previous !== undefined && !advanced(previous, decision.watermark)) return;
    this.lastWatermark = decision.watermark;
    if (previous === undefined && decision.watermark.kind === 'none') return;
    const w = decision.watermark;
    this.session.emit({
      type: 'watermark-advanced',
      watermark: watermarkText(w),
      text: w.kind === 'at' ? timeKeyText(w.key, this.session.started.timeDimension) : w.kind,
      prefix: decision.prefix,
      batches: this.batches.length,
      ...(decision.stalledBy !== undefined ? { stalledBy: decision.stalledBy } : {}),
    });
  }

  private noteIdleLanes(): void {
    for (const lane of this.lanes) {
      // A lane whose landing holds its batch until the commit is busy, not idle.
      if (lane.loading !== undefined || lane.holds !== undefined || lane.idle) continue;
      lane.idle = true;
      const pending = this.status.some((s, k) => s === 'pending' && !this.failed.has(k));
      const reason = pending
        ? 'the batches left are being loaded by other workers or processes'
        : 'no batch left to load';
      this.session.emit({ type: 'worker-idle', worker: lane.worker.number, reason });
    }
  }

  private describeState(): string {
    const count = (s: BatchState) => this.status.filter((x) => x === s).length;
    return `${count('committed')} committed, ${count('loaded')} loaded, ${count('pending')} pending batches; ${this.slices.length} slices and ${this.chunks.length} chunks listed`;
  }

  /** Lanes of this process whose landing holds a loaded, uncommitted batch stay busy until it is committed. */
  private holdLoadedLanes(): void {
    if (!this.caps.commitMovesLanding) return;
    for (const lane of this.lanes) {
      lane.holds = undefined;
      for (const [k, id] of this.lanesOf) {
        if (id === lane.worker.lane.id && this.status[k] === 'loaded') lane.holds = k;
      }
    }
  }

  // ---- steps ----

  private async loadStep(index: number, slot: LaneSlot): Promise<void> {
    const { session } = this;
    const batch = this.batches[index]!;
    let claim: HeldLease | undefined;
    try {
      await this.openLane(slot);
      if (this.caps.multiProcess && !this.caps.claimsBatches) {
        claim = await claimBatch(session.adapter.lease, session.run.runId, index, this.options.claimTtlMs);
        if (!claim) {
          this.claimedElsewhere.set(index, Date.now() + CLAIMED_RECHECK_MS);
          return;
        }
        // Loaded by another process since this one last looked?
        await this.poll();
        if (this.status[index] !== 'pending') return;
      }
      const rows = await loadBatchOnLane(session, batch, slot.worker);
      if (this.status[index] === 'pending') this.status[index] = 'loaded';
      this.rows.set(index, rows);
      if (!this.lanesOf.has(index)) this.lanesOf.set(index, slot.worker.lane.id);
      this.loadedHere = { batches: this.loadedHere.batches + 1, rows: this.loadedHere.rows + rows };
      if (this.caps.commitMovesLanding && this.status[index] === 'loaded') slot.holds = index;
    } catch (error) {
      if ((error as ShadowfillError).code === 'BATCH_CLAIMED') {
        this.claimedElsewhere.set(index, Date.now() + CLAIMED_RECHECK_MS);
        return;
      }
      const code = (error as ShadowfillError).code;
      if (code !== 'INTERRUPTED' && code !== 'JOURNAL_CONFLICT') this.failed.set(index, error);
      throw error;
    } finally {
      await claim?.release().catch(() => undefined);
      this.loading.delete(index);
      slot.loading = undefined;
    }
  }

  private async commitStep(index: number): Promise<void> {
    const { session } = this;
    const { adapter, journal, emit } = session;
    try {
      await guardStep(session);
      const lane = this.lanesOf.get(index) ?? '';
      if (this.caps.commitMovesLanding && (this.caps.multiProcess || this.lanes.length > 1)) {
        // Several lanes (or processes) may hold loaded batches: a commit killed halfway (part of the landing moved
        // into the shadow) is finished first by the next invocation, from this lane.
        await journal.append('batch-committing', { batch: index, data: { lane } });
      }
      await session.timed('commit', () =>
        adapter.commitBatch(laneContext(session, lane), this.batches[index]!),
      );
      this.status[index] = 'committed';
      if (this.caps.countsShadowCheaply) await this.checkShadow(`after the commit of batch ${index + 1}`);
      await journal.append('batch-committed', { batch: index });
      const committed = this.committedIndexes();
      emit({
        type: 'batch-committed',
        batch: index,
        rowsSoFar: committed.reduce((n, k) => n + (this.rows.get(k) ?? 0), 0),
        bytesSoFar: committed.reduce((n, k) => n + batchBytes(this.batches[k]!), 0),
        batchesSoFar: committed.length,
      });
      for (const lane of this.lanes) if (lane.holds === index) lane.holds = undefined;
      this.slicesVersion += 1;
    } finally {
      this.committing.delete(index);
    }
  }

  private async beginSwapStep(): Promise<void> {
    const { session } = this;
    const { adapter, journal, emit, run, table } = session;
    try {
      await guardStep(session);
      await this.checkShadow('before the swap');
      const committed = this.committedIndexes();
      const shadowChecks: TableVerification[] = [
        {
          table,
          scope: 'shadow',
          method: 'rows in the shadow = the committed batches’ verified rows',
          exact: true,
          ok: true,
          detail: `${this.committedRows()} rows in ${committed.length} batches`,
        },
      ];
      if (adapter.capabilities.shadowsViews && adapter.verifyViewTargets) {
        const views = await session.timed('verify', () => adapter.verifyViewTargets!(run, 'shadow'));
        shadowChecks.push(...views);
        const failed = views.find((v) => !v.ok);
        if (failed) {
          throw new VerifyError(
            `the shadow of view target ${failed.table} does not match its views over the shadow of ${table} ` +
              `(${failed.method}: ${failed.detail}); nothing was swapped — run \`shadowfill abandon\` with the same ` +
              `configuration (or run with --new-run) to start over`,
          );
        }
      }
      await journal.append('shadow-verified', { data: shadowChecks });
      emit({ type: 'shadow-verified', checks: shadowChecks });
      session.checks.push(...shadowChecks);
      await guardStep(session);
      this.swapStart = Date.now();
      const state = await session.timed('swap', () => adapter.beginSwap(run));
      // From here a failure puts the live side back (adapter.recover) before the error is reported.
      this.swapState = state;
      await journal.append('swap-began', { data: state });
      this.slicesVersion += 1;
      this.chunksVersion += 1;
    } finally {
      this.phase = undefined;
    }
  }

  /**
   * Runs a swap-side step on a free finisher lane (opened on first use), or on the run's own connection when the
   * run has no finisher lanes. decide() starts no more such steps than there are lanes.
   */
  private async onFinisher(step: (run: RunContext) => Promise<void>, settled: () => void): Promise<void> {
    const lane = this.finisherLanes.find((l) => !l.busy);
    if (lane) lane.busy = true;
    try {
      const run = lane ? laneContext(this.session, lane.id) : this.session.run;
      if (lane && !lane.opened) {
        await this.session.adapter.openLane?.(run);
        lane.opened = true;
      }
      await step(run);
    } finally {
      // The lane is free exactly when decide() sees the step gone (both here, in one synchronous block).
      if (lane) lane.busy = false;
      settled();
    }
  }

  /**
   * A swap-side step again after a retryable failure (e.g. a deadlock between two slices' transactions, which
   * the database rolled back whole), up to `attempts` times: each such step is one transaction, safe to repeat.
   */
  private async retried(step: () => Promise<void>): Promise<void> {
    const attempts = Math.max(1, this.session.config.attempts);
    for (let attempt = 1; ; attempt += 1) {
      try {
        await step();
        return;
      } catch (error) {
        if (!isRetryable(error) || attempt >= attempts || this.stopping) throw error;
        await delay(100 * attempt).done;
      }
    }
  }

  /** One slice swapped (its running mark and its lane are released by onFinisher). */
  private async sliceStep(unit: SwapUnit, run: RunContext): Promise<void> {
    const { session } = this;
    await guardStep(session);
    await session.timed('swap', () => this.retried(() => session.adapter.swapUnit(run, unit)));
    await session.journal.defer('swap-unit-done', { unit: unit.id });
    this.unitsDone += 1;
    this.slices = this.slices.filter((u) => u.id !== unit.id);
    session.emit({
      type: 'swap-unit-done',
      unit: unit.id,
      description: unit.description,
      done: this.unitsDone,
      total: this.unitsDone + this.slices.length,
    });
    // The swapped unit is off the list; no other unit changes with it, so the units are listed again only
    // when a batch commits (a listing per unit cost more than the MOVE it follows: 100 partitions 0.34 → 1.7 s).
    this.chunksVersion += 1;
  }

  private async commitAllStep(units: readonly SwapUnit[]): Promise<void> {
    const { session } = this;
    const { adapter } = session;
    try {
      await guardStep(session);
      if (!adapter.commitAll) throw new Error(`the ${adapter.kind} adapter cannot swap in one transaction`);
      await session.timed('swap', () => adapter.commitAll!(session.run, units));
      const total = this.unitsDone + units.length;
      for (const unit of units) {
        await session.journal.defer('swap-unit-done', { unit: unit.id });
        this.unitsDone += 1;
        session.emit({
          type: 'swap-unit-done',
          unit: unit.id,
          description: unit.description,
          done: this.unitsDone,
          total,
        });
      }
      this.slices = this.slices.filter((u) => !units.includes(u));
      this.slicesVersion += 1;
      this.chunksVersion += 1;
    } finally {
      for (const u of units) this.slicesRunning.delete(u.id);
      this.phase = undefined;
    }
  }

  /** One chunk compressed (its running mark and its lane are released by onFinisher). */
  private async compressStep(chunk: ChunkToCompress, run: RunContext): Promise<void> {
    const { session } = this;
    const { adapter } = session;
    const started = Date.now();
    await guardStep(session);
    await session.timed('swap', () => this.retried(() => adapter.compressChunk!(run, chunk)));
    this.chunksCompressed += 1;
    this.chunks = this.chunks.filter((c) => c.id !== chunk.id);
    session.emit({
      type: 'chunk-compressed',
      chunk: chunk.id,
      done: this.chunksCompressed,
      total: this.chunksCompressed + this.chunks.length,
      seconds: (Date.now() - started) / 1000,
    });
    this.chunksVersion += 1;
  }

  private async finalPassStep(): Promise<void> {
    const { session } = this;
    try {
      await guardStep(session);
      await session.journal.flush();
      await session.timed('swap', () => session.adapter.finishSwap(session.run, this.swapState ?? {}));
      await session.journal.append('swap-finished');
      this.swapFinished = true;
      this.announceFinish();
    } finally {
      this.phase = undefined;
    }
  }

  private announceFinish(): void {
    if (this.swapAnnounced) return;
    this.swapAnnounced = true;
    this.announceSwapStart();
    this.session.emit({
      type: 'swap-finished',
      units: this.unitsDone,
      seconds: (Date.now() - this.swapStart) / 1000,
    });
  }

  private swapStartAnnounced = false;

  private announceSwapStart(): void {
    if (this.swapStartAnnounced) return;
    this.swapStartAnnounced = true;
    this.session.emit({ type: 'swap-started', units: this.slices.length });
  }

  // ---- the shadow check ----

  private committedIndexes(): number[] {
    return this.status.flatMap((s, k) => (s === 'committed' ? [k] : []));
  }

  private committedRows(): number {
    return this.committedIndexes().reduce((n, k) => n + (this.rows.get(k) ?? 0), 0);
  }

  /**
   * The shadow holds exactly the committed batches' verified rows (else it lost or gained rows). `atLeast`: only
   * a loss counts (a resumed run's shadow may also hold a batch an earlier invocation was committing).
   */
  async checkShadow(when: string, atLeast = false): Promise<void> {
    const { session } = this;
    const committed = this.committedIndexes();
    const expected = this.committedRows();
    const held = await session.timed('verify', () => session.adapter.countShadowRows(session.run, committed));
    if (atLeast ? held < expected : held !== expected) {
      throw shadowMismatch(
        session.config,
        session.run.runId,
        held,
        expected,
        committed.length,
        when,
        this.swapState !== undefined,
      );
    }
  }

  /** Whether the shadow can be checked now: before the swap, or when swapped rows still count. */
  get shadowCheckable(): boolean {
    if (this.swapFinished) return false;
    return this.swapState === undefined || this.caps.swapsWhileLoading === true;
  }

  // ---- listings, lanes, other processes ----

  private async refreshListings(): Promise<void> {
    if (!this.performing) return;
    const { adapter, run } = this.session;
    const allCommitted = this.status.every((s) => s === 'committed');
    const anyCommitted = this.status.some((s) => s === 'committed');
    for (let round = 0; round < 5; round += 1) {
      let listed = false;
      const wantSlices =
        this.options.policy === 'progressive' ? anyCommitted : allCommitted || this.swapState !== undefined;
      if (wantSlices && this.slicesListed < this.slicesVersion && !this.swapFinished) {
        const version = this.slicesVersion;
        this.slices = [...(await this.session.timed('swap', () => adapter.listSwapUnits(run)))];
        this.slicesListed = version;
        listed = true;
      }
      if (this.swapState && adapter.listChunksToCompress && this.chunksListed < this.chunksVersion) {
        const version = this.chunksVersion;
        this.chunks = [...(await this.session.timed('swap', () => adapter.listChunksToCompress!(run)))];
        this.chunksListed = version;
        listed = true;
      }
      if (!listed) break;
    }
    if (this.swapState && !this.swapStartAnnounced && this.slicesListed > 0) this.announceSwapStart();
  }

  private async openLane(slot: LaneSlot): Promise<void> {
    if (slot.opened) return;
    const { adapter } = this.session;
    if (adapter.openLane) await adapter.openLane(laneContext(this.session, slot.worker.lane));
    slot.opened = true;
  }

  private async closeLanes(): Promise<void> {
    const { adapter } = this.session;
    for (const slot of this.lanes) {
      if (!slot.opened) continue;
      slot.opened = false;
      await adapter.closeLane?.(laneContext(this.session, slot.worker.lane)).catch(() => undefined);
    }
    for (const lane of this.finisherLanes) {
      if (!lane.opened) continue;
      lane.opened = false;
      await adapter.closeLane?.(laneContext(this.session, lane.id)).catch(() => undefined);
    }
  }

  /** Batches the adapter's claims know better than the journal (a load committed, its journal write lost). */
  private async syncClaims(): Promise<void> {
    const { adapter, run, journal } = this.session;
    if (!adapter.claimedBatches || !this.shadowsReady) return;
    const claims = await adapter.claimedBatches(run);
    const now = Date.now();
    for (const [k, claim] of claims) {
      if (k < 0 || k >= this.status.length) continue;
      if (claim.held && this.status[k] === 'pending' && !this.loading.has(k)) {
        this.claimedElsewhere.set(k, now + CLAIMED_RECHECK_MS);
      }
      if ((claim.state === 'loaded' || claim.state === 'committed') && this.status[k] === 'pending') {
        // The claim and the rows were committed together after the rows were verified: journal what it says.
        await journal.append('batch-loaded', { batch: k, data: { rows: claim.rows, lane: '' } });
        this.status[k] = 'loaded';
        this.rows.set(k, claim.rows);
        this.lanesOf.set(k, '');
      }
    }
  }

  private async maybePoll(): Promise<void> {
    if (!this.caps.multiProcess) return;
    if (Date.now() - this.lastPoll < this.pollMs) return;
    await this.poll();
  }

  /** What other processes did: their journal events and claims; takes the lease over when its holder is gone. */
  private async poll(): Promise<void> {
    this.lastPoll = Date.now();
    const { session } = this;
    const events = await session.adapter.journal.readRun(session.run.runId);
    const state = reduceRun(events);
    if (state) this.merge(state);
    if (this.finishedElsewhere) return;
    try {
      await this.syncClaims();
    } catch (error) {
      // The process performing the run finished it and dropped its tables since the journal was read: the next
      // look at the journal says so.
      if (this.performing || (error as ShadowfillError).code !== 'TARGET_MISSING') throw error;
    }
    if (!this.performing && this.options.takeLease) {
      const lease = await this.options.takeLease();
      if (lease) await this.becomePerformer(lease);
    }
  }

  private merge(state: RunState): void {
    this.session.journal.advanceTo(state.lastSeq);
    if (state.abandoned) {
      this.stop(
        new ShadowfillError(
          'JOURNAL_CONFLICT',
          `run ${state.runId} was abandoned (${state.abandonedAt}) while this process worked on it; it stopped — ` +
            `run the same command again to start a new run`,
        ),
      );
      return;
    }
    if (state.finished && !this.performing) this.finishedElsewhere = true;
    const rank = { pending: 0, loaded: 1, committed: 2 } as const;
    state.batches.forEach((s, k) => {
      const mine = this.status[k];
      if (mine === undefined || rank[s] <= rank[mine]) return;
      this.status[k] = s;
      const rows = state.batchRows.get(k);
      if (rows !== undefined) this.rows.set(k, rows);
      const lane = state.batchLanes.get(k);
      if (lane !== undefined) this.lanesOf.set(k, lane);
      if (s === 'committed') {
        for (const slot of this.lanes) if (slot.holds === k) slot.holds = undefined;
        this.slicesVersion += 1;
      }
    });
    for (const [k, lane] of state.batchLanes) if (!this.lanesOf.has(k)) this.lanesOf.set(k, lane);
    if (state.swapState && !this.swapState) {
      this.swapState = state.swapState;
      this.slicesVersion += 1;
      this.chunksVersion += 1;
    }
    if (state.swapFinished) this.swapFinished = true;
    if (state.shadowsCreated) this.shadowsReady = true;
  }

  /** This process joined the run; its holder died and this one took the lease over: it performs the run now. */
  private async becomePerformer(lease: HeldLease): Promise<void> {
    const { session } = this;
    session.lease = lease;
    await lease.setRun(session.run.runId);
    const previous = lease.tookOverFrom;
    session.emit({
      type: 'lease-taken-over',
      from: previous
        ? `pid ${previous.pid} on ${previous.host}${previous.runId ? ` (run ${previous.runId})` : ''}`
        : 'a process that released it',
      lastHeartbeat: previous?.heartbeatAt ?? '',
    });
    const events = await session.adapter.journal.readRun(session.run.runId);
    const state = reduceRun(events);
    if (state) this.merge(state);
    if (!this.shadowsReady) {
      // The previous holder died before it made the run's shadows: this process makes them (idempotent).
      await session.adapter.createShadows(session.run);
      await session.journal.append('shadows-created');
      this.shadowsReady = true;
    }
    if (this.swapState && !this.swapFinished) {
      // What the previous holder paused is resumed; the swap steps pause it again as they need.
      await session.adapter.recover(session.run, this.swapState);
    }
    if (this.shadowCheckable && this.committedIndexes().length > 0) {
      await this.checkShadow('when this process took the run over', true);
    }
    this.slicesVersion += 1;
    this.chunksVersion += 1;
  }
}

/** A timer that can be cancelled (so that a finished wait leaves nothing keeping the process alive). */
function delay(ms: number): { done: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let resolve: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    resolve = r;
    timer = setTimeout(r, ms);
  });
  return {
    done,
    cancel: () => {
      clearTimeout(timer);
      resolve();
    },
  };
}
