/**
 * Writes small Parquet files byte by byte (Thrift compact protocol, pages laid out by hand), to reproduce files
 * that real-world writers produce and common writers cannot be made to: an empty v2 data page (its body only
 * snappy's length header), or a column chunk whose footer declares fewer bytes than its pages take (old
 * parquet-mr left the dictionary page header out of `total_compressed_size`, IMPALA-694 / PARQUET-816).
 * One row group, flat REQUIRED columns; INT64 values in PLAIN pages, UTF8 strings dictionary-encoded.
 */

// ---- Thrift compact protocol ----

type Value =
  | { t: 'i32' | 'i64'; v: number | bigint }
  | { t: 'bool'; v: boolean }
  | { t: 'bin'; v: Uint8Array | string }
  | { t: 'list'; elem: 'i32' | 'bin' | 'struct'; v: Value[] }
  | { t: 'struct'; v: Field[] };
type Field = [id: number, value: Value];

const TYPE = { bool: 1, i32: 5, i64: 6, bin: 8, list: 9, struct: 12 } as const;

function varint(out: number[], value: bigint): void {
  let v = value;
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
}
const zigzag = (v: bigint) => (v << 1n) ^ (v >> 63n);

function write(out: number[], value: Value): void {
  switch (value.t) {
    case 'i32':
    case 'i64':
      varint(out, zigzag(BigInt(value.v)) & 0xffffffffffffffffn);
      return;
    case 'bool':
      out.push(value.v ? 1 : 0);
      return;
    case 'bin': {
      const bytes = typeof value.v === 'string' ? new TextEncoder().encode(value.v) : value.v;
      varint(out, BigInt(bytes.length));
      out.push(...bytes);
      return;
    }
    case 'list': {
      const elem = value.elem === 'i32' ? TYPE.i32 : value.elem === 'bin' ? TYPE.bin : TYPE.struct;
      if (value.v.length < 15) out.push((value.v.length << 4) | elem);
      else {
        out.push(0xf0 | elem);
        varint(out, BigInt(value.v.length));
      }
      for (const v of value.v) write(out, v);
      return;
    }
    case 'struct': {
      let last = 0;
      for (const [id, v] of value.v) {
        const type = v.t === 'bool' ? (v.v ? 1 : 2) : TYPE[v.t];
        if (id > last && id - last <= 15) out.push(((id - last) << 4) | type);
        else {
          out.push(type);
          write(out, { t: 'i32', v: id });
        }
        last = id;
        if (v.t !== 'bool') write(out, v);
      }
      out.push(0);
    }
  }
}

const struct = (...fields: Field[]): Value => ({ t: 'struct', v: fields });
const i32 = (v: number): Value => ({ t: 'i32', v });
const i64 = (v: number): Value => ({ t: 'i64', v });
const bin = (v: string | Uint8Array): Value => ({ t: 'bin', v });
const encode = (value: Value): number[] => {
  const out: number[] = [];
  write(out, value);
  return out;
};

// ---- pages ----

/** Snappy as literals only (valid, uncompressed): varint length, then ≤ 60-byte literal runs. */
export function snappyLiteral(bytes: readonly number[]): number[] {
  const out: number[] = [];
  varint(out, BigInt(bytes.length));
  for (let i = 0; i < bytes.length; i += 60) {
    const run = bytes.slice(i, i + 60);
    out.push((run.length - 1) << 2, ...run);
  }
  return out;
}

const int64Plain = (values: readonly bigint[]) => {
  const out: number[] = [];
  for (const v of values) {
    const b = new DataView(new ArrayBuffer(8));
    b.setBigInt64(0, v, true);
    out.push(...new Uint8Array(b.buffer));
  }
  return out;
};

/** A DATA_PAGE_V2 of a REQUIRED INT64 column (PLAIN), snappy-compressed (or not); `values` may be empty. */
function dataPageV2(values: readonly bigint[], codec: 0 | 1 = 1): number[] {
  const plain = int64Plain(values);
  const body = codec === 1 ? snappyLiteral(plain) : plain;
  const header = struct(
    [1, i32(3)],
    [2, i32(plain.length)],
    [3, i32(body.length)],
    [
      8,
      struct(
        [1, i32(values.length)],
        [2, i32(0)],
        [3, i32(values.length)],
        [4, i32(0)],
        [5, i32(0)],
        [6, i32(0)],
      ),
    ],
  );
  return [...encode(header), ...body];
}

/** A dictionary page (PLAIN strings) and its header, uncompressed. */
function dictionaryPage(words: readonly string[]): { header: number[]; body: number[] } {
  const body: number[] = [];
  for (const w of words) {
    const bytes = new TextEncoder().encode(w);
    const len = new DataView(new ArrayBuffer(4));
    len.setInt32(0, bytes.length, true);
    body.push(...new Uint8Array(len.buffer), ...bytes);
  }
  const header = encode(
    struct(
      [1, i32(2)],
      [2, i32(body.length)],
      [3, i32(body.length)],
      [7, struct([1, i32(words.length)], [2, i32(0)])],
    ),
  );
  return { header, body };
}

