import { describe, expect, it } from 'vitest';
import pgConnectionString from 'pg-connection-string';
import { serverConnectionString } from '../../adapters/timescaledb/connection.ts';

describe('TimescaleDB connection string', () => {
  it('puts target.user and target.password into the URL, where pg reads them', () => {
    const text = serverConnectionString({
      url: 'postgres://urluser:urlpass@db.example:5433/metrics?sslmode=disable',
      user: 'backfill',
      password: 'p@ss:w/rd ü',
    });
    const parsed = pgConnectionString.parse(text);
    expect(parsed).toMatchObject({
      user: 'backfill',
      password: 'p@ss:w/rd ü',
      host: 'db.example',
      port: '5433',
      database: 'metrics',
    });
  });

  it('keeps the URL credentials when the config has none', () => {
    const parsed = pgConnectionString.parse(
      serverConnectionString({ url: 'postgres://u:p@h/db', user: undefined, password: undefined }),
    );
    expect(parsed).toMatchObject({ user: 'u', password: 'p', database: 'db' });
  });
});
