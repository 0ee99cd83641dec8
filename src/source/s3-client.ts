/**
 * The S3 client the engine uses for one location (the mapping of its failures onto SourceError codes is in
 * s3-errors.ts, which loads no SDK).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { S3_ATTEMPTS, S3_CONNECT_TIMEOUT_MS, S3_IDLE_TIMEOUT_MS } from './s3-limits.ts';
import type { ObjectStoreLocation } from './types.ts';

export function createS3Client(location: ObjectStoreLocation): S3Client {
  const credentials = location.credentials;
  return new S3Client({
    region: location.region,
    ...(location.endpoint === undefined ? {} : { endpoint: location.endpoint }),
    // Path style for custom endpoints (MinIO, s3rver, …) and for AWS buckets with dots, which break
    // virtual-hosted TLS certificates; AWS's virtual-hosted style otherwise.
    forcePathStyle: location.endpoint !== undefined || location.bucket.includes('.'),
    ...(credentials === undefined
      ? {}
      : {
          credentials: {
            accessKeyId: credentials.accessKeyId,
            secretAccessKey: credentials.secretAccessKey,
            ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
          },
        }),
    maxAttempts: S3_ATTEMPTS,
    requestHandler: { connectionTimeout: S3_CONNECT_TIMEOUT_MS, socketTimeout: S3_IDLE_TIMEOUT_MS },
    // The SDK would otherwise add CRC checksums the local and older S3-compatible stores reject.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export { mapS3Error, type S3ErrorContext } from './s3-errors.ts';
