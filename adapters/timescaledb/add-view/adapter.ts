/**
 * Adding a continuous aggregate to a live hypertable: `CREATE MATERIALIZED VIEW … WITH (timescaledb.continuous)
 * AS … WITH NO DATA` (never WITH DATA: one huge refresh inside one statement), then
 * `refresh_continuous_aggregate` window by window, oldest first — each window journaled by the engine and
 * resumable — a catch-up refresh of whatever live ingestion invalidated meanwhile, the whole history reconciled
 * against a recomputation from the hypertable, and the refresh policy added last. TimescaleDB tracks live rows
 * itself (invalidation log, real-time aggregation), so there is no cutoff and nothing to swap.
 *
 * Validation changes nothing: the SELECT is tried as a temporary view and as the aggregate itself inside a
 * transaction that is rolled back, so PostgreSQL and TimescaleDB judge it, and the relations it reads are
 * read from the temporary view's dependencies (a plain view among them is refused with the reason).
 */
import { randomBytes } from 'node:crypto';
import type { SwapUnit, TableMeasurement } from '../../../src/adapter/contract.ts';
import type {
  Position,
  SourceExtent,
  ViewAdapter,
  ViewCapabilities,
  ViewDescription,
  ViewPlannedStatement,
  ViewRunContext,
  ViewSpec,
  ViewTargetConnection,
  ViewWindow,
  WindowCheck,
  WindowComparison,
} from '../../../src/adapter/view-contract.ts';
import { formatPosition } from '../../../src/addview/position.ts';
import { ConfigError, ResourceLimitError, ShadowfillError, TargetError } from '../../../src/errors.ts';
import type { LeaseStore } from '../../../src/journal/lease.ts';
import type { JournalStore } from '../../../src/journal/types.ts';
import { openConnection, type PgConnection, type Queryable } from '../connection.ts';
import { createJournal } from '../journal.ts';
import { createLeaseStore } from '../lease.ts';
import { timeKindOf, type TimeKind } from '../time.ts';
import { qualified } from '../sql/quote.ts';
import { tsSql, type AggregateShape } from './statements.ts';

export const TIMESCALE_VIEW_CAPABILITIES: ViewCapabilities = {
  cutoffFilter: false,
  shadowsTarget: false,
  historyFromObjectStore: false,
  bucketAligned: true,
  refreshPolicy: true,
};

interface Prepared {
  readonly spec: ViewSpec;
  readonly timeColumn: string;
  readonly timeType: string;
  readonly kind: TimeKind;
  readonly shape: AggregateShape;
  readonly width: string;
  readonly origin: string | null;
  readonly offset: string | null;
  readonly timezone: string | null;
  /** Numeric columns of the aggregate (not the bucket): summed for the window checks and the reconciliation. */
  readonly sums: readonly string[];
  readonly version: string;
}

/** Ends the validation transaction with a ROLLBACK, carrying what was learned out of it. */
class RolledBack extends ShadowfillError {
  constructor(readonly value: Prepared) {
    super('NOTHING_TO_DO', 'validation transaction rolled back');
  }
}

const NUMERIC = /^(smallint|integer|bigint|numeric|decimal)\b/;

export class TimescaleViewAdapter implements ViewAdapter {
  readonly kind = 'timescaledb';
  readonly capabilities = TIMESCALE_VIEW_CAPABILITIES;
  readonly journal: JournalStore;
  readonly lease: LeaseStore;
  private readonly db: PgConnection;
  /** The lease's own connection on a real server (heartbeats must not wait behind a long refresh). */
  private readonly leaseDb: PgConnection;
  private prepared: Prepared | undefined;

  constructor(private readonly target: ViewTargetConnection) {
    const connection = { ...target, kind: 'timescaledb' as const, table: '' };
    this.db = openConnection(connection);
    this.journal = createJournal(this.db, target.database);
    // The embedded server serves one connection: the store shares it (no other process can reach it anyway).
    this.leaseDb = target.url.startsWith('embedded:') ? this.db : openConnection(connection);
    this.lease = createLeaseStore(this.leaseDb, target.database);
  }

