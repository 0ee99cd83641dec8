/** The schema's defaults as values (for programs that build a BackfillConfig by hand); written once, in the schema. */
import { batchSection, fileSchema } from './schema.ts';
import type { BatchConfig } from './types.ts';

export const DEFAULT_BATCH: BatchConfig = batchSection.parse(undefined);
export const DEFAULT_ATTEMPTS: number = fileSchema.shape.attempts.parse(undefined);
