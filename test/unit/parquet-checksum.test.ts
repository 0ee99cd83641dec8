import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../../src/errors.ts';
import { verifyPageChecksums } from '../../src/parquet/checksum.ts';
import type { SourceObject } from '../../src/source/types.ts';

// datapage_v1-corrupt-checksum.parquet (parquet-mr): two INT32 columns, two uncompressed pages each, every page
// header carries a CRC. Page layout (header 28 bytes + 10240 data bytes):
//   a: pages at 4 (CRC wrong) and 10272 (CRC right);  b: pages at 20540 (CRC right) and 30808 (CRC wrong).
const file = readFileSync('/work/shared/parquet-real/datapage_v1-corrupt-checksum.parquet');
const object: SourceObject = {
  key: 'datapage_v1-corrupt-checksum.parquet',
  size: file.byteLength,
  uri: 's3://bucket/datapage_v1-corrupt-checksum.parquet',
  httpUrl: 'http://127.0.0.1:1/bucket/datapage_v1-corrupt-checksum.parquet',
};
const PAGE = 28 + 10240;

function chunk(column: string, start: number, end: number): Parameters<typeof verifyPageChecksums>[1] {
  return { column, rowGroup: 0, bytes: file.subarray(start, end), fileOffset: start };
}

describe('verifyPageChecksums', () => {
  it('accepts pages whose CRC-32 matches', () => {
    expect(() => verifyPageChecksums(object, chunk('a', 4 + PAGE, 4 + 2 * PAGE))).not.toThrow();
    expect(() => verifyPageChecksums(object, chunk('b', 20540, 20540 + PAGE))).not.toThrow();
  });

  it('rejects the first page whose CRC-32 does not match, naming object, column, row group and page', () => {
    let error: unknown;
    try {
      verifyPageChecksums(object, chunk('b', 20540, 20540 + 2 * PAGE));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).code).toBe('SOURCE_CORRUPT');
    expect((error as SourceError).message).toBe(
      's3://bucket/datapage_v1-corrupt-checksum.parquet is not a readable Parquet file: page checksum mismatch in ' +
        'column "b" of row group 0 (page at byte 30808: stored CRC-32 0x48850d12, computed 0x0358a2bc) — replace or remove the object',
    );
  });

  it('detects a single flipped bit in page data', () => {
    const bytes = Uint8Array.from(file.subarray(4 + PAGE, 4 + 2 * PAGE));
    bytes[28 + 5000] = (bytes[28 + 5000] as number) ^ 0x01;
    expect(() =>
      verifyPageChecksums(object, { column: 'a', rowGroup: 3, bytes, fileOffset: 4 + PAGE }),
    ).toThrow(/page checksum mismatch in column "a" of row group 3 \(page at byte 10272/);
  });

  it('rejects a page that runs past the end of its column chunk', () => {
    expect(() => verifyPageChecksums(object, chunk('a', 4 + PAGE, 4 + 2 * PAGE - 10))).toThrow(
      /runs past the end of the column chunk/,
    );
  });
});
