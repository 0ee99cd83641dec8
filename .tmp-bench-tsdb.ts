import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { acquireEmbeddedTimescale } from './src/local/timescaledb-server.ts';
import { createTimescaleAdapter } from './adapters/timescaledb/index.ts';
import type { BackfillConfig } from './src/config/types.ts';
import type { RowChunk, RunContext } from './src/adapter/contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'sf-bench-'));
const lease = await acquireEmbeddedTimescale({ directory: dir });
const sql = new pg.Client({ host: lease.server.host, port: lease.server.port, user: 'postgres', database: 'postgres' });
await sql.connect();
const DAY = 86_400_000; const D0 = Date.UTC(2024, 0, 1);
const CHUNKS = 4; const ROWS = Number(process.env.ROWS ?? 200000);
for (const fraction of (process.env.FRACTIONS ?? '0.01,0.1,0.5').split(',').map(Number)) for (const strategy of ['decompress', 'direct']) {
  const table = `b_${strategy}_${String(fraction).replace('.', '_')}`;
  await sql.query(`CREATE TABLE ${table} (t timestamptz NOT NULL, device int NOT NULL, v double precision${process.env.PK ? ', PRIMARY KEY (device, t)' : ''})`);
  await sql.query(`SELECT create_hypertable('${table}', by_range('t', INTERVAL '1 day'))`);
  await sql.query(`ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'device', timescaledb.compress_orderby = 't DESC')`);
  const step = (DAY / ROWS) * 10;
  await sql.query(`INSERT INTO ${table} SELECT to_timestamp(${D0 / 1000} + g * ${step / 1000}), d, g FROM generate_series(0, ${(ROWS / 10) * CHUNKS - 1}) g, generate_series(1, 10) d`);
  await sql.query(`SELECT compress_chunk(c) FROM show_chunks('${table}') c`);
  await sql.query(`SELECT add_compression_policy('${table}', INTERVAL '7 days')`);
  const config: BackfillConfig = { target: { kind: 'timescaledb', url: `embedded:${dir}`, database: 'public', table, user: undefined, password: undefined }, source: { url: 's3://b/*', endpoint: undefined, region: 'us-east-1', credentials: undefined }, filter: undefined, batch: { files: 1, bytes: 1 }, views: 'auto', settings: {}, load: 'client', attempts: 1, targetOptions: { strategy, on_conflict: 'nothing' } };
  const adapter = createTimescaleAdapter(config);
  const target = await adapter.describe();
  const run: RunContext = { runId: 'b', config, store: { url: '', bucket: 'b', keyPattern: '*', endpoint: undefined, region: 'x', credentials: undefined }, target, filter: undefined, sourceColumns: [
    { name: 't', type: { kind: 'timestamp', unit: 'micros', utc: true }, nullable: false, parquetType: '' },
    { name: 'device', type: { kind: 'int', bits: 32, signed: true }, nullable: false, parquetType: '' },
    { name: 'v', type: { kind: 'float', bits: 64 }, nullable: false, parquetType: '' } ] };
  const n = Math.round(ROWS * fraction) * CHUNKS;
  async function* input(): AsyncIterable<RowChunk> {
    const t: Date[] = []; const d: number[] = []; const v: number[] = [];
    for (let i = 0; i < n; i++) { t.push(new Date(D0 + Math.floor((i / n) * CHUNKS * DAY) + 7)); d.push(11 + (i % 10)); v.push(i); }
    yield { object: { key: 'k', size: 1, uri: 's3://b/k', httpUrl: '' }, rowGroup: 0, numRows: n, columns: new Map<string, ArrayLike<unknown>>([['t', t], ['device', d], ['v', v]]) };
  }
  await adapter.createShadows(run);
  const l0 = Date.now();
  await adapter.loadBatchFromStream(run, { index: 0, objects: [] }, input());
  const l1 = Date.now();
  const state = await adapter.beginSwap(run);
  for (const u of await adapter.listSwapUnits(run)) await adapter.swapUnit(run, u);
  await adapter.finishSwap(run, state);
  const s1 = Date.now();
  await adapter.dropShadows(run);
  const count = (await sql.query(`SELECT count(*)::int n FROM ${table}`)).rows[0].n;
  const ok = count === ROWS * CHUNKS + n;
  console.log(`${strategy.padEnd(10)} chunk rows ${ROWS} × ${CHUNKS}, backfill ${fraction * 100}% = ${n} rows: load ${(l1 - l0) / 1000}s swap ${(s1 - l1) / 1000}s ${ok ? 'OK' : 'COUNT MISMATCH ' + count}`);
  await adapter.close();
}
await sql.end(); await lease.release(); rmSync(dir, { recursive: true, force: true });
