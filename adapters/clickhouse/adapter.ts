/**
 * The ClickHouse adapter: duplicate-table backfill as in ClickHouse's "Backfilling Data" guide.
 *
 * Per run, for the live table and every materialized-view target fed by it: a landing table and a shadow
 * table (`CREATE TABLE … AS <live>`), and for every view a shadow view from landing to landing. A batch is
 * `INSERT INTO <landing> SELECT … FROM s3(…)` (the views fill their target landings as blocks arrive),
 * verified by count, then committed by moving the landing partitions into the shadow. The swap moves every
 * shadow partition into its live table with `ALTER TABLE <shadow> MOVE PARTITION ID '…' TO TABLE <live>`:
 * atomic per partition and idempotent (moving a partition the shadow no longer has moves nothing).
 *
 * Worker lanes: every lane but the default one has its own landings and shadow views (names.ts), and on chDB its
 * own session, so N `INSERT … SELECT FROM s3()` run at once without mixing; a batch is committed from the landing
 * of the lane that loaded it. Other processes can join a run on a ClickHouse server (not on chDB: one process per
 * data directory); they claim batches through the lease store, and only the run's lease holder commits.
 */
import type {
  BatchSpec,
  LoadAttempt,
  LoadResult,
  PlannedStatement,
  RunContext,
  SourceProbe,
  SwapState,
  SwapUnit,
  TableMeasurement,
  TableVerification,
  TargetAdapter,
  TargetCapabilities,
  TargetDescription,
  TargetTable,
  BatchInput,
} from '../../src/adapter/contract.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import {
  ConfigError,
  SchemaMismatchError,
  ShadowfillError,
  SourceError,
  TargetError,
} from '../../src/errors.ts';
import type { LeaseStore } from '../../src/journal/lease.ts';
import type { JournalStore } from '../../src/journal/types.ts';
import type { SourceColumn, SourceObject } from '../../src/source/types.ts';
import { ClickHouseError, type ClickHouseDriver, type ClickHouseSettings } from './driver.ts';
import { ClickHouseCalls, partitionSwapUnit } from './calls.ts';
import { movePlan } from './sql/move-plan.ts';
import { toTargetError } from './errors.ts';
import { describeClickHouse, type ClickHouseDescription } from './introspect.ts';
import { clickHouseJournal } from './journal.ts';
import { clickHouseLeases } from './lease.ts';
import { landingName, refKey, shadowName, shadowViewName, type TableRef } from './names.ts';
import { schemaProblems, baseType } from './schema-check.ts';
import { repointSelect } from './sql/rewrite.ts';
import { collapsingEngine, engineClauses } from './sql/engine.ts';
import { qualified } from './sql/quote.ts';
import { CAST_GUARD_MESSAGE, sql, type S3Source } from './sql/statements.ts';
import { ViewTargetVerifier } from './verify-views.ts';

const REDACTED = { accessKeyId: '***', secretAccessKey: '***' };

export class ClickHouseAdapter implements TargetAdapter {
  readonly kind = 'clickhouse';
  readonly capabilities: TargetCapabilities;
  readonly journal: JournalStore;
  readonly lease: LeaseStore;
  private description: ClickHouseDescription | undefined;
  /** The loads' guarded columns (guardedColumns), once read. */
  private guards: Promise<{ name: string; type: string }[]> | undefined;
  /** The last `DESCRIBE s3(…)` sent and its answer (describeSource). */
  private described: { statement: string; types: Promise<{ name: string; type: string }[]> } | undefined;
  private readonly live: TableRef;
  private readonly calls: ClickHouseCalls;
  private readonly views = new ViewTargetVerifier((statement) => this.calls.query(statement));
  /** Drivers of lanes with a connection of their own (chDB sessions), by lane id. */
  private readonly laneDrivers = new Map<string, ClickHouseDriver>();

