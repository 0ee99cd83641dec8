/**
 * add-view on the embedded TimescaleDB (PGlite 2.23 WASM, one connection per client, no background jobs): the
 * zero-setup default. A continuous aggregate added while rows keep arriving equals its SELECT over the whole
 * hypertable afterwards; a SELECT through a plain view is refused and nothing is created.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { failure, liveInserter, runAddView, viewConfig } from '../support/add-view.ts';
import { useEmbeddedTimescale } from '../support/embedded-timescale.ts';

const h = useEmbeddedTimescale('shadowfill-addview-embedded-');
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'shadowfill-addview-embedded-cfg-'));
  await h.sql.query(`CREATE TABLE pypi (timestamp timestamptz NOT NULL, project text, size bigint)`);
  await h.sql.query(`SELECT create_hypertable('pypi', 'timestamp', chunk_time_interval => INTERVAL '1 day')`);
  await h.sql.query(
    `INSERT INTO pypi SELECT now() - INTERVAL '3 days' + g * INTERVAL '97 seconds', 'project-' || (g % 9), g % 100 FROM generate_series(0, 2672) g`,
  );
  await h.sql.query(`CREATE VIEW pypi_plain AS SELECT * FROM pypi`);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

const tree = (select: string) => ({
  target: { kind: 'timescaledb', url: `embedded:${h.dir}`, table: 'pypi' },
  view: { name: 'pypi_daily', select, window: '1 day', materialized_only: false },
});

const DAILY =
  "SELECT time_bucket('6 hours', timestamp) AS bucket, project, count(*) AS downloads, sum(size) AS bytes FROM pypi GROUP BY 1, 2";

describe('add-view on the embedded TimescaleDB', () => {
  it('a SELECT reading through a plain view is refused with the reason; nothing is created', async () => {
    const error = await failure(() =>
      runAddView(
        viewConfig(
          root,
          'plain',
          tree(
            "SELECT time_bucket('6 hours', timestamp) AS bucket, count(*) AS n FROM pypi_plain GROUP BY 1",
          ),
        ),
      ),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/^view\.select reads plain view public\.pypi_plain, which is refused/);
    const { rows } = await h.sql.query(
      `SELECT 1 FROM pg_class WHERE relname IN ('pypi_daily', 'shadowfill_journal')`,
    );
    expect(rows).toHaveLength(0);
  });

  it('a SELECT that is no continuous aggregate is refused in one line; nothing is created', async () => {
    const error = await failure(() =>
      runAddView(viewConfig(root, 'nobucket', tree('SELECT project, count(*) AS n FROM pypi GROUP BY 1'))),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(
      /^view\.select needs a time_bucket\('<width>', <time column>\) AS <bucket> column/,
    );
    const { rows } = await h.sql.query(
      `SELECT 1 FROM pg_class WHERE relname IN ('pypi_daily', 'shadowfill_journal')`,
    );
    expect(rows).toHaveLength(0);
  });

  it('live ingestion during add-view: the aggregate equals its SELECT over the whole hypertable', async () => {
    const inserter = liveInserter(async () => {
      await h.sql.query(`INSERT INTO pypi SELECT now(), 'live', 1 FROM generate_series(1, 10)`);
    }, 150);
    const report = await runAddView(viewConfig(root, 'live', tree(DAILY)));
    await new Promise((r) => setTimeout(r, 300));
    expect(await inserter.stop()).toBeGreaterThan(1);
    expect(report.reconciliation.ok).toBe(true);
    expect(report.windows).toBeGreaterThanOrEqual(3);
    const fresh = `SELECT time_bucket('6 hours', timestamp), project, count(*), sum(size) FROM pypi GROUP BY 1, 2`;
    const stored = 'SELECT bucket, project, downloads, bytes FROM pypi_daily';
    const { rows } = await h.sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM ((${fresh} EXCEPT ALL ${stored}) UNION ALL (${stored} EXCEPT ALL ${fresh})) d`,
    );
    expect(rows[0]!.n).toBe('0');
  });
});