  connect(): Promise<void> {
    return this.db.connect();
  }

  async close(): Promise<void> {
    if (this.leaseDb !== this.db) await this.leaseDb.close();
    await this.db.close();
  }

  async describe(spec: ViewSpec, options: { readonly resuming: boolean }): Promise<ViewDescription> {
    const schema = spec.database;
    const where = this.db.description;
    const [versions] = await this.db.query<{ ext: string | null; pg: string }>(
      tsSql.version,
      [],
      'reading versions',
    );
    if (!versions?.ext) {
      throw new TargetError(
        'TARGET_UNSUPPORTED',
        `the TimescaleDB extension is not installed in ${where}: run CREATE EXTENSION timescaledb, or fix target.url`,
      );
    }
    const [relation] = await this.db.query<{ kind: string }>(
      tsSql.relation,
      [schema, spec.source],
      'looking up the source',
    );
    if (!relation) {
      throw new TargetError(
        'TARGET_MISSING',
        `table ${schema}.${spec.source} does not exist in ${where} — fix target.table or target.schema`,
      );
    }
    const [time] = await this.db.query<{ column: string; type: string; aggregate: boolean }>(
      tsSql.sourceTime,
      [schema, spec.source],
      'reading the source time column',
    );
    if (!time) {
      throw new TargetError(
        'TARGET_UNSUPPORTED',
        `${schema}.${spec.source} is neither a hypertable nor a continuous aggregate — convert it with create_hypertable(…), or set target.table to the hypertable`,
      );
    }
    const kind = timeKindOf(time.type);
    if (!kind) {
      throw new TargetError(
        'TARGET_UNSUPPORTED',
        `${schema}.${spec.source} is partitioned on ${time.column} of type ${time.type}, which add-view cannot window`,
      );
    }
    const [existing] = await this.db.query<{ kind: string }>(
      tsSql.relation,
      [schema, spec.name],
      'looking up the view',
    );
    if (existing && !options.resuming) {
      throw new TargetError(
        'TARGET_UNSUPPORTED',
        `${schema}.${spec.name} already exists — drop it first, or choose another view.name`,
      );
    }
    const select = spec.select.trim().replace(/;+\s*$/, '');
    const ext = versions.ext;
    let prepared: Prepared;
    const probe = `shadowfill_probe_${randomBytes(4).toString('hex')}`;
    if (existing && options.resuming) {
      prepared = await this.shapeOf(this.db, spec, time.column, time.type, kind, ext);
    } else if (this.db.embedded) {
      // The embedded server (PGlite, one session behind pglite-socket) stalls when a transaction that created a
      // continuous aggregate or ran a long catalog query is rolled back while another connection works. There
      // the SELECT is judged as a temporary view dropped at once, and as an aggregate when it is created for real
      // (a failed CREATE creates nothing); its bucket is read from the SELECT until then.
      prepared = await this.inSchema(spec.database, async (q) => {
        try {
          await this.probe(q, spec, select, probe);
          return await this.shapeFromProbe(q, spec, probe, select, time.column, time.type, kind, ext);
        } finally {
          await q.query(tsSql.dropProbe(probe), [], 'dropping the probe view');
        }
      });
    } else {
      try {
        await this.db.transaction(async (tx) => {
          await tx.query(tsSql.searchPath(schema));
          await this.probe(tx, spec, select, probe);
          await aboutSelect(
            () => tx.query(tsSql.createAggregate(schema, spec.name, select, spec.materializedOnly)),
            'a continuous aggregate',
            tsSql.createAggregate(schema, spec.name, '', spec.materializedOnly).indexOf(' WITH NO DATA'),
          );
          throw new RolledBack(await this.shapeOf(tx, spec, time.column, time.type, kind, ext));
        });
        throw new Error('validation transaction was not rolled back');
      } catch (error) {
        if (!(error instanceof RolledBack)) throw error;
        prepared = error.value;
      }
    }
    this.prepared = prepared;
    const grain = 1n;
    return {
      view: `${schema}.${spec.name}`,
      source: `${schema}.${spec.source}`,
      target: `${schema}.${spec.name}`,
      targetExists: existing !== undefined,
      windowColumn: {
        name: time.column,
        type: time.type,
        kind: kind === 'integer' ? 'number' : 'time',
        grain,
        grainOrigin: 0n,
      },
      columns: prepared.shape.columns,
      readsColumns: [],
      bucketWidth: prepared.width,
      serverVersion: `PostgreSQL ${versions.pg}, TimescaleDB ${versions.ext}`,
      notes: [
        `continuous aggregate ${schema}.${spec.name} on ${time.aggregate ? 'continuous aggregate' : 'hypertable'} ${schema}.${spec.source} ` +
          `(time column ${time.column} ${time.type}); buckets of ${prepared.width} in ${prepared.shape.bucketColumn}` +
          (prepared.origin ? `, origin ${prepared.origin}` : '') +
          (prepared.offset ? `, offset ${prepared.offset}` : '') +
          (prepared.timezone ? `, time zone ${prepared.timezone}` : ''),
        spec.refreshPolicy
          ? `refresh policy added at the end: start_offset ${spec.refreshPolicy.startOffset ?? 'NULL'}, end_offset ${spec.refreshPolicy.endOffset ?? 'NULL'}, every ${spec.refreshPolicy.scheduleInterval}`
          : 'no refresh policy configured (view.refresh_policy): the aggregate is refreshed only by this run',
      ],
    };
  }

