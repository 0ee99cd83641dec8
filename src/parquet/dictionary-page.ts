/**
 * Dictionary-encoded v1 data pages of flat columns, decoded a slice at a time. Writers cap pages by encoded
 * bytes, so a dictionary page with small indices can hold a whole row group (ClickHouse: ~1M rows in a 1 MB
 * page); hyparquet would turn it into a JS array of every value at once, and even compact typed arrays of its
 * levels and indices cost a few bytes per row of the page. Here the page's definition levels and dictionary
 * indices stay encoded (hybrid-stream.ts) and are decoded only for the rows taken, so a slice costs its own
 * rows, not its page's.
 *
 * `dictionaryPageStreams` is the one reader of such pages: column-pages.ts takes values from it
 * (`lazyDictionaryPage`: a plain array of dictionary values, `null` for missing ones — what hyparquet gives for
 * the same page), raw-pages.ts takes the indices themselves.
 */
import {
  decompressPage,
  getMaxDefinitionLevel,
  type ColumnDecoder,
  type DataPageHeader,
  type DecodedArray,
  type PageHeader,
} from './hyparquet-internals.ts';
import { HybridStream } from './hybrid-stream.ts';

/** Dictionary indices in the narrowest array their bit width fits. */
export type DictionaryIndices = Uint8Array | Uint16Array | Int32Array;

/** Rows of one page, taken in order. */
export interface PagePiece {
  readonly length: number;
  /** Rows [start, start + count); calls come in row order, each starting where the previous one ended. */
  take(start: number, count: number): DecodedArray;
}

/** True for a page this module decodes: v1, dictionary-encoded, of a flat (non-nested, non-repeated) column. */
export function isLazyDictionaryPage(
  header: PageHeader,
  decoder: ColumnDecoder,
  dictionary: unknown,
): header is PageHeader & { data_page_header: DataPageHeader } {
  const encoding = header.data_page_header?.encoding;
  return (
    header.type === 'DATA_PAGE' &&
    dictionary !== undefined &&
    (encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') &&
    decoder.schemaPath.length === 2 &&
    decoder.element.repetition_type !== 'REPEATED'
  );
}

/** A dictionary-encoded v1 page, read in row order a slice at a time. */
export interface DictionaryPageStreams {
  readonly rows: number;
  /** Presence of the next `count` rows: per row 1 = a value, 0 = null (undefined when every row has one). */
  nextPresence(count: number): { defined: Uint8Array | undefined; present: number };
  /** Dictionary indices of the next `count` values (present rows). */
  nextIndices(count: number): DictionaryIndices;
}

/** Opens the page whose bytes (after the header) are `compressed`: decompressed, nothing decoded yet. */
export function dictionaryPageStreams(
  compressed: Uint8Array,
  header: PageHeader & { data_page_header: DataPageHeader },
  decoder: ColumnDecoder,
  /**
   * Return views of two arrays the stream reuses (the largest slice taken so far) instead of new arrays: each
   * call's result is then valid only until the next call of the same method.
   */
  reuse = false,
): DictionaryPageStreams {
  const page = decompressPage(
    compressed,
    Number(header.uncompressed_page_size),
    decoder.codec,
    decoder.compressors,
  );
  const rows = header.data_page_header.num_values;
  const maxDefinition = getMaxDefinitionLevel(decoder.schemaPath);
  let offset = 0;
  let levels: HybridStream | undefined;
  if (maxDefinition > 0) {
    // v1 levels: a 4-byte little-endian length, then the RLE/bit-packed levels.
    if (page.length < 4) throw new Error('parquet data page ends inside its definition levels');
    const length = (page[0]! | (page[1]! << 8) | (page[2]! << 16) | (page[3]! << 24)) >>> 0;
    if (4 + length > page.length) throw new Error('parquet definition levels run past the end of their page');
    levels = new HybridStream(page, 4, 4 + length, bitWidth(maxDefinition));
    offset = 4 + length;
  }
  if (offset >= page.length && rows > 0)
    throw new Error('parquet dictionary-encoded page has no index bit width');
  const indexWidth = page[offset] ?? 0;
  if (indexWidth > 32) throw new Error(`parquet dictionary index bit width ${indexWidth} is out of range`);
  const indices = new HybridStream(page, offset + 1, page.length, indexWidth);
  const IndexArray = indexWidth <= 8 ? Uint8Array : indexWidth <= 16 ? Uint16Array : Int32Array;
  let definedScratch = new Uint8Array(0);
  let indexScratch: DictionaryIndices = new IndexArray(0);
  return {
    rows,
    nextPresence(count: number) {
      if (!levels) return { defined: undefined, present: count };
      if (reuse && definedScratch.length < count) definedScratch = new Uint8Array(count);
      const defined = reuse ? definedScratch.subarray(0, count) : new Uint8Array(count);
      levels.read(defined, count);
      let present = 0;
      for (let i = 0; i < count; i++) {
        const d = defined[i] === maxDefinition ? 1 : 0;
        defined[i] = d;
        present += d;
      }
      return { defined: present === count ? undefined : defined, present };
    },
    nextIndices(count: number) {
      if (reuse && indexScratch.length < count) indexScratch = new IndexArray(count);
      const out = reuse ? indexScratch.subarray(0, count) : new IndexArray(count);
      indices.read(out, count);
      return out;
    },
  };
}

/** The page's values in row order (hyparquet's representation), decoded for the rows taken only. */
export function lazyDictionaryPage(
  compressed: Uint8Array,
  header: PageHeader & { data_page_header: DataPageHeader },
  decoder: ColumnDecoder,
  dictionary: DecodedArray,
): PagePiece {
  // Levels and indices are turned into values at once, so the stream's arrays are reused from slice to slice.
  const streams = dictionaryPageStreams(compressed, header, decoder, true);
  let nextRow = 0;
  return {
    length: streams.rows,
    take(start: number, count: number): DecodedArray {
      if (start !== nextRow) throw new Error(`page rows taken out of order (${start}, expected ${nextRow})`);
      const { defined, present } = streams.nextPresence(count);
      const indices = streams.nextIndices(present);
      const out = new Array<unknown>(count);
      if (defined) {
        let next = 0;
        for (let i = 0; i < count; i++) out[i] = defined[i] ? dictionary[indices[next++]!] : null;
      } else {
        for (let i = 0; i < count; i++) out[i] = dictionary[indices[i]!];
      }
      nextRow += count;
      return out;
    },
  };
}

function bitWidth(value: number): number {
  return 32 - Math.clz32(value);
}
