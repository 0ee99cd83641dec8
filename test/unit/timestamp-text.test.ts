import { describe, expect, it } from 'vitest';
import { fastIsoText } from '../../adapters/timescaledb/timestamp-text.ts';
import { PreciseDate } from '../../src/parquet/values.ts';

describe('fast timestamp text', () => {
  it('writes the same instant as the exact path for millisecond Dates across the supported years', () => {
    const format = fastIsoText();
    const samples = [
      0, 1, 999, 1000, -1, -86_400_001, 1_734_393_600_250, 253_402_300_799_999, -62_135_596_800_000,
    ];
    for (let i = 0; i < 2000; i += 1) samples.push(Math.round((Math.sin(i) * 0.5 + 0.5) * 3.1e14 - 6.2e13));
    for (const ms of samples) {
      const text = format(new Date(ms));
      expect(text, String(ms)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/);
      expect(Date.parse(text!), text).toBe(ms);
    }
  });

  it('leaves sub-millisecond and out-of-range values to the exact path', () => {
    const format = fastIsoText();
    expect(format(new Date(-62_135_596_800_001))).toBeUndefined();
    const precise = Object.assign(Object.create(PreciseDate.prototype) as PreciseDate, {});
    expect(format(precise)).toBeUndefined();
  });
});
