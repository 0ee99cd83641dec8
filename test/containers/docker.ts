/**
 * What the container suites need: whether a Docker engine answers (testcontainers' own detection: DOCKER_HOST,
 * the socket, ~/.testcontainers.properties, …) and the images of docker-compose.yml, read from that file so the
 * suites test exactly what `docker compose up` starts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenericContainer, Wait, getContainerRuntimeClient } from 'testcontainers';
import { describe, it } from 'vitest';
import { parse } from 'yaml';

export type DockerEngine = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export async function dockerEngine(): Promise<DockerEngine> {
  try {
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('no answer within 30 s')), 30_000).unref(),
      ),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message.split('\n')[0] ?? String(error) };
  }
}

/** `service` → image, from docker-compose.yml at the repository's root. */
export function composeImages(): Readonly<Record<'clickhouse' | 'timescaledb' | 'minio', string>> {
  const compose = parse(
    readFileSync(join(import.meta.dirname, '..', '..', 'docker-compose.yml'), 'utf8'),
  ) as {
    services: Record<string, { image: string }>;
  };
  const image = (service: string) => {
    const found = compose.services[service]?.image;
    if (!found) throw new Error(`docker-compose.yml has no image for service ${service}`);
    return found;
  };
  return { clickhouse: image('clickhouse'), timescaledb: image('timescaledb'), minio: image('minio') };
}

/** Where there is no engine: one skipped test whose name says why, and one line on stderr. */
export function skipWithoutDocker(suite: string, engine: DockerEngine): engine is { ok: true } {
  if (engine.ok) return true;
  const line = `${suite}: skipped — no Docker engine (${engine.reason})`;
  process.stderr.write(`${line}\n`);
  describe(suite, () => it.skip(line, () => undefined));
  return false;
}

/** The password docker-compose.yml gives ClickHouse's `default` user and TimescaleDB's `postgres`. */
export const COMPOSE_PASSWORD = 'shadowfill';
export const MINIO_CREDENTIALS = { accessKeyId: 'shadowfill', secretAccessKey: 'shadowfill-secret' } as const;

/** The compose file's `clickhouse` service, HTTP on 8123. */
export function clickhouseContainer(): GenericContainer {
  return new GenericContainer(composeImages().clickhouse)
    .withEnvironment({
      CLICKHOUSE_USER: 'default',
      CLICKHOUSE_PASSWORD: COMPOSE_PASSWORD,
      CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT: '1',
    })
    .withUlimits({ nofile: { soft: 262_144, hard: 262_144 } })
    .withExposedPorts(8123)
    .withWaitStrategy(Wait.forHttp('/ping', 8123))
    .withStartupTimeout(180_000);
}

/** The compose file's `timescaledb` service, database `shadowfill` on 5432. */
export function timescaleContainer(): GenericContainer {
  return (
    new GenericContainer(composeImages().timescaledb)
      .withEnvironment({ POSTGRES_PASSWORD: COMPOSE_PASSWORD, POSTGRES_DB: 'shadowfill' })
      .withExposedPorts(5432)
      // The entrypoint starts the server twice (initialisation, then for real): wait for the second.
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .withStartupTimeout(180_000)
  );
}

/** The compose file's `minio` service, S3 on 9000. */
export function minioContainer(): GenericContainer {
  return new GenericContainer(composeImages().minio)
    .withCommand(['server', '/data'])
    .withEnvironment({
      MINIO_ROOT_USER: MINIO_CREDENTIALS.accessKeyId,
      MINIO_ROOT_PASSWORD: MINIO_CREDENTIALS.secretAccessKey,
    })
    .withExposedPorts(9000)
    .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000));
}
