/**
 * Batch ranges from real footers (chDB-written PyPI files, both fixtures): every file's range from its statistics
 * covers exactly its rows (first = their minimum, floored to the millisecond; last ≥ their maximum), and lies in
 * the file's time slice, so batches ordered by range follow time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { queryAsync } from 'chdb';
import { generateRealisticPypiParquet } from '../../fixtures/pypi-realistic.ts';
import { generatePypiParquet, pypiFileSlice } from '../../fixtures/pypi.ts';
import { readSourceSchema } from '../../src/parquet/schema.ts';
import { timeKeyRange } from '../../src/scheduler/ranges.ts';
import { orderForBatches } from '../../src/scheduler/watermark.ts';
import { fileAsyncBuffer } from '../../src/source/range-reader.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
});

describe('time ranges from Parquet footers', () => {
  for (const kind of ['today', 'realistic'] as const) {
    it(`${kind} fixture: each file's range covers its rows and lies in its slice`, async () => {
      const dir = await mkdtemp(join(tmpdir(), `shadowfill-stats-${kind}-`));
      dirs.push(dir);
      const options = { dir, files: [2, 0, 1], rowsPerFile: 20_000, rowGroupRows: 5_000 };
      const generated =
        kind === 'today' ? await generatePypiParquet(options) : await generateRealisticPypiParquet(options);
      const ranged = [];
      for (const file of generated.files) {
        const object = { key: file.key, size: file.bytes, uri: `s3://b/${file.key}`, httpUrl: '' };
        const schema = await readSourceSchema(await fileAsyncBuffer(file.path), object);
        const range = timeKeyRange(schema.ranges?.timestamp, { kind: 'time' });
        expect(range).toBeDefined();
        const [min, max] = (
          await queryAsync(
            `SELECT toUnixTimestamp64Micro(min(timestamp)), toUnixTimestamp64Micro(max(timestamp)) FROM file('${file.path}')`,
            { format: 'TSV' },
          )
        )
          .text()
          .trim()
          .split('\t')
          .map(BigInt);
        expect(range!.first).toBe((min! / 1000n) * 1000n);
        expect(range!.last).toBeGreaterThanOrEqual(max!);
        expect(range!.last - max!).toBeLessThan(1000n);
        const slice = pypiFileSlice(Number(file.key.slice(-20, -8)), { filesPerDay: 3 });
        expect(range!.first).toBeGreaterThanOrEqual(BigInt(slice.start) * 1_000_000n);
        expect(range!.last).toBeLessThan(BigInt(slice.start + slice.seconds) * 1_000_000n + 1000n);
        ranged.push({ object: file.key, key: file.key, range });
      }
      expect(orderForBatches(ranged).order).toBe('time');
    });
  }
});