  constructor(
    private readonly config: BackfillConfig,
    private readonly driver: ClickHouseDriver,
  ) {
    this.live = { database: config.target.database, table: config.target.table };
    const server = config.load === 'server';
    if (!server && config.filter) {
      throw new ConfigError(
        'filter needs load: server with ClickHouse (rows streamed by the engine are inserted as they are) — ' +
          'remove filter or use load: server',
      );
    }
    this.capabilities = {
      readsObjectStore: true,
      streamInput: 'parquet-bytes',
      shadowsViews: true,
      countsSourceRows: server,
      countsShadowCheaply: true,
      commitMovesLanding: true,
      multiProcess: !config.target.url.startsWith('embedded:'),
    };
    this.calls = new ClickHouseCalls(driver, (call, what) => this.exec(call, what));
    this.journal = clickHouseJournal(this.calls.guarded('the journal'), config.target.database);
    this.lease = clickHouseLeases(this.calls.guarded('the lease'), config.target.database);
  }

  async connect(): Promise<void> {
    await this.exec(() => this.driver.query(sql.serverVersion()), 'connecting');
  }

  async close(): Promise<void> {
    for (const driver of this.laneDrivers.values()) await driver.close().catch(() => undefined);
    this.laneDrivers.clear();
    await this.driver.close();
  }

  /** As many lanes as the server has threads for (`max_threads`: its cores; on chDB this machine's). */
  async workerLimit(): Promise<{ max: number; reason: string }> {
    const [row] = await this.calls.query<{ value: string }>(sql.maxThreads());
    const cores = Number(/\d+/.exec(row?.value ?? '')?.[0] ?? 0);
    if (!(cores > 0)) return { max: 16, reason: 'the server did not say how many threads it has' };
    return { max: cores, reason: `the server has ${cores} thread${cores === 1 ? '' : 's'} (max_threads)` };
  }

  async openLane(run: RunContext): Promise<void> {
    const id = run.lane?.id ?? '';
    // Every lane loads on a connection of its own, the default lane too: on chDB one session runs one query at a
    // time, and the run's own session must stay free for the journal, the lease and the other lanes' verification
    // and commits while a load runs (else they all wait for that INSERT to end).
    if (!this.laneDrivers.has(id)) {
      const forked = this.driver.fork?.();
      if (forked && forked !== this.driver) this.laneDrivers.set(id, forked);
    }
    const d = this.descFor(run);
    for (const t of this.tables(d)) await this.createRunTable(this.landing(t, run), t);
    for (const v of d.viewInfos) await this.calls.command(this.shadowViewSql(v, run));
  }

  async closeLane(run: RunContext): Promise<void> {
    const id = run.lane?.id ?? '';
    const driver = this.laneDrivers.get(id);
    this.laneDrivers.delete(id);
    await driver?.close();
  }

  async describe(): Promise<TargetDescription> {
    this.description = await this.exec(
      () => describeClickHouse(this.driver, this.live, this.config.views),
      `introspecting ${refKey(this.live)}`,
    );
    return this.description;
  }

  checkSchema(target: TargetDescription, columns: readonly SourceColumn[]): readonly string[] {
    return schemaProblems(target.table, columns, 'the source');
  }

  async minValue(column: string): Promise<string | null> {
    if (!this.desc().table.columns.some((c) => c.name === column)) {
      throw new ConfigError(
        `filter.column ${column} is not a column of ${refKey(this.live)} — fix filter.column`,
      );
    }
    const [row] = await this.calls.query<{ n: string; v: string }>(sql.minValue(this.live, column));
    return !row || Number(row.n) === 0 ? null : row.v;
  }

  async measure(target: TargetDescription): Promise<readonly TableMeasurement[]> {
    const out: TableMeasurement[] = [];
    for (const table of [target.table, ...target.viewTargets]) {
      const ref = { database: table.database, table: table.name };
      const expressions = aggregateExpressions(table);
      const [row] = await this.calls.query<Record<string, string>>(sql.aggregates(ref, expressions));
      const aggregates: Record<string, number> = {};
      expressions.forEach((e, i) => {
        aggregates[e] = Number(row?.[`a${i}`] ?? 0);
      });
      out.push({ table: refKey(ref), rows: Number(row?.n ?? 0), aggregates });
    }
    return out;
  }

