/**
 * A what-if of the `postgres-load` benchmark: timestamps formatted the cheap way (a cached `YYYY-MM-DDT` per day
 * plus integer arithmetic for the time of day) instead of encode.ts's `timestampText` (BigInt microseconds,
 * `new Date(…).toISOString()`, string slicing). `preformatTimestamps` applies it to a RowChunk stream before the
 * adapter's loader sees it; the loader passes strings through unchanged, so the load measures exactly the
 * loader with that formatting, paid on the same thread.
 */
import type { RowChunk } from '../../src/adapter/contract.ts';
import { fastIsoText } from '../../adapters/timescaledb/timestamp-text.ts';

/** A formatter for RowChunk values: fast ISO text of a millisecond Date; any other value unchanged. */
export function fastIsoTextOrValue(): (value: unknown) => unknown {
  const format = fastIsoText();
  return (value) => (value instanceof Date ? (format(value) ?? value) : value);
}

/** `input` with the values of `column` replaced by their fast ISO text. */
export async function* preformatTimestamps(
  input: AsyncIterable<RowChunk>,
  column: string,
): AsyncIterable<RowChunk> {
  const format = fastIsoTextOrValue();
  for await (const chunk of input) {
    const values = chunk.columns.get(column);
    if (!values) {
      yield chunk;
      continue;
    }
    const text = new Array<unknown>(values.length);
    for (let i = 0; i < values.length; i++) text[i] = format(values[i]);
    const columns = new Map(chunk.columns);
    columns.set(column, text);
    yield { ...chunk, columns };
  }
}
