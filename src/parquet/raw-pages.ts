/**
 * Raw, columnar decoding of one flat leaf column chunk (a top-level column that is neither nested nor
 * repeated), page by page: values stay in their Parquet physical representation — INT64 in a BigInt64Array,
 * strings as bytes inside the decompressed page with per-value starts and lengths, dictionary-encoded pages as
 * the dictionary plus one compact index per value — so a consumer that writes bytes (a binary COPY encoder) never
 * creates a JS object per value. The logical meaning (timestamp unit, decimal scale, string or binary) is the
 * column's ValueType (src/source/types.ts); nothing here interprets it.
 *
 * Decompression, level and encoding decoding are hyparquet's (the internals of hyparquet-internals.ts); plain
 * byte arrays are read here and dictionary indices in dictionary-page.ts, so no value becomes an object. A plain
 * page is decoded whole (its bytes cap its rows); a dictionary-encoded v1 page, which can hold a whole row group,
 * is decoded a slice at a time: its levels and indices only for the rows taken. Pages are walked exactly as
 * column-pages.ts walks them (`nextPage`): until the chunk's `num_values`, index pages and empty pages skipped.
 *
 * Terminology:
 * - **segment**  Consecutive rows of one page: per-row presence (`defined`, absent when no row is null) and the
 *                dense values of the present rows, from `first` on (through `indices` for dictionary pages).
 */
import {
  decompressPage,
  getMaxDefinitionLevel,
  readDataPage,
  readDataPageV2,
  readPage,
  readPlain,
  readRleBitPackedHybrid,
  type ColumnDecoder,
  type DataPageHeader,
  type DecodedArray,
  type PageHeader,
} from './hyparquet-internals.ts';
import { nextPage, type PageCursor } from './column-pages.ts';
import {
  dictionaryPageStreams,
  type DictionaryIndices,
  type DictionaryPageStreams,
} from './dictionary-page.ts';

/** Dense values (present rows only) of one page or dictionary, in their physical representation. */
export type RawValues =
  | {
      readonly type: 'bytes';
      /** BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY: value i is buffer[starts[i] .. starts[i] + lengths[i]). */
      readonly buffer: Uint8Array;
      readonly starts: Int32Array;
      readonly lengths: Int32Array;
    }
  | { readonly type: 'int32'; readonly data: Int32Array }
  | { readonly type: 'int64'; readonly data: BigInt64Array }
  | { readonly type: 'float'; readonly data: Float32Array }
  | { readonly type: 'double'; readonly data: Float64Array }
  | { readonly type: 'boolean'; readonly data: Uint8Array };

export type { DictionaryIndices };

/** Rows of one page (see Terminology). */
export interface RawSegment {
  readonly rows: number;
  /** Per row: 1 = a value, 0 = null. Undefined when every row of the segment has a value. */
  readonly defined: Uint8Array | undefined;
  /** Position of the segment's first value in `indices` (dictionary pages) or in `values`. */
  readonly first: number;
  /** Dictionary pages: the dictionary's index of each value; `values` is then the dictionary. */
  readonly indices: DictionaryIndices | undefined;
  readonly values: RawValues;
}

/** True for a leaf this module decodes: flat (root → leaf), not repeated, not INT96. */
export function isRawDecodable(decoder: ColumnDecoder): boolean {
  return (
    decoder.schemaPath.length === 2 &&
    decoder.element.repetition_type !== 'REPEATED' &&
    decoder.type !== 'INT96'
  );
}

/** The same decoder with the logical annotations removed, so hyparquet hands values over unconverted. */
export function rawDecoder(decoder: ColumnDecoder): ColumnDecoder {
  const { converted_type: _c, logical_type: _l, ...element } = decoder.element;
  const leaf = { ...decoder.schemaPath[1]!, element };
  return { ...decoder, element, schemaPath: [decoder.schemaPath[0]!, leaf], utf8: false };
}

/**
 * Rows of one page, taken in order. A page whose values are plain is decoded whole (its size is capped by its
 * bytes); a dictionary-encoded v1 page, which can hold a whole row group, is decoded a slice at a time.
 */
