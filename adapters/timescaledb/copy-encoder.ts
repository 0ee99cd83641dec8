/**
 * The TimescaleDB adapter's encoder module for the engine's decode workers (src/workers/encoder.ts): decoded
 * Parquet → the bytes of `COPY <staging> (…, _shadowfill_batch) FROM STDIN`, each row ending with the batch
 * column, produced in a worker thread (or on the main thread by the same code).
 *
 * Two formats, chosen per table by `copyFormatFor` (the loader and the encoder agree through the options):
 * - **binary** (`FORMAT binary`) when every column is a pair copy-binary.ts writes exactly: the encoder reads
 *   columnar chunks (src/parquet/columnar.ts: raw typed arrays, strings as bytes) and writes the binary tuples
 *   column by column; the loader adds the header and trailer. No JS value per row, and the server parses no text.
 * - **text** otherwise: the rows of readRowChunks through encode.ts's encoders and `copyField` escaping — the same
 *   text load.ts writes for `rows` input.
 *
 * The adapter names this module and its options (`copyEncoderSpec`); the options are plain data, so they cross
 * the thread boundary. A value the column cannot take fails with the message load.ts gives (object, column,
 * row group, table, what to do).
 */
import type { RowChunk } from '../../src/adapter/contract.ts';
import { SchemaMismatchError } from '../../src/errors.ts';
import type { ColumnarChunk, ColumnVector } from '../../src/parquet/columnar.ts';
import type { SourceColumn, ValueType } from '../../src/source/types.ts';
import type { ChunkEncoder, EncoderSpec } from '../../src/workers/encoder.ts';
import { binaryWriterFor, type ColumnWriter } from './copy-binary.ts';
import { copyField, EncodeError, encoderFor, type Encoder } from './encode.ts';
import { classifyType } from './pg-types.ts';
import { tallyLayoutFor, tallySlices, type SliceTally, type TallySpec } from './slice-tally.ts';

export type CopyFormat = 'binary' | 'text';

export interface CopyEncoderColumn {
  readonly source: string;
  readonly target: string;
  /** The target column's format_type text. */
  readonly type: string;
  readonly sourceType: ValueType | undefined;
  /** The source column's Parquet type text (SourceColumn.parquetType). */
  readonly parquetType: string;
}

export interface CopyEncoderOptions {
  /** Source → target columns, in the COPY column order (the batch column follows them). */
  readonly columns: readonly CopyEncoderColumn[];
  readonly batch: number;
  /** `public.m`, for messages. */
  readonly tableName: string;
  readonly format: CopyFormat;
  /** Binary format: tally each piece's rows per chunk-interval slice (slice-tally.ts), handed on as its summary. */
  readonly tally?: TallySpec;
}

/** Binary when every column has a binary writer (copy-binary.ts), else text. */
export function copyFormatFor(columns: readonly Omit<CopyEncoderColumn, 'target'>[]): CopyFormat {
  return columns.every(
    (c) => binaryWriterFor(classifyType(c.type), c.sourceType, c.parquetType) !== undefined,
  )
    ? 'binary'
    : 'text';
}

/** The spec a run hands the decode pool: this module and its options. */
export function copyEncoderSpec(options: CopyEncoderOptions): EncoderSpec {
  return { module: import.meta.url, options };
}

/** Options for a mapping of source columns to target columns (as statements.ts's `mapColumns` gives). */
export function copyEncoderOptions(
  mapping: readonly { readonly source: SourceColumn; readonly target: { name: string; type: string } }[],
  batch: number,
  tableName: string,
  format?: CopyFormat,
  tally?: TallySpec,
): CopyEncoderOptions {
  const columns = mapping.map((m) => ({
    source: m.source.name,
    target: m.target.name,
    type: m.target.type,
    sourceType: m.source.type,
    parquetType: m.source.parquetType,
  }));
  return { columns, batch, tableName, format: format ?? copyFormatFor(columns), ...(tally ? { tally } : {}) };
}

/** The time column's index and field layout, and the interval, when this encoder can tally slices exactly. */
function tallyOf(
  options: CopyEncoderOptions,
): { index: number; layout: NonNullable<ReturnType<typeof tallyLayoutFor>>; interval: number } | undefined {
  const spec = options.tally;
  if (!spec) return undefined;
  const index = options.columns.findIndex((c) => c.target === spec.column);
  const layout = index < 0 ? undefined : tallyLayoutFor(classifyType(options.columns[index]!.type).kind);
  const interval = Number(spec.interval);
  if (!layout || !Number.isSafeInteger(interval) || interval <= 0 || String(interval) !== spec.interval) {
    return undefined;
  }
  return { index, layout, interval };
}

function refused(
  chunk: { object: { uri: string }; rowGroup: number },
  column: CopyEncoderColumn,
  tableName: string,
  error: EncodeError,
): SchemaMismatchError {
  return new SchemaMismatchError(
    `${chunk.object.uri} column "${column.source}" row group ${chunk.rowGroup}: ${error.message} (column "${column.target}" of ${tableName}) — change the column type or fix those rows in the source`,
    { cause: error },
  );
}

function missing(chunk: { object: { uri: string }; rowGroup: number }, source: string): SchemaMismatchError {
  return new SchemaMismatchError(
    `${chunk.object.uri} row group ${chunk.rowGroup} has no column "${source}" although the first object has it — export every object with the same columns`,
  );
}

export function createEncoder(raw: unknown): ChunkEncoder {
  const options = raw as CopyEncoderOptions;
  return options.format === 'binary' ? binaryEncoder(options) : textEncoder(options);
}

