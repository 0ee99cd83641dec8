/** The engine's lease rules on the in-memory lease store (milliseconds, no database). */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { memoryLeaseStore, tableLeaseKey, type LeaseStore } from '../../src/journal/lease.ts';
import { acquireLease, claimant, holderIsDead } from '../../src/runner/lease.ts';

const key = tableLeaseKey('clickhouse', 'db', 'pypi');

function clock(start = Date.parse('2026-01-01T00:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('the run lease', () => {
  it('is taken when free, and refused to a second holder with one line naming the first and since when', async () => {
    const store = memoryLeaseStore();
    const first = await acquireLease(store, key, 'db.pypi', { ttlMs: 60_000 });
    await first.setRun('20260101_abcdef');
    const refused = await acquireLease(store, key, 'db.pypi', { ttlMs: 60_000 }).catch((e: unknown) => e);
    expect((refused as { code: string }).code).toBe('JOURNAL_CONFLICT');
    expect((refused as Error).message).toMatch(
      new RegExp(
        `^db\\.pypi is being backfilled by another shadowfill process \\(pid ${process.pid} on .+, run 20260101_abcdef\\) since \\d{4}-`,
      ),
    );
    await first.release();
    const second = await acquireLease(store, key, 'db.pypi', { ttlMs: 60_000 });
    expect(second.generation).toBe(2);
    expect(second.tookOverFrom).toBeUndefined();
    await second.release();
  });

  it('an expired lease is taken over; the old holder cannot renew and stops before its next step', async () => {
    const c = clock();
    const store = memoryLeaseStore(c.now);
    const old = await acquireLease(store, key, 'db.pypi', { ttlMs: 1_000 });
    c.advance(1_001);
    const next = await acquireLease(store, key, 'db.pypi', { ttlMs: 1_000 });
    expect(next.tookOverFrom?.id).toBe(old.holder.id);
    await expect(old.confirm(true)).rejects.toThrow(/this process lost its lease on db\.pypi/);
    expect(old.lost).toBe(true);
    await next.confirm(true);
    await next.release();
    await old.release();
  });

  it('a holder on this machine whose process died is taken over at once, a live one is not', async () => {
    const store = memoryLeaseStore();
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    const self = claimant();
    await store.compareAndSet(key, 0, { ...self, pid: dead }, 3_600_000);
    const record = (await store.read(key))!;
    expect(holderIsDead(record, self)).toBe(true);
    expect(holderIsDead({ ...record, pid: process.ppid }, self)).toBe(false);
    expect(holderIsDead({ ...record, host: 'elsewhere' }, self)).toBe(false);
    expect(holderIsDead({ ...record, pidNamespace: '' }, self)).toBe(false);
    const taken = await acquireLease(store, key, 'db.pypi');
    expect(taken.tookOverFrom?.pid).toBe(dead);
    await taken.release();
  });

  it('waits for the holder when asked to, reporting the wait', async () => {
    const store = memoryLeaseStore();
    const first = await acquireLease(store, key, 'db.pypi', { ttlMs: 200 });
    const waits: string[] = [];
    const second = acquireLease(store, key, 'db.pypi', {
      ttlMs: 200,
      wait: true,
      onWait: (holder) => waits.push(holder.id),
    });
    setTimeout(() => void first.release(), 120);
    const held = await second;
    expect(waits[0]).toBe(first.holder.id);
    expect(held.generation).toBe(2);
    await held.release();
  });

  it('compare-and-set admits one of two processes expecting the same generation', async () => {
    const store: LeaseStore = memoryLeaseStore();
    const [a, b] = await Promise.all([
      store.compareAndSet(key, 0, claimant(), 1_000),
      store.compareAndSet(key, 0, claimant(), 1_000),
    ]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
  });
});