/** A v1 DATA_PAGE of dictionary indices (RLE runs of one value each), uncompressed. */
function indexPage(indices: readonly number[], words: number): number[] {
  const width = Math.max(1, 32 - Math.clz32(words - 1));
  const bytes = Math.ceil(width / 8);
  const body: number[] = [width];
  for (const index of indices) {
    varint(body, BigInt(1 << 1));
    for (let b = 0; b < bytes; b++) body.push((index >> (8 * b)) & 0xff);
  }
  const header = encode(
    struct(
      [1, i32(0)],
      [2, i32(body.length)],
      [3, i32(body.length)],
      [5, struct([1, i32(indices.length)], [2, i32(8)], [3, i32(3)], [4, i32(3)])],
    ),
  );
  return [...header, ...body];
}

// ---- files ----

interface Chunk {
  readonly name: string;
  readonly type: 'INT64' | 'UTF8';
  readonly codec: 0 | 1;
  readonly bytes: number[];
  readonly values: number;
  readonly encodings: readonly number[];
  /** Offset of the dictionary page within `bytes`, when there is one. */
  readonly dictionary: boolean;
  /** Offset of the first data page within `bytes`. */
  readonly dataOffset: number;
  /** Declared `total_compressed_size` (default: the real one). */
  readonly declared?: number;
}

function file(chunks: readonly Chunk[], rows: number, createdBy: string): Uint8Array {
  const out: number[] = [...new TextEncoder().encode('PAR1')];
  const columns: Value[] = [];
  for (const c of chunks) {
    const start = out.length;
    out.push(...c.bytes);
    const meta: Field[] = [
      [1, i32(c.type === 'INT64' ? 2 : 6)],
      [2, { t: 'list', elem: 'i32', v: c.encodings.map(i32) }],
      [3, { t: 'list', elem: 'bin', v: [bin(c.name)] }],
      [4, i32(c.codec)],
      [5, i64(c.values)],
      [6, i64(c.bytes.length)],
      [7, i64(c.declared ?? c.bytes.length)],
      [9, i64(start + c.dataOffset)],
    ];
    if (c.dictionary) meta.push([11, i64(start)]);
    columns.push(struct([2, i64(start)], [3, struct(...meta)]));
  }
  const schema: Value[] = [struct([4, bin('schema')], [5, i32(chunks.length)])];
  for (const c of chunks) {
    schema.push(
      c.type === 'INT64'
        ? struct([1, i32(2)], [3, i32(0)], [4, bin(c.name)])
        : struct([1, i32(6)], [3, i32(0)], [4, bin(c.name)], [6, i32(0)]),
    );
  }
  const footer = encode(
    struct(
      [1, i32(1)],
      [2, { t: 'list', elem: 'struct', v: schema }],
      [3, i64(rows)],
      [
        4,
        {
          t: 'list',
          elem: 'struct',
          v: [
            struct(
              [1, { t: 'list', elem: 'struct', v: columns }],
              [2, i64(chunks.reduce((n, c) => n + c.bytes.length, 0))],
              [3, i64(rows)],
            ),
          ],
        },
      ],
      [6, bin(createdBy)],
    ),
  );
  out.push(...footer);
  const len = new DataView(new ArrayBuffer(4));
  len.setInt32(0, footer.length, true);
  out.push(...new Uint8Array(len.buffer), ...new TextEncoder().encode('PAR1'));
  return new Uint8Array(out);
}

/** A DATA_PAGE_V2 of dictionary indices (RLE runs), snappy-compressed; `indices` may be empty (no bit width then). */
function indexPageV2(indices: readonly number[], words: number): number[] {
  const width = Math.max(1, 32 - Math.clz32(words - 1));
  const raw: number[] = indices.length ? [width] : [];
  for (const index of indices) {
    varint(raw, BigInt(1 << 1));
    for (let b = 0; b < Math.ceil(width / 8); b++) raw.push((index >> (8 * b)) & 0xff);
  }
  const body = snappyLiteral(raw);
  const header = struct(
    [1, i32(3)],
    [2, i32(raw.length)],
    [3, i32(body.length)],
    [
      8,
      struct(
        [1, i32(indices.length)],
        [2, i32(0)],
        [3, i32(indices.length)],
        [4, i32(8)],
        [5, i32(0)],
        [6, i32(0)],
      ),
    ],
  );
  return [...encode(header), ...body];
}

/**
 * Column `word` (UTF8, dictionary-encoded, snappy v2 data pages) whose chunk ends with an empty v2 data page:
 * num_values = num_rows = 0, uncompressed_page_size 0, and a one-byte body — snappy's length header of an empty
 * page (no dictionary bit width). Rows: word-3, word-0, word-7, word-0.
 */
