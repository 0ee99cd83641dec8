/**
 * A PyPI fixture as the load benchmarks (postgres-load, load-pipeline) set it up: today's (fixtures/pypi.ts) or the
 * realistic one (fixtures/pypi-realistic.ts) generated into a directory, uploaded to a bucket of the local S3
 * server named after it, exported once to CSV by chDB for `psql \copy` (full timestamp precision), then listed
 * and its schema read as the engine does.
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { generateRealisticPypiParquet } from '../../fixtures/pypi-realistic.ts';
import { generatePypiParquet, PYPI_COLUMNS, type GeneratedPypi } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { readSourceSchema } from '../../src/parquet/schema.ts';
import { listObjects } from '../../src/source/list-objects.ts';
import { resolveLocation } from '../../src/source/location.ts';
import { s3AsyncBuffer } from '../../src/source/range-reader.ts';
import { createS3Client } from '../../src/source/s3-client.ts';
import type { ObjectStoreLocation, SourceColumn, SourceObject } from '../../src/source/types.ts';
import { timed } from '../common.ts';

export type PypiFixtureName = 'today' | 'realistic';

export interface PypiFixture {
  readonly generated: GeneratedPypi;
  /** Seconds the generation took. */
  readonly seconds: number;
  /** The CSV of every row, for `psql \copy … CSV`. */
  readonly csv: string;
  readonly location: ObjectStoreLocation;
  /** The S3 client of `location`; the caller destroys it. */
  readonly client: S3Client;
  readonly objects: readonly SourceObject[];
  /** The Parquet type of the `timestamp` column. */
  readonly timestampType: string;
  /** The source columns in PYPI_COLUMNS order. */
  readonly source: readonly SourceColumn[];
}

/** Generates fixture `name` into `<dir>/<name>` (CSV `<dir>/<name>.csv`) and uploads it to bucket `name`. */
export async function preparePypiFixture(args: {
  readonly name: PypiFixtureName;
  readonly dir: string;
  readonly s3: { readonly endpoint: string; readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly files: number;
  readonly rowsPerFile: number;
  readonly rowGroupRows: number;
}): Promise<PypiFixture> {
  const { name, s3 } = args;
  const parquet = join(args.dir, name);
  const options = {
    dir: parquet,
    files: Array.from({ length: args.files }, (_, i) => i),
    rowsPerFile: args.rowsPerFile,
    rowGroupRows: args.rowGroupRows,
    days: 2,
  };
  const gen = await timed(() =>
    name === 'today' ? generatePypiParquet(options) : generateRealisticPypiParquet(options),
  );
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  await uploadDirectory(s3.endpoint, name, parquet, credentials);
  const csv = join(args.dir, `${name}.csv`);
  const chdb = await import('chdb');
  await chdb.queryAsync(
    `INSERT INTO FUNCTION file('${csv}', 'CSV') SELECT concat(toString(timestamp), '+00'), ` +
      `${PYPI_COLUMNS.slice(1).join(', ')} FROM file('${parquet}/pypi/*/*.parquet', 'Parquet') ` +
      `SETTINGS engine_file_truncate_on_insert = 1`,
    { format: 'TSV' },
  );
  const location = resolveLocation({
    url: `s3://${name}/pypi/*/*.parquet`,
    endpoint: s3.endpoint,
    region: 'us-east-1',
    credentials,
  });
  const client = createS3Client(location);
  const objects = await listObjects(client, location);
  const schema = await readSourceSchema(s3AsyncBuffer(client, objects[0]!), objects[0]!);
  return {
    generated: gen.value,
    seconds: gen.seconds,
    csv,
    location,
    client,
    objects,
    timestampType: schema.columns[0]!.parquetType,
    source: PYPI_COLUMNS.map((c) => schema.columns.find((s) => s.name === c)!),
  };
}

/** `today's fixture (fixtures/pypi.ts): 2,000,000 rows in 10 files, … bytes/row (zstd, row groups of …, timestamp …)`. */
export function pypiFixtureTitle(name: PypiFixtureName, fixture: PypiFixture, rowGroupRows: number): string {
  const { generated } = fixture;
  const bytes = generated.files.reduce((n, f) => n + f.bytes, 0);
  const rows = generated.totalRows;
  return (
    `${name === 'today' ? "today's fixture (fixtures/pypi.ts)" : 'realistic fixture (fixtures/pypi-realistic.ts)'}: ` +
    `${int(rows)} rows in ${generated.files.length} files, ${(bytes / 1e6).toFixed(1)} MB of Parquet = ` +
    `${(bytes / rows).toFixed(1)} bytes/row (${pypiCompression(name)}, row groups of ${int(rowGroupRows)}, ` +
    `timestamp ${fixture.timestampType})`
  );
}

/** The fixture's Parquet compression (each generator's default). */
export function pypiCompression(name: PypiFixtureName): string {
  return name === 'today' ? 'zstd' : 'snappy';
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
