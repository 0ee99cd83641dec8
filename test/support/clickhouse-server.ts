/**
 * Starts a real ClickHouse server for integration tests: the installed `clickhouse-server` (Debian 18.16) or an
 * upstream `clickhouse server`, as a child process in its own process group, on a free loopback HTTP port, with
 * a temp data directory and a generated minimal config. It has user `default` (no password) and user
 * `shadowfill` with a random password. `stop()` kills the whole process group and removes the directory.
 *
 * Tests call `clickHouseServerBinary()` first: when no binary is installed the suite is skipped locally, and
 * fails in CI (`process.env.CI`) — install it with `.ci/install-servers.sh`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { freePort } from './ports.ts';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface ClickHouseServerBinary {
  readonly command: string;
  /** Arguments before `--config-file=…` (`['server']` for the single upstream `clickhouse` binary). */
  readonly args: readonly string[];
}

export interface LocalClickHouseServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** A user with a password (full access). */
  readonly user: string;
  readonly password: string;
  /** `SELECT version()`, e.g. `18.16.1`. */
  readonly version: string;
  readonly directory: string;
  stop(): Promise<void>;
}

export const CLICKHOUSE_MISSING_MESSAGE =
  'clickhouse-server is not installed (run .ci/install-servers.sh or `apt-get install clickhouse-server`)';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  return dirs
    .filter((dir) => dir.startsWith('/'))
    .map((dir) => join(dir, name))
    .find(executable);
}

/** The server binary, or undefined when none is installed. `CLICKHOUSE_SERVER_BIN` overrides the search. */
export function clickHouseServerBinary(): ClickHouseServerBinary | undefined {
  const override = process.env.CLICKHOUSE_SERVER_BIN;
  if (override) return executable(override) ? { command: override, args: [] } : undefined;
  const server = onPath('clickhouse-server');
  if (server) return { command: server, args: [] };
  const single = onPath('clickhouse');
  return single ? { command: single, args: ['server'] } : undefined;
}

/**
 * For `describe.skipIf(!available)`: true when a server binary exists. Throws in CI when it does not, so a
 * missing install fails the run instead of silently skipping the suite.
 */
export function clickHouseServerAvailable(): boolean {
  if (clickHouseServerBinary()) return true;
  if (process.env.CI) throw new Error(`${CLICKHOUSE_MISSING_MESSAGE}; CI must run these tests`);
  console.warn(`skipping ClickHouse server tests: ${CLICKHOUSE_MISSING_MESSAGE}`);
  return false;
}

function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function configXml(directory: string, port: number): string {
  const data = xmlText(join(directory, 'data') + '/');
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${port}</http_port>
  <path>${data}</path>
  <tmp_path>${data}tmp/</tmp_path>
  <user_files_path>${data}user_files/</user_files_path>
  <format_schema_path>${data}format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
`;
}

function usersXml(user: string, password: string): string {
  const entry = (name: string, pass: string) =>
    `    <${name}><password>${xmlText(pass)}</password><networks><ip>::/0</ip></networks>` +
    `<profile>default</profile><quota>default</quota></${name}>`;
  return `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
${entry('default', '')}
${entry(user, password)}
  </users>
  <quotas><default></default></quotas>
</yandex>
`;
}

async function waitForPing(
  url: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `clickhouse-server exited (${child.exitCode ?? child.signalCode}) while starting: ${output()}`,
      );
    }
    try {
      const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`clickhouse-server did not answer ${url}/ping within ${timeoutMs / 1000} s: ${output()}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function startOnce(binary: ClickHouseServerBinary, directory: string): Promise<LocalClickHouseServer> {
  const port = await freePort();
  const user = 'shadowfill';
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const configPath = join(directory, 'config.xml');
  await mkdir(join(directory, 'data'), { recursive: true });
  await writeFile(configPath, configXml(directory, port));
  await writeFile(join(directory, 'users.xml'), usersXml(user, password));

  const child = spawn(binary.command, [...binary.args, `--config-file=${configPath}`], {
    cwd: directory,
    detached: true, // own process group, so stop() reaches every thread and helper it forks
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (data: Buffer) => {
    output = (output + data.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const safetyNet = () => killGroup(child, 'SIGKILL');
  process.once('exit', safetyNet);

  const stop = async () => {
    process.removeListener('exit', safetyNet);
    // The data directory is thrown away, so a graceful shutdown (18.16 takes ~8 s) is not awaited for long.
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 1000);
    await exited;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForPing(url, child, () => output.trim(), 60_000);
    const response = await fetch(`${url}/?query=${encodeURIComponent('SELECT version()')}`);
    const version = (await response.text()).trim();
    if (!response.ok) throw new Error(`SELECT version() failed: ${version}`);
    return { url, port, user, password, version, directory, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts a server (retrying once if another process took the port meanwhile). */
export async function startClickHouseServer(): Promise<LocalClickHouseServer> {
  const binary = clickHouseServerBinary();
  if (!binary) throw new Error(CLICKHOUSE_MISSING_MESSAGE);
  const directory = await mkdtemp(join(tmpdir(), 'shadowfill-clickhouse-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const server = await startOnce(binary, directory);
      return {
        ...server,
        stop: async () => {
          await server.stop();
          await rm(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
        },
      };
    } catch (error) {
      lastError = error;
      if (!/Address already in use|bind/i.test(String(error))) break;
      await rm(join(directory, 'data'), { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    }
  }
  await rm(directory, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  throw lastError;
}