export function emptyV2DictionaryPageFile(): Uint8Array {
  const words = Array.from({ length: 10 }, (_, i) => `word-${i}`);
  const dict = dictionaryPage(words);
  const dictSnappy = snappyLiteral(dict.body);
  const dictHeader = encode(
    struct(
      [1, i32(2)],
      [2, i32(dict.body.length)],
      [3, i32(dictSnappy.length)],
      [7, struct([1, i32(words.length)], [2, i32(0)])],
    ),
  );
  const bytes = [
    ...dictHeader,
    ...dictSnappy,
    ...indexPageV2([3, 0, 7, 0], words.length),
    ...indexPageV2([], words.length),
  ];
  return file(
    [
      {
        name: 'word',
        type: 'UTF8',
        codec: 1,
        bytes,
        values: 4,
        encodings: [0, 8],
        dictionary: true,
        dataOffset: dictHeader.length + dictSnappy.length,
      },
    ],
    4,
    'parquet-cpp-arrow version 14.0.1',
  );
}

/**
 * Column `n` (INT64, snappy v2 data pages) whose second of three pages is empty: header num_values = num_rows = 0,
 * uncompressed_page_size 0, and a one-byte body — snappy's length header of an empty page. Rows: 1, 2, 3, 4, 5.
 */
export function emptyV2PageFile(): Uint8Array {
  const pages = [...dataPageV2([1n, 2n, 3n]), ...dataPageV2([]), ...dataPageV2([4n, 5n])];
  return file(
    [
      {
        name: 'n',
        type: 'INT64',
        codec: 1,
        bytes: pages,
        values: 5,
        encodings: [0],
        dictionary: false,
        dataOffset: 0,
      },
    ],
    5,
    'parquet-cpp-arrow version 14.0.1',
  );
}

/**
 * Column `word` (UTF8, dictionary-encoded) as old parquet-mr wrote it: no `dictionary_page_offset` (the chunk
 * starts with its dictionary page at `data_page_offset`) and a `total_compressed_size` `short` bytes smaller
 * than the pages take — so the dictionary page's declared size runs past the end of the chunk as declared.
 * Then column `n` (INT64) right after it. Rows: (word-3, 10), (word-0, 11), (word-7, 12), (word-0, 13).
 */
export function shortChunkFile(
  short: number,
  createdBy = 'parquet-mr version 1.2.8 (build 0123456789abcdef)',
): Uint8Array {
  const wordBytes = wordChunk().bytes;
  const nValues = [10n, 11n, 12n, 13n];
  const plain = int64Plain(nValues);
  const nPage = [
    ...encode(
      struct(
        [1, i32(0)],
        [2, i32(plain.length)],
        [3, i32(plain.length)],
        [5, struct([1, i32(4)], [2, i32(0)], [3, i32(3)], [4, i32(3)])],
      ),
    ),
    ...plain,
  ];
  return file(
    [
      {
        name: 'word',
        type: 'UTF8',
        codec: 0,
        bytes: wordBytes,
        values: 4,
        encodings: [0, 8],
        dictionary: false,
        dataOffset: 0,
        declared: wordBytes.length - short,
      },
      {
        name: 'n',
        type: 'INT64',
        codec: 0,
        bytes: nPage,
        values: 4,
        encodings: [0],
        dictionary: false,
        dataOffset: 0,
      },
    ],
    4,
    createdBy,
  );
}

/** The `word` chunk of shortChunkFile: a dictionary page of 10 words, then one page of 4 indices. */
function wordChunk(): { dictionaryPage: number; bytes: number[] } {
  const words = Array.from({ length: 10 }, (_, i) => `word-${i}`);
  const dict = dictionaryPage(words);
  const data = indexPage([3, 0, 7, 0], words.length);
  return {
    dictionaryPage: dict.header.length + dict.body.length,
    bytes: [...dict.header, ...dict.body, ...data],
  };
}

/** How long the `word` chunk's dictionary page is (header + body), to place the declared end inside it. */
export function shortChunkLayout(): { dictionaryPage: number; chunk: number } {
  const chunk = wordChunk();
  return { dictionaryPage: chunk.dictionaryPage, chunk: chunk.bytes.length };
}

/** Test helper: an INT64 column of v2 pages with these values each (for checking the writer itself). */
export function v2PagesFile(pages: readonly (readonly bigint[])[], codec: 0 | 1 = 1): Uint8Array {
  const bytes = pages.flatMap((p) => dataPageV2(p, codec));
  const values = pages.reduce((n, p) => n + p.length, 0);
  return file(
    [{ name: 'n', type: 'INT64', codec, bytes, values, encodings: [0], dictionary: false, dataOffset: 0 }],
    values,
    'parquet-cpp-arrow version 14.0.1',
  );
}