interface Piece {
  readonly length: number;
  /** Rows taken so far. */
  readonly taken: number;
  /** The next `count` rows (at most `length - taken`). */
  take(count: number): RawSegment;
}

/** One flat leaf column chunk of one row group, decoded raw on demand in row order. */
export class RawLeafReader {
  private readonly cursor: PageCursor;
  private readonly decoder: ColumnDecoder;
  private readonly maxDefinition: number;
  private dictionary: RawValues | undefined;
  private readonly pieces: Piece[] = [];
  private buffered = 0;

  /**
   * @param reuse dictionary-encoded v1 pages reuse their level and index arrays from take to take (a take's
   *   segments are then valid only until the next take)
   */
  constructor(
    bytes: Uint8Array,
    decoder: ColumnDecoder,
    totalValues = Infinity,
    private readonly reuse = false,
  ) {
    if (!isRawDecodable(decoder)) throw new Error('RawLeafReader reads flat, non-repeated leaves only');
    this.decoder = rawDecoder(decoder);
    this.cursor = {
      reader: { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 },
      totalValues,
      valuesRead: 0,
      ended: false,
    };
    this.maxDefinition = getMaxDefinitionLevel(this.decoder.schemaPath);
  }

  /** The next `rows` rows as segments; throws when the chunk ends first. */
  take(rows: number): RawSegment[] {
    while (this.buffered < rows && !this.cursor.ended) this.readNextPage();
    if (this.buffered < rows) {
      throw new Error(
        `the column chunk ends ${rows - this.buffered} rows short of the row group's row count`,
      );
    }
    this.buffered -= rows;
    const segments: RawSegment[] = [];
    let needed = rows;
    while (needed > 0) {
      const piece = this.pieces[0]!;
      const count = Math.min(piece.length - piece.taken, needed);
      segments.push(piece.take(count));
      needed -= count;
      if (piece.taken === piece.length) this.pieces.shift();
    }
    return segments;
  }

  /** Rows left after the row group's rows were taken (0 for a well-formed chunk); decodes the remaining pages. */
  remainingRows(): number {
    while (!this.cursor.ended) this.readNextPage();
    return this.buffered;
  }

  private readNextPage(): void {
    const page = nextPage(this.cursor);
    if (!page) return;
    const { header, reader } = page;
    if (header.type === 'DICTIONARY_PAGE' && this.decoder.type === 'BYTE_ARRAY') {
      // Byte-array dictionaries are scanned in place (hyparquet would make one view per entry).
      const start = reader.offset;
      reader.offset += header.compressed_page_size;
      const page = decompressPage(
        new Uint8Array(reader.view.buffer, reader.view.byteOffset + start, header.compressed_page_size),
        Number(header.uncompressed_page_size),
        this.decoder.codec,
        this.decoder.compressors,
      );
      this.dictionary = plainByteArrays(page, 0, header.dictionary_page_header?.num_values ?? 0);
      return;
    }
    if (header.type === 'DICTIONARY_PAGE') {
      const { data } = readPage(reader, header, this.decoder, undefined, undefined, 0);
      this.dictionary = data ? rawValues(data, this.decoder) : undefined;
      return;
    }
    const start = reader.offset;
    reader.offset += header.compressed_page_size;
    const compressed = new Uint8Array(
      reader.view.buffer,
      reader.view.byteOffset + start,
      header.compressed_page_size,
    );
    const piece =
      header.type === 'DATA_PAGE' && header.data_page_header
        ? this.dataPageV1(compressed, header as PageHeader & { data_page_header: DataPageHeader })
        : this.dataPageV2(compressed, header);
    if (piece.length > 0) {
      this.pieces.push(piece);
      this.buffered += piece.length;
    }
  }

