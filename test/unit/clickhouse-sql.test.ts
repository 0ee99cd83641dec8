import { describe, expect, it } from 'vitest';
import { qualified, quoteIdent, quoteString, settingsClause } from '../../adapters/clickhouse/sql/quote.ts';
import { materializedViewTarget, repointSelect } from '../../adapters/clickhouse/sql/rewrite.ts';
import { s3Function, sql } from '../../adapters/clickhouse/sql/statements.ts';
import { convertible, schemaProblems } from '../../adapters/clickhouse/schema-check.ts';
import type { SourceObject } from '../../src/source/types.ts';

const object = (key: string): SourceObject => ({
  key,
  size: 1,
  uri: `s3://b/${key}`,
  httpUrl: `http://127.0.0.1:9000/b/${key}`,
});

describe('ClickHouse quoting', () => {
  it('quotes identifiers with dots, quotes, backticks, backslashes and non-ASCII', () => {
    expect(quoteIdent('pypi')).toBe('`pypi`');
    expect(quoteIdent('my.table')).toBe('`my.table`');
    expect(quoteIdent("it's")).toBe("`it's`");
    expect(quoteIdent('back`tick')).toBe('`back\\`tick`');
    expect(quoteIdent('a\\b')).toBe('`a\\\\b`');
    expect(quoteIdent('Zähler_表')).toBe('`Zähler_表`');
    expect(qualified('db.x', 't`y')).toBe('`db.x`.`t\\`y`');
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/);
  });

  it('quotes string literals', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('a\\b')).toBe("'a\\\\b'");
  });

  it('builds SETTINGS clauses, rejecting bad names and quoting values', () => {
    expect(settingsClause({ max_insert_threads: 4, flag: true, mode: "x'y" })).toBe(
      " SETTINGS max_insert_threads = 4, flag = 1, mode = 'x\\'y'",
    );
    expect(settingsClause({})).toBe('');
    expect(() => settingsClause({ 'a; DROP TABLE x': 1 })).toThrow(/invalid ClickHouse setting/);
  });
});

describe('MOVE PARTITION statements', () => {
  it('move by partition ID, bound as a query parameter (never in the text); `all` for an unpartitioned table', () => {
    const from = { database: 'default', table: 'pypi_v2_r1' };
    const to = { database: 'default', table: 'pypi' };
    const text =
      'ALTER TABLE `default`.`pypi_v2_r1` MOVE PARTITION ID {partition_id:String} TO TABLE `default`.`pypi`';
    expect(sql.movePartition(from, to, '20241217')).toEqual({
      sql: text,
      params: { partition_id: '20241217' },
    });
    expect(sql.movePartition(from, to, "x' OR 1")).toEqual({
      sql: text,
      params: { partition_id: "x' OR 1" },
    });
    expect(sql.movePartition(from, to)).toEqual({ sql: text, params: {} });
  });
});

describe('s3() calls for a batch', () => {
  it('lists the batch as one alternation glob', () => {
    const f = s3Function({
      objects: [
        object('p/2024/1-101.parquet'),
        object('p/2024/1-102.parquet'),
        object('p/2024/1-110.parquet'),
      ],
      credentials: { accessKeyId: 'AK', secretAccessKey: "se'cret" },
      structure: 'a String',
    });
    expect(f).toBe(
      "s3('http://127.0.0.1:9000/b/p/2024/1-1{01,02,10}.parquet', 'AK', 'se\\'cret', 'Parquet', 'a String')",
    );
  });

  it('falls back to UNION ALL when keys contain glob characters, and uses NOSIGN without credentials', () => {
    const f = s3Function({
      objects: [object('p/a{1}.parquet'), object('p/b.parquet')],
      credentials: undefined,
      structure: 'a String',
    });
    expect(f).toContain('UNION ALL');
    expect(f).toContain('NOSIGN');
  });

  it("guards the load's casts in its own read: only rows the filter keeps can stop it", () => {
    const source = { objects: [object('p/a.parquet')], credentials: undefined };
    const filter = { column: 'ts', before: '2024-12-17 00:00:00', after: undefined };
    const plain = sql.insertFromS3({ database: 'd', table: 'l' }, ['id', 'ts'], source, filter);
    expect(plain).not.toContain('throwIf');
    const guarded = sql.insertFromS3({ database: 'd', table: 'l' }, ['id', 'ts'], source, filter, [
      { name: 'id', type: 'UInt64' },
    ]);
    expect(guarded).toContain(
      "WHERE `ts` < '2024-12-17 00:00:00' AND throwIf(`ts` < '2024-12-17 00:00:00' AND ((`id` IS NOT NULL AND " +
        "accurateCastOrNull(`id`, 'UInt64') IS NULL)), 'shadowfill: a source value does not survive the cast " +
        "into the table column') = 0",
    );
  });
});

