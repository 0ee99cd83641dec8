/**
 * `timescaledb-backfill`: needs the TimescaleDB adapter (adapters/timescaledb/index.ts) and its embedded server. Until that
 * adapter exists and loads, this benchmark prints `timescaledb-backfill: skipped: <reason>`.
 */
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { skipped } from './common.ts';

const adapter = fileURLToPath(new URL('../adapters/timescaledb/index.ts', import.meta.url));
const ready = await access(adapter).then(
  () => true,
  () => false,
);
skipped(
  'timescaledb-backfill',
  ready
    ? 'the TimescaleDB adapter exists now but this benchmark is not written yet (see docs/PERFORMANCE.md)'
    : 'the TimescaleDB adapter (adapters/timescaledb/index.ts) is not in the tree yet',
);
