/**
 * The PyPI Parquet fixtures: files land where the guide names them, hold the rows asked for over the right time
 * slices, are deterministic, spread over days on request, upload to a (local) S3 bucket, and the generator's
 * chDB connection rules hold (stateless by default; an open Session must be passed as `runner`).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAsync, Session } from 'chdb';
import { quoteString } from '../../adapters/clickhouse/sql/quote.ts';
import { generatePypiParquet, pypiFileSlice, type GeneratedPypi } from '../../fixtures/pypi.ts';
import { uploadDirectory } from '../../fixtures/upload.ts';
import { startLocalS3 } from '../../src/local/s3-server.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shadowfill-fixtures-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function rowsOf<Row>(sql: string): Promise<Row[]> {
  const result = await queryAsync(sql, { format: 'JSONEachRow' });
  return result
    .text()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Row);
}

async function listKeys(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

async function digests(result: GeneratedPypi): Promise<string[]> {
  return Promise.all(result.files.map((f) => sha256(f.path)));
}

describe('generatePypiParquet', () => {
  const files = [0, 100, 200];
  const rowsPerFile = 3000;
  let first: GeneratedPypi;

  beforeAll(async () => {
    first = await generatePypiParquet({ dir: join(root, 'a'), files, rowsPerFile, seed: 7 });
  });

  it('names the files like the guide and writes nothing else', async () => {
    expect(first.files.map((f) => f.key)).toEqual([
      'pypi/2024-12-17/1734393600-000000000000.parquet',
      'pypi/2024-12-17/1734393600-000000000100.parquet',
      'pypi/2024-12-17/1734393600-000000000200.parquet',
    ]);
    expect(await listKeys(join(root, 'a'))).toEqual(first.files.map((f) => f.key));
    expect(first.totalRows).toBe(9000);
    for (const file of first.files) {
      expect(file.path).toBe(join(root, 'a', ...file.key.split('/')));
      expect(file.bytes).toBeGreaterThan(1000);
    }
  });

  it('writes the rows asked for, with realistic cardinalities, inside each file’s time slice', async () => {
    const glob = quoteString(join(root, 'a', 'pypi', '2024-12-17', '*.parquet'));
    const [total] = await rowsOf<Record<string, string | number>>(
      `SELECT count() AS rows, uniqExact(project) AS projects, uniqExact(country_code) AS countries,
              toUnixTimestamp(min(timestamp)) AS min_ts, toUnixTimestamp(max(timestamp)) AS max_ts,
              uniqExact(python_minor) AS minors, groupUniqArray(system) AS systems,
              countIf(project IN ('boto3', 'botocore', 'urllib3', 'requests')) AS top
       FROM file(${glob}, 'Parquet')`,
    );
    expect(Number(total?.rows)).toBe(9000);
    expect(Number(total?.projects)).toBeGreaterThan(500);
    expect(Number(total?.projects)).toBeLessThanOrEqual(3000);
    expect(Number(total?.countries)).toBeGreaterThan(50);
    expect(Number(total?.minors)).toBe(6);
    expect([...(total?.systems as unknown as string[])].sort()).toEqual(['Darwin', 'Linux', 'Windows']);
    // Zipf head: the four most downloaded packages are roughly a fifth of all rows.
    expect(Number(total?.top) / 9000).toBeGreaterThan(0.12);
    expect(Number(total?.min_ts)).toBe(1734393600);
    expect(Number(total?.max_ts)).toBeLessThan(1734393600 + 86400);

    const perFile = await rowsOf<{ file: string; rows: string; lo: number; hi: number }>(
      `SELECT _file AS file, count() AS rows, toUnixTimestamp(min(timestamp)) AS lo,
              toUnixTimestamp(max(timestamp)) AS hi
       FROM file(${glob}, 'Parquet') GROUP BY _file ORDER BY _file`,
    );
    expect(perFile).toHaveLength(3);
    files.forEach((n, i) => {
      const slice = pypiFileSlice(n, { filesPerDay: 201 });
      const row = perFile[i];
      expect(row?.file).toBe(slice.key.split('/').pop());
      expect(Number(row?.rows)).toBe(rowsPerFile);
      expect(row?.lo).toBe(slice.start);
      expect(row?.hi).toBeLessThan(slice.start + slice.seconds);
    });
    // Different files hit different hours.
    expect(new Set(perFile.map((r) => Math.floor((r.lo - 1734393600) / 3600))).size).toBe(3);
  });

  it('is deterministic: same seed gives the same bytes (in either mode), another seed other rows', async () => {
    const again = await generatePypiParquet({ dir: join(root, 'b'), files, rowsPerFile, seed: 7 });
    const perFile = await generatePypiParquet({
      dir: join(root, 'c'),
      files,
      rowsPerFile,
      seed: 7,
      mode: 'per-file',
    });
    const other = await generatePypiParquet({ dir: join(root, 'd'), files, rowsPerFile, seed: 8 });
    const expected = await digests(first);
    expect(await digests(again)).toEqual(expected);
    expect(await digests(perFile)).toEqual(expected);
    const otherDigests = await digests(other);
    otherDigests.forEach((digest, i) => expect(digest).not.toBe(expected[i]));

    const checksum = async (dir: string): Promise<string> => {
      const [row] = await rowsOf<{ h: string }>(
        `SELECT toString(sum(cityHash64(*))) AS h FROM file(${quoteString(join(dir, 'pypi', '*', '*.parquet'))}, 'Parquet')`,
      );
      return row?.h ?? '';
    };
    expect(await checksum(join(root, 'b'))).toBe(await checksum(join(root, 'a')));
    expect(await checksum(join(root, 'd'))).not.toBe(await checksum(join(root, 'a')));
  });

  it('a file has the same rows whichever other files are generated with it', async () => {
    const alone = await generatePypiParquet({
      dir: join(root, 'e'),
      files: [100],
      rowsPerFile,
      seed: 7,
      filesPerDay: 201,
    });
    expect(await sha256(alone.files[0]?.path ?? '')).toBe(await sha256(first.files[1]?.path ?? ''));
  });

  it('spreads files over consecutive days, one directory and one toYYYYMMDD partition per day', async () => {
    const result = await generatePypiParquet({
      dir: join(root, 'days'),
      files: [0, 1, 2, 3, 4, 5],
      rowsPerFile: 500,
      days: 3,
      rowGroupRows: 100,
      compression: 'snappy',
    });
    expect(result.files.map((f) => f.key)).toEqual([
      'pypi/2024-12-17/1734393600-000000000000.parquet',
      'pypi/2024-12-17/1734393600-000000000001.parquet',
      'pypi/2024-12-18/1734480000-000000000002.parquet',
      'pypi/2024-12-18/1734480000-000000000003.parquet',
      'pypi/2024-12-19/1734566400-000000000004.parquet',
      'pypi/2024-12-19/1734566400-000000000005.parquet',
    ]);
    expect(await listKeys(join(root, 'days'))).toEqual(result.files.map((f) => f.key));
    const perDay = await rowsOf<{ day: number; rows: string | number; files: string | number }>(
      `SELECT toYYYYMMDD(timestamp) AS day, count() AS rows, uniqExact(_file) AS files
       FROM file(${quoteString(join(root, 'days', 'pypi', '*', '*.parquet'))}, 'Parquet') GROUP BY day ORDER BY day`,
    );
    expect(perDay.map((r) => [r.day, Number(r.rows), Number(r.files)])).toEqual([
      [20241217, 1000, 2],
      [20241218, 1000, 2],
      [20241219, 1000, 2],
    ]);
    const [meta] = await rowsOf<{ groups: string }>(
      `SELECT num_row_groups AS groups FROM file(${quoteString(result.files[0]?.path ?? '')}, ParquetMetadata)`,
    );
    expect(Number(meta?.groups)).toBe(5);
  });

  it('rejects a file number beyond the configured days', async () => {
    await expect(
      generatePypiParquet({ dir: join(root, 'x'), files: [4], rowsPerFile: 10, days: 2, filesPerDay: 2 }),
    ).rejects.toThrow(/file 4 falls on day 3 of 2/);
  });
});

describe('uploadDirectory', () => {
  it('uploads every file keyed by its relative path, readable with ClickHouse s3()', async () => {
    const dir = join(root, 'upload');
    const generated = await generatePypiParquet({ dir, files: [10, 11], rowsPerFile: 1000 });
    const s3 = await startLocalS3({ directory: join(root, 's3'), buckets: [] });
    try {
      const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
      const uploaded = await uploadDirectory(s3.endpoint, 'pypi', dir, credentials);
      expect(uploaded).toEqual(generated.files.map((f) => ({ key: f.key, bytes: f.bytes })));
      const url = `${s3.endpoint}/pypi/pypi/2024-12-17/1734393600-0000000000{10..11}.parquet`;
      const [row] = await rowsOf<{ rows: string | number; files: string | number }>(
        `SELECT count() AS rows, uniqExact(_file) AS files
         FROM s3(${quoteString(url)}, ${quoteString(s3.accessKeyId)}, ${quoteString(s3.secretAccessKey)}, 'Parquet')`,
      );
      expect([Number(row?.rows), Number(row?.files)]).toEqual([2000, 2]);
    } finally {
      await s3.stop();
    }
  });
});

describe('chDB connection rules', () => {
  it('refuses the stateless path while a Session is open, and works through that Session as runner', async () => {
    const dataDir = join(root, 'engine');
    const session = new Session(dataDir);
    try {
      await expect(
        generatePypiParquet({ dir: join(root, 's1'), files: [0], rowsPerFile: 10 }),
      ).rejects.toThrow(/pass it, or a Session on the same directory, as `runner`/);
      const sameDir = new Session(dataDir);
      const viaRunner = await generatePypiParquet({
        dir: join(root, 's2'),
        files: [0],
        rowsPerFile: 10,
        runner: sameDir,
      });
      sameDir.close();
      expect(session.open).toBe(true);
      const result = await session.queryAsync(
        `SELECT count() FROM file(${quoteString(viaRunner.files[0]?.path ?? '')}, 'Parquet')`,
        { format: 'TSV' },
      );
      expect(result.text().trim()).toBe('10');
    } finally {
      session.close();
    }
  });
});
