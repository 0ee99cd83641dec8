/**
 * Embedded ClickHouse through chDB, with a persistent data directory. Only chDB's async API is used: its
 * synchronous calls block the event loop. One chDB session exists per data directory per process, so sessions
 * are shared through a registry and closed when the last user closes. A directory held by another process is
 * refused before chDB tries it (chDB would print its own lines on stderr), in one line naming that process.
 */
import { mkdirSync, createWriteStream, readFileSync } from 'node:fs';
import { rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Session } from 'chdb';
import {
  ClickHouseError,
  parseClickHouseMessage,
  unbind,
  type ClickHouseDriver,
  type ClickHouseSettings,
  type Statement,
} from '../driver.ts';
import { quoteString, settingsClause } from '../sql/quote.ts';
import { TargetError } from '../../../src/errors.ts';

const sessions = new Map<string, { session: Session; users: number }>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The live process, other than this one, that holds `dir`: ClickHouse writes `PID: n` into `<dir>/status` and
 * locks it while the directory is open, and removes it on a clean close (a killed holder leaves it behind, with
 * a dead pid).
 */
function holderOf(dir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'status'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(text)?.[1]);
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid) ? pid : undefined;
}

function lockedError(dir: string, pid: number | undefined, cause?: unknown): TargetError {
  return new TargetError(
    'TARGET_UNREACHABLE',
    `another process${pid === undefined ? '' : ` (pid ${pid})`} holds the embedded ClickHouse data directory ${dir} — ` +
      'wait for it to finish or stop it, or use another directory',
    { failure: 'locked', cause },
  );
}

function openSession(dir: string): Session {
  const existing = sessions.get(dir);
  if (existing) {
    existing.users += 1;
    return existing.session;
  }
  mkdirSync(dir, { recursive: true });
  const holder = holderOf(dir);
  if (holder !== undefined) throw lockedError(dir, holder);
  let session: Session;
  try {
    session = new Session(dir);
  } catch (error) {
    // A holder that appeared meanwhile, or another reason chDB could not open the directory.
    const now = holderOf(dir);
    if (now !== undefined || /lock|another server instance/i.test(String((error as Error)?.message))) {
      throw lockedError(dir, now, error);
    }
    throw new TargetError(
      'TARGET_UNREACHABLE',
      `cannot open the embedded ClickHouse data directory ${dir}: ${(error as Error)?.message ?? String(error)} — check that it is a writable directory`,
      { cause: error, failure: 'unreachable', retryable: false },
    );
  }
  sessions.set(dir, { session, users: 1 });
  return session;
}

function releaseSession(dir: string): void {
  const entry = sessions.get(dir);
  if (!entry) return;
  entry.users -= 1;
  if (entry.users <= 0) {
    sessions.delete(dir);
    entry.session.close();
  }
}

function toClickHouseError(error: unknown): ClickHouseError {
  if (error instanceof ClickHouseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const parsed = parseClickHouseMessage(message);
  return new ClickHouseError(parsed.text, parsed.code, parsed.type, { cause: error });
}

export class ChdbDriver implements ClickHouseDriver {
  readonly description: string;
  private readonly session: Session;
  private closed = false;
  /** A session of its own (a lane's), not shared through the registry. */
  private readonly own: boolean;

  constructor(
    private readonly dataDir: string,
    options: { readonly ownSession?: Session } = {},
  ) {
    this.description = `embedded:${dataDir}`;
    this.own = options.ownSession !== undefined;
    this.session = options.ownSession ?? openSession(dataDir);
  }

  /**
   * A driver with a session of its own on the same data directory (chDB runs one query at a time per session;
   * sessions on the directory this process holds run side by side). Only while this driver's session is open.
   */
  fork(): ClickHouseDriver {
    if (this.closed || !sessions.has(this.dataDir)) return this;
    return new ChdbDriver(this.dataDir, { ownSession: new Session(this.dataDir) });
  }

  async command(statement: Statement, settings?: ClickHouseSettings): Promise<void> {
    const { sql, params } = unbind(statement);
    await this.run(sql + settingsClause(settings), 'TSV', params);
  }

  async query<Row extends Record<string, unknown>>(
    statement: Statement,
    settings?: ClickHouseSettings,
  ): Promise<Row[]> {
    const { sql, params } = unbind(statement);
    // Servers from 25.x print 64-bit integers as JSON numbers by default; the contract wants strings.
    const text = await this.run(
      sql + settingsClause({ output_format_json_quote_64bit_integers: 1, ...settings }),
      'JSONEachRow',
      params,
    );
    return text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Row);
  }

  async insertStream(
    table: string,
    format: 'Parquet' | 'JSONEachRow',
    body: AsyncIterable<Uint8Array>,
    settings?: ClickHouseSettings,
  ): Promise<void> {
    // chDB takes no binary INSERT payloads: spool to a private temp file and read it with file().
    const dir = await mkdtemp(join(tmpdir(), 'shadowfill-chdb-'));
    const path = join(dir, `body.${format === 'Parquet' ? 'parquet' : 'jsonl'}`);
    try {
      await pipeline(Readable.from(body), createWriteStream(path));
      await this.command(
        `INSERT INTO ${table} SELECT * FROM file(${quoteString(path)}, ${quoteString(format)})`,
        settings,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.own) this.session.close();
    else releaseSession(this.dataDir);
  }

  private async run(
    sql: string,
    format: string,
    params: Readonly<Record<string, string | number>> = {},
  ): Promise<string> {
    try {
      const result =
        Object.keys(params).length > 0
          ? await this.session.queryBindAsync(sql, params, { format })
          : await this.session.queryAsync(sql, { format });
      return result.text();
    } catch (error) {
      throw toClickHouseError(error);
    }
  }
}
