/**
 * Page checksum verification. hyparquet does not check page CRCs, so before a column chunk is decoded its page
 * headers are walked and every page whose header carries a `crc` is checked: per the Parquet spec the CRC-32
 * covers the page bytes exactly as stored after the header (compressed data; for v2 pages the levels too).
 * Cost: one thrift header parse per page and a native CRC-32 (node:zlib) over the compressed bytes.
 */
import { crc32 } from 'node:zlib';
import { parquetHeader } from './hyparquet-internals.ts';
import type { SourceObject } from '../source/types.ts';
import { corruptObject, reasonOf } from './errors.ts';

export interface ColumnChunkBytes {
  /** Column path for messages (`a`, `e.list.element`). */
  readonly column: string;
  readonly rowGroup: number;
  /** The chunk's bytes, from its first page header to the end of its last page. */
  readonly bytes: Uint8Array;
  /** Offset of `bytes[0]` in the object, for messages. */
  readonly fileOffset: number;
  /** The chunk's `num_values`: pages are walked until this many values (all pages when omitted). */
  readonly numValues?: number;
}

const hex = (value: number): string => `0x${(value >>> 0).toString(16).padStart(8, '0')}`;

/** Throws SourceError(SOURCE_CORRUPT) naming the object, column, row group and page on a CRC mismatch. */
export function verifyPageChecksums(object: SourceObject, chunk: ColumnChunkBytes): void {
  const { bytes } = chunk;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = { view, offset: 0 };
  const where = `column "${chunk.column}" of row group ${chunk.rowGroup}`;
  const total = chunk.numValues ?? Infinity;
  let values = 0;
  // Like hyparquet's reader, a single trailing byte is not taken for another page; and like the reference
  // readers, nothing after the chunk's last value is taken for a page either (see column-pages.ts).
  while (reader.offset < bytes.byteLength - 1 && values < total) {
    const headerStart = reader.offset;
    let header: ReturnType<typeof parquetHeader>;
    try {
      header = parquetHeader(reader);
    } catch (error) {
      throw corruptObject(
        object,
        `${where} has an unreadable page header at byte ${chunk.fileOffset + headerStart} (${reasonOf(error)})`,
        error,
      );
    }
    const size = header.compressed_page_size;
    if (header.type !== 'DICTIONARY_PAGE') {
      values += header.data_page_header?.num_values ?? header.data_page_header_v2?.num_values ?? 0;
    }
    if (!(size >= 0) || reader.offset + size > bytes.byteLength) {
      throw corruptObject(
        object,
        `${where} has a page at byte ${chunk.fileOffset + headerStart} that runs past the end of the column chunk`,
      );
    }
    if (header.crc !== undefined) {
      const computed = crc32(bytes.subarray(reader.offset, reader.offset + size));
      if (computed >>> 0 !== header.crc >>> 0) {
        throw corruptObject(
          object,
          `page checksum mismatch in ${where} (page at byte ${chunk.fileOffset + headerStart}: stored CRC-32 ${hex(header.crc)}, computed ${hex(computed)})`,
        );
      }
    }
    reader.offset += size;
  }
}
