/**
 * Where a column chunk's bytes are. The footer gives its start (`dictionary_page_offset`, else
 * `data_page_offset`) and `total_compressed_size`. parquet-mr up to 1.2.8 left the dictionary page header out
 * of that size (PARQUET-816, IMPALA-694): the chunk is longer than declared, so its last page — or its
 * dictionary page itself — runs past the declared end. Arrow reads up to 100 bytes more for files of those
 * writers (and for parquet-mr files without a version); ClickHouse does the same for `parquet-mr` files. So does
 * this reader; the pages are then read only until the chunk's `num_values`, never into what follows.
 */
import type { FileMetaData } from 'hyparquet';

/** Extra bytes read after a chunk's declared end for files of writers known to declare chunks too short. */
export function chunkPadding(metadata: FileMetaData): number {
  const createdBy = metadata.created_by ?? '';
  const m = /^parquet-mr(?: version (\d+)\.(\d+)\.(\d+))?/.exec(createdBy);
  if (!m) return 0;
  if (m[1] === undefined) return MAX_PADDING;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const fixed = major > 1 || (major === 1 && (minor > 2 || (minor === 2 && patch >= 9)));
  return fixed ? 0 : MAX_PADDING;
}

/** Arrow's kMaxDictHeaderSize. */
export const MAX_PADDING = 100;

export interface ByteRange {
  readonly startByte: number;
  readonly endByte: number;
}

/** `ranges` with `padding` bytes more each (never past `limit`), overlapping or adjacent ones merged. */
export function paddedRanges(ranges: readonly ByteRange[], padding: number, limit: number): ByteRange[] {
  const sorted = ranges
    .map((r) => ({
      startByte: r.startByte,
      endByte: Math.max(r.endByte, Math.min(r.endByte + padding, limit)),
    }))
    .sort((a, b) => a.startByte - b.startByte);
  const merged: { startByte: number; endByte: number }[] = [];
  for (const r of sorted) {
    const last = merged.at(-1);
    if (last && r.startByte <= last.endByte) last.endByte = Math.max(last.endByte, r.endByte);
    else merged.push({ ...r });
  }
  return merged;
}