  async sourceExtent(_description: ViewDescription, below?: Position): Promise<SourceExtent> {
    const p = this.p();
    const [row] = await this.db.query<{ n: string; lo: string | null; hi: string | null }>(
      tsSql.extent(p.spec.database, p.spec.source, p.timeColumn, p.kind, below),
      [],
      `reading the extent of ${p.spec.source}`,
    );
    const kind = p.kind === 'integer' ? 'number' : 'time';
    return {
      rows: Number(row?.n ?? 0),
      min: row?.lo == null ? null : { kind, value: BigInt(row.lo) },
      max: row?.hi == null ? null : { kind, value: BigInt(row.hi) },
    };
  }

  async serverTime(): Promise<bigint> {
    const [row] = await this.db.query<{ t: string }>(tsSql.serverTime, [], 'reading the server clock');
    return BigInt(row?.t ?? '0');
  }

  async countFrom(_description: ViewDescription, from: Position): Promise<number> {
    const p = this.p();
    return this.count(
      tsSql.countRange(p.spec.database, p.spec.source, p.timeColumn, p.kind, from, undefined),
    );
  }

  async alignEdges(_description: ViewDescription, edges: readonly Position[]): Promise<readonly Position[]> {
    const p = this.p();
    if (edges.length === 0) return [];
    const rows = await this.db.query<{ v: string }>(
      tsSql.alignEdges(p.kind, p.timeType, p.width, p.origin, p.offset, p.timezone, edges),
      [],
      'aligning windows to the buckets',
    );
    const kind = p.kind === 'integer' ? 'number' : 'time';
    return rows.map((r) => ({ kind, value: BigInt(r.v) }));
  }

