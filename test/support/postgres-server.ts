/**
 * Starts a throwaway PostgreSQL server (Debian's packaged binaries, `/usr/lib/postgresql/<version>/bin`, or
 * `$PG_BIN`) in a temporary directory on a free loopback port, for tests of the real-server paths (COPY). When
 * running as root the server runs as the `postgres` user (PostgreSQL refuses root). Trust authentication,
 * fsync off; `stop()` shuts it down and removes the directory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from './ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TargetConfig } from '../../src/config/types.ts';

/** The TimescaleDB adapter's target for `public.<table>` at `url`, as the URL's user (no user or password of its own). */
export function pgTarget(url: string, table = 'pypi'): TargetConfig {
  return { kind: 'timescaledb', url, database: 'public', table, user: undefined, password: undefined };
}

export interface TestPostgres {
  readonly url: string;
  readonly port: number;
  readonly version: string;
  stop(): Promise<void>;
}

function binDir(): string {
  if (process.env['PG_BIN']) return process.env['PG_BIN'];
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'no PostgreSQL server binaries found: apt-get install postgresql (or set PG_BIN to their directory)',
    );
  }
  return join(root, versions[0]!, 'bin');
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const result = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (result.status !== 0 || group.status !== 0) return undefined;
  return { uid: Number(result.stdout.trim()), gid: Number(group.stdout.trim()) };
}

export interface TestPostgresOptions {
  /**
   * Load TimescaleDB (`shared_preload_libraries=timescaledb`, the job scheduler running) and
   * `CREATE EXTENSION timescaledb` in the `postgres` database: the real server of `../shared/timescaledb`
   * (`bash .ci/install-timescaledb.sh`, which runs its install.sh).
   */
  readonly timescaledb?: boolean;
  /** More server settings (`-c name=value`), e.g. `{ 'timescaledb.enable_job_execution_logging': 'on' }`. */
  readonly settings?: Readonly<Record<string, string>>;
}

export async function startTestPostgres(options: TestPostgresOptions = {}): Promise<TestPostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'shadowfill-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? userIds('postgres') : undefined;
  if (asRoot && !owner) throw new Error('running as root but there is no postgres user to run the server as');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = (command: string, args: string[]) => {
    const [file, argv] = owner
      ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]]
      : [join(bin, command), args];
    return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  const port = await freePort();
  const timescale = options.timescaledb
    ? ' -c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off -c max_worker_processes=32'
    : '';
  if (options.timescaledb && !existsSync(join(bin, '..', 'lib', 'timescaledb.so'))) {
    throw new Error(
      `TimescaleDB is not installed for ${bin}: run bash .ci/install-timescaledb.sh (as root; it runs ../shared/timescaledb/install.sh)`,
    );
  }
  const extra = Object.entries(options.settings ?? {})
    .map(([name, value]) => {
      if (!/^[a-z_.]+$/.test(name) || !/^[A-Za-z0-9_.:/-]+$/.test(value)) {
        throw new Error(`unexpected server setting ${name}=${value}`);
      }
      return ` -c ${name}=${value}`;
    })
    .join('');
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off${timescale}${extra}`;
  run('pg_ctl', ['-D', data, '-o', serverOptions, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  if (options.timescaledb) {
    run('psql', [
      '-h',
      dir,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-qAt',
      '-c',
      'CREATE EXTENSION IF NOT EXISTS timescaledb',
    ]);
  }
  const version = run('postgres', ['--version']).trim();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    version,
    stop: async () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      }
    },
  };
}
