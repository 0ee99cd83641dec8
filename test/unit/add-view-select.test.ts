import { describe, expect, it } from 'vitest';
import { analyzeSelect, qualifyTables, replaceSource } from '../../adapters/clickhouse/add-view/select.ts';
import { gridOf } from '../../adapters/clickhouse/add-view/validate.ts';

const source = { database: 'db', table: 'pypi' };

describe('add-view SELECT rewriting (ClickHouse)', () => {
  it('finds the tables after FROM and JOIN, not inside expressions, literals, comments or CTE names', () => {
    const a = analyzeSelect(
      `WITH recent AS (SELECT * FROM pypi WHERE country_code = 'FROM x') -- FROM comment
       SELECT extract(day FROM timestamp) AS d, p.project, count() AS c
       FROM recent AS p LEFT JOIN other.dim d ON d.project = p.project, numbers(10) /* FROM y */
       GROUP BY d, p.project`,
    );
    expect(a.tables.map((t) => [t.database, t.table, t.alias])).toEqual([
      [undefined, 'pypi', undefined],
      ['other', 'dim', 'd'],
    ]);
    expect([...a.ctes]).toEqual(['recent']);
    expect(a.firstWord).toBe('WITH');
  });

  it('qualifies unqualified tables and replaces the source, keeping (or adding) its alias', () => {
    const text =
      'SELECT toStartOfHour(timestamp) AS hour, pypi.project, count() AS count FROM pypi GROUP BY hour, project';
    const qualified = qualifyTables(analyzeSelect(text), 'db');
    expect(qualified).toBe(
      'SELECT toStartOfHour(timestamp) AS hour, pypi.project, count() AS count FROM `db`.`pypi` GROUP BY hour, project',
    );
    expect(replaceSource(analyzeSelect(qualified), source, '`db`.`pypi_v2_x`')).toBe(
      'SELECT toStartOfHour(timestamp) AS hour, pypi.project, count() AS count FROM `db`.`pypi_v2_x` AS `pypi` GROUP BY hour, project',
    );
    const aliased = qualifyTables(analyzeSelect('SELECT p.project FROM `pypi` AS p JOIN db.dim ON 1'), 'db');
    expect(replaceSource(analyzeSelect(aliased), source, '(SELECT * FROM x)')).toBe(
      'SELECT p.project FROM (SELECT * FROM x) AS p JOIN db.dim ON 1',
    );
  });

  it('reads the grid of bucketed values (hours, 10 s, Mondays) and none from raw seconds', () => {
    const hour = 3_600_000_000n;
    expect(gridOf([10n * hour, 12n * hour, 11n * hour])).toEqual({ grain: hour, origin: 10n * hour });
    expect(gridOf([20_000_000n, 50_000_000n, 10_000_000n])?.grain).toBe(10_000_000n);
    const monday = 946_857_600_000_000n;
    const week = 7n * 24n * hour;
    expect(gridOf([monday + 3n * week, monday + week])?.grain).toBe(24n * hour); // capped at a day
    expect(gridOf([7_000_000n, 8_000_000n, 20_000_000n])?.grain).toBe(1_000_000n);
    expect(gridOf([5n])).toBeUndefined();
  });
});