  async planStatements(run: RunContext, batches: readonly BatchSpec[]): Promise<readonly PlannedStatement[]> {
    const d = this.descFor(run);
    const out: PlannedStatement[] = [];
    // The view-target checks of a batch, as verifyViewTargets runs them over the landings.
    const landingChecks = await this.views.planned(run, d, (t) => this.landing(t, run));
    for (const t of this.tables(d)) {
      for (const [what, table] of [
        [`landing for ${refKey(t)}`, this.landing(t, run)],
        [`shadow of ${refKey(t)}`, this.shadow(t, run)],
      ] as const) {
        for (const statement of this.runTableStatements(table, t))
          out.push({ phase: 'prepare', title: what, sql: statement });
      }
    }
    for (const v of d.viewInfos) {
      out.push({
        phase: 'prepare',
        title: `shadow view of ${v.database}.${v.name}`,
        sql: this.shadowViewSql(v, run),
      });
    }
    for (const b of batches) {
      const title = `batch ${b.index + 1}/${batches.length} (${b.objects.length} objects)`;
      for (const t of this.tables(d))
        out.push({ phase: 'load', title, sql: sql.truncate(this.landing(t, run)) });
      out.push({ phase: 'load', title, sql: await this.insertSql(run, b, true) });
      out.push({ phase: 'verify', title, sql: sql.countFromS3(this.s3Source(run, b, true), run.filter) });
      out.push({ phase: 'verify', title, sql: sql.count(this.landing(this.live, run)) });
      for (const check of landingChecks) {
        out.push({ phase: 'verify', title: `${title}: ${check.title}`, sql: check.sql });
      }
      for (const t of this.tables(d)) {
        out.push(...movePlan<PlannedStatement>('commit', title, this.landing(t, run), this.shadow(t, run)));
      }
    }
    for (const t of this.tables(d)) {
      out.push(...movePlan<PlannedStatement>('swap', `swap ${refKey(t)}`, this.shadow(t, run), t));
    }
    for (const v of d.viewInfos) {
      out.push({ phase: 'cleanup', title: 'drop shadow view', sql: sql.dropView(this.shadowView(v, run)) });
    }
    for (const t of this.tables(d)) {
      out.push({ phase: 'cleanup', title: 'drop landing', sql: sql.dropTable(this.landing(t, run)) });
      out.push({ phase: 'cleanup', title: 'drop shadow', sql: sql.dropTable(this.shadow(t, run)) });
    }
    return out;
  }

  async recover(): Promise<void> {
    // Nothing lives outside the run's own tables: an interrupted swap is completed by listSwapUnits/swapUnit.
  }

  async createShadows(run: RunContext): Promise<void> {
    const d = this.descFor(run);
    for (const t of this.tables(d)) {
      await this.createRunTable(this.landing(t, run), t);
      await this.createRunTable(this.shadow(t, run), t);
    }
    for (const v of d.viewInfos) await this.calls.command(this.shadowViewSql(v, run));
  }

  async prepareBatch(run: RunContext): Promise<void> {
    for (const t of this.tables(this.descFor(run)))
      await this.calls.command(sql.truncate(this.landing(t, run)));
  }

  async loadBatchFromStore(run: RunContext, batch: BatchSpec, attempt?: LoadAttempt): Promise<LoadResult> {
    const driver = this.laneDriver(run);
    try {
      const insert = await this.insertSql(run, batch, false);
      await this.exec(
        () => driver.command(insert, this.insertSettings()),
        `loading batch ${batch.index + 1} into ${this.landing(this.live, run).table}`,
        batch.objects,
      );
    } catch (error) {
      throw await this.valueError(error, run, batch.objects);
    }
    const rowsWritten = await this.countLandedRows(run);
    await attempt?.verify(rowsWritten);
    return { rowsWritten, bytesRead: sumBytes(batch.objects) };
  }

  async loadBatchFromStream(
    run: RunContext,
    batch: BatchSpec,
    input: BatchInput,
    attempt?: LoadAttempt,
  ): Promise<LoadResult> {
    if (input.kind !== 'parquet-bytes') {
      throw new ShadowfillError(
        'TARGET_UNSUPPORTED',
        `the ClickHouse adapter takes Parquet bytes, not ${input.kind} (a defect if this appears)`,
      );
    }
    const landing = this.landing(this.live, run);
    const driver = this.laneDriver(run);
    for await (const item of input.objects) {
      try {
        await this.exec(
          () =>
            driver.insertStream(
              qualified(landing.database, landing.table),
              'Parquet',
              item.body,
              this.insertSettings(),
            ),
          `loading ${item.object.uri} into ${landing.table}`,
          [item.object],
        );
      } catch (error) {
        throw await this.valueError(error, run, [item.object]);
      }
    }
    const rowsWritten = await this.countLandedRows(run);
    await attempt?.verify(rowsWritten);
    return { rowsWritten, bytesRead: sumBytes(batch.objects) };
  }

