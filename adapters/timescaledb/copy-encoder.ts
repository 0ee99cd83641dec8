/**
 * The TimescaleDB adapter's encoder module for the engine's decode workers (src/workers/encoder.ts): decoded
 * rows → COPY text format for the staging table, each row ending with the batch column — the same text
 * load.ts's COPY path writes (encode.ts's encoders, `copyField` escaping), produced in a worker thread.
 *
 * The adapter names this module and its options (`copyEncoderSpec`); the options are plain data, so they cross
 * the thread boundary. A value the column cannot take fails with the message load.ts gives (object, column,
 * row group, table, what to do).
 */
import type { RowChunk } from '../../src/adapter/contract.ts';
import { SchemaMismatchError } from '../../src/errors.ts';
import type { SourceColumn, ValueType } from '../../src/source/types.ts';
import type { ChunkEncoder, EncoderSpec } from '../../src/workers/encoder.ts';
import { copyField, EncodeError, encoderFor, type Encoder } from './encode.ts';

export interface CopyEncoderOptions {
  /** Source → target columns, in the COPY column order (the batch column follows them). */
  readonly columns: readonly {
    readonly source: string;
    readonly target: string;
    /** The target column's format_type text. */
    readonly type: string;
    readonly sourceType: ValueType | undefined;
  }[];
  readonly batch: number;
  /** `public.m`, for messages. */
  readonly tableName: string;
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
): CopyEncoderOptions {
  return {
    columns: mapping.map((m) => ({
      source: m.source.name,
      target: m.target.name,
      type: m.target.type,
      sourceType: m.source.type,
    })),
    batch,
    tableName,
  };
}

export function createEncoder(raw: unknown): ChunkEncoder {
  const options = raw as CopyEncoderOptions;
  const columns = options.columns.map((c) => ({ ...c, encode: encoderFor(c.type, c.sourceType) }));
  const rowEnd = columns.length === 0 ? `${options.batch}\n` : `\t${options.batch}\n`;
  const utf8 = new TextEncoder();
  const fail = (chunk: RowChunk, column: (typeof columns)[number], error: EncodeError) =>
    new SchemaMismatchError(
      `${chunk.object.uri} column "${column.source}" row group ${chunk.rowGroup}: ${error.message} (column "${column.target}" of ${options.tableName}) — change the column type or fix those rows in the source`,
      { cause: error },
    );
  return {
    encode(chunk: RowChunk, start: number, end: number): Uint8Array {
      const values = columns.map((c) => {
        const v = chunk.columns.get(c.source);
        if (!v) {
          throw new SchemaMismatchError(
            `${chunk.object.uri} row group ${chunk.rowGroup} has no column "${c.source}" although the first object has it — export every object with the same columns`,
          );
        }
        return v;
      });
      let text = '';
      for (let i = start; i < end; i++) {
        for (let c = 0; c < columns.length; c++) {
          if (c > 0) text += '\t';
          const column = columns[c]!;
          let field: string | null;
          try {
            field = (column.encode as Encoder)(values[c]![i] ?? null);
          } catch (error) {
            if (error instanceof EncodeError) throw fail(chunk, column, error);
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
