/**
 * Streams the values of one leaf column chunk page by page, so a row group can be decoded in row slices: only
 * the pages that the current slice needs are decompressed and decoded, and values leave the reader as soon as
 * they are taken. Decoding itself is hyparquet's (`readPage`: decompression, encodings, dictionary, Dremel
 * assembly of repeated leaves); this module only walks the pages and keeps the rows in order.
 *
 * Pages are read until the chunk's `num_values` (footer) have been read, as the reference readers (Arrow,
 * ClickHouse) do: whatever follows is never decoded, so a trailing empty page, or the padding read past a chunk
 * whose footer declares it too short (see chunk-range.ts), is not mistaken for data. A data page with no
 * values (an empty v2 page's body is only snappy's length header) is skipped without being decoded.
 *
 * Dictionary-encoded pages of flat columns, which can hold a whole row group, are decoded lazily
 * (dictionary-page.ts). A repeated leaf (inside a LIST or MAP) may continue its last row on the next page (v1 data pages), so its
 * last decoded row is held back until the next page, or the end of the chunk, shows it is complete.
 */
import {
  convert,
  getMaxRepetitionLevel,
  parquetHeader,
  readPage,
  type ColumnDecoder,
  type DecodedArray,
  type PageHeader,
} from './hyparquet-internals.ts';
import { isLazyDictionaryPage, lazyDictionaryPage } from './dictionary-page.ts';
import type { PagePiece } from './dictionary-page.ts';

type TypedArray = Exclude<DecodedArray, unknown[]>;

/** One leaf column chunk of one row group, decoded on demand in row order. */
export class LeafPageReader {
  private readonly cursor: PageCursor;
  private readonly repeated: boolean;
  private dictionary: DecodedArray | undefined;
  /** Decoded complete rows not yet taken; the first `consumed` rows of `pieces[0]` are already taken. */
  private readonly pieces: PagePiece[] = [];
  private consumed = 0;
  private buffered = 0;
  /** Repeated leaves: the last decoded row, which the next page may continue (hyparquet appends to it). */
  private open: unknown[] | undefined;

  constructor(
    bytes: Uint8Array,
    private readonly decoder: ColumnDecoder,
    /** The chunk's `num_values` from the footer; pages are read until this many (all pages when unknown). */
    private readonly totalValues = Infinity,
  ) {
    this.cursor = {
      reader: { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 },
      totalValues,
      valuesRead: 0,
      ended: false,
    };
    this.repeated = getMaxRepetitionLevel(decoder.schemaPath) > 0;
  }

  /** The next `rows` rows; throws when the chunk ends first (the message says how many it had). */
  take(rows: number): DecodedArray {
    while (this.buffered < rows && !this.cursor.ended) this.readNextPage();
    if (this.buffered < rows) {
      throw new Error(
        `the column chunk ends ${rows - this.buffered} rows short of the row group's row count`,
      );
    }
    return this.dequeue(rows);
  }

  /** Rows left after the row group's rows were taken (0 for a well-formed chunk); decodes the remaining pages. */
  remainingRows(): number {
    while (!this.cursor.ended) this.readNextPage();
    return this.buffered;
  }

  private readNextPage(): void {
    const page = nextPage(this.cursor);
    if (!page) {
      if (this.cursor.ended) this.end();
      return;
    }
    const { header, reader } = page;
    if (header.type === 'DICTIONARY_PAGE') {
      const { data } = readPage(reader, header, this.decoder, undefined, undefined, 0);
      if (data) this.dictionary = convert(data, this.decoder);
      return;
    }
    if (isLazyDictionaryPage(header, this.decoder, this.dictionary)) {
      const start = reader.offset;
      reader.offset += header.compressed_page_size;
      const bytes = new Uint8Array(
        reader.view.buffer,
        reader.view.byteOffset + start,
        header.compressed_page_size,
      );
      const piece = lazyDictionaryPage(bytes, header, this.decoder, this.dictionary as DecodedArray);
      if (piece.length > 0) this.enqueue(piece);
      return;
    }
    const result = readPage(reader, header, this.decoder, this.dictionary, this.open, 0);
    const data = result.data;
    if (!data || data.length === 0) return;
    if (!this.repeated) {
      this.enqueue(arrayPiece(data));
      return;
    }
    // hyparquet appended this page's rows to `open` (continuing its last row if the page starts mid-row).
    const rows = data as unknown[];
    if (rows.length > 1) this.enqueue(arrayPiece(rows.splice(0, rows.length - 1)));
    this.open = rows;
  }

