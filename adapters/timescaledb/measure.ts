/**
 * Row counts for the report: the hypertable, and each continuous aggregate on it with the sums of its count/sum
 * columns (`sum(c)` of a `count(*) AS c` aggregate equals the raw rows it covers, which makes a backfill visible).
 *
 * Only what the run can change is counted: the scope's range of the time column (from the source's Parquet
 * footers) becomes constant bounds on the time column — chunk exclusion reads only the chunks in that range — and,
 * for each aggregate, on its bucket column (every bucket that can hold a row of the range). Without a usable range
 * (no statistics for the time column) the whole tables are counted, and the measurement says so by having no scope.
 *
 * A compressed hypertable's rows are counted without decompressing them (`countRows`): a chunk wholly inside the
 * range holds the sum of its compressed batches' `_ts_meta_count` plus the rows of its own heap (`FROM ONLY`,
 * which TimescaleDB does not expand into the compressed data); only the rows in boundary chunks are counted by
 * scanning. At PyPI scale this turns minutes of decompression into catalog reads.
 */
import type { MeasureScope, TableMeasurement } from '../../src/adapter/contract.ts';
import type { ColumnRange } from '../../src/source/types.ts';
import type { PgConnection, Queryable } from './connection.ts';
import type { ContinuousAggregate, Hypertable } from './introspect.ts';
import { checkedTypeName, qualified, quoteIdent, quoteLiteral } from './sql/quote.ts';

/** Output columns of `count(…) AS x` / `sum(…) AS x` in an aggregate's definition. */
export function additiveColumns(definition: string): string[] {
  const names = new Set<string>();
  const pattern =
    /\b(?:count|sum)\s*\((?:[^()]|\([^()]*\))*\)\s+AS\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)/gi;
  for (const match of definition.matchAll(pattern)) {
    const raw = match[1]!;
    names.add(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase());
  }
  return [...names];
}

/** The time range to count, as SQL literals of the time column's type, and its text for the report. */
interface TimeBounds {
  readonly lo: string;
  readonly hi: string;
  readonly text: string;
  /** Time kinds: the bounds as `timestamptz` instants (how `timescaledb_information.chunks` shows chunk ranges). */
  readonly instantLo?: string;
  readonly instantHi?: string;
  /** Time kinds: an instant (ISO, UTC) as a literal of the time column's type. */
  readonly fromInstant: (iso: string) => string;
}

function instantOnly(): string {
  throw new Error('an integer time dimension has no instants (a defect if this appears)');
}

/** The scope's range of the hypertable's time column (matched by name, case-insensitively when unambiguous). */
export function timeBounds(ht: Hypertable, scope: MeasureScope | undefined): TimeBounds | undefined {
  if (!scope) return undefined;
  const names = Object.keys(scope.ranges);
  const exact = names.find((n) => n === ht.time.column);
  const folded = names.filter((n) => n.toLowerCase() === ht.time.column.toLowerCase());
  const name = exact ?? (folded.length === 1 ? folded[0] : undefined);
  const range: ColumnRange | undefined = name === undefined ? undefined : scope.ranges[name];
  if (!range) return undefined;
  const text = `[${range.min}, ${range.max}]`;
  switch (ht.time.kind) {
    case 'integer': {
      if (range.kind !== 'number' || !/^-?\d+$/.test(range.min) || !/^-?\d+$/.test(range.max))
        return undefined;
      const type = checkedTypeName(ht.time.type);
      return { lo: `${range.min}::${type}`, hi: `${range.max}::${type}`, text, fromInstant: instantOnly };
    }
    case 'timestamptz':
    case 'timestamp':
    case 'date': {
      if (range.kind !== 'time') return undefined;
      const instant = (iso: string) => `${quoteLiteral(iso)}::timestamptz`;
      // The adapter stores instants into `timestamp`/`date` columns as their UTC wall clock / UTC day.
      const as = (iso: string) =>
        ht.time.kind === 'timestamptz'
          ? instant(iso)
          : ht.time.kind === 'timestamp'
            ? `(${instant(iso)} AT TIME ZONE 'UTC')`
            : `(${instant(iso)} AT TIME ZONE 'UTC')::date`;
      return {
        lo: as(range.min),
        hi: as(range.max),
        text,
        instantLo: instant(range.min),
        instantHi: instant(range.max),
        fromInstant: as,
      };
    }
  }
}