  private dataPageV1(
    compressed: Uint8Array,
    header: PageHeader & { data_page_header: DataPageHeader },
  ): Piece {
    const daph = header.data_page_header;
    const decoder = this.decoder;
    const encoding = daph.encoding;
    if (encoding === 'RLE_DICTIONARY' || encoding === 'PLAIN_DICTIONARY') {
      return streamedDictionaryPiece(
        dictionaryPageStreams(compressed, header, decoder, this.reuse),
        this.knownDictionary(),
      );
    }
    const page = decompressPage(
      compressed,
      Number(header.uncompressed_page_size),
      decoder.codec,
      decoder.compressors,
    );
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const reader = { view, offset: 0 };
    const rows = daph.num_values;
    let defined: Uint8Array | undefined;
    let present = rows;
    if (this.maxDefinition > 0) {
      const levels = new Uint8Array(rows);
      readRleBitPackedHybrid(reader, bitWidth(this.maxDefinition), levels as unknown as DecodedArray);
      ({ defined, present } = presence(levels, this.maxDefinition));
    }
    if (encoding === 'PLAIN' && decoder.type === 'BYTE_ARRAY') {
      return piece(rows, defined, undefined, plainByteArrays(page, reader.offset, present));
    }
    if (encoding === 'PLAIN' && decoder.type !== 'BOOLEAN') {
      const data = readPlain(reader, decoder.type, present, decoder.element.type_length);
      return piece(rows, defined, undefined, rawValues(data, decoder));
    }
    // Other encodings (delta, byte stream split, RLE booleans): hyparquet decodes the values (levels again).
    const decoded = readDataPage(page, daph, decoder);
    return piece(rows, defined, undefined, rawValues(decoded.dataPage, decoder));
  }

  private dataPageV2(compressed: Uint8Array, header: PageHeader): Piece {
    const daph2 = header.data_page_header_v2;
    if (!daph2) throw new Error(`parquet page of type ${header.type} cannot be decoded`);
    const decoded = readDataPageV2(compressed, header, this.decoder);
    const rows = daph2.num_values;
    let defined: Uint8Array | undefined;
    let present = rows;
    const levels = decoded.definitionLevels as ArrayLike<number> | undefined;
    if (this.maxDefinition > 0 && levels && levels.length > 0) {
      ({ defined, present } = presence(Uint8Array.from(levels), this.maxDefinition));
    }
    if (decoded.dataPage.length !== present) {
      throw new Error(`parquet page has ${decoded.dataPage.length} values for ${present} non-null rows`);
    }
    if (daph2.encoding === 'RLE_DICTIONARY' || daph2.encoding === 'PLAIN_DICTIONARY') {
      return this.dictionaryPiece(rows, defined, Int32Array.from(decoded.dataPage as ArrayLike<number>));
    }
    return piece(rows, defined, undefined, rawValues(decoded.dataPage, this.decoder));
  }

  private dictionaryPiece(rows: number, defined: Uint8Array | undefined, indices: DictionaryIndices): Piece {
    const dictionary = this.knownDictionary();
    checkIndices(indices, dictionary);
    return piece(rows, defined, indices, dictionary);
  }

  private knownDictionary(): RawValues {
    if (!this.dictionary) throw new Error('parquet dictionary-encoded page without a dictionary page');
    return this.dictionary;
  }
}

function checkIndices(indices: DictionaryIndices, dictionary: RawValues): void {
  const size = valueCount(dictionary);
  let max = 0;
  for (let i = 0; i < indices.length; i++) if (indices[i]! > max) max = indices[i]!;
  if (indices.length > 0 && max >= size) {
    throw new Error(`parquet dictionary index ${max} is past the dictionary's ${size} values`);
  }
}

/** A page decoded whole: segments are views of its arrays. */
function piece(
  length: number,
  defined: Uint8Array | undefined,
  indices: DictionaryIndices | undefined,
  values: RawValues,
): Piece {
  const present = defined ? defined.reduce((n, d) => n + d, 0) : length;
  const available = indices ? indices.length : valueCount(values);
  if (available < present) {
    throw new Error(`parquet page has ${available} values for ${present} non-null rows`);
  }
  let row = 0;
  let value = 0;
  return {
    length,
    get taken() {
      return row;
    },
    take(count: number): RawSegment {
      const part = defined?.subarray(row, row + count);
      let n = count;
      if (part) {
        n = 0;
        for (let i = 0; i < count; i++) n += part[i]!;
      }
      const segment = { rows: count, defined: part, first: value, indices, values };
      row += count;
      value += n;
      return segment;
    },
  };
}

