/**
 * The ClickHouse adapter: duplicate-table backfill as in ClickHouse's "Backfilling Data" guide.
 *
 * Per run, for the live table and every materialized-view target fed by it: a landing table and a shadow
 * table (`CREATE TABLE … AS <live>`), and for every view a shadow view from landing to landing. A batch is
 * `INSERT INTO <landing> SELECT … FROM s3(…)` (the views fill their target landings as blocks arrive),
 * verified by count, then committed by moving the landing partitions into the shadow. The swap moves every
 * shadow partition into its live table with `ALTER TABLE <shadow> MOVE PARTITION ID '…' TO TABLE <live>`:
 * atomic per partition and idempotent (moving a partition the shadow no longer has moves nothing).
 */
import type {
  BatchSpec,
  LoadResult,
  ObjectBytes,
  PlannedStatement,
  RowChunk,
  RunContext,
  SwapState,
  SwapUnit,
  TableMeasurement,
  TargetAdapter,
  TargetCapabilities,
  TargetDescription,
  TargetTable,
} from '../../src/adapter/contract.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import { ConfigError, ShadowfillError, SourceError, TargetError } from '../../src/errors.ts';
import type { JournalStore } from '../../src/journal/types.ts';
import type { SourceColumn, SourceObject } from '../../src/source/types.ts';
import { ClickHouseError, type ClickHouseDriver, type ClickHouseSettings } from './driver.ts';
import { toTargetError } from './errors.ts';
import { describeClickHouse, type ClickHouseDescription } from './introspect.ts';
import { clickHouseJournal } from './journal.ts';
import { landingName, refKey, shadowName, shadowViewName, type TableRef } from './names.ts';
import { schemaProblems, baseType } from './schema-check.ts';
import { repointSelect } from './sql/rewrite.ts';
import { qualified } from './sql/quote.ts';
import { sql, type S3Source } from './sql/statements.ts';

interface PartitionRow extends Record<string, unknown> {
  partition_id: string;
  partition: string;
  rows: string;
}

const REDACTED = { accessKeyId: '***', secretAccessKey: '***' };

