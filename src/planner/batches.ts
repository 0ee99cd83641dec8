/**
 * Batch planning: splits the matched objects, in key order, into consecutive batches of at most
 * `batch.files` objects and `batch.bytes` bytes. An object larger than `batch.bytes` forms a batch of its own.
 */
import type { BatchSpec } from '../adapter/contract.ts';
import type { BatchConfig } from '../config/types.ts';
import type { SourceObject } from '../source/types.ts';

export function planBatches(objects: readonly SourceObject[], limits: BatchConfig): BatchSpec[] {
  const batches: BatchSpec[] = [];
  let current: SourceObject[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length > 0) batches.push({ index: batches.length, objects: current });
    current = [];
    bytes = 0;
  };
  for (const object of objects) {
    if (current.length > 0 && (current.length >= limits.files || bytes + object.size > limits.bytes)) flush();
    current.push(object);
    bytes += object.size;
  }
  flush();
  return batches;
}
