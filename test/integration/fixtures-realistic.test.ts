/**
 * The realistic PyPI fixture: the same keys, columns and time slices as today's fixture, at ≥ 25 bytes per row,
 * with high-cardinality projects and versions, deterministic, and readable by the engine's Parquet reader.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryAsync } from 'chdb';
import { generateRealisticPypiParquet } from '../../fixtures/pypi-realistic.ts';
import { PYPI_COLUMNS, pypiFileSlice, type GeneratedPypi } from '../../fixtures/pypi.ts';
import { readRowChunks } from '../../src/parquet/rows.ts';
import { fileAsyncBuffer } from '../../src/source/range-reader.ts';
import { epochMicros } from '../../src/parquet/values.ts';

let root: string;
let generated: GeneratedPypi;
const ROWS = 100_000;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shadowfill-realistic-'));
  generated = await generateRealisticPypiParquet({
    dir: join(root, 'a'),
    files: [0, 1, 2],
    rowsPerFile: ROWS,
    rowGroupRows: 50_000,
  });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

async function scalar(sql: string): Promise<string[]> {
  return (await queryAsync(sql, { format: 'TSV' })).text().trim().split('\t');
}

describe('realistic PyPI fixture', () => {
  it('writes the keys and rows of today’s fixture at ≥ 25 bytes per row', async () => {
    expect(generated.files.map((f) => f.key)).toEqual(
      [0, 1, 2].map((n) => pypiFileSlice(n, { filesPerDay: 3 }).key),
    );
    expect(generated.totalRows).toBe(3 * ROWS);
    const bytes = generated.files.reduce((n, f) => n + f.bytes, 0);
    expect(bytes / generated.totalRows).toBeGreaterThanOrEqual(25);
    const [rows, projects, pairs] = await scalar(
      `SELECT count(), uniqExact(project), uniqExact(project, version) FROM file('${generated.files[0]!.path}')`,
    );
    expect(Number(rows)).toBe(ROWS);
    // high cardinality: tens of thousands of projects and (project, version) pairs in one file
    expect(Number(projects)).toBeGreaterThan(20_000);
    expect(Number(pairs)).toBeGreaterThan(40_000);
  });

  it('has microsecond timestamps inside each file’s slice, not in order', async () => {
    const file = generated.files[1]!;
    const slice = pypiFileSlice(1, { filesPerDay: 3 });
    const [min, max, unordered, subsecond] = await scalar(
      `SELECT toUnixTimestamp64Micro(min(timestamp)), toUnixTimestamp64Micro(max(timestamp)),
              countIf(timestamp < prev) > 0, countIf(toUnixTimestamp64Micro(timestamp) % 1000000 != 0) > 0
       FROM (SELECT timestamp, lagInFrame(timestamp) OVER () AS prev FROM file('${file.path}'))`,
    );
    expect(BigInt(min!)).toBeGreaterThanOrEqual(BigInt(slice.start) * 1_000_000n);
    expect(BigInt(max!)).toBeLessThan(BigInt(slice.start + slice.seconds) * 1_000_000n);
    expect(unordered).toBe('1');
    expect(subsecond).toBe('1');
  });

  it('is deterministic', async () => {
    const again = await generateRealisticPypiParquet({
      dir: join(root, 'b'),
      files: [1],
      rowsPerFile: ROWS,
      rowGroupRows: 50_000,
      filesPerDay: 3,
    });
    const hash = async (path: string) =>
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
    expect(await hash(again.files[0]!.path)).toBe(await hash(generated.files[1]!.path));
  });

  it('is read by the engine’s Parquet reader, timestamps to the microsecond', async () => {
    const file = generated.files[2]!;
    const object = { key: file.key, size: file.bytes, uri: `s3://b/${file.key}`, httpUrl: '' };
    let rows = 0;
    let micros = 0;
    for await (const chunk of readRowChunks(await fileAsyncBuffer(file.path), object, {
      columns: [...PYPI_COLUMNS],
    })) {
      rows += chunk.numRows;
      const ts = chunk.columns.get('timestamp')!;
      for (let i = 0; i < chunk.numRows; i++) if (epochMicros(ts[i] as Date) % 1000n !== 0n) micros += 1;
      expect(typeof chunk.columns.get('version')![0]).toBe('string');
    }
    expect(rows).toBe(ROWS);
    expect(micros).toBeGreaterThan(ROWS / 2);
  });
});
