import { describe, expect, it } from 'vitest';
import { compressionOrder, parseOrderBy } from '../../adapters/timescaledb/compression-order.ts';

const columns = [{ name: 'Time' }, { name: 'v' }, { name: 'pro ject' }, { name: 'n' }, { name: 'a"b' }];

describe('the compression order of a hypertable as an ORDER BY list', () => {
  it('reads orderby as TimescaleDB shows it, with PostgreSQL’s NULLS defaults', () => {
    expect(parseOrderBy('"Time" DESC, v NULLS FIRST')).toEqual([
      { column: 'Time', descending: true, nullsFirst: true },
      { column: 'v', descending: false, nullsFirst: true },
    ]);
    expect(parseOrderBy('v,"a""b" DESC NULLS LAST')).toEqual([
      { column: 'v', descending: false, nullsFirst: false },
      { column: 'a"b', descending: true, nullsFirst: false },
    ]);
    expect(parseOrderBy('v ASC')).toEqual([{ column: 'v', descending: false, nullsFirst: false }]);
    expect(parseOrderBy('lower(v)')).toBeUndefined();
    expect(parseOrderBy('v DESC garbage')).toBeUndefined();
  });

  it('segmentby columns first, then orderby, every name quoted', () => {
    expect(compressionOrder(['pro ject', 'n'], '"Time" DESC, v NULLS FIRST', columns)).toBe(
      '"pro ject", "n", "Time" DESC NULLS FIRST, "v" ASC NULLS FIRST',
    );
  });

  it('nothing unless both are set and every name is a column', () => {
    expect(compressionOrder([], '"Time" DESC', columns)).toBeUndefined();
    expect(compressionOrder(['n'], '', columns)).toBeUndefined();
    expect(compressionOrder(['n'], 'missing DESC', columns)).toBeUndefined();
    expect(compressionOrder(['gone'], 'v', columns)).toBeUndefined();
  });
});
