/**
 * Applies a run's row filter (`column >= after`, `column < before`) to decoded row chunks, for targets that
 * receive rows from the engine (the database cannot filter what it does not read itself). Bounds are
 * compared as instants for Date values, as numbers/bigints for numeric values, and as text otherwise.
 */
import type { RowChunk, RowFilter } from '../adapter/contract.ts';
import { ConfigError } from '../errors.ts';

type Compare = (value: unknown) => boolean;

function bound(text: string, sample: unknown, column: string): (value: unknown) => number {
  if (sample instanceof Date) {
    const iso = /([zZ]|[+-]\d\d(:?\d\d)?)$/.test(text.trim())
      ? text
          .trim()
          .replace(' ', 'T')
          .replace(/([+-]\d\d)$/, '$1:00')
      : `${text.trim().replace(' ', 'T')}Z`;
    const t = Date.parse(iso);
    if (Number.isNaN(t))
      throw new ConfigError(
        `filter bound ${JSON.stringify(text)} is not a timestamp for column ${column} — use e.g. 2024-12-17 09:00:00`,
      );
    return (v) => (v as Date).getTime() - t;
  }
  if (typeof sample === 'bigint') {
    const b = BigInt(text);
    return (v) => ((v as bigint) < b ? -1 : (v as bigint) > b ? 1 : 0);
  }
  if (typeof sample === 'number') {
    const n = Number(text);
    if (Number.isNaN(n))
      throw new ConfigError(`filter bound ${JSON.stringify(text)} is not a number for column ${column}`);
    return (v) => (v as number) - n;
  }
  return (v) => (String(v) < text ? -1 : String(v) > text ? 1 : 0);
}

export async function* filterRowChunks(
  chunks: AsyncIterable<RowChunk>,
  filter: RowFilter | undefined,
): AsyncIterable<RowChunk> {
  if (!filter) {
    yield* chunks;
    return;
  }
  for await (const chunk of chunks) {
    const values = chunk.columns.get(filter.column);
    if (!values) {
      throw new ConfigError(
        `filter.column ${filter.column} is not a column of ${chunk.object.uri} — fix filter.column`,
      );
    }
    let sample: unknown = null;
    for (let i = 0; i < values.length && sample === null; i += 1) sample = values[i] ?? null;
    if (sample === null) continue; // every value null: no row passes a comparison
    const tests: Compare[] = [];
    if (filter.after !== undefined) {
      const c = bound(filter.after, sample, filter.column);
      tests.push((v) => v !== null && v !== undefined && c(v) >= 0);
    }
    if (filter.before !== undefined) {
      const c = bound(filter.before, sample, filter.column);
      tests.push((v) => v !== null && v !== undefined && c(v) < 0);
    }
    const keep: number[] = [];
    for (let i = 0; i < chunk.numRows; i += 1) if (tests.every((t) => t(values[i]))) keep.push(i);
    if (keep.length === chunk.numRows) {
      yield chunk;
    } else if (keep.length > 0) {
      const columns = new Map<string, unknown[]>();
      for (const [name, col] of chunk.columns)
        columns.set(
          name,
          keep.map((i) => col[i]),
        );
      yield { ...chunk, numRows: keep.length, columns };
    }
  }
}