export class ClickHouseAdapter implements TargetAdapter {
  readonly kind = 'clickhouse';
  readonly capabilities: TargetCapabilities;
  readonly journal: JournalStore;
  private description: ClickHouseDescription | undefined;
  private readonly live: TableRef;

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
    };
    this.journal = clickHouseJournal(this.guarded(), config.target.database);
  }

  async connect(): Promise<void> {
    await this.exec(() => this.driver.query(sql.serverVersion()), 'connecting');
  }

  async close(): Promise<void> {
    await this.driver.close();
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
    const [row] = await this.query<{ n: string; v: string }>(sql.minValue(this.live, column));
    return !row || Number(row.n) === 0 ? null : row.v;
  }

  async measure(target: TargetDescription): Promise<readonly TableMeasurement[]> {
    const out: TableMeasurement[] = [];
    for (const table of [target.table, ...target.viewTargets]) {
      const ref = { database: table.database, table: table.name };
      const expressions = aggregateExpressions(table);
      const [row] = await this.query<Record<string, string>>(sql.aggregates(ref, expressions));
      const aggregates: Record<string, number> = {};
      expressions.forEach((e, i) => {
        aggregates[e] = Number(row?.[`a${i}`] ?? 0);
      });
      out.push({ table: refKey(ref), rows: Number(row?.n ?? 0), aggregates });
    }
    return out;
  }

  planStatements(run: RunContext, batches: readonly BatchSpec[]): readonly PlannedStatement[] {
    const d = this.descFor(run);
    const out: PlannedStatement[] = [];
    for (const t of this.tables(d)) {
      out.push({
        phase: 'prepare',
        title: `landing for ${refKey(t)}`,
        sql: sql.createTableAs(this.landing(t, run), t),
      });
      out.push({
        phase: 'prepare',
        title: `shadow of ${refKey(t)}`,
        sql: sql.createTableAs(this.shadow(t, run), t),
      });
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
      out.push({ phase: 'load', title, sql: this.insertSql(run, b, true) });
      out.push({ phase: 'verify', title, sql: sql.countFromS3(this.s3Source(run, b, true), run.filter) });
      out.push({ phase: 'verify', title, sql: sql.count(this.landing(this.live, run)) });
      for (const t of this.tables(d)) {
        out.push({
          phase: 'commit',
          title: `${title}: for each partition of ${this.landing(t, run).table}`,
          sql: sql.movePartition(this.landing(t, run), '<partition_id>', this.shadow(t, run)),
        });
      }
    }
    for (const t of this.tables(d)) {
      out.push({
        phase: 'swap',
        title: `for each partition of ${this.shadow(t, run).table}`,
        sql: sql.movePartition(this.shadow(t, run), '<partition_id>', t),
      });
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
      await this.command(sql.createTableAs(this.landing(t, run), t));
      await this.command(sql.createTableAs(this.shadow(t, run), t));
    }
    for (const stop of this.mergeStops(run)) await this.command(stop);
    for (const v of d.viewInfos) await this.command(this.shadowViewSql(v, run));
  }

  async prepareBatch(run: RunContext): Promise<void> {
    for (const t of this.tables(this.descFor(run))) await this.command(sql.truncate(this.landing(t, run)));
  }

  async loadBatchFromStore(run: RunContext, batch: BatchSpec): Promise<LoadResult> {
    await this.exec(
      () => this.driver.command(this.insertSql(run, batch, false), this.insertSettings()),
      `loading batch ${batch.index + 1} into ${this.landing(this.live, run).table}`,
      batch.objects,
    );
    return { rowsWritten: await this.countLandedRows(run), bytesRead: sumBytes(batch.objects) };
  }

  async loadBatchFromStream(
    run: RunContext,
    batch: BatchSpec,
    input: AsyncIterable<ObjectBytes> | AsyncIterable<RowChunk>,
  ): Promise<LoadResult> {
    const landing = this.landing(this.live, run);
    for await (const item of input as AsyncIterable<ObjectBytes | RowChunk>) {
      if (!('body' in item)) throw new Error('the ClickHouse adapter takes Parquet bytes, not decoded rows');
      await this.exec(
        () =>
          this.driver.insertStream(
            qualified(landing.database, landing.table),
            'Parquet',
            item.body,
            this.insertSettings(),
          ),
        `loading ${item.object.uri} into ${landing.table}`,
        [item.object],
      );
    }
    return { rowsWritten: await this.countLandedRows(run), bytesRead: sumBytes(batch.objects) };
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
    const [row] = await this.query<{ n: string }>(sql.count(this.landing(this.live, run)));
    return Number(row?.n ?? 0);
  }

  async commitBatch(run: RunContext): Promise<void> {
    for (const t of this.tables(this.descFor(run))) {
      const landing = this.landing(t, run);
      for (const p of await this.partitions(landing)) {
        await this.command(sql.movePartition(landing, p.partition_id, this.shadow(t, run)));
      }
    }
  }

  async countShadowRows(run: RunContext): Promise<number> {
    const [row] = await this.query<{ n: string }>(sql.count(this.shadow(this.live, run)));
    return Number(row?.n ?? 0);
  }

  async beginSwap(): Promise<SwapState> {
    return {};
  }

  async listSwapUnits(run: RunContext): Promise<readonly SwapUnit[]> {
    const units: SwapUnit[] = [];
    for (const t of this.tables(this.descFor(run))) {
      for (const p of await this.partitions(this.shadow(t, run))) {
        units.push({
          id: JSON.stringify([t.database, t.table, p.partition_id]),
          description: `${refKey(t)} partition ${p.partition} (${p.rows} rows)`,
        });
      }
    }
    return units;
  }

  async swapUnit(run: RunContext, unit: SwapUnit): Promise<void> {
    const [database, table, partitionId] = JSON.parse(unit.id) as [string, string, string];
    const live = { database, table };
    await this.command(sql.movePartition(this.shadow(live, run), partitionId, live));
  }

  async finishSwap(): Promise<void> {
    // MOVE PARTITION leaves nothing to finalize.
  }

  async dropShadows(run: RunContext): Promise<void> {
    const d = this.descFor(run);
    for (const v of d.viewInfos) await this.command(sql.dropView(this.shadowView(v, run)));
    for (const t of this.tables(d)) {
      await this.command(sql.dropTable(this.landing(t, run)));
      await this.command(sql.dropTable(this.shadow(t, run)));
    }
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
    return { database: t.database, table: landingName(t.table, run.runId) };
  }

  private shadow(t: TableRef, run: RunContext): TableRef {
    return { database: t.database, table: shadowName(t.table, run.runId) };
  }

  private shadowView(v: { database: string; name: string }, run: RunContext): TableRef {
    return { database: v.database, table: shadowViewName(v.name, run.runId) };
  }

  private shadowViewSql(v: ClickHouseDescription['viewInfos'][number], run: RunContext): string {
    const from = splitKey(v.from);
    const to = splitKey(v.to);
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

  private insertSql(run: RunContext, batch: BatchSpec, redact: boolean): string {
    return sql.insertFromS3(
      this.landing(this.live, run),
      this.loadColumns(run).names,
      this.s3Source(run, batch, redact),
      run.filter,
    );
  }

  /**
   * Replacing/Summing/Aggregating/Collapsing engines collapse rows when a block is inserted
   * (`optimize_on_insert`) and when parts merge, which would make the landed and shadowed row counts differ
   * from the source's. For those, the run's own landing and shadow of the source table neither optimize on
   * insert nor merge; the live table merges the moved parts as usual after the swap.
   */
  private collapsesRows(): boolean {
    return /(Replacing|Summing|Aggregating|Collapsing|Graphite|Coalescing)MergeTree/.test(
      this.desc().table.engine,
    );
  }

  private mergeStops(run: RunContext): string[] {
    if (!this.collapsesRows()) return [];
    return [sql.stopMerges(this.landing(this.live, run)), sql.stopMerges(this.shadow(this.live, run))];
  }

  private insertSettings(): ClickHouseSettings {
    return this.collapsesRows()
      ? { ...this.config.settings, optimize_on_insert: 0 }
      : { ...this.config.settings };
  }

  private async partitions(table: TableRef): Promise<PartitionRow[]> {
    return this.query<PartitionRow>(sql.activePartitions(table));
  }

  private command(statement: string): Promise<void> {
    return this.exec(() => this.driver.command(statement), firstWords(statement));
  }

  private query<Row extends Record<string, unknown>>(statement: string): Promise<Row[]> {
    return this.exec(() => this.driver.query<Row>(statement), firstWords(statement));
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

  /** Driver whose failures are mapped (used by the journal). */
  private guarded(): ClickHouseDriver {
    return {
      description: this.driver.description,
      command: (s, settings) => this.exec(() => this.driver.command(s, settings), 'writing the journal'),
      query: (s, settings) => this.exec(() => this.driver.query(s, settings), 'reading the journal'),
      insertStream: (t, f, b, s) => this.driver.insertStream(t, f, b, s),
      close: () => this.driver.close(),
    };
  }
}

function splitKey(key: string): TableRef {
  const i = key.indexOf('.');
  return { database: key.slice(0, i), table: key.slice(i + 1) };
}

function qualifiedColumn(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

function sumBytes(objects: readonly SourceObject[]): number {
  return objects.reduce((n, o) => n + o.size, 0);
}

function firstWords(statement: string): string {
  return statement.split(/\s+/).slice(0, 4).join(' ');
}

const SOURCE_CODES = new Set([499, 33, 36, 27, 32, 6, 117, 1002, 86, 173, 210, 209, 198, 76, 75, 74, 70]);

function isSourceFailure(error: ClickHouseError, message: string): boolean {
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
