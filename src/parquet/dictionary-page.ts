/**
 * Lazy decoding of dictionary-encoded v1 data pages of flat columns. Writers cap pages by encoded bytes, so a
 * dictionary page with small indices can hold a whole row group (ClickHouse: ~1M rows in a 1 MB page);
 * hyparquet would turn it into a JS array of every value at once. Here the page's definition levels and
 * dictionary indices are decoded into compact typed arrays (1 + 1, 2 or 4 bytes a row) and values are looked up in the
 * dictionary only for the rows taken, so a slice costs its own rows, not its page's.
 * Output matches hyparquet's for the same page: a plain array of dictionary values, `null` for missing ones.
 */
import {
  decompressPage,
  getMaxDefinitionLevel,
  readRleBitPackedHybrid,
  type ColumnDecoder,
  type DataPageHeader,
  type DecodedArray,
  type PageHeader,
} from './hyparquet-internals.ts';

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
  dictionary: DecodedArray | undefined,
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

/** Decodes the levels and indices of the page whose bytes (after the header) are `compressed`. */
export function lazyDictionaryPage(
  compressed: Uint8Array,
  header: PageHeader & { data_page_header: DataPageHeader },
  decoder: ColumnDecoder,
  dictionary: DecodedArray,
): PagePiece {
  const page = decompressPage(
    compressed,
    Number(header.uncompressed_page_size),
    decoder.codec,
    decoder.compressors,
  );
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const reader = { view, offset: 0 };
  const rows = header.data_page_header.num_values;
  const maxDefinition = getMaxDefinitionLevel(decoder.schemaPath);

  let defined: Uint8Array | undefined;
  let values = rows;
  if (maxDefinition > 0) {
    const levels = new Uint8Array(rows);
    readRleBitPackedHybrid(reader, bitWidth(maxDefinition), levels);
    values = 0;
    for (let i = 0; i < rows; i++) if (levels[i] === maxDefinition) values++;
    if (values < rows) {
      for (let i = 0; i < rows; i++) levels[i] = levels[i] === maxDefinition ? 1 : 0;
      defined = levels;
    }
  }
  const indexWidth = view.getUint8(reader.offset++);
  // The narrowest array the indices fit in (all zeros when the index width is 0).
  const indices =
    indexWidth <= 8
      ? new Uint8Array(values)
      : indexWidth <= 16
        ? new Uint16Array(values)
        : new Int32Array(values);
  // hyparquet only writes `output[i] = value` into the array; any typed array does.
  if (indexWidth) {
    readRleBitPackedHybrid(reader, indexWidth, indices as DecodedArray, view.byteLength - reader.offset);
  }

  let nextValue = 0;
  let nextRow = 0;
  return {
    length: rows,
    take(start: number, count: number): DecodedArray {
      if (start !== nextRow) throw new Error(`page rows taken out of order (${start}, expected ${nextRow})`);
      const out = new Array<unknown>(count);
      if (defined) {
        for (let i = 0; i < count; i++) {
          out[i] = defined[start + i] ? dictionary[indices[nextValue++] as number] : null;
        }
      } else {
        for (let i = 0; i < count; i++) out[i] = dictionary[indices[nextValue++] as number];
      }
      nextRow += count;
      if (nextValue > values) throw new Error('parquet dictionary page has fewer values than its levels say');
      return out;
    },
  };
}

function bitWidth(value: number): number {
  return 32 - Math.clz32(value);
}
