/**
 * Child process for kill -9 tests: runs (or resumes) a ClickHouse backfill on an embedded data directory and
 * kills itself with SIGKILL right before, or right after, its N-th journal write — no `finally`, no lease
 * release, no clean close of chDB, as `kill -9` leaves things. Without a kill point it runs to the end and
 * prints one JSON line: the report's figures and what the live tables hold afterwards.
 *
 *   node --import tsx test/support/kill-at-event.ts '<json: { dir, config, setup, killAt, when, queries }>'
 */
import { ClickHouseAdapter } from '../../adapters/clickhouse/adapter.ts';
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';
import type { BackfillConfig } from '../../src/config/types.ts';
import type { JournalEvent, JournalStore } from '../../src/journal/types.ts';
import { runBackfill } from '../../src/runner/run.ts';

interface Job {
  readonly dir: string;
  readonly config: BackfillConfig;
  /** Statements run first (CREATE … IF NOT EXISTS). */
  readonly setup: readonly string[];
  /** 1-based journal write to die at; none: run to the end. */
  readonly killAt?: number;
  readonly when?: 'before' | 'after';
  /** Instead of a write number: die at the `nth` (1-based) write of this kind (several lanes write in any order). */
  readonly killAtKind?: { readonly kind: string; readonly nth: number };
  /** Or: die at the `nth` statement the adapter sends on its main connection matching `match` (a regex). */
  readonly killAtStatement?: { readonly match: string; readonly nth: number };
  /** Queries whose single value is printed after the run, by name. */
  readonly queries: Readonly<Record<string, string>>;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const driver = new ChdbDriver(job.dir);
for (const statement of job.setup) await driver.command(statement);
const main = new ChdbDriver(job.dir);
if (job.killAtStatement) {
  const { match, nth } = job.killAtStatement;
  const pattern = new RegExp(match);
  const command = main.command.bind(main);
  let seen = 0;
  main.command = async (statement, settings) => {
    const text = typeof statement === 'string' ? statement : statement.sql;
    const n = pattern.test(text) ? (seen += 1) : 0;
    if (n === nth && job.when === 'before') process.kill(process.pid, 'SIGKILL');
    await command(statement, settings);
    if (n === nth && job.when === 'after') process.kill(process.pid, 'SIGKILL');
  };
}
const adapter = new ClickHouseAdapter(job.config, main);
let writes = 0;
const kinds: string[] = [];
const journal = adapter.journal;
// Each write's own number (several lanes may write at once: the counter moves on while a write is under way).
const seenOfKind = new Map<number, number>();
const die = (point: 'before' | 'after', n: number) => {
  const byKind = job.killAtKind !== undefined && seenOfKind.get(n) === job.killAtKind.nth;
  if ((job.killAt === n || byKind) && job.when === point) process.kill(process.pid, 'SIGKILL');
};
let ofKind = 0;
const note = (n: number, kind: string) => {
  kinds.push(kind);
  if (kind === job.killAtKind?.kind) seenOfKind.set(n, (ofKind += 1));
};
const counting: JournalStore = {
  ...journal,
  append: async (event: JournalEvent) => {
    const n = (writes += 1);
    note(n, event.kind);
    die('before', n);
    await journal.append(event);
    die('after', n);
  },
  appendMany: async (events: readonly JournalEvent[]) => {
    const n = (writes += 1);
    note(n, events.map((e) => e.kind).join('+'));
    die('before', n);
    await journal.appendMany!(events);
    die('after', n);
  },
};
Object.defineProperty(adapter, 'journal', { value: counting });
await adapter.connect();
let outcome: Record<string, unknown>;
try {
  const report = await runBackfill(job.config, adapter);
  outcome = { ok: true, resumed: report.resumed, rowsLoaded: report.rowsLoaded };
} catch (error) {
  outcome = { ok: false, code: (error as { code?: string }).code, message: (error as Error).message };
}
const values: Record<string, string> = {};
for (const [name, query] of Object.entries(job.queries)) {
  const [row] = await driver.query<{ v: string }>(`SELECT toString((${query})) AS v`);
  values[name] = row?.v ?? '';
}
process.stdout.write(`${JSON.stringify({ ...outcome, writes, kinds, values })}\n`);
await adapter.close();
await driver.close();