  async countSourceRows(run: RunContext, batch: BatchSpec): Promise<number> {
    const [row] = await this.exec(
      () => this.driver.query<{ n: string }>(sql.countFromS3(this.s3Source(run, batch, false), run.filter)),
      `counting source rows of batch ${batch.index + 1}`,
      batch.objects,
    );
    return Number(row?.n ?? 0);
  }

  async countLandedRows(run: RunContext): Promise<number> {
    const [row] = await this.calls.query<{ n: string }>(sql.count(this.landing(this.live, run)));
    return Number(row?.n ?? 0);
  }

  async commitBatch(run: RunContext): Promise<void> {
    for (const t of this.tables(this.descFor(run))) {
      await this.calls.moveAllPartitions(this.landing(t, run), this.shadow(t, run));
    }
  }

  async verifyViewTargets(
    run: RunContext,
    scope: 'landing' | 'shadow',
  ): Promise<readonly TableVerification[]> {
    return this.views.verify(run, this.descFor(run), scope, (t) =>
      scope === 'landing' ? this.landing(t, run) : this.shadow(t, run),
    );
  }

  /** The shadow holds committed batches only (a commit moves a whole landing in): no need for `committed`. */
  async countShadowRows(run: RunContext): Promise<number> {
    const [row] = await this.calls.query<{ n: string }>(sql.count(this.shadow(this.live, run)));
    return Number(row?.n ?? 0);
  }

  async beginSwap(): Promise<SwapState> {
    return {};
  }

  async listSwapUnits(run: RunContext): Promise<readonly SwapUnit[]> {
    const units: SwapUnit[] = [];
    for (const t of this.tables(this.descFor(run))) {
      for (const p of await this.calls.partitions(this.shadow(t, run))) {
        // A moved partition can leave an empty active part behind for a while: nothing to swap there.
        if (Number(p.rows) === 0) continue;
        units.push(partitionSwapUnit(t, p));
      }
    }
    return units;
  }

  async swapUnit(run: RunContext, unit: SwapUnit): Promise<void> {
    await this.calls.swapPartition(unit, (live) => this.shadow(live, run));
  }

  async finishSwap(): Promise<void> {
    // MOVE PARTITION leaves nothing to finalize.
  }

  /** Drops every object of the run — every lane's landings and shadow views too (see `abandon`). */
  async dropShadows(run: RunContext): Promise<void> {
    await this.dropRunObjects(run);
  }

  /**
   * Drops every object of the run by its name (`…_v2_<run>`, `…_v2_<run>_landing…`, lanes' `…_v2_<run>_<lane>`) in
   * the databases of the live table, its views and their targets — also the objects of views that were dropped
   * since the run began. Shadow views first, so no view is left writing into a dropped table. Nothing outside the
   * run's own objects was changed, so nothing else needs restoring.
   */
  async abandon(run: RunContext): Promise<void> {
    await this.dropRunObjects(run);
  }

  private async dropRunObjects(run: RunContext): Promise<void> {
    const d = this.descFor(run);
    const databases = [
      ...new Set([
        d.table.database,
        ...d.viewTargets.map((t) => t.database),
        ...d.viewInfos.map((v) => v.database),
      ]),
    ];
    const objects = await this.calls.query<{ database: string; name: string; engine: string }>(
      sql.runObjects(databases, run.runId),
    );
    for (const o of objects) {
      const ref = { database: o.database, table: o.name };
      await this.calls.command(o.engine === 'MaterializedView' ? sql.dropView(ref) : sql.dropTable(ref));
    }
  }

