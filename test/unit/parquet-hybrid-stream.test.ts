/**
 * The slice-at-a-time RLE / bit-packed hybrid reader (src/parquet/hybrid-stream.ts): for every bit width, runs of
 * both kinds read in slices of any size give the values that were encoded, and the same values as hyparquet's
 * whole-page `readRleBitPackedHybrid`; data that ends early is an error, not zeros.
 */
import { describe, expect, it } from 'vitest';
import { readRleBitPackedHybrid, type DecodedArray } from '../../src/parquet/hyparquet-internals.ts';
import { HybridStream } from '../../src/parquet/hybrid-stream.ts';

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function varint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/** Encodes `values` as alternating RLE and bit-packed runs of random lengths. */
function encode(values: readonly number[], width: number, next: () => number): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < values.length) {
    if (next() < 0.5) {
      let n = 1;
      while (i + n < values.length && values[i + n] === values[i] && n < 5000) n++;
      varint(out, n * 2);
      let v = values[i]!;
      for (let b = 0; b < (width + 7) >>> 3; b++) {
        out.push(v % 256);
        v = Math.floor(v / 256);
      }
      i += n;
    } else {
      const groups = 1 + Math.floor(next() * 40);
      varint(out, groups * 2 + 1);
      const bits: number[] = [];
      for (let k = 0; k < groups * 8; k++) {
        let v = values[i + k] ?? 0;
        for (let b = 0; b < width; b++) {
          bits.push(v % 2);
          v = Math.floor(v / 2);
        }
      }
      for (let b = 0; b < bits.length; b += 8) {
        let byte = 0;
        for (let k = 0; k < 8; k++) byte |= (bits[b + k] ?? 0) << k;
        out.push(byte);
      }
      i += groups * 8;
    }
  }
  return Uint8Array.from(out);
}

function valuesOf(count: number, width: number, next: () => number): number[] {
  const max = 2 ** width;
  // Long repeats (so RLE runs occur) and random values.
  const values: number[] = [];
  while (values.length < count) {
    const v = Math.floor(next() * max);
    const repeat = next() < 0.3 ? 1 + Math.floor(next() * 300) : 1;
    for (let r = 0; r < repeat && values.length < count; r++) values.push(v);
  }
  return values;
}

function readInSlices(bytes: Uint8Array, width: number, count: number, next: () => number): number[] {
  const stream = new HybridStream(bytes, 0, bytes.length, width);
  const out: number[] = [];
  while (out.length < count) {
    const n = Math.min(count - out.length, 1 + Math.floor(next() * 700));
    const slice = width <= 8 ? new Uint8Array(n) : width <= 16 ? new Uint16Array(n) : new Int32Array(n);
    stream.read(slice, n);
    for (let k = 0; k < n; k++) out.push(width > 31 ? slice[k]! >>> 0 : slice[k]!);
  }
  return out;
}

describe('HybridStream', () => {
  for (let width = 0; width <= 32; width++) {
    it(`width ${width}: slices of any size give the encoded values (and hyparquet's)`, () => {
      const next = random(width + 1);
      const count = 20_000;
      const values = valuesOf(count, width, next);
      const bytes = encode(values, width, next);
      const sliced = readInSlices(bytes, width, count, next);
      expect(sliced).toEqual(values);
      if (width >= 1 && width <= 24) {
        const whole = new Int32Array(count);
        readRleBitPackedHybrid(
          { view: new DataView(bytes.buffer), offset: 0 },
          width,
          whole as unknown as DecodedArray,
          bytes.length,
        );
        expect(Array.from(whole)).toEqual(sliced);
      }
    });
  }

  it('data that ends before the values asked for is an error', () => {
    const values = Array.from({ length: 100 }, (_, i) => i % 4);
    const bytes = encode(values, 2, random(7));
    const stream = new HybridStream(bytes, 0, bytes.length, 2);
    const out = new Uint8Array(1000);
    expect(() => stream.read(out, 1000)).toThrow(/ends before its last value/);
    const cut = new HybridStream(Uint8Array.of(0x05), 0, 1, 8); // a bit-packed run of 2 groups, no bytes
    expect(() => cut.read(new Uint8Array(1), 1)).toThrow(/past the end of its page/);
  });
});
