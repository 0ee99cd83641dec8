import { describe, expect, it } from 'vitest';
import { compileGlob, expandGlob } from '../../src/source/glob.ts';
import { ConfigError } from '../../src/errors.ts';

describe('compileGlob', () => {
  it('keeps zero padding of ranges whose lower bound is written with leading zeros', () => {
    const glob = compileGlob('f-{000..100}.parquet');
    expect(glob.matches('f-000.parquet')).toBe(true);
    expect(glob.matches('f-007.parquet')).toBe(true);
    expect(glob.matches('f-100.parquet')).toBe(true);
    expect(glob.matches('f-7.parquet')).toBe(false);
    expect(glob.matches('f-101.parquet')).toBe(false);
    expect(glob.matches('f-0100.parquet')).toBe(false);
  });

  it('does not pad ranges written without leading zeros (ClickHouse rule: {0..N} is unpadded)', () => {
    for (const pattern of ['{1..10}', '{0..10}']) {
      const glob = compileGlob(pattern);
      expect(glob.matches('1')).toBe(true);
      expect(glob.matches('10')).toBe(true);
      expect(glob.matches('01')).toBe(false);
      expect(glob.matches('11')).toBe(false);
    }
    expect(compileGlob('{0..10}').matches('0')).toBe(true);
    expect(compileGlob('{1..10}').matches('0')).toBe(false);
  });

  it('accepts descending ranges as the same set', () => {
    const glob = compileGlob('{10..1}');
    expect(['1', '5', '10'].every((key) => glob.matches(key))).toBe(true);
    expect(glob.matches('0')).toBe(false);
    expect(glob.matches('11')).toBe(false);
  });

  it('matches exactly the expanded set for many ranges (regex agrees with enumeration)', () => {
    const ranges: Array<[string, string]> = [
      ['0', '100'],
      ['000', '100'],
      ['01', '10'],
      ['7', '1234'],
      ['099', '1000'],
      ['1995', '2031'],
      ['09', '1'],
    ];
    for (const [low, high] of ranges) {
      const pattern = `{${low}..${high}}`;
      const glob = compileGlob(pattern);
      const keys = new Set(expandGlob(pattern, 100_000));
      for (let value = 0; value < 3000; value += 1) {
        for (const width of [1, 2, 3, 4, 5]) {
          const key = String(value).padStart(width, '0');
          expect(glob.matches(key), `${pattern} vs ${key}`).toBe(keys.has(key));
        }
      }
    }
  });

  it('compiles a huge range quickly into a small regex', () => {
    const started = performance.now();
    const glob = compileGlob('pypi/{0..100000}.parquet');
    expect(performance.now() - started).toBeLessThan(50);
    expect(glob.regex.source.length).toBeLessThan(200);
    expect(glob.matches('pypi/99999.parquet')).toBe(true);
    expect(glob.matches('pypi/100000.parquet')).toBe(true);
    expect(glob.matches('pypi/100001.parquet')).toBe(false);
    const huge = compileGlob('{0..99999999999999999999}');
    expect(huge.matches('12345678901234567890')).toBe(true);
    expect(expandGlob('{0..99999999999999999999}', 10_000)).toBeUndefined();
  });

  it('treats * as one path segment, ** as any depth and ? as one character other than /', () => {
    const star = compileGlob('data/*.parquet');
    expect(star.matches('data/a.parquet')).toBe(true);
    expect(star.matches('data/.parquet')).toBe(true);
    expect(star.matches('data/x/a.parquet')).toBe(false);
    const globstar = compileGlob('data/**.parquet');
    expect(globstar.matches('data/x/y/a.parquet')).toBe(true);
    const question = compileGlob('f?.csv');
    expect(question.matches('f1.csv')).toBe(true);
    expect(question.matches('f12.csv')).toBe(false);
    expect(question.matches('f/.csv')).toBe(false);
  });

  it('supports alternations with globs and nested braces inside', () => {
    const glob = compileGlob('logs/{app{1..3},web-*,db}/part-{a,b}.parquet');
    expect(glob.matches('logs/app2/part-a.parquet')).toBe(true);
    expect(glob.matches('logs/web-eu/part-b.parquet')).toBe(true);
    expect(glob.matches('logs/db/part-a.parquet')).toBe(true);
    expect(glob.matches('logs/app4/part-a.parquet')).toBe(false);
    expect(glob.matches('logs/web-eu/x/part-a.parquet')).toBe(false);
    expect(glob.matches('logs/db/part-c.parquet')).toBe(false);
  });

  it('takes escaped characters literally and treats regex metacharacters as text', () => {
    const glob = compileGlob('a\\*b\\{1..2\\}(x)+[y].$');
    expect(glob.matches('a*b{1..2}(x)+[y].$')).toBe(true);
    expect(glob.matches('aXb1(x)+[y].$')).toBe(false);
    expect(glob.prefix).toBe('a*b{1..2}(x)+[y].$');
  });

  it('computes the literal prefix before the first glob construct', () => {
    expect(compileGlob('pypi/2024-12-17/1734393600-000000000{101..200}.parquet').prefix).toBe(
      'pypi/2024-12-17/1734393600-000000000',
    );
    expect(compileGlob('a/b/*.parquet').prefix).toBe('a/b/');
    expect(compileGlob('a/b?c').prefix).toBe('a/b');
    expect(compileGlob('{x,y}/z').prefix).toBe('');
    expect(compileGlob('plain/key.parquet').prefix).toBe('plain/key.parquet');
  });

  it('reports whether a match may contain / after the prefix', () => {
    expect(compileGlob('a/*.parquet').slashAfterPrefix).toBe(false);
    expect(compileGlob('a/*/x.parquet').slashAfterPrefix).toBe(true);
    expect(compileGlob('a/**').slashAfterPrefix).toBe(true);
    expect(compileGlob('a/{b,c/d}').slashAfterPrefix).toBe(true);
    expect(compileGlob('a/b.parquet').slashAfterPrefix).toBe(false);
  });

  it('rejects malformed patterns with a ConfigError naming the pattern and position', () => {
    const cases: Array<[string, RegExp]> = [
      ['a/{b,c', /unclosed '\{' in key pattern 'a\/\{b,c' at position 3/],
      ['a/{5..}', /invalid range '\{5\.\.\}' in key pattern 'a\/\{5\.\.\}' at position 3/],
      ['a/{x..y}', /invalid range/],
      ['a}b', /'a}b' at position 2/],
      ['a\\', /trailing backslash/],
    ];
    for (const [pattern, message] of cases) {
      expect(() => compileGlob(pattern), pattern).toThrow(ConfigError);
      expect(() => compileGlob(pattern), pattern).toThrow(message);
    }
  });
});

describe('expandGlob', () => {
  it('enumerates ranges and alternations in pattern order, keeping padding', () => {
    expect(expandGlob('f{1..3}', 100)).toEqual(['f1', 'f2', 'f3']);
    expect(expandGlob('f{3..1}', 100)).toEqual(['f3', 'f2', 'f1']);
    expect(expandGlob('{000..100}', 1000)?.slice(0, 3)).toEqual(['000', '001', '002']);
    expect(expandGlob('{000..100}', 1000)).toHaveLength(101);
    expect(expandGlob('d/{a,b{1..2}}/x', 100)).toEqual(['d/a/x', 'd/b1/x', 'd/b2/x']);
    expect(expandGlob('plain', 1)).toEqual(['plain']);
    expect(expandGlob('{a,a}', 10)).toEqual(['a']);
  });

  it('returns undefined for wildcards or more keys than the limit', () => {
    expect(expandGlob('a/*.parquet', 100)).toBeUndefined();
    expect(expandGlob('a/{x,y?}', 100)).toBeUndefined();
    expect(expandGlob('{1..100}-{1..100}', 9_999)).toBeUndefined();
    expect(expandGlob('{1..100}-{1..100}', 10_000)).toHaveLength(10_000);
  });
});
