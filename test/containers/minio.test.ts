/**
 * The docker-compose.yml setup end to end, with testcontainers: MinIO and the ClickHouse server on one network;
 * shadowfill reaches MinIO through its mapped port (`source.endpoint`), ClickHouse reads the objects itself from
 * `http://minio:9000` (`source.server_endpoint`, `load: server`), as in fixtures/examples/clickhouse-docker.yaml.
 * Skipped, in one line, where no Docker engine answers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Network, type StartedNetwork, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpDriver } from '../../adapters/clickhouse/drivers/http.ts';
import { generatePypiParquet, PYPI_STRUCTURE } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { createAdapter } from '../../src/adapter/registry.ts';
import { defineConfig } from '../../src/config/define.ts';
import { runBackfill } from '../../src/runner/run.ts';
import {
  clickhouseContainer,
  COMPOSE_PASSWORD,
  dockerEngine,
  MINIO_CREDENTIALS,
  minioContainer,
  skipWithoutDocker,
} from './docker.ts';

const engine = await dockerEngine();
const PASSWORD = COMPOSE_PASSWORD;
const MINIO = { user: MINIO_CREDENTIALS.accessKeyId, password: MINIO_CREDENTIALS.secretAccessKey };

if (skipWithoutDocker('MinIO → ClickHouse server (load: server)', engine)) {
  describe('MinIO → ClickHouse server (load: server)', () => {
    let network: StartedNetwork;
    let minio: StartedTestContainer;
    let clickhouse: StartedTestContainer;
    let root: string;
    let rows: number;

    beforeAll(async () => {
      network = await new Network().start();
      [minio, clickhouse] = await Promise.all([
        minioContainer().withNetwork(network).withNetworkAliases('minio').start(),
        clickhouseContainer().withNetwork(network).start(),
      ]);
      root = await mkdtemp(join(tmpdir(), 'shadowfill-minio-'));
      const generated = await generatePypiParquet({
        dir: join(root, 'parquet'),
        files: [0, 1, 2, 3],
        rowsPerFile: 500,
      });
      rows = generated.totalRows;
      await uploadDirectory(minioEndpoint(), 'pypi', join(root, 'parquet'), {
        accessKeyId: MINIO.user,
        secretAccessKey: MINIO.password,
      });
    }, 600_000);

    afterAll(async () => {
      await clickhouse?.stop();
      await minio?.stop();
      await network?.stop();
      if (root) await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    });

    const minioEndpoint = () => `http://${minio.getHost()}:${minio.getMappedPort(9000)}`;
    const clickhouseUrl = () => `http://${clickhouse.getHost()}:${clickhouse.getMappedPort(8123)}`;

    it('backfills with ClickHouse reading MinIO itself, next to live rows', async () => {
      const driver = new HttpDriver({ url: clickhouseUrl(), user: 'default', password: PASSWORD });
      try {
        await driver.command(
          `CREATE TABLE default.pypi (${PYPI_STRUCTURE}) ENGINE = MergeTree PARTITION BY toYYYYMMDD(timestamp) ORDER BY (project, timestamp)`,
        );
        const config = defineConfig({
          target: {
            kind: 'clickhouse',
            url: clickhouseUrl(),
            table: 'pypi',
            user: 'default',
            password: PASSWORD,
          },
          source: {
            url: 's3://pypi/pypi/**.parquet',
            endpoint: minioEndpoint(),
            serverEndpoint: 'http://minio:9000',
            credentials: {
              accessKeyId: MINIO.user,
              secretAccessKey: MINIO.password,
              sessionToken: undefined,
            },
          },
          batch: { files: 2, bytes: 1e12 },
          load: 'server',
        });
        const adapter = await createAdapter(config);
        await adapter.connect();
        try {
          const report = await runBackfill(config, adapter);
          expect(report.rowsLoaded).toBe(rows);
        } finally {
          await adapter.close();
        }
        const [count] = await driver.query<{ n: string }>('SELECT count() AS n FROM default.pypi');
        expect(Number(count?.n)).toBe(rows);
      } finally {
        await driver.close();
      }
    });
  });
}