  planStatements(run: ViewRunContext): readonly ViewPlannedStatement[] {
    const p = this.p();
    const out: ViewPlannedStatement[] = [
      {
        phase: 'create',
        title: `continuous aggregate ${p.shape.schema}.${p.shape.name} (search_path ${p.spec.database}, public)`,
        sql: tsSql.createAggregate(
          p.spec.database,
          p.spec.name,
          p.spec.select.trim().replace(/;+\s*$/, ''),
          p.spec.materializedOnly,
        ),
      },
    ];
    const shown =
      run.windows.length > 12 ? [...run.windows.slice(0, 10), ...run.windows.slice(-1)] : run.windows;
    for (const w of shown) {
      if (w === run.windows[run.windows.length - 1] && shown.length < run.windows.length) {
        out.push({
          phase: 'window',
          title: `… ${run.windows.length - shown.length} more windows of the same form`,
          sql: '-- (omitted)',
        });
      }
      const title = `window ${w.index + 1}/${run.windows.length} ${w.lo === undefined ? '…' : formatPosition(w.lo)} – ${formatPosition(w.hi)}`;
      out.push({ phase: 'window', title, sql: tsSql.refresh(p.shape, w.lo, w.hi, p.timeType) });
      out.push({
        phase: 'verify',
        title: `${title}: rows of the window`,
        sql: tsSql.countRange(p.spec.database, p.spec.source, p.timeColumn, p.kind, w.lo, w.hi),
      });
      out.push({
        phase: 'verify',
        title: `${title} (sampled windows): rows differing from a recomputation`,
        sql: tsSql.difference(p.shape, p.spec.select.trim().replace(/;+\s*$/, ''), w.lo, w.hi),
      });
    }
    if (run.windows.length > 0) {
      const first = run.windows[0]!;
      const last = run.windows[run.windows.length - 1]!;
      out.push({
        phase: 'finish',
        title: 'catch-up: what live ingestion invalidated meanwhile',
        sql: tsSql.refresh(p.shape, first.lo, last.hi, p.timeType),
      });
    }
    if (p.spec.refreshPolicy)
      out.push({
        phase: 'finish',
        title: 'refresh policy',
        sql: tsSql.addPolicy(p.shape, p.timeType, p.spec.refreshPolicy),
      });
    return out;
  }

  async createView(
    run: ViewRunContext,
    options: { readonly resuming: boolean },
  ): Promise<{ targetCreated: boolean }> {
    const p = this.p();
    const [existing] = await this.db.query<{ kind: string }>(
      tsSql.relation,
      [p.spec.database, p.spec.name],
      'looking up the view',
    );
    if (existing) {
      const [time] = await this.db.query(
        tsSql.sourceTime,
        [p.spec.database, p.spec.name],
        'looking up the view',
      );
      if (!options.resuming || !time) {
        throw new TargetError(
          'TARGET_UNSUPPORTED',
          `${p.spec.database}.${p.spec.name} already exists${time ? '' : ' and is not a continuous aggregate'} — drop it, or abandon this run with --abandon`,
        );
      }
      return { targetCreated: false };
    }
    void run;
    const select = p.spec.select.trim().replace(/;+\s*$/, '');
    await this.inSchema(p.spec.database, (q) =>
      aboutSelect(
        () => q.query(tsSql.createAggregate(p.spec.database, p.spec.name, select, p.spec.materializedOnly)),
        'a continuous aggregate',
        tsSql
          .createAggregate(p.spec.database, p.spec.name, '', p.spec.materializedOnly)
          .indexOf(' WITH NO DATA'),
      ),
    );
    // What TimescaleDB made of it (on the embedded server validation could only read the SELECT).
    this.prepared = await this.shapeOf(this.db, p.spec, p.timeColumn, p.timeType, p.kind, p.version);
    return { targetCreated: false };
  }

  async createShadows(): Promise<void> {
    // A continuous aggregate materializes itself: nothing to shadow.
  }

  async prepareWindow(): Promise<void> {
    // A refresh replaces the window's buckets: nothing to empty.
  }

  async runWindow(run: ViewRunContext, window: ViewWindow): Promise<void> {
    const p = this.p();
    void run;
    await this.guard(() =>
      this.db.query(
        tsSql.refresh(p.shape, window.lo, window.hi, p.timeType),
        [],
        `refreshing ${p.shape.name} for ${windowText(window)}`,
      ),
    );
  }

