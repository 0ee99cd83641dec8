/**
 * The thin driver interface the ClickHouse adapter talks through. Two implementations:
 * - drivers/chdb.ts: embedded ClickHouse (chDB) with a persistent data directory (`embedded:<dir>`),
 * - drivers/http.ts: a ClickHouse server over HTTP(S) via @clickhouse/client (`http(s)://…`).
 * Drivers run SQL and map native failures to ClickHouseError; they know nothing about backfills.
 */

/**
 * A statement with bound parameters: `{name:Type}` placeholders in `sql` (ClickHouse query parameters), their values
 * in `params`, sent apart from the text (chDB `queryBindAsync`, HTTP `param_<name>`). What `plan` prints is this
 * same value.
 */
export interface BoundStatement {
  readonly sql: string;
  readonly params: Readonly<Record<string, string | number>>;
}

/** A statement as drivers take it: plain SQL text, or SQL with bound parameters. */
export type Statement = string | BoundStatement;

export interface ClickHouseDriver {
  /** Human description for messages, never containing credentials (e.g. `http://host:8123`, `embedded:/data`). */
  readonly description: string;
  /** Runs a statement that returns no rows (DDL, INSERT … SELECT, ALTER). */
  command(statement: Statement, settings?: ClickHouseSettings): Promise<void>;
  /** Runs a query and returns its rows as objects (JSONEachRow; 64-bit integers arrive as strings). */
  query<Row extends Record<string, unknown>>(
    statement: Statement,
    settings?: ClickHouseSettings,
  ): Promise<Row[]>;
  /**
   * Runs `INSERT INTO <table> FORMAT <format>` with `body` as the data (e.g. a whole Parquet file's bytes).
   * `table` is already a quoted, qualified identifier.
   */
  insertStream(
    table: string,
    format: 'Parquet' | 'JSONEachRow',
    body: AsyncIterable<Uint8Array>,
    settings?: ClickHouseSettings,
  ): Promise<void>;
  close(): Promise<void>;
  /**
   * Optional: a driver with a connection of its own, for a worker lane whose queries must run beside the others'
   * (chDB: a session of its own on the same data directory — one session runs one query at a time). Closing it
   * closes only that connection. Absent: the driver's own queries already run in parallel (HTTP).
   */
  fork?(): ClickHouseDriver;
}

/** The SQL text and parameters of a statement. */
export function unbind(statement: Statement): BoundStatement {
  return typeof statement === 'string' ? { sql: statement, params: {} } : statement;
}

export type ClickHouseSettings = Readonly<Record<string, string | number | boolean>>;

/** A failure reported by ClickHouse (or its transport), with ClickHouse's numeric code and type name. */
export class ClickHouseError extends Error {
  /** ClickHouse error code, e.g. 60; 0 when the failure is the transport's (connection refused, …). */
  readonly code: number;
  /** ClickHouse error type, e.g. `UNKNOWN_TABLE`, or `NETWORK` for transport failures. */
  readonly type: string;

  constructor(message: string, code: number, type: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClickHouseError';
    this.code = code;
    this.type = type;
  }
}

/** Parses `Code: 60. DB::Exception: … (UNKNOWN_TABLE)` into code and type; unknown parts become 0 / ''. */
export function parseClickHouseMessage(message: string): { code: number; type: string; text: string } {
  const code = /Code:\s*(\d+)/.exec(message);
  const type = /\(([A-Z][A-Z0-9_]+)\)\s*(?:\(version [^)]*\))?\s*$/.exec(message.trim());
  const text = message
    .replace(/^Code:\s*\d+\.\s*/, '')
    .replace(/^DB::Exception:\s*/, '')
    .trim();
  return { code: code ? Number(code[1]) : 0, type: type?.[1] ?? '', text };
}
