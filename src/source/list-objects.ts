/**
 * Lists the objects a location's key pattern selects: ListObjectsV2 under the pattern's literal prefix (with
 * `/` as delimiter when no match can contain a further `/`), filtered by the glob, in natural key order.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SourceError } from '../errors.ts';
import { compileGlob, expandGlob } from './glob.ts';
import { objectHttpUrl, objectUri } from './location.ts';
import { mapS3Error } from './s3-client.ts';
import type { ObjectStoreLocation, SourceObject } from './types.ts';

/** Patterns that enumerate to at most this many keys use the enumeration's common prefix for listing. */
const ENUMERATION_LIMIT = 10_000;

export async function listObjects(client: S3Client, location: ObjectStoreLocation): Promise<SourceObject[]> {
  const glob = compileGlob(location.keyPattern);
  const enumerated = expandGlob(location.keyPattern, ENUMERATION_LIMIT);
  const prefix = enumerated === undefined ? glob.prefix : longestCommonPrefix(enumerated);
  // When no match can hold a `/` after the prefix, a delimiter keeps S3 from listing deeper "folders".
  const delimiter = glob.slashAfterPrefix ? undefined : '/';

  const objects: SourceObject[] = [];
  let scanned = 0;
  let continuationToken: string | undefined;
  do {
    let page;
    try {
      page = await client.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: prefix,
          ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
          ...(continuationToken === undefined ? {} : { ContinuationToken: continuationToken }),
        }),
      );
    } catch (error) {
      throw mapS3Error(error, `list ${objectUri(location, prefix)}*`, location);
    }
    for (const entry of page.Contents ?? []) {
      if (entry.Key === undefined) continue;
      scanned += 1;
      if (!glob.matches(entry.Key)) continue;
      objects.push({
        key: entry.Key,
        size: entry.Size ?? 0,
        uri: objectUri(location, entry.Key),
        httpUrl: objectHttpUrl(location, entry.Key),
        etag: entry.ETag?.replace(/^"|"$/g, ''),
      });
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken !== undefined);

  if (objects.length === 0) {
    const seen =
      scanned === 0
        ? `nothing exists under prefix '${prefix}'`
        : `${scanned} object(s) under prefix '${prefix}' did not match`;
    throw new SourceError(
      'SOURCE_EMPTY',
      `no object matches ${objectUri(location, location.keyPattern)} (${seen}) — check source.url (bucket, key pattern and glob)`,
    );
  }
  return objects.sort((a, b) => compareKeysNaturally(a.key, b.key));
}

/** Orders keys so that runs of digits compare by value: `f-9` < `f-10`; ties fall back to plain order. */
export function compareKeysNaturally(a: string, b: string): number {
  const partsA = a.match(/\d+|\D+/g) ?? [];
  const partsB = b.match(/\d+|\D+/g) ?? [];
  const shared = Math.min(partsA.length, partsB.length);
  for (let index = 0; index < shared; index += 1) {
    const partA = partsA[index] ?? '';
    const partB = partsB[index] ?? '';
    if (partA === partB) continue;
    if (isDigits(partA) && isDigits(partB)) {
      const valueA = partA.replace(/^0+(?=\d)/, '');
      const valueB = partB.replace(/^0+(?=\d)/, '');
      if (valueA.length !== valueB.length) return valueA.length - valueB.length;
      if (valueA !== valueB) return valueA < valueB ? -1 : 1;
      continue;
    }
    return partA < partB ? -1 : 1;
  }
  if (partsA.length !== partsB.length) return partsA.length - partsB.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isDigits(text: string): boolean {
  return text.charCodeAt(0) >= 48 && text.charCodeAt(0) <= 57;
}

function longestCommonPrefix(keys: readonly string[]): string {
  const first = keys[0];
  if (first === undefined) return '';
  let length = first.length;
  for (const key of keys) {
    let index = 0;
    while (index < length && index < key.length && key.charCodeAt(index) === first.charCodeAt(index))
      index += 1;
    length = index;
  }
  return first.slice(0, length);
}