describe('materialized view rewriting', () => {
  it('re-points every reference to the source table, never text inside literals', () => {
    const select =
      "SELECT project, count() AS count FROM default.pypi WHERE project != 'default.pypi' AND x IN (SELECT x FROM default.pypi_other) GROUP BY project";
    const { sql: out, replaced } = repointSelect(
      select,
      { database: 'default', table: 'pypi' },
      { database: 'default', table: 'pypi_v2_r1_landing' },
    );
    expect(replaced).toBe(1);
    expect(out).toBe(
      "SELECT project, count() AS count FROM `default`.`pypi_v2_r1_landing` WHERE project != 'default.pypi' AND x IN (SELECT x FROM default.pypi_other) GROUP BY project",
    );
  });

  it('handles quoted names with dots and backticks', () => {
    const { sql: out, replaced } = repointSelect(
      'SELECT * FROM `my db`.`we.ird``t`',
      { database: 'my db', table: 'we.ird`t' },
      { database: 'my db', table: 'x' },
    );
    expect(replaced).toBe(1);
    expect(out).toBe('SELECT * FROM `my db`.`x`');
  });

  it('reads the TO table of a CREATE MATERIALIZED VIEW', () => {
    expect(
      materializedViewTarget(
        'CREATE MATERIALIZED VIEW default.mv TO default.pypi_downloads (`project` String) AS SELECT project FROM default.pypi',
      ),
    ).toEqual({ database: 'default', table: 'pypi_downloads' });
    expect(materializedViewTarget('CREATE MATERIALIZED VIEW default.mv TO `a b`.`c.d` AS SELECT 1')).toEqual({
      database: 'a b',
      table: 'c.d',
    });
    expect(
      materializedViewTarget('CREATE MATERIALIZED VIEW default.mv ENGINE = MergeTree AS SELECT 1'),
    ).toBeUndefined();
  });
});

describe('schema compatibility', () => {
  it('accepts castable pairs and rejects impossible ones', () => {
    expect(convertible({ kind: 'timestamp', unit: 'micros', utc: true }, 'DateTime')).toBe(true);
    expect(convertible({ kind: 'string' }, 'LowCardinality(String)')).toBe(true);
    expect(convertible({ kind: 'int', bits: 64, signed: true }, 'Nullable(Int64)')).toBe(true);
    expect(convertible({ kind: 'list', element: { kind: 'string' } }, 'Array(String)')).toBe(true);
    expect(convertible({ kind: 'list', element: { kind: 'string' } }, 'String')).toBe(false);
    expect(convertible({ kind: 'boolean' }, 'DateTime')).toBe(false);
    expect(convertible({ kind: 'binary' }, 'Int32')).toBe(false);
  });

  it('names missing, extra and mistyped columns', () => {
    const table = {
      database: 'default',
      name: 'pypi',
      engine: 'MergeTree',
      partitionKey: '',
      sortingKey: 'project',
      role: 'source' as const,
      columns: [
        { name: 'project', type: 'String', nullable: false, hasDefault: false },
        { name: 'timestamp', type: 'DateTime', nullable: false, hasDefault: false },
        { name: 'inserted', type: 'DateTime', nullable: false, hasDefault: true },
      ],
    };
    const problems = schemaProblems(
      table,
      [
        {
          name: 'project',
          type: { kind: 'list', element: { kind: 'string' } },
          nullable: false,
          parquetType: 'LIST<STRING>',
        },
        { name: 'extra', type: { kind: 'string' }, nullable: true, parquetType: 'BYTE_ARRAY STRING' },
      ],
      's3://b/k.parquet',
    );
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/column timestamp .* is missing from s3:\/\/b\/k\.parquet/);
    expect(problems[1]).toMatch(/column project is LIST<STRING> .* cannot cast/);
    expect(problems[2]).toMatch(/column extra .* has no column in default\.pypi/);
  });
});
