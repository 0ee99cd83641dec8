/**
 * Starts a local S3 server (s3rver) in a child process on a free loopback port. Used by `shadowfill demo`,
 * the tests and the benchmarks. Its credentials are s3rver's fixed `S3RVER`/`S3RVER`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { childEntry } from './child-entry.ts';

export interface LocalS3Server {
  readonly endpoint: string;
  readonly port: number;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

export async function startLocalS3(options: {
  directory: string;
  buckets: readonly string[];
}): Promise<LocalS3Server> {
  mkdirSync(options.directory, { recursive: true });
  const child: ChildProcess = spawn(
    process.execPath,
    [...childEntry('s3-server-child', import.meta.url), options.directory, '0', options.buckets.join(',')],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`local S3 server did not start within 30 s: ${stderr}`)),
      30_000,
    );
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch (error) {
        reject(new Error(`local S3 server printed an unexpected line: ${line}`, { cause: error }));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local S3 server exited with code ${code}: ${stderr}`));
    });
  });
  // The server never keeps this process alive on its own; it stops with stop() or when this process exits.
  child.unref();
  child.channel?.unref();
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.ref(); // keep this process alive until the server has gone
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}