async function measureAggregate(
  db: Queryable,
  ht: Hypertable,
  agg: ContinuousAggregate,
  bounds: TimeBounds | undefined,
): Promise<TableMeasurement> {
  const columns = additiveColumns(agg.definition);
  const sums = columns.map((c, i) => `sum(${quoteIdent(c)})::text AS a${i}`);
  let where = '';
  let scope: string | undefined;
  if (bounds && agg.bucketColumn && agg.bucketWidth) {
    // A bucket [b, b + width) holds rows of [lo, hi] exactly when lo - width < b <= hi.
    const width =
      ht.time.kind === 'integer'
        ? `${quoteLiteral(agg.bucketWidth)}::${checkedTypeName(ht.time.type)}`
        : `${quoteLiteral(agg.bucketWidth)}::interval`;
    const bucket = quoteIdent(agg.bucketColumn);
    where = ` WHERE ${bucket} > ${bounds.lo} - ${width} AND ${bucket} <= ${bounds.hi}`;
    scope = `buckets (${agg.bucketColumn}) holding ${ht.time.column} in ${bounds.text}`;
  }
  const rows = await db.query<Record<string, string | null>>(
    `SELECT count(*)::text AS n${sums.length ? `, ${sums.join(', ')}` : ''} FROM ${qualified(agg.schema, agg.name)}${where}`,
    [],
    `measuring continuous aggregate ${agg.schema}.${agg.name}`,
  );
  const row = rows[0] ?? {};
  const aggregates: Record<string, number> = {};
  columns.forEach((c, i) => {
    aggregates[`sum(${c})`] = Number(row[`a${i}`] ?? 0);
  });
  return {
    table: `${agg.schema}.${agg.name}`,
    ...(scope ? { scope } : {}),
    rows: Number(row['n'] ?? 0),
    aggregates,
  };
}

/** A chunk wholly inside the range, as listed by `insideChunks`. */
interface InsideChunk {
  readonly chunk: string;
  readonly compressed: string | null;
  readonly status: number;
  /** The chunk's table access method: only `heap` keeps compressed rows out of `FROM ONLY` (hypercore did not). */
  readonly access: string | null;
}

