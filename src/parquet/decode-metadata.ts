/**
 * The footer as handed to hyparquet's decoder, with annotations rewritten so hyparquet returns values that
 * rows.ts can represent exactly:
 * - DECIMAL annotations are removed, so hyparquet yields the raw unscaled integers/bytes (it would otherwise
 *   turn them into floats); values.ts formats them as exact decimal strings.
 * - ENUM and JSON (and a STRING logical type without UTF8) become UTF8, so they decode as text, unparsed.
 * - GEOMETRY/GEOGRAPHY annotations are removed, so their WKB stays bytes.
 * Plain BYTE_ARRAY stays bytes because the reader runs hyparquet with `utf8: false`.
 */
import type { FileMetaData, SchemaElement } from 'hyparquet';

const cache = new WeakMap<FileMetaData, FileMetaData>();

/** The rewritten copy of `metadata` (cached per footer object). Row groups are shared, not copied. */
export function decodeMetadata(metadata: FileMetaData): FileMetaData {
  let rewritten = cache.get(metadata);
  if (!rewritten) {
    rewritten = { ...metadata, schema: metadata.schema.map(rewriteElement) };
    cache.set(metadata, rewritten);
  }
  return rewritten;
}

function rewriteElement(element: SchemaElement): SchemaElement {
  if (element.type === undefined) return element; // group
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