  /**
   * With `load: server`, counts per column the values ClickHouse would fail to convert, or change, when casting
   * the source's own type into the table's (`accurateCastOrNull`: text that does not parse, numbers that do not
   * fit): one full read of those columns only, before any DDL. With `load: client` the objects are not read by
   * the server; a failing value is then reported by the load, naming column, value and object.
   */
  /**
   * Values of the first and last objects that would fail the cast into the table, before any DDL: a source whose
   * values do not fit is refused at once, at the cost of reading two objects' risky columns. The other objects'
   * values are checked by each load in its own read (insertFromS3's guard) — a second read of every object
   * would cost a quarter of the load.
   */
  async probeSource(probe: SourceProbe): Promise<readonly string[]> {
    if (this.config.load !== 'server' || probe.objects.length === 0) return [];
    const columns = await this.riskyColumns(probe);
    if (columns.length === 0) return [];
    const sample = [...new Set([probe.objects[0]!, probe.objects[probe.objects.length - 1]!])];
    return this.probeValues(sample, columns, probe.filter, probe.store.credentials, 'the source');
  }

  // ---- helpers ----

  private desc(): ClickHouseDescription {
    if (!this.description) throw new Error('ClickHouseAdapter.describe() must run first');
    return this.description;
  }

  private descFor(run: RunContext): ClickHouseDescription {
    const d = this.desc();
    if (d.table.name !== run.target.table.name)
      throw new Error('run context does not match the described table');
    return d;
  }

  private tables(d: ClickHouseDescription): TableRef[] {
    return [d.table, ...d.viewTargets].map((t) => ({ database: t.database, table: t.name }));
  }

  private landing(t: TableRef, run: RunContext): TableRef {
    return { database: t.database, table: landingName(t.table, run.runId, run.lane?.id) };
  }

  /** The driver a lane's loads run on (its own connection where it has one). */
  private laneDriver(run: RunContext): ClickHouseDriver {
    return this.laneDrivers.get(run.lane?.id ?? '') ?? this.driver;
  }

  private shadow(t: TableRef, run: RunContext): TableRef {
    return { database: t.database, table: shadowName(t.table, run.runId) };
  }

  private shadowView(v: { database: string; name: string }, run: RunContext): TableRef {
    return { database: v.database, table: shadowViewName(v.name, run.runId, run.lane?.id) };
  }

  private shadowViewSql(v: ClickHouseDescription['viewInfos'][number], run: RunContext): string {
    const from = v.fromRef;
    const to = v.toRef;
    const { sql: select, replaced } = repointSelect(v.select, from, this.landing(from, run));
    if (replaced === 0) {
      throw new TargetError(
        'TARGET_UNSUPPORTED',
        `cannot find ${v.from} in the query of materialized view ${v.database}.${v.name} to re-point its shadow — ` +
          `leave the view out with views: [...]`,
      );
    }
    return sql.createShadowView(this.shadowView(v, run), this.landing(to, run), select);
  }

  private loadColumns(run: RunContext): { names: string[]; structure: string } {
    const table = this.descFor(run).table;
    const present = new Set(run.sourceColumns.map((c) => c.name));
    const cols = table.columns.filter((c) => present.has(c.name));
    return {
      names: cols.map((c) => c.name),
      structure: cols.map((c) => `${qualifiedColumn(c.name)} ${c.type}`).join(', '),
    };
  }

  private s3Source(run: RunContext, batch: BatchSpec, redact: boolean): S3Source {
    const creds = run.store.credentials;
    return {
      objects: batch.objects,
      credentials: creds && redact ? REDACTED : creds,
      structure: this.loadColumns(run).structure,
    };
  }

  private async insertSql(run: RunContext, batch: BatchSpec, redact: boolean): Promise<string> {
    return sql.insertFromS3(
      this.landing(this.live, run),
      this.loadColumns(run).names,
      this.s3Source(run, batch, redact),
      run.filter,
      await this.guardedColumns(run, batch),
    );
  }

  /**
   * Loaded columns whose source type differs from the table's (server loads): each load checks their values in
   * its own read of the objects (insertFromS3's guard). Read once from the first batch's first object (whose
   * DESCRIBE the validation probe already sent when it described the same object: describeSource).
   */
  private guardedColumns(run: RunContext, batch: BatchSpec): Promise<{ name: string; type: string }[]> {
    if (this.config.load !== 'server' || batch.objects.length === 0) return Promise.resolve([]);
    this.guards ??= this.riskyColumns({
      objects: batch.objects,
      columns: run.sourceColumns,
      store: run.store,
    }).catch((error: unknown) => {
      this.guards = undefined;
      throw error;
    });
    return this.guards;
  }

