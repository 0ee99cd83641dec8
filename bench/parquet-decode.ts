/**
 * `parquet-decode`: rows/s of the engine's Parquet reader (`readRowChunks`: range fetches, page CRCs,
 * hyparquet decode, value normalization) over PyPI fixture files on local disk, against hyparquet's own
 * column-wise `parquetRead` of the same files (the ratio is engine / hyparquet; below 1 is our overhead).
 */
import { parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { generatePypiParquet } from '../fixtures/pypi.ts';
import { readRowChunks } from '../src/parquet/rows.ts';
import { fileAsyncBuffer } from '../src/source/range-reader.ts';
import { detail, median, scratchDir, summary, timed } from './common.ts';

const FILES = 4;
const ROWS_PER_FILE = 500_000;
const ROW_GROUP_ROWS = 100_000;
const REPEATS = 3;

async function main(): Promise<void> {
  const dir = await scratchDir('decode');
  try {
    const gen = await timed(() =>
      generatePypiParquet({
        dir: dir.path,
        files: Array.from({ length: FILES }, (_, i) => i),
        rowsPerFile: ROWS_PER_FILE,
        rowGroupRows: ROW_GROUP_ROWS,
      }),
    );
    const files = gen.value.files;
    const bytes = files.reduce((n, f) => n + f.bytes, 0);
    detail(
      `${files.length} files, ${gen.value.totalRows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(1)} MB zstd, ` +
        `row groups of ${ROW_GROUP_ROWS.toLocaleString('en-US')} rows (generated in ${gen.seconds.toFixed(1)} s)`,
    );

    const engineRuns: number[] = [];
    const rawRuns: number[] = [];
    for (let r = 0; r < REPEATS; r += 1) {
      const engine = await timed(async () => {
        let rows = 0;
        for (const f of files) {
          const object = { key: f.key, size: f.bytes, uri: `file://${f.path}`, httpUrl: `file://${f.path}` };
          for await (const chunk of readRowChunks(await fileAsyncBuffer(f.path), object))
            rows += chunk.numRows;
        }
        return rows;
      });
      if (engine.value !== gen.value.totalRows)
        throw new Error(`engine read ${engine.value} rows, expected ${gen.value.totalRows}`);
      engineRuns.push(engine.value / engine.seconds);
      const raw = await timed(async () => {
        let rows = 0;
        for (const f of files) {
          await parquetRead({
            file: await fileAsyncBuffer(f.path),
            compressors,
            onChunk: (c) => {
              if (c.columnName === 'timestamp') rows += c.rowEnd - c.rowStart;
            },
          });
        }
        return rows;
      });
      if (raw.value !== gen.value.totalRows)
        throw new Error(`hyparquet read ${raw.value} rows, expected ${gen.value.totalRows}`);
      rawRuns.push(raw.value / raw.seconds);
      detail(
        `run ${r + 1}: engine ${Math.round(engine.value / engine.seconds).toLocaleString('en-US')} rows/s (${engine.seconds.toFixed(2)} s), ` +
          `hyparquet parquetRead ${Math.round(raw.value / raw.seconds).toLocaleString('en-US')} rows/s (${raw.seconds.toFixed(2)} s)`,
      );
    }
    const engine = median(engineRuns);
    const raw = median(rawRuns);
    detail(
      `median engine ${(engine / 1e6).toFixed(2)}M rows/s (${((engine * bytes) / gen.value.totalRows / 1e6).toFixed(1)} MB/s of Parquet)`,
    );
    summary('parquet-decode', engine, 'rows/s', engine / raw, 'engine reader vs hyparquet parquetRead');
  } finally {
    await dir.remove();
  }
}

await main();