  private end(): void {
    if (this.open?.length) this.enqueue(arrayPiece(this.open));
    this.open = undefined;
  }

  private enqueue(piece: PagePiece): void {
    this.pieces.push(piece);
    this.buffered += piece.length;
  }

  /** Removes the first `rows` buffered rows, in as few copies as the pages allow. */
  private dequeue(rows: number): DecodedArray {
    this.buffered -= rows;
    const parts: DecodedArray[] = [];
    let needed = rows;
    while (needed > 0) {
      const piece = this.pieces[0] as PagePiece;
      const available = piece.length - this.consumed;
      const count = Math.min(available, needed);
      parts.push(piece.take(this.consumed, count));
      needed -= count;
      if (count === available) {
        this.pieces.shift();
        this.consumed = 0;
      } else {
        this.consumed += count;
      }
    }
    return concatArrays(parts, rows);
  }
}

/** A page decoded by hyparquet: its own array when taken whole, else a slice. */
function arrayPiece(data: DecodedArray): PagePiece {
  return {
    length: data.length,
    take: (start, count) =>
      start === 0 && count === data.length ? data : sliceOf(data, start, start + count),
  };
}

function sliceOf(data: DecodedArray, start: number, end: number): DecodedArray {
  // A typed array's slice copies, so the page's buffer is not kept alive by a small view of it.
  return ArrayBuffer.isView(data) ? (data as TypedArray).slice(start, end) : data.slice(start, end);
}

/** One array of `total` values; typed arrays stay typed when every part has the same type. */
export function concatArrays(parts: readonly DecodedArray[], total: number): DecodedArray {
  if (parts.length === 1) return parts[0] as DecodedArray;
  const first = parts[0];
  if (!first) return [];
  if (ArrayBuffer.isView(first) && parts.every((part) => part.constructor === first.constructor)) {
    const Typed = first.constructor as new (length: number) => TypedArray;
    const out = new Typed(total);
    let offset = 0;
    for (const part of parts) {
      (out as unknown as { set(source: ArrayLike<unknown>, offset: number): void }).set(part, offset);
      offset += part.length;
    }
    return out;
  }
  const out: unknown[] = new Array<unknown>(total);
  let offset = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) out[offset++] = part[i];
  }
  return out;
}

/** Where a walk over one column chunk's pages stands. */
export interface PageCursor {
  readonly reader: { view: DataView; offset: number };
  /** The chunk's `num_values` (footer); Infinity when unknown. */
  readonly totalValues: number;
  /** Values (levels) of the data pages read so far. */
  valuesRead: number;
  ended: boolean;
}

/**
 * The next page to decode, with the reader at its body (`compressed_page_size` bytes): a dictionary page or a
 * data page with values. Index pages and data pages without values are skipped (undefined is returned, the
 * cursor moved past them); at the end of the chunk `ended` is set and undefined returned.
 */
export function nextPage(
  cursor: PageCursor,
): { header: PageHeader; reader: { view: DataView; offset: number } } | undefined {
  const { reader } = cursor;
  // Like hyparquet's readColumn, a single trailing byte is not taken for another page.
  if (cursor.valuesRead >= cursor.totalValues || reader.offset >= reader.view.byteLength - 1) {
    cursor.ended = true;
    return undefined;
  }
  const start = reader.offset;
  const header = parquetHeader(reader);
  if (
    !(header.compressed_page_size >= 0) ||
    reader.offset + header.compressed_page_size > reader.view.byteLength
  ) {
    throw new Error(`the page at byte ${start} of the column chunk runs past its end`);
  }
  if (header.type === 'INDEX_PAGE') {
    reader.offset += header.compressed_page_size;
    return undefined;
  }
  if (header.type !== 'DICTIONARY_PAGE') {
    const values = header.data_page_header?.num_values ?? header.data_page_header_v2?.num_values ?? 0;
    cursor.valuesRead += values;
    if (values === 0) {
      reader.offset += header.compressed_page_size;
      return undefined;
    }
  }
  return { header, reader };
}