/** COPY text of rows [start, end) of a RowChunk (the same text load.ts writes). */
function textEncoder(options: CopyEncoderOptions): ChunkEncoder & { input: 'rows' } {
  const columns = options.columns.map((c) => ({ ...c, encode: encoderFor(c.type, c.sourceType) }));
  const rowEnd = columns.length === 0 ? `${options.batch}\n` : `\t${options.batch}\n`;
  const utf8 = new TextEncoder();
  return {
    input: 'rows',
    encode(chunk: RowChunk, start: number, end: number, keep?: Uint8Array): Uint8Array {
      const values = columns.map((c) => {
        const v = chunk.columns.get(c.source);
        if (!v) throw missing(chunk, c.source);
        return v;
      });
      let text = '';
      for (let i = start; i < end; i++) {
        if (keep && !keep[i]) continue;
        for (let c = 0; c < columns.length; c++) {
          if (c > 0) text += '\t';
          const column = columns[c]!;
          let field: string | null;
          try {
            field = (column.encode as Encoder)(values[c]![i] ?? null);
          } catch (error) {
            if (error instanceof EncodeError) throw refused(chunk, column, options.tableName, error);
            throw error;
          }
          text += copyField(field);
        }
        text += rowEnd;
      }
      return utf8.encode(text);
    },
  };
}

/**
 * Binary tuples of rows [start, end) of a ColumnarChunk: every row's size first (column by column), then every
 * column's fields at their rows' positions, then the batch column.
 */
function binaryEncoder(options: CopyEncoderOptions): ChunkEncoder & { input: 'columnar'; raw: string[] } {
  const columns = options.columns.map((c) => {
    const writer = binaryWriterFor(classifyType(c.type), c.sourceType, c.parquetType);
    if (!writer) throw new Error(`column "${c.target}" (${c.type}) cannot be written in binary format`);
    return { ...c, writer };
  });
  const fields = columns.length + 1;
  const fixedBytes = columns.reduce((n, c) => n + c.writer.fixed, 10);
  const batch = options.batch;
  const vectorsOf = (chunk: ColumnarChunk) =>
    columns.map((c) => {
      const vector: ColumnVector | undefined = chunk.columns.get(c.source);
      if (!vector) throw missing(chunk, c.source);
      if (vector.kind !== 'raw') {
        throw new Error(`column "${c.source}" of ${chunk.object.uri} was not decoded raw for binary COPY`);
      }
      return vector.segments;
    });
  const guard = <T>(chunk: ColumnarChunk, column: CopyEncoderColumn, run: () => T): T => {
    try {
      return run();
    } catch (error) {
      if (error instanceof EncodeError) throw refused(chunk, column, options.tableName, error);
      throw error;
    }
  };
  // Per-row sizes and write positions, reused from piece to piece (every entry used is written first).
  let scratch = { sizes: new Int32Array(0), pos: new Int32Array(0), timeAt: new Int32Array(0) };
  const tally = tallyOf(options);
  let summary: SliceTally | undefined;
  return {
    input: 'columnar',
    raw: columns.map((c) => c.source),
    takeSummary(): SliceTally | undefined {
      const taken = summary;
      summary = undefined;
      return taken;
    },
    encode(
      chunk: ColumnarChunk,
      start: number,
      end: number,
      keep?: Uint8Array,
      alloc?: (size: number) => Uint8Array,
    ): Uint8Array {
      const segments = vectorsOf(chunk);
      const n = end - start;
      if (scratch.sizes.length < n) {
        scratch = { sizes: new Int32Array(n), pos: new Int32Array(n), timeAt: new Int32Array(n) };
      }
      // field count (2) + the batch field (4 + 4) + the fixed-size fields per row, then what varies
      const sizes = scratch.sizes.subarray(0, n).fill(fixedBytes);
      for (let c = 0; c < columns.length; c++) {
        const column = columns[c]!;
        guard(chunk, column, () => column.writer.size(segments[c]!, start, end, sizes));
      }
      // Rows left out by the filter are written after the kept ones and cut off.
      const pos = scratch.pos.subarray(0, n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        if (keep && !keep[start + i]) continue;
        pos[i] = total;
        total += sizes[i]!;
      }
      let all = total;
      if (keep) {
        for (let i = 0; i < n; i++) {
          if (keep[start + i]) continue;
          pos[i] = all;
          all += sizes[i]!;
        }
      }
      // Every byte of `out` is written below (field counts, fields, batch fields), so a reused buffer is fine.
      const out = alloc ? alloc(all) : new Uint8Array(all);
      for (let i = 0; i < n; i++) {
        const at = pos[i]!;
        out[at] = fields >>> 8;
        out[at + 1] = fields;
        pos[i] = at + 2;
      }
      for (let c = 0; c < columns.length; c++) {
        const column = columns[c]!;
        const writer: ColumnWriter = column.writer;
        if (tally?.index === c) scratch.timeAt.set(pos);
        guard(chunk, column, () => writer.write(segments[c]!, start, end, out, pos));
      }
      summary = tally
        ? tallySlices(out, scratch.timeAt, n, tally.layout, tally.interval, keep, start)
        : undefined;
      const b0 = batch >>> 24;
      const b1 = (batch >>> 16) & 0xff;
      const b2 = (batch >>> 8) & 0xff;
      const b3 = batch & 0xff;
      for (let i = 0; i < n; i++) {
        const at = pos[i]!;
        out[at] = 0;
        out[at + 1] = 0;
        out[at + 2] = 0;
        out[at + 3] = 4;
        out[at + 4] = b0;
        out[at + 5] = b1;
        out[at + 6] = b2;
        out[at + 7] = b3;
      }
      return keep ? out.subarray(0, total) : out;
    },
  };
}
