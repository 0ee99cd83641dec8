/**
 * The footer as handed to hyparquet's decoder, with annotations rewritten so hyparquet returns values that
 * rows.ts can represent exactly:
 * - DECIMAL annotations are removed, so hyparquet yields the raw unscaled integers/bytes (it would otherwise
 *   turn them into floats); values.ts formats them as exact decimal strings.
 * - ENUM and JSON (and a STRING logical type without UTF8) become UTF8, so they decode as text, unparsed.
 * - GEOMETRY/GEOGRAPHY annotations are removed, so their WKB stays bytes.
 * - INT96 columns are read as FIXED_LEN_BYTE_ARRAY(12), so their 12 bytes reach values.ts intact (hyparquet's
 *   own INT96 conversion loses the day when the time-of-day field is negative, as Spark writes for far dates).
 * Plain BYTE_ARRAY stays bytes because the reader runs hyparquet with `utf8: false`.
 */
import type { ColumnChunk, FileMetaData, RowGroup, SchemaElement } from 'hyparquet';

const cache = new WeakMap<FileMetaData, FileMetaData>();

/** The rewritten copy of `metadata` (cached per footer object); row groups are copied only to rewrite INT96. */
export function decodeMetadata(metadata: FileMetaData): FileMetaData {
  let rewritten = cache.get(metadata);
  if (!rewritten) {
    const hasInt96 = metadata.schema.some((element) => element.type === 'INT96');
    rewritten = {
      ...metadata,
      schema: metadata.schema.map(rewriteElement),
      row_groups: hasInt96 ? metadata.row_groups.map(rewriteInt96Chunks) : metadata.row_groups,
    };
    cache.set(metadata, rewritten);
  }
  return rewritten;
}

function rewriteInt96Chunks(rowGroup: RowGroup): RowGroup {
  const columns = rowGroup.columns.map((chunk): ColumnChunk => {
    const meta = chunk.meta_data;
    return meta?.type === 'INT96'
      ? { ...chunk, meta_data: { ...meta, type: 'FIXED_LEN_BYTE_ARRAY' } }
      : chunk;
  });
  return { ...rowGroup, columns };
}

function rewriteElement(element: SchemaElement): SchemaElement {
  if (element.type === undefined) return element; // group
  if (element.type === 'INT96') return { ...element, type: 'FIXED_LEN_BYTE_ARRAY', type_length: 12 };
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  if (logical === 'DECIMAL' || converted === 'DECIMAL') {
    return { ...element, converted_type: undefined, logical_type: undefined };
  }
  if (
    logical === 'ENUM' ||
    logical === 'JSON' ||
    converted === 'ENUM' ||
    converted === 'JSON' ||
    (logical === 'STRING' && converted !== 'UTF8')
  ) {
    return { ...element, converted_type: 'UTF8', logical_type: { type: 'STRING' } };
  }
  if (logical === 'GEOMETRY' || logical === 'GEOGRAPHY') {
    return { ...element, logical_type: undefined };
  }
  return element;
}
