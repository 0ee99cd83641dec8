/**
 * Makes a Parquet file's footer lie about a timestamp column: every min/max statistic of `column` (INT64
 * milliseconds, as chDB writes `DateTime`) is moved by `shiftMs`, in place; the rows are unchanged. Models a writer
 * whose statistics are wrong: the engine plans the object's time range from them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parquetMetadata } from 'hyparquet';

export function shiftTimeStatistics(path: string, column: string, shiftMs: number): void {
  const bytes = readFileSync(path);
  const footerLength = bytes.readUInt32LE(bytes.length - 8);
  const footerStart = bytes.length - 8 - footerLength;
  const metadata = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const values = new Set<bigint>();
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data;
      if (meta?.path_in_schema.join('.') !== column || meta.type !== 'INT64') continue;
      for (const v of [meta.statistics?.min_value, meta.statistics?.max_value]) {
        if (v instanceof Date) values.add(BigInt(v.getTime()));
        else if (typeof v === 'bigint') values.add(v);
      }
    }
  }
  if (values.size === 0) throw new Error(`${path}: no INT64 statistics of ${column} to shift`);
  const footer = bytes.subarray(footerStart, bytes.length - 8);
  let replaced = 0;
  for (const value of values) {
    const from = Buffer.alloc(8);
    from.writeBigInt64LE(value);
    const to = Buffer.alloc(8);
    to.writeBigInt64LE(value + BigInt(shiftMs));
    for (let at = footer.indexOf(from); at >= 0; at = footer.indexOf(from, at + 8)) {
      to.copy(footer, at);
      replaced += 1;
    }
  }
  if (replaced === 0) throw new Error(`${path}: the statistics of ${column} were not found in the footer`);
  writeFileSync(path, bytes);
}
