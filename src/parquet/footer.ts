/**
 * Reads and validates a Parquet footer (FileMetaData) with one ranged read of the object's tail (two when the
 * footer is larger than the first read). The result is cached per AsyncBuffer, so reading the schema and then
 * the rows of the same object fetches the footer once.
 */
import { parquetMetadata } from 'hyparquet';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import type { SourceObject } from '../source/types.ts';
import { corruptObject, fetchFailed, reasonOf } from './errors.ts';

/** Bytes read from the end of the object first; large enough for the footer of most files. */
const INITIAL_TAIL_BYTES = 64 * 1024;
const MAGIC = 0x31524150; // "PAR1" little-endian
const ENCRYPTED_MAGIC = 0x45524150; // "PARE"

const cache = new WeakMap<AsyncBuffer, Promise<FileMetaData>>();

/** The object's footer; throws SourceError(SOURCE_CORRUPT) when it is not a readable Parquet file. */
export function readFooter(buffer: AsyncBuffer, object: SourceObject): Promise<FileMetaData> {
  let footer = cache.get(buffer);
  if (!footer) {
    footer = readFooterUncached(buffer, object);
    cache.set(buffer, footer);
    footer.catch(() => cache.delete(buffer));
  }
  return footer;
}

async function slice(
  buffer: AsyncBuffer,
  object: SourceObject,
  start: number,
  end: number,
): Promise<Uint8Array> {
  try {
    return new Uint8Array(await buffer.slice(start, end));
  } catch (error) {
    throw fetchFailed(object, `the Parquet footer (bytes ${start}–${end})`, error);
  }
}

async function readFooterUncached(buffer: AsyncBuffer, object: SourceObject): Promise<FileMetaData> {
  const size = buffer.byteLength;
  if (size < 12) throw corruptObject(object, `it is only ${size} bytes long (truncated or empty)`);
  const tailStart = Math.max(0, size - INITIAL_TAIL_BYTES);
  let tail = await slice(buffer, object, tailStart, size);
  if (tail.byteLength !== size - tailStart) {
    throw corruptObject(
      object,
      `the store returned ${tail.byteLength} bytes for a ${size - tailStart}-byte read`,
    );
  }
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const magic = view.getUint32(tail.byteLength - 4, true);
  if (magic === ENCRYPTED_MAGIC) {
    throw corruptObject(
      object,
      'it uses Parquet modular encryption (encrypted footer), which cannot be read',
    );
  }
  if (magic !== MAGIC) {
    throw corruptObject(
      object,
      'it does not end with the Parquet magic bytes PAR1 (truncated, or not Parquet)',
    );
  }
  const metadataLength = view.getUint32(tail.byteLength - 8, true);
  if (metadataLength + 8 > size - 4) {
    throw corruptObject(
      object,
      `its footer claims ${metadataLength} bytes but the object is only ${size} bytes long`,
    );
  }
  if (metadataLength + 8 > tail.byteLength) {
    const start = size - metadataLength - 8;
    const head = await slice(buffer, object, start, tailStart);
    const whole = new Uint8Array(metadataLength + 8);
    whole.set(head, 0);
    whole.set(tail, tailStart - start);
    tail = whole;
  }
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(tail, { geoparquet: false });
  } catch (error) {
    throw corruptObject(object, `its footer cannot be decoded (${reasonOf(error)})`, error);
  }
  validate(metadata, object, size - metadataLength - 8);
  return metadata;
}

/** Cheap consistency checks that catch a garbled footer before any data is read. */
function validate(metadata: FileMetaData, object: SourceObject, dataEnd: number): void {
  if (
    !Array.isArray(metadata.schema) ||
    metadata.schema.length === 0 ||
    !Array.isArray(metadata.row_groups)
  ) {
    throw corruptObject(object, 'its footer has no schema or no row group list');
  }
  let rows = 0n;
  metadata.row_groups.forEach((rowGroup, index) => {
    rows += BigInt(rowGroup.num_rows);
    for (const chunk of rowGroup.columns) {
      const meta = chunk.meta_data;
      const name = meta?.path_in_schema.join('.') ?? '?';
      if (chunk.file_path) {
        throw corruptObject(
          object,
          `column "${name}" of row group ${index} lives in another file (${chunk.file_path})`,
        );
      }
      if (!meta) throw corruptObject(object, `column "${name}" of row group ${index} has no metadata`);
      const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
      const end = start + Number(meta.total_compressed_size);
      if (!(start >= 4 && end <= dataEnd && end >= start)) {
        throw corruptObject(
          object,
          `column "${name}" of row group ${index} claims bytes ${start}–${end}, outside the data area (4–${dataEnd}); the object is truncated or its footer is damaged`,
        );
      }
    }
  });
  if (rows !== BigInt(metadata.num_rows)) {
    throw corruptObject(object, `its row groups hold ${rows} rows but the footer says ${metadata.num_rows}`);
  }
}