  /**
   * Replacing/Summing/Aggregating/Collapsing engines collapse rows when a block is inserted and when parts
   * merge, which would make the landed and shadowed row counts differ from the source's — at any time, also
   * after a restart of the server (a runtime `SYSTEM STOP MERGES` does not survive one). For those, the run's
   * landing and shadow of the source table are plain MergeTree tables with the live table's columns, partition
   * key, sorting and primary key and settings: they never collapse, MOVE PARTITION into the live table is
   * allowed, and the live table collapses the moved parts as usual after the swap.
   */
  private collapsesRows(): boolean {
    return collapsingEngine(this.desc().table.engine);
  }

  /**
   * The statements creating a run's landing or shadow of live table `like` (see collapsesRows), whose parts carry
   * UUIDs (sql.assignPartUuids).
   */
  private runTableStatements(table: TableRef, like: TableRef): string[] {
    const d = this.desc();
    const source = like.database === d.table.database && like.table === d.table.name;
    const create =
      source && this.collapsesRows() && !/^Replicated/.test(d.table.engine)
        ? sql.createPlainTableAs(table, like, engineClauses(d.liveEngineFull))
        : sql.createTableAs(table, like);
    return [create, sql.assignPartUuids(table)];
  }

  private async createRunTable(table: TableRef, like: TableRef): Promise<void> {
    for (const statement of this.runTableStatements(table, like)) await this.calls.command(statement);
  }

  private insertSettings(): ClickHouseSettings {
    return { ...this.config.settings };
  }

  /** Loaded columns whose source type differs from the table's scalar type (casts that can fail or change values). */
  private async riskyColumns(probe: {
    objects: readonly SourceObject[];
    columns: readonly SourceColumn[];
    store: SourceProbe['store'];
  }): Promise<{ name: string; type: string }[]> {
    const inferred = await this.describeSource(probe.objects.slice(0, 1), probe.store.credentials);
    const sourceType = new Map(inferred.map((c) => [c.name, baseType(c.type)]));
    const loaded = new Set(probe.columns.map((c) => c.name));
    const out: { name: string; type: string }[] = [];
    for (const col of this.desc().table.columns) {
      if (!loaded.has(col.name)) continue;
      const target = baseType(col.type);
      const source = sourceType.get(col.name);
      if (!source || source === target || !CASTABLE.test(target)) continue;
      out.push({ name: col.name, type: target });
    }
    return out;
  }

  /**
   * The types ClickHouse infers from `objects` (`DESCRIBE TABLE s3(…)`). The answer to the last statement is kept: the
   * validation probe and the loads' guards (riskyColumns) describe the same first object with the same credentials
   * — the same statement — and send it once. A failed read is not kept.
   */
  private describeSource(
    objects: readonly SourceObject[],
    credentials: SourceProbe['store']['credentials'],
  ): Promise<{ name: string; type: string }[]> {
    const statement = sql.describeS3({ objects, credentials });
    if (this.described?.statement === statement) return this.described.types;
    const types = this.exec(
      () => this.driver.query<{ name: string; type: string }>(statement),
      'reading the source types',
      objects,
    );
    this.described = { statement, types };
    types.catch(() => {
      if (this.described?.types === types) this.described = undefined;
    });
    return types;
  }

