/**
 * Uploads every file under a local directory to an S3-compatible bucket (path-style URLs: MinIO, s3rver),
 * keyed by its path relative to the directory — so `<dir>/pypi/2024-12-17/x.parquet` becomes
 * `s3://<bucket>/pypi/2024-12-17/x.parquet`. Creates the bucket when it does not exist.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreCredentials } from '../../src/source/types.ts';

export interface UploadedObject {
  readonly key: string;
  readonly bytes: number;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

export async function uploadDirectory(
  endpoint: string,
  bucket: string,
  dir: string,
  credentials: ObjectStoreCredentials,
  options: { region?: string; concurrency?: number } = {},
): Promise<UploadedObject[]> {
  const client = new S3Client({
    endpoint,
    region: options.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
    },
  });
  try {
    await ensureBucket(client, bucket);
    const paths = await listFiles(dir);
    const uploaded: UploadedObject[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < paths.length) {
        const path = paths[next] as string;
        next += 1;
        const key = relative(dir, path).split(sep).join('/');
        const body = await readFile(path);
        try {
          await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        } catch (error) {
          const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
          throw new Error(`uploading s3://${bucket}/${key} to ${endpoint} failed: ${reason}`, {
            cause: error,
          });
        }
        uploaded.push({ key, bytes: body.length });
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency ?? 8, Math.max(1, paths.length)) }, worker),
    );
    return uploaded.sort((a, b) => a.key.localeCompare(b.key));
  } finally {
    client.destroy();
  }
}
