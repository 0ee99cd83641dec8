import { describe, expect, it } from 'vitest';
import { formatPosition, parseDuration, parsePosition } from '../../src/addview/position.ts';
import { planWindows, sampledWindows, windowEdges } from '../../src/addview/windows.ts';

const t = (text: string) => parsePosition(text, 'time')!;
const day = parseDuration('1 day')!;

describe('add-view windows and positions', () => {
  it('parses and prints positions in UTC with microseconds', () => {
    expect(formatPosition(t('2024-12-17 09:00:00'))).toBe('2024-12-17 09:00:00');
    expect(formatPosition(t('2024-12-17T09:00:00.000123+02:00'))).toBe('2024-12-17 07:00:00.000123');
    expect(t('2024-12-17').value).toBe(1_734_393_600_000_000n);
    expect(parsePosition('12x', 'number')).toBeUndefined();
    expect(parseDuration('90 minutes')).toBe(5_400_000_000n);
    expect(parseDuration('one day')).toBeUndefined();
  });

  it('plans day windows aligned to midnight UTC, the first one open below', () => {
    const windows = planWindows({
      kind: 'time',
      start: t('2024-12-17 09:30:00'),
      end: t('2024-12-19 06:00:00'),
      size: day,
    });
    expect(windows.map((w) => [w.lo && formatPosition(w.lo), formatPosition(w.hi)])).toEqual([
      [undefined, '2024-12-18 00:00:00'],
      ['2024-12-18 00:00:00', '2024-12-19 00:00:00'],
      ['2024-12-19 00:00:00', '2024-12-19 06:00:00'],
    ]);
    // An empty source: one window below the cutoff (rows may still arrive before it).
    expect(planWindows({ kind: 'time', start: null, end: t('2024-12-19 06:00:00'), size: day })).toHaveLength(
      1,
    );
    // Weeks start on Mondays, like TimescaleDB's buckets.
    const [monday] = windowEdges({
      kind: 'time',
      start: t('2024-12-18 00:00:00'),
      end: t('2025-01-31'),
      size: 7n * day,
    });
    expect(formatPosition(monday!)).toBe('2024-12-23 00:00:00');
  });

  it('plans id windows from a given start, and refuses a window that makes too many', () => {
    const windows = planWindows({
      kind: 'number',
      start: { kind: 'number', value: 5n },
      end: { kind: 'number', value: 2500n },
      size: 1000n,
      from: { kind: 'number', value: 700n },
      firstIndex: 4,
    });
    expect(windows.map((w) => [w.index, w.lo?.value, w.hi.value])).toEqual([
      [4, 700n, 1000n],
      [5, 1000n, 2000n],
      [6, 2000n, 2500n],
    ]);
    expect(() =>
      windowEdges({
        kind: 'number',
        start: { kind: 'number', value: 0n },
        end: { kind: 'number', value: 10n ** 9n },
        size: 1n,
      }),
    ).toThrow(/view\.window 1 makes 1000000000 windows .* — use a larger view\.window/);
  });

  it('samples the first, the last and windows spread between', () => {
    expect([...sampledWindows(10, 3)].sort((a, b) => a - b)).toEqual([0, 5, 9]);
    expect([...sampledWindows(2, 3)].sort()).toEqual([0, 1]);
    expect(sampledWindows(10, 0).size).toBe(0);
  });
});
