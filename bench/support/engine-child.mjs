// One engine run as a user of the built library makes it: a plain Node process (no tsx: the decode threads start
// as they do for `shadowfill run`) importing dist/ — `npm run build` first (support/built.ts). The configuration
// arrives as JSON on stdin; one JSON line on stdout gives the report, the swap step's seconds, the chunks
// decompressed and the adapter's plan notes. The run itself is timed by the runner (report.seconds), so Node's
// start and the imports are not counted, as they are not for the in-process sides.
import { createAdapter, runBackfill } from '../../dist/src/index.js';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const config = JSON.parse(input);
const adapter = await createAdapter(config);
await adapter.connect();
let swapSeconds = 0;
const decompressed = [];
// TIMESCALEDB_BACKFILL_TRACE=1: every event, with the milliseconds since the run began, to /tmp/engine-events.log.
const trace = process.env.TIMESCALEDB_BACKFILL_TRACE === '1' ? [] : undefined;
const began = performance.now();
try {
  const report = await runBackfill(config, adapter, {
    onEvent: (e) => {
      trace?.push(`${(performance.now() - began).toFixed(0).padStart(6)} ${JSON.stringify(e)}`);
      if (e.type === 'swap-finished') swapSeconds = e.seconds;
      if (e.type === 'chunk-decompressed') decompressed.push(e.chunk);
    },
  });
  if (trace) {
    const { userCPUTime: user, systemCPUTime: system } = process.resourceUsage();
    trace.push(
      `cpu: user ${(user / 1e6).toFixed(2)} s, system ${(system / 1e6).toFixed(2)} s (this process and its threads)`,
    );
    (await import('node:fs')).writeFileSync('/tmp/engine-events.log', `${trace.join('\n')}\n`);
  }
  const notes = (await adapter.describe()).notes;
  process.stdout.write(`${JSON.stringify({ report, swapSeconds, decompressed, notes })}\n`);
} finally {
  await adapter.close();
}