  async checkWindow(run: ViewRunContext, window: ViewWindow, depth: 'rows' | 'full'): Promise<WindowCheck> {
    const p = this.p();
    const sourceRows = await this.countWindow(run, window);
    const [totals] = await this.db.query<Record<string, string>>(
      tsSql.totals(
        qualified(p.shape.schema, p.shape.name),
        p.shape.bucketColumn,
        p.kind,
        p.sums,
        window.lo,
        window.hi,
      ),
      [],
      `measuring ${p.shape.name} for ${windowText(window)}`,
    );
    const landed: Record<string, number> = { rows: Number(totals?.n ?? 0) };
    p.sums.forEach((c, i) => (landed[`sum(${c})`] = Number(totals?.[`a${i}`] ?? 0)));
    const comparisons: WindowComparison[] = [];
    if (depth === 'full') {
      const [diff] = await this.inSchema(p.spec.database, (tx) =>
        tx.query<{ n: string }>(
          tsSql.difference(p.shape, p.spec.select.trim().replace(/;+\s*$/, ''), window.lo, window.hi),
          [],
          `recomputing ${p.shape.name} for ${windowText(window)} from ${p.spec.source}`,
        ),
      );
      comparisons.push({
        what: 'rows differing from a recomputation from the hypertable',
        expected: 0,
        actual: Number(diff?.n ?? 0),
      });
    }
    return { sourceRows, comparisons, landed };
  }

  async countWindow(_run: ViewRunContext, window: ViewWindow): Promise<number> {
    const p = this.p();
    return this.count(
      tsSql.countRange(p.spec.database, p.spec.source, p.timeColumn, p.kind, window.lo, window.hi),
    );
  }

  async reconcile(run: ViewRunContext): Promise<readonly WindowComparison[]> {
    const p = this.p();
    if (run.windows.length === 0) return [];
    const lo = run.windows[0]!.lo;
    const hi = run.windows[run.windows.length - 1]!.hi;
    const select = p.spec.select.trim().replace(/;+\s*$/, '');
    const [fresh] = await this.inSchema(p.spec.database, (tx) =>
      tx.query<Record<string, string>>(
        tsSql.totals(`(${select}) q`, p.shape.bucketColumn, p.kind, p.sums, lo, hi),
        [],
        `recomputing ${p.shape.name} from ${p.spec.source}`,
      ),
    );
    const [stored] = await this.db.query<Record<string, string>>(
      tsSql.totals(qualified(p.shape.schema, p.shape.name), p.shape.bucketColumn, p.kind, p.sums, lo, hi),
      [],
      `measuring ${p.shape.name}`,
    );
    const out: WindowComparison[] = [
      { what: 'rows', expected: Number(fresh?.n ?? 0), actual: Number(stored?.n ?? 0) },
    ];
    p.sums.forEach((c, i) =>
      out.push({
        what: `sum(${c})`,
        expected: Number(fresh?.[`a${i}`] ?? 0),
        actual: Number(stored?.[`a${i}`] ?? 0),
      }),
    );
    return out;
  }

  async commitWindow(): Promise<void> {}

  async shadowTotals(): Promise<Readonly<Record<string, number>>> {
    return {};
  }

  async listSwapUnits(): Promise<readonly SwapUnit[]> {
    return [];
  }

  async swapUnit(): Promise<void> {}

  async finishView(): Promise<void> {
    const p = this.p();
    if (!p.spec.refreshPolicy) return;
    await this.db.query(
      tsSql.addPolicy(p.shape, p.timeType, p.spec.refreshPolicy),
      [],
      `adding the refresh policy of ${p.shape.name}`,
    );
  }

  async dropShadows(): Promise<void> {}

  async dropView(): Promise<{ droppedView: boolean; droppedTarget: boolean }> {
    const p = this.p();
    const [aggregate] = await this.db.query(
      tsSql.sourceTime,
      [p.spec.database, p.spec.name],
      'looking up the view',
    );
    if (aggregate)
      await this.db.query(tsSql.dropAggregate(p.spec.database, p.spec.name), [], `dropping ${p.spec.name}`);
    return { droppedView: aggregate !== undefined, droppedTarget: false };
  }

