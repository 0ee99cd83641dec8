/**
 * Starts the embedded TimescaleDB (PGlite + TimescaleDB 2.23 served by pglite-socket) in a child process on a free
 * loopback port, with its data in `<directory>/pgdata`. Used for `target.url: embedded:<dir>`, by `shadowfill demo`,
 * the tests and the benchmarks. Clients talk to it with `pg` as user `postgres`, database `postgres`, no password,
 * one connection at a time (PGlite is single-session; pglite-socket multiplexes a few connections but serialises
 * their transactions).
 *
 * One directory is served by at most one server: inside a process, `acquireEmbeddedTimescale` shares a running
 * server between callers (reference counted); across processes the lock file `<directory>/server.json` refuses a
 * second server while the owning process is alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { createInterface } from 'node:readline';
import { childEntry } from './child-entry.ts';

export interface EmbeddedTimescale {
  readonly directory: string;
  readonly host: string;
  readonly port: number;
  /** TimescaleDB extension version, e.g. `2.23.0-dev`. */
  readonly version: string;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (no password). */
  readonly url: string;
  stop(): Promise<void>;
}

export interface EmbeddedTimescaleOptions {
  readonly directory: string;
  /** Connections the socket server accepts at once (default 8; transactions are still serialised). */
  readonly maxConnections?: number;
  /** Milliseconds to wait for the server to listen (default 120 s: the first start initialises the data directory). */
  readonly startTimeoutMs?: number;
}

interface LockFacts {
  readonly pid: number;
  readonly port: number;
}

function readLock(lockFile: string): LockFacts | undefined {
  try {
    const facts = JSON.parse(readFileSync(lockFile, 'utf8')) as Partial<LockFacts>;
    return typeof facts.pid === 'number' && typeof facts.port === 'number'
      ? { pid: facts.pid, port: facts.port }
      : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts a server that the caller owns; `stop()` ends it. Prefer `acquireEmbeddedTimescale` inside the project. */
export async function startEmbeddedTimescale(options: EmbeddedTimescaleOptions): Promise<EmbeddedTimescale> {
  const directory = resolve(options.directory);
  const dataDir = join(directory, 'pgdata');
  const lockFile = join(directory, 'server.json');
  mkdirSync(dataDir, { recursive: true });
  const held = readLock(lockFile);
  if (held && held.pid !== process.pid && processAlive(held.pid)) {
    throw new Error(
      `embedded TimescaleDB ${directory} is already served by process ${held.pid} on port ${held.port}: stop that process or use another directory`,
    );
  }
  rmSync(lockFile, { force: true });

  const child: ChildProcess = spawn(
    process.execPath,
    [
      // Node itself runs the child (never a relay process: the IPC channel must reach the child).
      ...childEntry('timescaledb-server-child', import.meta.url),
      dataDir,
      lockFile,
      '0',
      String(options.maxConnections ?? 8),
    ],
    // The IPC channel lets the child notice when this process dies (even by SIGKILL) and close the database cleanly.
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  child.unref();
  child.channel?.unref();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const facts = await new Promise<{ port: number; version: string }>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `embedded TimescaleDB ${directory} did not start within ${timeoutMs / 1000} s: ${stderr.trim()}`,
        ),
      );
    }, timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolvePort(JSON.parse(line) as { port: number; version: string });
      } catch (error) {
        reject(
          new Error(`embedded TimescaleDB ${directory} printed an unexpected line: ${line}`, {
            cause: error,
          }),
        );
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded TimescaleDB ${directory} exited with code ${code}: ${stderr.trim()}`));
    });
  });
  child.stdout?.resume();
  // Nothing of the child keeps this process alive: when it exits, the IPC channel closes and the child stops itself.
  for (const stream of [child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();

  return {
    directory,
    host: '127.0.0.1',
    port: facts.port,
    version: facts.version,
    url: `postgres://postgres@127.0.0.1:${facts.port}/postgres`,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.ref(); // keep this process alive until the server has closed its database
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

interface Shared {
  readonly server: Promise<EmbeddedTimescale>;
  refs: number;
}

const shared = new Map<string, Shared>();

/** A reference to the one server of a directory in this process; `release()` stops it after the last reference. */
export interface EmbeddedTimescaleLease {
  readonly server: EmbeddedTimescale;
  release(): Promise<void>;
}

export async function acquireEmbeddedTimescale(
  options: EmbeddedTimescaleOptions,
): Promise<EmbeddedTimescaleLease> {
  const key = resolve(options.directory);
  let entry = shared.get(key);
  if (!entry) {
    entry = { server: startEmbeddedTimescale(options), refs: 0 };
    shared.set(key, entry);
    entry.server.catch(() => shared.delete(key));
  }
  entry.refs += 1;
  const current = entry;
  let server: EmbeddedTimescale;
  try {
    server = await current.server;
  } catch (error) {
    current.refs -= 1;
    throw error;
  }
  let released = false;
  return {
    server,
    release: async () => {
      if (released) return;
      released = true;
      current.refs -= 1;
      if (current.refs > 0) return;
      if (shared.get(key) === current) shared.delete(key);
      await server.stop();
    },
  };
}
