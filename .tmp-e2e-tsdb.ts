import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { generatePypiParquet } from './fixtures/pypi.ts';
import { uploadDirectory } from './fixtures/upload.ts';
import { startLocalS3 } from './src/local/s3-server.ts';
import { acquireEmbeddedTimescale } from './src/local/timescaledb-server.ts';
import { createTimescaleAdapter } from './adapters/timescaledb/index.ts';
import { runBackfill } from './src/runner/run.ts';
import type { BackfillConfig } from './src/config/types.ts';

const root = mkdtempSync(join(tmpdir(), 'sf-e2e-'));
const rowsPerFile = Number(process.env.ROWS ?? 20000);
const common = { rowsPerFile, days: 4, filesPerDay: 2, rowGroupRows: 5000 };
const live = await generatePypiParquet({ dir: join(root, 'live'), files: [5, 7], ...common });
const back = await generatePypiParquet({ dir: join(root, 'back'), files: [0, 1, 2, 3, 4, 6], ...common });
const s3 = await startLocalS3({ directory: join(root, 's3'), buckets: ['live', 'back'] });
const creds = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
await uploadDirectory(s3.endpoint, 'live', join(root, 'live'), creds);
await uploadDirectory(s3.endpoint, 'back', join(root, 'back'), creds);
const lease = await acquireEmbeddedTimescale({ directory: join(root, 'tsdb') });
const sql = new pg.Client({ host: lease.server.host, port: lease.server.port, user: 'postgres', database: 'postgres' });
await sql.connect();
await sql.query(`CREATE TABLE pypi (timestamp timestamptz NOT NULL, country_code text, project text, type text, installer text, python_minor text, system text, version text)`);
await sql.query(`SELECT create_hypertable('pypi', by_range('timestamp', INTERVAL '1 day'))`);
await sql.query(`ALTER TABLE pypi SET (timescaledb.compress, timescaledb.compress_segmentby = 'project', timescaledb.compress_orderby = 'timestamp DESC')`);
const config = (bucket: string, filter?: BackfillConfig['filter']): BackfillConfig => ({
  target: { kind: 'timescaledb', url: `embedded:${join(root, 'tsdb')}`, database: 'public', table: 'pypi', user: undefined, password: undefined },
  source: { url: `s3://${bucket}/pypi/*/*.parquet`, endpoint: s3.endpoint, region: 'us-east-1', credentials: creds },
  filter, batch: { files: 2, bytes: 1e12 }, views: 'auto', settings: {}, load: 'client', attempts: 2, targetOptions: { strategy: process.env.STRATEGY ?? 'auto' },
});
const run = async (c: BackfillConfig) => { const a = createTimescaleAdapter(c); await a.connect(); try { return await runBackfill(c, a, { onEvent: (e) => { if (process.env.VERBOSE) console.log(JSON.stringify(e)); } }); } finally { await a.close(); } };
let t = Date.now();
const r1 = await run(config('live'));
console.log('run1', r1.rowsLoaded, 'rows', (Date.now() - t) / 1000, 's', JSON.stringify(r1.phases));
await sql.query(`SELECT compress_chunk(c) FROM show_chunks('pypi') c`);
await sql.query(`SELECT add_compression_policy('pypi', INTERVAL '7 days')`);
await sql.query(`CREATE MATERIALIZED VIEW pypi_hourly WITH (timescaledb.continuous) AS SELECT time_bucket('1 hour', timestamp) AS hour, project, count(*) AS downloads FROM pypi GROUP BY 1, 2 WITH NO DATA`);
await sql.query(`CALL refresh_continuous_aggregate('pypi_hourly', NULL, NULL)`);
const before = await sql.query(`SELECT c.table_name, c.compressed_chunk_id FROM _timescaledb_catalog.chunk c JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id WHERE h.table_name = 'pypi' ORDER BY 1`);
console.log('chunks before', JSON.stringify(before.rows));
t = Date.now();
const r2 = await run(config('back'));
console.log('run2', r2.rowsLoaded, 'rows', (Date.now() - t) / 1000, 's', JSON.stringify(r2.phases), 'swapUnits', r2.swapUnits);
console.log('report before/after', JSON.stringify(r2.before), JSON.stringify(r2.after));
const after = await sql.query(`SELECT c.table_name, c.compressed_chunk_id, c.status FROM _timescaledb_catalog.chunk c JOIN _timescaledb_catalog.hypertable h ON h.id = c.hypertable_id WHERE h.table_name = 'pypi' ORDER BY 1`);
console.log('chunks after', JSON.stringify(after.rows));
const expected = [...live.files, ...back.files].reduce((n, f) => n + f.rows, 0);
const total = Number((await sql.query(`SELECT count(*) AS n FROM pypi`)).rows[0].n);
const cagg = Number((await sql.query(`SELECT sum(downloads) AS n FROM pypi_hourly`)).rows[0].n);
const diff = (await sql.query(`SELECT count(*) AS n FROM ((SELECT time_bucket('1 hour', timestamp) h, project, count(*) c FROM pypi GROUP BY 1,2 EXCEPT SELECT hour, project, downloads FROM pypi_hourly) UNION ALL (SELECT hour, project, downloads FROM pypi_hourly EXCEPT SELECT time_bucket('1 hour', timestamp) h, project, count(*) c FROM pypi GROUP BY 1,2)) d`)).rows[0].n;
const sched = (await sql.query(`SELECT scheduled FROM timescaledb_information.jobs WHERE hypertable_name='pypi' AND proc_name='policy_compression'`)).rows[0].scheduled;
const left = (await sql.query(`SELECT relname FROM pg_class WHERE relname LIKE 'pypi_v2_%'`)).rows;
console.log({ expected, total, cagg, diff, sched, left });
await sql.end(); await lease.release(); await s3.stop();
