/**
 * A configuration's fingerprint: what identifies "the same backfill" in the journal. Two invocations with the
 * same target table, source URL, filter, batching, views and load mode continue the same run; credentials and
 * settings do not count (changing a password must not start a new run). `batch.count`, like `workers`, only says
 * how a new run cuts its batches (a run journals its batches when it starts), so it is left out: a run started
 * before `batch.count` existed keeps its fingerprint and resumes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { BackfillConfig } from '../config/types.ts';

export function configFingerprint(config: BackfillConfig): string {
  const identity = {
    kind: config.target.kind,
    database: config.target.database,
    table: config.target.table,
    source: config.source.url,
    endpoint: config.source.endpoint ?? null,
    filter: config.filter ?? null,
    batch: { files: config.batch.files, bytes: config.batch.bytes },
    views: config.views,
    load: config.load,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** `20261123_1f2e3d`: sortable by day, unique enough for table-name suffixes. */
export function newRunId(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `${day}_${randomBytes(3).toString('hex')}`;
}
