/**
 * hyparquet-compressors (SNAPPY and LZ4 as WebAssembly, fzstd), imported on first use: loading the module costs a
 * thread about 80 ms of start, which files compressed with ZSTD, GZIP or BROTLI (decoded natively or by zstd.ts)
 * never need to pay.
 */
import type { Compressors } from 'hyparquet';

let loaded: Promise<Compressors> | undefined;

export function jsCompressors(): Promise<Compressors> {
  loaded ??= import('hyparquet-compressors').then((m) => m.compressors);
  return loaded;
}