/** The statement listing the chunks wholly inside [lo, hi] (every chunk without bounds), with what counts them. */
function insideChunksSql(ht: Hypertable, bounds: TimeBounds | undefined): string {
  let inside = '';
  if (bounds) {
    // A chunk [s, e) lies inside [lo, hi] when s >= lo and e <= hi (so every row t < e <= hi).
    inside =
      ht.time.kind === 'integer'
        ? ` AND i.range_start_integer >= ${bounds.lo} AND i.range_end_integer <= ${bounds.hi}`
        : ` AND i.range_start >= ${bounds.instantLo} AND i.range_end <= ${bounds.instantHi}`;
  }
  return (
    `SELECT format('%I.%I', c.schema_name, c.table_name) AS chunk, c.status,` +
    ` CASE WHEN cc.id IS NULL THEN NULL ELSE format('%I.%I', cc.schema_name, cc.table_name) END AS compressed,` +
    ` ${ht.time.kind === 'integer' ? 'i.range_start_integer::text' : `to_char(i.range_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`} AS lo,` +
    ` ${ht.time.kind === 'integer' ? 'i.range_end_integer::text' : `to_char(i.range_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`} AS hi` +
    `, am.amname AS access` +
    ` FROM timescaledb_information.chunks i` +
    ` JOIN _timescaledb_catalog.chunk c ON c.schema_name = i.chunk_schema AND c.table_name = i.chunk_name` +
    ` JOIN pg_class r ON r.oid = format('%I.%I', c.schema_name, c.table_name)::regclass` +
    ` LEFT JOIN pg_am am ON am.oid = r.relam` +
    ` LEFT JOIN _timescaledb_catalog.chunk cc ON cc.id = c.compressed_chunk_id` +
    ` WHERE i.hypertable_schema = ${quoteLiteral(ht.schema)} AND i.hypertable_name = ${quoteLiteral(ht.name)}${inside}` +
    ` ORDER BY 1`
  );
}

/** Chunks per counting statement (each adds one or two relations to plan). */
const CHUNKS_PER_STATEMENT = 200;

/**
 * Rows of the hypertable in [lo, hi] (all without bounds), exact. On a compressed hypertable the chunks wholly
 * inside are counted from their compressed batches' metadata plus their own heaps, and the rest of the range by
 * scanning, all in one REPEATABLE READ transaction (one snapshot). A chunk compressed, decompressed or
 * recompressed meanwhile is not MVCC-safe to count this way (compression empties the chunk's heap outright), so
 * the chunk list is read again after the transaction: if anything changed, the range is counted by scanning.
 */
async function countRows(db: PgConnection, ht: Hypertable, bounds: TimeBounds | undefined): Promise<number> {
  const table = qualified(ht.schema, ht.name);
  const time = quoteIdent(ht.time.column);
  const scan = (where: string) => `SELECT count(*)::bigint AS n FROM ${table}${where}`;
  const whole = bounds ? ` WHERE ${time} >= ${bounds.lo} AND ${time} <= ${bounds.hi}` : '';
  const scanned = async () => {
    const rows = await db.query<{ n: string }>(
      scan(whole),
      [],
      `counting the rows of ${ht.schema}.${ht.name}`,
    );
    return Number(rows[0]?.n ?? 0);
  };
  if (!ht.compressionEnabled) return scanned();
  const list = insideChunksSql(ht, bounds);
  const counted = await db.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const chunks = await tx.query<InsideChunk & { lo: string; hi: string }>(
      list,
      [],
      `listing the chunks of ${ht.schema}.${ht.name}`,
    );
    if (chunks.length === 0 || !chunks.some((c) => c.compressed)) return undefined;
    if (chunks.some((c) => c.access !== 'heap')) return undefined;
    let total = 0;
    // The rest of the range: before the first inside chunk and from the end of the last one (chunks never
    // overlap, so no chunk lies between two inside ones without being inside itself).
    if (bounds) {
      const literal = (v: string) =>
        ht.time.kind === 'integer' ? `${v}::${checkedTypeName(ht.time.type)}` : bounds.fromInstant(v);
      const first = chunks.reduce((a, c) => (compareBound(ht, c.lo, a) < 0 ? c.lo : a), chunks[0]!.lo);
      const last = chunks.reduce((a, c) => (compareBound(ht, c.hi, a) > 0 ? c.hi : a), chunks[0]!.hi);
      const rest = await tx.query<{ n: string }>(
        `SELECT ((${scan(` WHERE ${time} >= ${bounds.lo} AND ${time} < ${literal(first)}`)}) + (${scan(` WHERE ${time} >= ${literal(last)} AND ${time} <= ${bounds.hi}`)}))::text AS n`,
        [],
        `counting the rows of ${ht.schema}.${ht.name} outside whole chunks`,
      );
      total += Number(rest[0]?.n ?? 0);
    }
    for (let i = 0; i < chunks.length; i += CHUNKS_PER_STATEMENT) {
      const parts = chunks
        .slice(i, i + CHUNKS_PER_STATEMENT)
        .flatMap((c) => [
          `(SELECT count(*) FROM ONLY ${c.chunk})`,
          ...(c.compressed ? [`(SELECT coalesce(sum(_ts_meta_count), 0) FROM ${c.compressed})`] : []),
        ]);
      const rows = await tx.query<{ n: string }>(
        `SELECT (${parts.join(' + ')})::text AS n`,
        [],
        `counting the rows of ${ht.schema}.${ht.name} from chunk metadata`,
      );
      total += Number(rows[0]?.n ?? 0);
    }
    return { total, chunks };
  });
  if (!counted) return scanned();
  const again = await db.query<InsideChunk & { lo: string; hi: string }>(
    list,
    [],
    `listing the chunks of ${ht.schema}.${ht.name}`,
  );
  const key = (c: InsideChunk) => `${c.chunk}|${c.compressed ?? ''}|${c.status}`;
  const same =
    again.length === counted.chunks.length && again.every((c, i) => key(c) === key(counted.chunks[i]!));
  return same ? counted.total : scanned();
}

/** Orders two chunk bounds as listed (integers, or fixed-width UTC timestamps). */
function compareBound(ht: Hypertable, a: string, b: string): number {
  if (ht.time.kind === 'integer') {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function measureAll(
  db: PgConnection,
  ht: Hypertable,
  scope?: MeasureScope,
): Promise<TableMeasurement[]> {
  const bounds = timeBounds(ht, scope);
  const result: TableMeasurement[] = [
    {
      table: `${ht.schema}.${ht.name}`,
      ...(bounds ? { scope: `${ht.time.column} in ${bounds.text}` } : {}),
      rows: await countRows(db, ht, bounds),
      aggregates: {},
    },
  ];
  for (const agg of ht.aggregates) result.push(await measureAggregate(db, ht, agg, bounds));
  return result;
}