  async measure(): Promise<readonly TableMeasurement[]> {
    const p = this.p();
    const [exists] = await this.db.query(
      tsSql.relation,
      [p.spec.database, p.spec.name],
      'looking up the view',
    );
    if (!exists) return [{ table: `${p.shape.schema}.${p.shape.name}`, rows: 0, aggregates: {} }];
    const [row] = await this.db.query<Record<string, string>>(
      tsSql.totals(
        qualified(p.shape.schema, p.shape.name),
        p.shape.bucketColumn,
        p.kind,
        p.sums,
        undefined,
        undefined,
      ),
      [],
      `measuring ${p.shape.name}`,
    );
    const aggregates: Record<string, number> = {};
    p.sums.forEach((c, i) => (aggregates[`sum(${c})`] = Number(row?.[`a${i}`] ?? 0)));
    return [{ table: `${p.shape.schema}.${p.shape.name}`, rows: Number(row?.n ?? 0), aggregates }];
  }

  // ---- helpers ----

  private p(): Prepared {
    if (!this.prepared) throw new Error('TimescaleViewAdapter.describe() must run first');
    return this.prepared;
  }

  /** The SELECT as a temporary view: PostgreSQL parses it; its dependencies say which relations it reads. */
  private async probe(tx: Queryable, spec: ViewSpec, select: string, name: string): Promise<void> {
    await aboutSelect(
      () => tx.query(tsSql.probeView(name, select)),
      undefined,
      tsSql.probeView(name, '').length,
    );
    const reads = await tx.query<{
      schema: string;
      name: string;
      kind: string;
      aggregate: boolean;
      hypertable: boolean;
    }>(tsSql.probeDependencies(name), [], 'reading what view.select reads');
    const plain = reads.find((r) => (r.kind === 'v' || r.kind === 'm') && !r.aggregate);
    if (plain) {
      throw new ConfigError(
        `view.select reads ${r_kind(plain.kind)} ${plain.schema}.${plain.name}, which is refused: a continuous aggregate must read its ` +
          `hypertable (or another continuous aggregate) directly, because TimescaleDB tracks changes only there — select from the table(s) that ${plain.name} reads`,
      );
    }
    if (!reads.some((r) => r.schema === spec.database && r.name === spec.source)) {
      throw new ConfigError(
        `view.select does not read ${spec.database}.${spec.source} (it reads ${reads.map((r) => `${r.schema}.${r.name}`).join(', ') || 'no table'}) — select FROM ${spec.source}`,
      );
    }
  }

  /**
   * The aggregate's shape without creating it (embedded server): the bucket width from the SELECT's
   * `time_bucket(<width>, …)`, the bucket column as the first output column of the time column's type.
   */
  private async shapeFromProbe(
    tx: Queryable,
    spec: ViewSpec,
    probe: string,
    select: string,
    timeColumn: string,
    timeType: string,
    kind: TimeKind,
    version: string,
  ): Promise<Prepared> {
    const columns = await tx.query<{ name: string; type: string }>(
      tsSql.probeColumns(probe),
      [],
      'reading what view.select gives',
    );
    const width =
      /time_bucket\s*\(\s*(?:INTERVAL\s*)?'([^']+)'/i.exec(select)?.[1] ??
      /time_bucket\s*\(\s*(\d+)\s*,/i.exec(select)?.[1];
    const bucket = columns.find((c) => c.type === timeType);
    if (width === undefined || !bucket) {
      throw new ConfigError(
        "view.select needs a time_bucket('<width>', <time column>) AS <bucket> column — fix view.select",
      );
    }
    const [normalized] = await tx.query<{ w: string }>(
      kind === 'integer' ? 'SELECT $1::bigint::text AS w' : 'SELECT $1::interval::text AS w',
      [width],
      'reading the bucket width',
    );
    return {
      spec,
      timeColumn,
      timeType,
      kind,
      width: normalized?.w ?? width,
      origin: null,
      offset: null,
      timezone: null,
      shape: { schema: spec.database, name: spec.name, bucketColumn: bucket.name, kind, columns },
      sums: columns.filter((c) => c.name !== bucket.name && NUMERIC.test(c.type)).map((c) => c.name),
      version,
    };
  }