  /** One line per column with values that do not survive the cast (see probeSource). */
  private async probeValues(
    objects: readonly SourceObject[],
    columns: readonly { name: string; type: string }[],
    filter: SourceProbe['filter'],
    credentials: SourceProbe['store']['credentials'],
    scope: string,
  ): Promise<string[]> {
    const [row] = await this.exec(
      () =>
        this.driver.query<Record<string, string>>(sql.probeCasts({ objects, credentials }, columns, filter)),
      `checking the values of ${scope} against the column types of ${refKey(this.live)}`,
      objects,
    );
    const problems: string[] = [];
    columns.forEach((c, i) => {
      const bad = Number(row?.[`b${i}`] ?? 0);
      if (bad === 0) return;
      const path = row?.[`p${i}`] ?? '';
      const object = objects.find((o) => path.endsWith(o.key))?.uri ?? objects[0]?.uri ?? 'the source';
      problems.push(
        `column ${c.name}: ${bad} value${bad === 1 ? '' : 's'} of ${scope} cannot be stored as ${c.type} in ` +
          `${refKey(this.live)} without failing or changing, e.g. ${JSON.stringify(row?.[`s${i}`] ?? '')} in ${object}`,
      );
    });
    return problems;
  }

  /**
   * A load that failed converting a value (not a corrupt object): names the column, a sample value and the
   * object (found by probing the batch's objects), with advice that works.
   */
  private async valueError(
    error: unknown,
    run: RunContext,
    objects: readonly SourceObject[],
  ): Promise<unknown> {
    const native = (error as { cause?: unknown }).cause;
    if (!(native instanceof ClickHouseError) || !isConversionFailure(native)) return error;
    const fix =
      ' — fix those values in the object and run the same command to resume, or change the column type and run ' +
      'with --new-run to start over';
    try {
      // With load: client the server may not reach the store: then only ClickHouse's message is used.
      if (this.config.load !== 'server') throw new Error('no probe');
      const columns = await this.riskyColumns({ objects, columns: run.sourceColumns, store: run.store });
      const problems = columns.length
        ? await this.probeValues(objects, columns, run.filter, run.store.credentials, 'the batch')
        : [];
      if (problems.length > 0) return new SchemaMismatchError(`${problems[0]}${fix}`, { cause: error });
    } catch {
      // Fall back to what ClickHouse said.
    }
    const message = native.message;
    const column = /column:\s*([^:\s]+)\s*:/.exec(message)?.[1];
    const value = /(?:string|value) '((?:[^'\\]|\\.)*)'/i.exec(message)?.[1];
    const object =
      objects.find((o) => message.includes(o.key))?.uri ??
      (objects.length === 1 ? objects[0]!.uri : 'the batch objects');
    return new SchemaMismatchError(
      `${column ? `column ${column}: ` : ''}a value${value !== undefined ? ` (${JSON.stringify(value)})` : ''} of ` +
        `${object} cannot be stored in ${refKey(this.live)} (${shortReason(message)})${fix}`,
      { cause: error },
    );
  }

  /** Runs a driver call and maps failures to typed errors, naming the object when one is at fault. */
  private async exec<T>(fn: () => Promise<T>, what: string, objects?: readonly SourceObject[]): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.mapError(error, what, objects);
    }
  }

  private mapError(error: unknown, what: string, objects?: readonly SourceObject[]): Error {
    if (error instanceof ShadowfillError) return error;
    if (!(error instanceof ClickHouseError)) return error instanceof Error ? error : new Error(String(error));
    const secret = this.config.source.credentials?.secretAccessKey;
    const message = secret ? error.message.split(secret).join('***') : error.message;
    const culprit = objects?.find((o) => message.includes(o.httpUrl) || message.includes(o.key));
    const objectText = culprit?.uri ?? (objects?.length === 1 ? objects[0]?.uri : undefined);
    if (objects && isSourceFailure(error, message)) {
      const reason = shortReason(message);
      if (/403|Access Denied|InvalidAccessKeyId|SignatureDoesNotMatch|credentials/i.test(message)) {
        return new SourceError(
          'SOURCE_ACCESS_DENIED',
          `ClickHouse was refused access to ${objectText ?? 'the batch objects'} (${reason}) — check source credentials`,
          { cause: error },
        );
      }
      if (/NoSuchKey|specified key does not exist|HTTP response code: 404/i.test(message)) {
        return new SourceError(
          'SOURCE_EMPTY',
          `${objectText ?? 'an object of the batch'} no longer exists in the store (it was listed when the run started) — ` +
            `restore it, or start over with --new-run`,
          { cause: error },
        );
      }
      if (/Connection refused|Timeout|Couldn't resolve|Poco::Exception|NETWORK_ERROR/i.test(message)) {
        return new SourceError(
          'SOURCE_UNREACHABLE',
          `ClickHouse cannot reach the object store for ${objectText ?? 'the batch objects'} (${reason}) — ` +
            `check source.endpoint, or use load: client if only this machine can reach it`,
          { cause: error },
        );
      }
      return new SourceError(
        'SOURCE_CORRUPT',
        `${objectText ?? 'an object of the batch'} could not be read as Parquet (${reason}) — replace or remove the object`,
        { cause: error },
      );
    }
    const secrets = [secret, this.config.target.password].filter((x): x is string => Boolean(x));
    return toTargetError(
      new ClickHouseError(message, error.code, error.type, { cause: error.cause }),
      `${what} on ${this.driver.description}`,
      { secrets },
    );
  }
}

