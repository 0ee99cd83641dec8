/**
 * The encoder's slice tally (adapters/timescaledb/slice-tally.ts) on binary COPY fields built here: exact floor
 * division at slice boundaries (before 1970 too, and near the exact range's ends), each field layout, rows the
 * filter leaves out, values it cannot tally exactly; and a batch's tally from its pieces (positions across pieces,
 * a piece without a tally).
 */
import { describe, expect, it } from 'vitest';
import { BatchTallier, tallySlices, type TallyLayout } from '../../adapters/timescaledb/slice-tally.ts';

const PG_EPOCH_MICROS = 946_684_800_000_000n;
const DAY = 86_400_000_000n;

/** Binary COPY fields (int32 length, then the value) of `values` one after another, and where each starts. */
function fields(values: readonly (bigint | null)[], bytes: 2 | 4 | 8): { out: Uint8Array; at: Int32Array } {
  const out = new Uint8Array(values.length * (4 + bytes) + 3);
  const view = new DataView(out.buffer);
  const at = new Int32Array(values.length);
  let p = 3; // fields need not start at 0
  values.forEach((v, i) => {
    at[i] = p;
    if (v === null) {
      view.setInt32(p, -1);
      p += 4 + bytes;
      return;
    }
    view.setInt32(p, bytes);
    if (bytes === 8) view.setBigInt64(p + 4, v);
    else if (bytes === 4) view.setInt32(p + 4, Number(v));
    else view.setInt16(p + 4, Number(v));
    p += 4 + bytes;
  });
  return { out, at };
}

/** floor(a ÷ b) in bigint: the server's slice. */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function reference(internal: readonly bigint[], interval: bigint): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of internal) {
    const s = String(floorDiv(t, interval));
    out[s] = (out[s] ?? 0) + 1;
  }
  return out;
}

function counts(t: { slices: string[]; rows: number[] }): Record<string, number> {
  return Object.fromEntries(t.slices.map((s, i) => [s, t.rows[i]!]));
}

const micros: TallyLayout = { kind: 'micros' };

describe('slice tally', () => {
  it('divides timestamps into slices exactly at the boundaries, before 1970 and far from it', () => {
    // Internal times (µs since 1970) at and around slice boundaries; the field holds µs since 2000.
    const internal: bigint[] = [];
    for (const boundary of [0n, DAY, -DAY, 20_074n * DAY, -40_000n * DAY, 52_000n * DAY]) {
      internal.push(boundary - 1n, boundary, boundary + 1n);
    }
    for (const interval of [DAY, 3_600_000_000n, 7n * DAY, 1n, 999_983n]) {
      const { out, at } = fields(
        internal.map((t) => t - PG_EPOCH_MICROS),
        8,
      );
      const tally = tallySlices(out, at, internal.length, micros, Number(interval));
      expect(counts(tally!), String(interval)).toEqual(reference(internal, interval));
    }
  });

  it('reads dates as days since 2000 and integers of every width, signed', () => {
    const days = [-10_958n, -10_957n, -1n, 0n, 1n, 9_000n];
    const d = fields(days, 4);
    const t = tallySlices(d.out, d.at, days.length, { kind: 'days' }, Number(DAY));
    expect(counts(t!)).toEqual(
      reference(
        days.map((x) => (x + 10_957n) * DAY),
        DAY,
      ),
    );
    for (const [bytes, values] of [
      [2, [-32_768n, -1_001n, -1_000n, -999n, -1n, 0n, 999n, 1_000n, 32_767n]],
      [4, [-2_147_483_648n, -5n, 0n, 5n, 2_147_483_647n]],
      [8, [-(2n ** 51n), -7n, 7n, 2n ** 51n]],
    ] as const) {
      const f = fields(values, bytes);
      const r = tallySlices(f.out, f.at, values.length, { kind: 'integer', bytes }, 1_000);
      expect(counts(r!), `${bytes} bytes`).toEqual(reference(values, 1_000n));
    }
  });

  it('counts only the rows the filter keeps, and gives each slice its first and last position among them', () => {
    const internal = [0n, DAY, 1n, DAY + 1n, 2n, 2n * DAY];
    const { out, at } = fields(
      internal.map((t) => t - PG_EPOCH_MICROS),
      8,
    );
    // A piece of rows 10–15 of its chunk: the mask is indexed by the chunk's row.
    const keep = new Uint8Array(16);
    for (const row of [10, 11, 12, 14, 15]) keep[row] = 1; // row 13 (DAY + 1) left out
    const tally = tallySlices(out, at, internal.length, micros, Number(DAY), keep, 10);
    expect(tally).toEqual({ slices: ['0', '1', '2'], rows: [3, 1, 1], first: [0, 1, 4], last: [3, 1, 4] });
  });

  it('gives no tally for a NULL or a value beyond ±2^52 (the load then counts on the server)', () => {
    const withNull = fields([0n, null], 8);
    expect(tallySlices(withNull.out, withNull.at, 2, micros, Number(DAY))).toBeUndefined();
    const far = fields([2n ** 53n], 8);
    expect(tallySlices(far.out, far.at, 1, { kind: 'integer', bytes: 8 }, 1_000)).toBeUndefined();
    const farTime = fields([-(2n ** 62n)], 8);
    expect(tallySlices(farTime.out, farTime.at, 1, micros, Number(DAY))).toBeUndefined();
  });

  it('adds up a batch from its pieces in the order sent, and gives none when a piece had none', () => {
    const tallier = new BatchTallier();
    tallier.add({ rows: 4, summary: { slices: ['5', '6'], rows: [3, 1], first: [0, 3], last: [2, 3] } });
    tallier.add({ rows: 2, summary: { slices: ['-1', '5'], rows: [1, 1], first: [0, 1], last: [0, 1] } });
    expect(tallier.result()).toEqual({
      slices: { '-1': 1, '5': 4, '6': 1 },
      rows: 6,
      // slice -1 spans position 4; 5 spans 0–5; 6 spans 3
      sliceSpan: 1 + 6 + 1,
    });
    tallier.add({ rows: 3 });
    expect(tallier.result()).toBeUndefined();
    expect(new BatchTallier().result()).toEqual({ slices: {}, rows: 0, sliceSpan: 0 });
  });
});
