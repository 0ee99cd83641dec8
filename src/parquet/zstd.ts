/**
 * ZSTD page decompression for the reader, fastest available first: node:zlib's native decoder (Node ≥ 22.15),
 * else zstd compiled to WebAssembly (@bokuweb/zstd-wasm: ≈ 3 × fzstd on ClickHouse-written PyPI pages here),
 * else hyparquet-compressors' pure-JS fzstd (imported only then: the module costs a thread ~80 ms of start). The
 * WebAssembly module is instantiated once per thread: `zstdReady()` must have resolved before `decompressZstd` can
 * be used (the readers await it before decoding).
 */
import * as zlib from 'node:zlib';
import * as zstdWasm from '@bokuweb/zstd-wasm';
import { jsCompressors } from './js-compressors.ts';

/** node:zlib's zstd decoder (Node ≥ 22.15); undefined on older Node. */
const nativeZstd = (zlib as { zstdDecompressSync?: (input: Uint8Array) => Uint8Array }).zstdDecompressSync;

let ready: Promise<void> | undefined;
let wasm = false;
let jsZstd: ((input: Uint8Array, outputLength: number) => Uint8Array) | undefined;

/** Resolves once the decoder this thread will use is ready (fzstd where WebAssembly cannot be instantiated). */
export function zstdReady(): Promise<void> {
  ready ??= nativeZstd
    ? Promise.resolve()
    : zstdWasm.init().then(
        () => {
          wasm = true;
        },
        async () => {
          jsZstd = (await jsCompressors()).ZSTD;
        },
      );
  return ready;
}

/** The decompressed page (hyparquet checks its length against the page header). */
export function decompressZstd(input: Uint8Array, outputLength: number): Uint8Array {
  if (nativeZstd) return nativeZstd(input);
  if (wasm) return zstdWasm.decompress(input, { defaultHeapSize: Math.max(outputLength, 1) });
  if (!jsZstd) throw new Error('decompressZstd before zstdReady() resolved (a defect)');
  return jsZstd(input, outputLength);
}

/** Which decoder is in use, for benchmarks and reports. */
export function zstdDecoderName(): 'node:zlib' | 'wasm' | 'fzstd' {
  return nativeZstd ? 'node:zlib' : wasm ? 'wasm' : 'fzstd';
}