function qualifiedColumn(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

function sumBytes(objects: readonly SourceObject[]): number {
  return objects.reduce((n, o) => n + o.size, 0);
}

/** Scalar types `accurateCastOrNull` can probe (what a source value may fail to become). */
const CASTABLE =
  /^(U?Int(8|16|32|64|128|256)|Float(32|64)|BFloat16|Decimal(32|64|128|256)?\(.*\)|Bool|Date|Date32|DateTime(64)?(\(.*\))?|Time(64)?(\(.*\))?|UUID|IPv4|IPv6|Enum(8|16)?\(.*\)|FixedString\(\d+\))$/;

/** Conversion failures of a value (text that does not parse, a number out of range): not a corrupt object. */
function isConversionFailure(error: ClickHouseError): boolean {
  return (
    [6, 27, 38, 41, 69, 70, 72, 321, 407, 376, 395].includes(error.code) ||
    /^(CANNOT_PARSE_|CANNOT_CONVERT_TYPE|VALUE_IS_OUT_OF_RANGE|DECIMAL_OVERFLOW|ARGUMENT_OUT_OF_BOUND)/.test(
      error.type,
    )
  );
}

const SOURCE_CODES = new Set([499, 33, 36, 27, 32, 6, 117, 1002, 86, 173, 210, 209, 198, 76, 75, 74, 70]);

function isSourceFailure(error: ClickHouseError, message: string): boolean {
  // The load's own cast guard (insertFromS3): a value, not the object.
  if (error.code === 395 && message.includes(CAST_GUARD_MESSAGE)) return false;
  return (
    SOURCE_CODES.has(error.code) ||
    /S3_ERROR|Parquet|ParquetBlockInputFormat|CANNOT_READ|INCORRECT_DATA|CANNOT_EXTRACT_TABLE_STRUCTURE/i.test(
      `${error.type} ${message}`,
    )
  );
}

function shortReason(message: string): string {
  const first = message.split('\n')[0] ?? message;
  const cleaned = first.replace(/^Code:\s*\d+\.\s*/, '').replace(/^DB::Exception:\s*/, '');
  return cleaned.length > 220 ? `${cleaned.slice(0, 220)}…` : cleaned;
}

/** Expressions whose before/after values show what a backfill added to a view target. */
export function aggregateExpressions(table: TargetTable): string[] {
  if (table.role === 'source') return [];
  const sortingColumns = new Set(
    table.sortingKey
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const exprs: string[] = [];
  for (const c of table.columns) {
    if (sortingColumns.has(c.name)) continue;
    const col = qualifiedColumn(c.name);
    const agg = /^AggregateFunction\((\w+)/.exec(c.type);
    const simple = /^SimpleAggregateFunction\((\w+)\s*,\s*(.*)\)$/.exec(c.type);
    if (agg) {
      if (/^(count|sum|uniq\w*|avg|min|max|any|anyLast)$/.test(agg[1]!)) exprs.push(`${agg[1]}Merge(${col})`);
    } else if (simple) {
      if (/^(sum|min|max|any|anyLast)$/.test(simple[1]!) && isNumeric(simple[2]!))
        exprs.push(`${simple[1]}(${col})`);
    } else if (table.engine.includes('Summing') && isNumeric(c.type)) {
      exprs.push(`sum(${col})`);
    }
  }
  return exprs;
}

function isNumeric(type: string): boolean {
  return /^(U?Int\d+|Float\d+|Decimal)/.test(baseType(type));
}
