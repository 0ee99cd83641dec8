import { describe, expect, it } from 'vitest';
import { defineConfig } from '../../src/config/define.ts';
import { DEFAULT_BATCH } from '../../src/config/types.ts';
import { configFingerprint } from '../../src/runner/fingerprint.ts';

const base = {
  target: { kind: 'timescaledb' as const, url: 'postgres://u:secret@db:5432/app', table: 'pypi' },
  source: { url: 's3://bucket/pypi/*/*.parquet' },
};

describe('configFingerprint', () => {
  it('is the fingerprint runs were journaled under before batch.count existed', () => {
    // Computed by the version before batch.count (5a6b074) for this configuration: an unfinished run it started
    // must resume under the new version, not be shadowed by a new run.
    expect(configFingerprint(defineConfig(base))).toBe('1db1b0503696d6ec');
  });

  it('does not depend on how new runs cut their batches (batch.count), nor on credentials', () => {
    const fp = configFingerprint(defineConfig(base));
    expect(configFingerprint(defineConfig({ ...base, batch: { ...DEFAULT_BATCH, count: 7 } }))).toBe(fp);
    expect(configFingerprint(defineConfig({ ...base, batch: { ...DEFAULT_BATCH, count: 'auto' } }))).toBe(fp);
    expect(
      configFingerprint(
        defineConfig({ ...base, target: { ...base.target, url: 'postgres://u:other@db:5432/app' } }),
      ),
    ).toBe(fp);
  });

  it('changes with the batch size limits, the table and the source', () => {
    const fp = configFingerprint(defineConfig(base));
    expect(configFingerprint(defineConfig({ ...base, batch: { ...DEFAULT_BATCH, files: 10 } }))).not.toBe(fp);
    expect(configFingerprint(defineConfig({ ...base, target: { ...base.target, table: 'other' } }))).not.toBe(
      fp,
    );
    expect(configFingerprint(defineConfig({ ...base, source: { url: 's3://bucket/x/*.parquet' } }))).not.toBe(
      fp,
    );
  });
});
