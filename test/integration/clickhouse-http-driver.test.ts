/**
 * The HTTP driver against a real clickhouse-server child process (Debian's 18.16 here): statements with awkward
 * identifiers, JSONEachRow rows, streamed inserts, settings, and the mapping of failures (missing table and
 * database, bad credentials, closed port, failing body) onto ClickHouseError and TargetError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort as closedPort } from '../support/ports.ts';
import { randomBytes } from 'node:crypto';
import { HttpDriver } from '../../adapters/clickhouse/drivers/http.ts';
import { toTargetError } from '../../adapters/clickhouse/errors.ts';
import { qualified, quoteIdent, quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import { ConfigError, TargetError } from '../../src/errors.ts';
import {
  AWKWARD_DB,
  ID,
  TEXT,
  chunks,
  clickHouseRejection,
  createTable,
  jsonRows,
  rowCount,
  defineSharedDriverTests,
} from '../support/driver-fixtures.ts';
import {
  clickHouseServerAvailable,
  startClickHouseServer,
  type LocalClickHouseServer,
} from '../support/clickhouse-server.ts';

let server: LocalClickHouseServer;
let driver: HttpDriver;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    () => ({ resolved: true as const }),
    (error: unknown) => ({ resolved: false as const, error }),
  );
  if (outcome.resolved) throw new Error('expected the promise to reject, but it resolved');
  return outcome.error;
}

const available = clickHouseServerAvailable();

describe.skipIf(!available)('HttpDriver against clickhouse-server', () => {
  beforeAll(async () => {
    server = await startClickHouseServer();
    driver = new HttpDriver({ url: server.url, user: server.user, password: server.password });
    await driver.command(`CREATE DATABASE ${quoteIdent(AWKWARD_DB)}`);
  });

  afterAll(async () => {
    await driver?.close();
    await server?.stop();
  });

  defineSharedDriverTests(() => driver);

  it('describes the server without credentials and reads credentials from the URL', async () => {
    const withCredentials = new HttpDriver({
      url: `http://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/`,
    });
    try {
      expect(withCredentials.description).toBe(server.url);
      expect(withCredentials.description).not.toContain(server.password);
      // 18.16 has no currentUser(): the running query's own row in system.processes names its user.
      const marker = `whoami-${randomBytes(4).toString('hex')}`;
      expect(
        await withCredentials.query(
          `SELECT user AS u FROM system.processes WHERE query LIKE ${quoteString(`%${marker}%`)}`,
        ),
      ).toEqual([{ u: server.user }]);
    } finally {
      await withCredentials.close();
    }
    const wrongInUrl = new HttpDriver({ url: `http://${server.user}:not-it@127.0.0.1:${server.port}` });
    try {
      expect([193, 516]).toContain((await clickHouseRejection(wrongInUrl.query('SELECT 1'))).code);
    } finally {
      await wrongInUrl.close();
    }
    expect(() => new HttpDriver({ url: 'not a url' })).toThrow(ConfigError);
    expect(() => new HttpDriver({ url: 'ftp://127.0.0.1:21' })).toThrow(ConfigError);
  });

  it('refuses settings that would change the request itself', async () => {
    await expect(driver.query('SELECT 1', { password: 'x' })).rejects.toThrow(
      /invalid ClickHouse setting name/,
    );
  });

  it('sends the body while it is still being produced (no buffering of the whole body)', async () => {
    const name = `stream_probe_${randomBytes(4).toString('hex')}`;
    const target = await createTable(driver, name);
    // The server reads up to max_query_size (256 KiB) before it starts the INSERT, so the first part is larger.
    const first = jsonRows(0, 20_000);
    expect(first.length).toBeGreaterThan(512 * 1024);
    const seenBy = async (): Promise<boolean> => {
      const rows = await driver.query<{ n: string }>(
        `SELECT count() AS n FROM system.processes WHERE query LIKE 'INSERT INTO%' AND query LIKE ${quoteString(`%${name}%`)}`,
      );
      return rows[0]!.n !== '0';
    };
    let sawInsertRunning = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(first);
      const deadline = Date.now() + 15_000;
      while (!(await seenBy())) {
        if (Date.now() > deadline) throw new Error('the server never saw the INSERT while the body was open');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      sawInsertRunning = true;
      yield Buffer.from(jsonRows(20_000, 20_010));
    }
    await driver.insertStream(target, 'JSONEachRow', body());
    expect(sawInsertRunning).toBe(true);
    expect(await rowCount(driver, target)).toBe('20010');
  });

  it('inserts a Parquet body when the server reads Parquet, and maps its refusal when it does not', async () => {
    const target = await createTable(driver, 'parquet');
    const formats = await driver.query<{ n: string }>(
      "SELECT count() AS n FROM system.formats WHERE name = 'Parquet' AND is_input = 1",
    );
    if (formats[0]!.n === '0') {
      // 18.16 has no Parquet: the refusal of a streamed body must still arrive as the server's error.
      const error = await clickHouseRejection(
        driver.insertStream(target, 'Parquet', chunks(new Uint8Array(64))),
      );
      expect(error.code).toBe(73);
      expect(error.type).toBe('UNKNOWN_FORMAT');
      return;
    }
    const exported = await fetch(
      `${server.url}/?query=${encodeURIComponent(
        `SELECT number AS ${quoteIdent(ID)}, toString(number) AS ${quoteIdent(TEXT)} FROM numbers(1000) FORMAT Parquet`,
      )}`,
      {
        headers: {
          Authorization: `Basic ${Buffer.from(`${server.user}:${server.password}`).toString('base64')}`,
        },
      },
    );
    const bytes = new Uint8Array(await exported.arrayBuffer());
    await driver.insertStream(target, 'Parquet', chunks(bytes.subarray(0, 100), bytes.subarray(100)));
    expect(await rowCount(driver, target)).toBe('1000');
  });

  it('maps an unknown table to code 60 and TARGET_MISSING, also for a large streamed body', async () => {
    const missing = qualified(AWKWARD_DB, 'no_such_table');
    const error = await clickHouseRejection(driver.query(`SELECT * FROM ${missing}`));
    expect(error.code).toBe(60);
    expect(error.type).toBe('UNKNOWN_TABLE');
    const where = `${driver.description} table ${missing}`;
    const target = toTargetError(error, where);
    expect(target).toBeInstanceOf(TargetError);
    expect(target.code).toBe('TARGET_MISSING');
    expect(target.nativeCode).toBe('60');
    expect(target.message).toContain(where);
    expect(target.message).toContain('create the table or fix target.table');
    expect(target.message).not.toContain('\n');
    expect(target.cause).toBe(error);

    const row = jsonRows(0, 1);
    async function* large(): AsyncGenerator<Uint8Array> {
      const block = Buffer.from(row.repeat(2000));
      for (let i = 0; i < 200; i++) yield block; // ~20 MB
    }
    const streamed = await clickHouseRejection(driver.insertStream(missing, 'JSONEachRow', large()));
    expect([streamed.code, streamed.type]).toEqual([60, 'UNKNOWN_TABLE']);
  });

  it('reports an exception the server writes after rows were already sent', async () => {
    // ~9 MB of rows precede the failure, so the response has begun (status 200) when the exception arrives.
    const sql = 'SELECT number, throwIf(number = 300000) AS t FROM system.numbers LIMIT 400000';
    const error = await clickHouseRejection(driver.query(sql, { max_block_size: 1000 }));
    expect([error.code, error.type]).toEqual([395, 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO']);
    expect(toTargetError(error, driver.description).code).toBe('TARGET_QUERY_FAILED');
  });

  it('maps an unknown database to code 81 and TARGET_MISSING', async () => {
    const other = new HttpDriver({
      url: server.url,
      user: server.user,
      password: server.password,
      database: 'nope_db',
    });
    try {
      const error = await clickHouseRejection(other.query('SELECT 1 AS x'));
      expect([error.code, error.type]).toEqual([81, 'UNKNOWN_DATABASE']);
      const target = toTargetError(error, other.description);
      expect(target.code).toBe('TARGET_MISSING');
      expect(target.message).toContain('target.database');
    } finally {
      await other.close();
    }
  });

  it('maps a wrong password and an unknown user to TARGET_ACCESS_DENIED without the password', async () => {
    const wrong = `Wr0ng-${randomBytes(6).toString('hex')}`;
    const badPassword = new HttpDriver({ url: server.url, user: server.user, password: wrong });
    const badUser = new HttpDriver({ url: server.url, user: 'nobody_here', password: server.password });
    try {
      const error = await clickHouseRejection(badPassword.command('SELECT 1'));
      expect([193, 516]).toContain(error.code); // WRONG_PASSWORD before 21.x, AUTHENTICATION_FAILED after
      const target = toTargetError(error, badPassword.description);
      expect(target.code).toBe('TARGET_ACCESS_DENIED');
      expect(target.message).toContain('check target.user/target.password');
      expect(target.message).toContain(server.url);
      for (const text of [target.message, error.message, String(error.cause)]) {
        expect(text).not.toContain(wrong);
        expect(text).not.toContain(server.password);
      }

      const unknown = await clickHouseRejection(badUser.query('SELECT 1'));
      expect([192, 516]).toContain(unknown.code);
      expect(toTargetError(unknown, badUser.description).code).toBe('TARGET_ACCESS_DENIED');
      expect(toTargetError(unknown, badUser.description).message).not.toContain(server.password);
    } finally {
      await badPassword.close();
      await badUser.close();
    }
  });

  it('maps a closed port to NETWORK and TARGET_UNREACHABLE within seconds', async () => {
    const port = await closedPort();
    const closed = new HttpDriver({ url: `http://127.0.0.1:${port}`, user: 'u', password: 'secret-pw' });
    try {
      const started = Date.now();
      const error = await clickHouseRejection(closed.query('SELECT 1'));
      expect(Date.now() - started).toBeLessThan(5000);
      expect([error.code, error.type]).toEqual([0, 'NETWORK']);
      expect(error.message).toMatch(/ECONNREFUSED/);
      const target = toTargetError(error, closed.description);
      expect(target.code).toBe('TARGET_UNREACHABLE');
      expect(target.nativeCode).toBeUndefined();
      expect(target.message).toContain(`http://127.0.0.1:${port}`);
      expect(target.message).toContain('check target.url');
      expect(target.message).not.toContain('secret-pw');
      const insert = await clickHouseRejection(
        closed.insertStream('`t`', 'JSONEachRow', chunks('{"a":1}\n')),
      );
      expect(insert.type).toBe('NETWORK');
    } finally {
      await closed.close();
    }
  });

  it('rethrows a failing body unchanged instead of blaming the server', async () => {
    const target = await createTable(driver, 'broken_body');
    const broken = new Error('source object unreadable');
    async function* body(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(jsonRows(0, 10));
      throw broken;
    }
    expect(await rejection(driver.insertStream(target, 'JSONEachRow', body()))).toBe(broken);
    // the driver is still usable afterwards
    expect(await driver.query('SELECT 1 AS x')).toEqual([{ x: 1 }]);
  });

  it('keeps multi-line server errors on one line and masks listed secrets', async () => {
    // A syntax error echoes the query text after the failing position, secret included.
    const error = await clickHouseRejection(
      driver.command("SELECT 1 FROM FROM\nfile('x', 'hush-hush-secret')\nFORMAT TSV"),
    );
    expect(error.code).toBe(62);
    expect(error.message).toContain('hush-hush-secret');
    const target = toTargetError(error, driver.description, { secrets: ['hush-hush-secret'] });
    expect(target.code).toBe('TARGET_QUERY_FAILED');
    expect(target.message).toMatch(/code 62 SYNTAX_ERROR/);
    expect(target.message).not.toContain('\n');
    expect(target.message).not.toContain('hush-hush-secret');
    expect(target.message).toContain(driver.description);
  });
});
