/**
 * Child-process helper for CLI tests: runs SQL statements (one per argument after the data directory) on
 * embedded ClickHouse and prints each result as JSON lines. A separate process, because chDB binds one data
 * directory per process and the CLI under test opens the same directory in its own process.
 */
import { ChdbDriver } from '../../adapters/clickhouse/drivers/chdb.ts';

const [dir, ...statements] = process.argv.slice(2);
if (!dir) throw new Error('usage: chdb-exec.ts <dir> <sql>...');
const driver = new ChdbDriver(dir);
try {
  for (const sql of statements) {
    if (/^\s*(SELECT|WITH)\b/i.test(sql))
      process.stdout.write(`${JSON.stringify(await driver.query(sql))}\n`);
    else await driver.command(sql);
  }
} finally {
  await driver.close();
}
