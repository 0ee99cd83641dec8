/**
 * ZSTD page decompression for the reader, fastest available first: node:zlib's native decoder (Node ≥ 22.15),
 * else zstd compiled to WebAssembly (@bokuweb/zstd-wasm: ≈ 3 × fzstd on ClickHouse-written PyPI pages here),
 * else hyparquet-compressors' pure-JS fzstd. The WebAssembly module is instantiated once per thread:
 * `zstdReady()` must have resolved before `decompressZstd` can use it (the readers await it before decoding; until
 * then, or if it cannot be instantiated, fzstd is used).
 */
import * as zlib from 'node:zlib';
import * as zstdWasm from '@bokuweb/zstd-wasm';
import { compressors as jsCompressors } from 'hyparquet-compressors';

/** node:zlib's zstd decoder (Node ≥ 22.15); undefined on older Node. */
const nativeZstd = (zlib as { zstdDecompressSync?: (input: Uint8Array) => Uint8Array }).zstdDecompressSync;
const jsZstd = jsCompressors.ZSTD!;

let ready: Promise<void> | undefined;
let wasm = false;

/** Resolves once the decoder this thread will use is ready (never rejects: fzstd is the fallback). */
export function zstdReady(): Promise<void> {
  ready ??= nativeZstd
    ? Promise.resolve()
    : zstdWasm.init().then(
        () => {
          wasm = true;
        },
        () => undefined,
      );
  return ready;
}

/** The decompressed page (hyparquet checks its length against the page header). */
export function decompressZstd(input: Uint8Array, outputLength: number): Uint8Array {
  if (nativeZstd) return nativeZstd(input);
  if (wasm) return zstdWasm.decompress(input, { defaultHeapSize: Math.max(outputLength, 1) });
  return jsZstd(input, outputLength);
}

/** Which decoder is in use, for benchmarks and reports. */
export function zstdDecoderName(): 'node:zlib' | 'wasm' | 'fzstd' {
  return nativeZstd ? 'node:zlib' : wasm ? 'wasm' : 'fzstd';
}
