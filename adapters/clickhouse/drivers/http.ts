/**
 * A ClickHouse server over HTTP(S), through @clickhouse/client. Runs statements, returns JSONEachRow rows and
 * streams INSERT bodies (Parquet, JSONEachRow) without buffering them. Every failure becomes a ClickHouseError:
 * the server's own code and type, or code 0 when no ClickHouse answered, with type NETWORK (refused, DNS, a
 * proxy's page), CONNECTION_LOST (cut off during a request) or TIMEOUT. Works with servers from 18.16 on (they
 * report errors without their type name).
 */
import { Readable } from 'node:stream';
import {
  createClient,
  ClickHouseError as ClientError,
  ClickHouseLogLevel,
  type ClickHouseClient,
  type ClickHouseSettings as ClientSettings,
} from '@clickhouse/client';
import { ConfigError } from '../../../src/errors.ts';
import {
  ClickHouseError,
  parseClickHouseMessage,
  unbind,
  type ClickHouseDriver,
  type ClickHouseSettings,
  type Statement,
} from '../driver.ts';
import { clickHouseErrorName } from '../errors.ts';

export interface HttpDriverOptions {
  /** `http(s)://host:port[/path]`; credentials in the URL are used when `user`/`password` are not given. */
  readonly url: string;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  /** Database for unqualified names; default `default`. */
  readonly database?: string | undefined;
  /**
   * How long one request may go without an answer. A long `INSERT … SELECT` answers only when it ends, so this
   * is generous. Default: one hour.
   */
  readonly requestTimeoutMs?: number | undefined;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60 * 60 * 1000;
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** HTTP parameters that share the namespace with settings: a "setting" with these names would change the request. */
const RESERVED_PARAMETERS = new Set([
  'query',
  'database',
  'user',
  'password',
  'quota_key',
  'query_id',
  'session_id',
]);
/** JSONEachRow must carry 64-bit integers as strings (servers from 25.x print them as numbers by default). */
const QUERY_DEFAULTS: ClickHouseSettings = { output_format_json_quote_64bit_integers: 1 };
const INSERT_FORMATS = new Set(['Parquet', 'JSONEachRow']);

export class HttpDriver implements ClickHouseDriver {
  readonly description: string;
  private readonly client: ClickHouseClient;
  private readonly password: string;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(options: HttpDriverOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch (error) {
      throw new ConfigError('target.url is not a valid URL; use http(s)://host:port', { cause: error });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError(
        `target.url uses ${parsed.protocol} but the HTTP driver needs http:// or https://`,
      );
    }
    const path = parsed.pathname === '/' ? '' : parsed.pathname.replace(/\/+$/, '');
    const base = `${parsed.protocol}//${parsed.host}${path}`;
    this.description = base;
    this.password = options.password ?? decodeURIComponent(parsed.password);
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.client = createClient({
      url: base,
      username: options.user ?? (parsed.username ? decodeURIComponent(parsed.username) : 'default'),
      password: this.password,
      database: options.database ?? 'default',
      request_timeout: this.timeoutMs,
      compression: { request: false, response: false },
      application: 'shadowfill',
      // Failures are rethrown as ClickHouseError; the client's own log would only repeat them.
      log: { level: ClickHouseLogLevel.OFF },
    });
  }

  async command(statement: Statement, settings?: ClickHouseSettings): Promise<void> {
    const { sql, params } = unbind(statement);
    const clickhouse_settings = this.settings(settings);
    await this.call(() => this.client.command({ query: sql, query_params: params, clickhouse_settings }));
  }

  async query<Row extends Record<string, unknown>>(
    statement: Statement,
    settings?: ClickHouseSettings,
  ): Promise<Row[]> {
    const { sql, params } = unbind(statement);
    const clickhouse_settings = this.settings({ ...QUERY_DEFAULTS, ...settings });
    const text = await this.call(async () => {
      const result = await this.client.query({
        query: sql,
        query_params: params,
        format: 'JSONEachRow',
        clickhouse_settings,
      });
      return result.text();
    });
    return parseRows<Row>(text);
  }

  async insertStream(
    table: string,
    format: 'Parquet' | 'JSONEachRow',
    body: AsyncIterable<Uint8Array>,
    settings?: ClickHouseSettings,
  ): Promise<void> {
    if (!INSERT_FORMATS.has(format))
      throw new ClickHouseError(`unsupported insert format ${format}`, 73, 'UNKNOWN_FORMAT');
    const clickhouse_settings = this.settings(settings);
    // A failure of the body (the source) is not the target's: it is rethrown unchanged, not mapped.
    const bodyFailure: { error?: unknown } = {};
    async function* guarded(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of body) yield chunk;
      } catch (error) {
        bodyFailure.error = error;
        throw error;
      }
    }
    const values = Readable.from(guarded(), { objectMode: false });
    try {
      await this.call(async () => {
        const result = await this.client.exec({
          query: `INSERT INTO ${table} FORMAT ${format}`,
          values,
          clickhouse_settings,
        });
        await result.stream.toArray(); // an INSERT answers with an empty body
      }, bodyFailure);
    } finally {
      values.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }

  /** Runs one client call and maps its failure (unless the caller's body failed: that error passes through). */
  private async call<T>(run: () => Promise<T>, bodyFailure?: { error?: unknown }): Promise<T> {
    if (this.closed)
      throw new ClickHouseError(`the connection to ${this.description} is closed`, 0, 'CLOSED');
    try {
      return await run();
    } catch (error) {
      if (bodyFailure && 'error' in bodyFailure) throw bodyFailure.error;
      throw this.toClickHouseError(error);
    }
  }

  private settings(settings: ClickHouseSettings | undefined): ClientSettings {
    const result: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(settings ?? {})) {
      if (!SETTING_NAME.test(name) || RESERVED_PARAMETERS.has(name) || name.startsWith('param_')) {
        throw new ClickHouseError(
          `invalid ClickHouse setting name ${JSON.stringify(name)}`,
          115,
          'UNKNOWN_SETTING',
        );
      }
      result[name] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    }
    return result;
  }

  private toClickHouseError(error: unknown): ClickHouseError {
    if (error instanceof ClickHouseError) return error;
    const mask = (text: string) => (this.password.length >= 3 ? text.split(this.password).join('***') : text);
    if (error instanceof ClientError) {
      const code = Number(error.code) || 0;
      return new ClickHouseError(mask(error.message.trim()), code, error.type || clickHouseErrorName(code), {
        cause: error,
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    const server = parseServerMessage(message);
    if (server) {
      return new ClickHouseError(mask(server.text), server.code, server.type, { cause: error });
    }
    // No ClickHouse error text: the request never reached ClickHouse, or something else answered.
    const transport =
      message === 'Timeout error.'
        ? `no answer within ${Math.round(this.timeoutMs / 1000)} s`
        : message.trim().length > 0
          ? message.trim().split('\n')[0]!
          : 'the server answered without a ClickHouse error (is this a ClickHouse HTTP endpoint?)';
    // Refused before a request was made: unreachable; cut off during one: the connection was lost.
    const code = String((error as { code?: unknown } | null)?.code ?? '');
    const type =
      message === 'Timeout error.'
        ? 'TIMEOUT'
        : /ECONNRESET|EPIPE|socket hang up/i.test(`${code} ${message}`)
          ? 'CONNECTION_LOST'
          : 'NETWORK';
    return new ClickHouseError(mask(transport), 0, type, { cause: error });
  }
}

/**
 * Reads ClickHouse's error text in both layouts:
 * `Code: 60. DB::Exception: Table x does not exist. (UNKNOWN_TABLE) (version 24.3)` (19.x and later) and
 * `Code: 60, e.displayText() = DB::Exception: Table x doesn't exist., e.what() = DB::Exception` (18.x).
 */
export function parseServerMessage(
  message: string,
): { code: number; type: string; text: string } | undefined {
  const trimmed = message.trim();
  const old =
    /Code:\s*(\d+),\s*e\.displayText\(\)\s*=\s*(?:DB::)?Exception:\s*([\s\S]*?)(?:,\s*e\.what\(\)\s*=\s*[\w:]+)?$/.exec(
      trimmed,
    );
  if (old) {
    const code = Number(old[1]);
    return { code, type: clickHouseErrorName(code), text: old[2]!.trim() };
  }
  if (!/Code:\s*\d+/.test(trimmed)) return undefined;
  const parsed = parseClickHouseMessage(trimmed);
  if (parsed.code === 0) return undefined;
  const text = parsed.text.replace(/(?:\s*\([A-Z][A-Z0-9_]+\))?(?:\s*\(version [^)]*\))?\s*$/, '').trim();
  return { code: parsed.code, type: parsed.type || clickHouseErrorName(parsed.code), text };
}

/** JSONEachRow text → rows; an exception the server wrote into the body mid-result becomes a ClickHouseError. */
function parseRows<Row>(text: string): Row[] {
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim().length === 0) continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      const server = parseServerMessage(lines.slice(i).join('\n'));
      if (server) throw new ClickHouseError(server.text, server.code, server.type, { cause: error });
      throw new ClickHouseError(
        `unreadable JSONEachRow line from the server: ${line.slice(0, 200)}`,
        0,
        'BAD_RESPONSE',
        {
          cause: error,
        },
      );
    }
    const exception = (row as { exception?: unknown }).exception;
    if (typeof exception === 'string' && Object.keys(row as object).length === 1) {
      const server = parseServerMessage(exception);
      if (server) throw new ClickHouseError(server.text, server.code, server.type);
    }
    rows.push(row as Row);
  }
  return rows;
}