  /** Bucket, columns and sums of the aggregate (inside the validation transaction, or of the existing one). */
  private async shapeOf(
    db: Queryable,
    spec: ViewSpec,
    timeColumn: string,
    timeType: string,
    kind: TimeKind,
    version: string,
  ): Promise<Prepared> {
    const [shape] = await db.query<{
      bucket_column: string;
      width: string | null;
      origin: string | null;
      offset: string | null;
      timezone: string | null;
    }>(tsSql.aggregateShape, [spec.database, spec.name], 'reading the aggregate');
    if (!shape)
      throw new TargetError('TARGET_MISSING', `${spec.database}.${spec.name} is not a continuous aggregate`);
    if (!shape.width) {
      throw new TargetError(
        'TARGET_UNSUPPORTED',
        `cannot read the bucket width of ${spec.database}.${spec.name} from this TimescaleDB's catalog — add-view needs TimescaleDB ≥ 2.13`,
      );
    }
    const columns = await db.query<{ name: string; type: string }>(
      tsSql.columns,
      [spec.database, spec.name],
      'reading the aggregate columns',
    );
    const sums = columns
      .filter((c) => c.name !== shape.bucket_column && NUMERIC.test(c.type))
      .map((c) => c.name);
    return {
      spec,
      timeColumn,
      timeType,
      kind,
      width: shape.width,
      origin: shape.origin,
      offset: shape.offset,
      timezone: shape.timezone,
      shape: { schema: spec.database, name: spec.name, bucketColumn: shape.bucket_column, kind, columns },
      sums,
      version,
    };
  }

  /**
   * Runs `fn` with the view's schema first on the search_path (the SELECT names tables unqualified): in a
   * transaction with SET LOCAL — except on the embedded server for the public schema, which is on the path
   * anyway and where long statements inside a transaction stall other connections.
   */
  private async inSchema<T>(schema: string, fn: (q: Queryable) => Promise<T>): Promise<T> {
    if (this.db.embedded && schema === 'public') return fn(this.db);
    return this.db.transaction(async (tx) => {
      await tx.query(tsSql.searchPath(schema));
      return fn(tx);
    });
  }

  private async count(statement: string): Promise<number> {
    const [row] = await this.db.query<{ n: string }>(statement, [], 'counting rows');
    return Number(row?.n ?? 0);
  }

  /** A refresh that runs out of memory or time says which limit to raise. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const code = (error as TargetError).nativeCode;
      if (code === '53200' || code === '54000') {
        throw new ResourceLimitError(
          'memory',
          'the server memory (work_mem, maintenance_work_mem)',
          `PostgreSQL ran out of memory: ${(error as Error).message}`,
          {
            cause: error,
            nativeCode: code,
          },
        );
      }
      if (code === '57014') {
        throw new ResourceLimitError(
          'time',
          'statement_timeout of target.user',
          `PostgreSQL cancelled the refresh at its statement_timeout`,
          {
            cause: error,
            nativeCode: code,
          },
        );
      }
      throw error;
    }
  }
}

function r_kind(kind: string): string {
  return kind === 'm' ? 'materialized view' : 'plain view';
}

function windowText(w: ViewWindow): string {
  return `[${w.lo === undefined ? '…' : formatPosition(w.lo)}, ${formatPosition(w.hi)})`;
}

/** PostgreSQL's refusal of the user's SELECT becomes a one-line ConfigError naming view.select. */
async function aboutSelect<T>(fn: () => Promise<T>, as: string | undefined, prefix: number): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof TargetError) || error.code === 'TARGET_UNREACHABLE') throw error;
    const cause = error.cause as {
      message?: string;
      position?: string;
      hint?: string;
      detail?: string;
      code?: string;
    };
    const text = (cause?.message ?? error.message).split('\n')[0]!;
    const position = cause?.position ? ` (position ${Math.max(1, Number(cause.position) - prefix)})` : '';
    const extra = cause?.detail ?? cause?.hint;
    if (cause?.code === '42601') {
      throw new ConfigError(`view.select does not parse: ${text}${position} — fix view.select`, {
        cause: error,
      });
    }
    throw new ConfigError(
      `view.select${as === undefined ? '' : ` cannot be ${as}`}: ${text}${position}${extra ? ` (${extra.split('\n')[0]})` : ''} — fix view.select`,
      { cause: error },
    );
  }
}
