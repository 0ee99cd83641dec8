/**
 * Child-process entry: runs s3rver (a local S3 server) on 127.0.0.1 and prints `{"port":N}` once listening.
 * It runs in its own process because chDB's synchronous work would otherwise stall the server's event loop.
 * Usage: s3-server-child.ts <directory> <port|0> <bucket,bucket,...>
 */
import S3rver from 's3rver';

const [directory, portText, bucketList] = process.argv.slice(2);
if (!directory) {
  console.error('usage: s3-server-child.ts <directory> [port] [buckets]');
  process.exit(2);
}
const buckets = (bucketList ?? '').split(',').filter((b) => b.length > 0);
const server = new S3rver({
  port: Number(portText ?? 0),
  address: '127.0.0.1',
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
const info = (await server.run()) as { port: number };
process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
const stop = () => {
  void server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
// Ctrl-C in a terminal reaches the whole process group: the parent decides (it may still be finishing a step
// that reads objects from this server); the server stops when the parent stops it or goes away.
process.on('SIGINT', () => undefined);
