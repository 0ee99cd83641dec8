/**
 * Parquet's RLE / bit-packed hybrid encoding (definition levels, dictionary indices) read a slice at a time:
 * `read(out, count)` decodes the next `count` values and keeps its place, so a data page of a million rows — a
 * dictionary-encoded page with small indices, or levels that are one RLE run — never needs an array of all its
 * values at once. The values equal hyparquet's `readRleBitPackedHybrid` over the same bytes
 * (test/unit/parquet-hybrid-stream.test.ts).
 *
 * Terminology:
 * - **run**  An RLE run (a count, then one value repeated) or a bit-packed run (groups of 8 values of `width`
 *            bits each, least significant bit first). A run's header is a ULEB128 varint: low bit 1 = bit-packed
 *            with `header >>> 1` groups, 0 = RLE of `header >>> 1` values.
 */
export type HybridOutput = Uint8Array | Uint16Array | Int32Array;

export class HybridStream {
  private offset: number;
  /** Values left in the current run. */
  private left = 0;
  private packed = false;
  /** RLE runs: the repeated value. */
  private value = 0;
  /** Bit-packed runs: the bit position of the next value in `bytes`. */
  private bit = 0;

  /**
   * @param bytes the page (bit-packed runs may read up to its end)
   * @param start where the first run header is
   * @param end where the encoded values end (no run header is read at or past it)
   * @param width bits per value (0–32)
   */
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
    private readonly width: number,
  ) {
    if (!(width >= 0 && width <= 32))
      throw new Error(`parquet RLE/bit-packed bit width ${width} is out of range`);
    this.offset = start;
  }

  /** Writes the next `count` values to `out[at …]`; throws when the data ends first. */
  read(out: HybridOutput, count: number, at = 0): void {
    if (this.width === 0) {
      out.fill(0, at, at + count);
      return;
    }
    let done = 0;
    while (done < count) {
      while (this.left === 0) this.nextRun();
      const n = Math.min(this.left, count - done);
      if (this.packed) this.unpack(out, at + done, n);
      else out.fill(this.value, at + done, at + done + n);
      this.left -= n;
      done += n;
    }
  }

  private nextRun(): void {
    if (this.offset >= this.end) throw new Error('parquet RLE/bit-packed data ends before its last value');
    const header = this.varint();
    if (header & 1) {
      const groups = header >>> 1;
      this.packed = true;
      this.left = groups * 8;
      this.bit = this.offset * 8;
      this.offset += groups * this.width;
      if (this.offset > this.bytes.length) {
        throw new Error('parquet bit-packed run runs past the end of its page');
      }
      return;
    }
    const bytes = (this.width + 7) >>> 3;
    if (this.offset + bytes > this.bytes.length)
      throw new Error('parquet RLE run runs past the end of its page');
    let value = 0;
    for (let i = 0; i < bytes; i++) value += this.bytes[this.offset + i]! * 2 ** (8 * i);
    this.offset += bytes;
    this.packed = false;
    this.value = value;
    this.left = header >>> 1;
  }

  private varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new Error('parquet RLE/bit-packed run header is cut off');
      const byte = this.bytes[this.offset++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return result;
      shift += 7;
      if (shift > 35) throw new Error('parquet RLE/bit-packed run header is too long');
    }
  }

  private unpack(out: HybridOutput, at: number, n: number): void {
    const bytes = this.bytes;
    const width = this.width;
    let bit = this.bit;
    // The fast path reads 4 bytes per value: enough for a width up to 25 bits at any bit offset.
    const fastEnd = (bytes.length - 4) * 8;
    if (width <= 24) {
      const mask = (1 << width) - 1;
      for (let i = 0; i < n; i++) {
        if (bit > fastEnd) {
          out[at + i] = this.slowValue(bit);
        } else {
          const byte = bit >>> 3;
          const word =
            bytes[byte]! | (bytes[byte + 1]! << 8) | (bytes[byte + 2]! << 16) | (bytes[byte + 3]! << 24);
          out[at + i] = (word >>> (bit & 7)) & mask;
        }
        bit += width;
      }
    } else {
      for (let i = 0; i < n; i++, bit += width) out[at + i] = this.slowValue(bit);
    }
    this.bit = bit;
  }

  /** The value at `bit`; bits past the page are 0 (a last group may be padded with fewer bytes). */
  private slowValue(bit: number): number {
    const bytes = this.bytes;
    const first = bit >>> 3;
    const shift = bit & 7;
    let v = 0;
    for (let k = 0; k * 8 < shift + this.width; k++) {
      const b = first + k < bytes.length ? bytes[first + k]! : 0;
      v += b * 2 ** (8 * k);
    }
    return Math.floor(v / 2 ** shift) % 2 ** this.width;
  }
}