/** A dictionary-encoded v1 page: levels and indices decoded for the rows taken only (dictionary-page.ts). */
function streamedDictionaryPiece(streams: DictionaryPageStreams, dictionary: RawValues): Piece {
  let row = 0;
  return {
    length: streams.rows,
    get taken() {
      return row;
    },
    take(count: number): RawSegment {
      const { defined, present } = streams.nextPresence(count);
      const indices = streams.nextIndices(present);
      checkIndices(indices, dictionary);
      row += count;
      return { rows: count, defined, first: 0, indices, values: dictionary };
    },
  };
}

function presence(levels: Uint8Array, max: number): { defined: Uint8Array | undefined; present: number } {
  let present = 0;
  for (let i = 0; i < levels.length; i++) {
    const d = levels[i] === max ? 1 : 0;
    levels[i] = d;
    present += d;
  }
  return { defined: present === levels.length ? undefined : levels, present };
}

/** PLAIN BYTE_ARRAY values: 4-byte little-endian length, then the bytes; kept in place in `page`. */
function plainByteArrays(page: Uint8Array, offset: number, count: number): RawValues {
  const starts = new Int32Array(count);
  const lengths = new Int32Array(count);
  const end = page.length;
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 4 > end) throw new Error('parquet byte array page ends inside a value length');
    const length = (page[at]! | (page[at + 1]! << 8) | (page[at + 2]! << 16) | (page[at + 3]! << 24)) >>> 0;
    at += 4;
    if (length > end - at) throw new Error('parquet byte array value runs past the end of its page');
    starts[i] = at;
    lengths[i] = length;
    at += length;
  }
  return { type: 'bytes', buffer: page, starts, lengths };
}

/** Values as hyparquet hands them over unconverted → RawValues. */
export function rawValues(data: DecodedArray, decoder: ColumnDecoder): RawValues {
  if (data instanceof BigInt64Array) return { type: 'int64', data };
  if (data instanceof Int32Array) return { type: 'int32', data };
  if (data instanceof Float64Array) return { type: 'double', data };
  if (data instanceof Float32Array) return { type: 'float', data };
  if (decoder.type === 'BOOLEAN')
    return { type: 'boolean', data: Uint8Array.from(data as ArrayLike<number>) };
  if (decoder.type === 'BYTE_ARRAY' || decoder.type === 'FIXED_LEN_BYTE_ARRAY') {
    const views = data as ArrayLike<Uint8Array>;
    let total = 0;
    for (let i = 0; i < views.length; i++) total += views[i]!.length;
    const buffer = new Uint8Array(total);
    const starts = new Int32Array(views.length);
    const lengths = new Int32Array(views.length);
    let at = 0;
    for (let i = 0; i < views.length; i++) {
      const v = views[i]!;
      buffer.set(v, at);
      starts[i] = at;
      lengths[i] = v.length;
      at += v.length;
    }
    return { type: 'bytes', buffer, starts, lengths };
  }
  if (decoder.type === 'INT32') return { type: 'int32', data: Int32Array.from(data as ArrayLike<number>) };
  if (decoder.type === 'INT64') return { type: 'int64', data: BigInt64Array.from(data as ArrayLike<bigint>) };
  if (decoder.type === 'FLOAT') return { type: 'float', data: Float32Array.from(data as ArrayLike<number>) };
  if (decoder.type === 'DOUBLE')
    return { type: 'double', data: Float64Array.from(data as ArrayLike<number>) };
  throw new Error(`parquet physical type ${decoder.type} has no raw representation`);
}

export function valueCount(values: RawValues): number {
  return values.type === 'bytes' ? values.starts.length : values.data.length;
}

function bitWidth(value: number): number {
  return 32 - Math.clz32(value);
}
