/**
 * What the engine knows about the source: the objects a glob matched, and the Parquet schema read from a footer.
 * Target adapters receive these types; they never talk to the object store's API themselves.
 */

/** Where the objects live and how to reach them. Credentials are never logged or printed. */
export interface ObjectStoreLocation {
  /** The configured URL, e.g. `s3://bucket/pypi/2024-12-17/1734393600-000000000{101..200}.parquet`. */
  readonly url: string;
  readonly bucket: string;
  /** The key pattern inside the bucket (glob syntax of ClickHouse: `*`, `?`, `{a,b}`, `{N..M}`). */
  readonly keyPattern: string;
  /** S3-compatible endpoint such as `http://127.0.0.1:9000`; undefined means AWS S3 for `region`. */
  readonly endpoint: string | undefined;
  /** Endpoint the database itself reads through (`source.server_endpoint`); default `endpoint`. */
  readonly serverEndpoint?: string | undefined;
  readonly region: string;
  readonly credentials: ObjectStoreCredentials | undefined;
}

export interface ObjectStoreCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/** One object the glob matched. */
export interface SourceObject {
  /** Key inside the bucket. */
  readonly key: string;
  readonly size: number;
  /** `s3://bucket/key`, for messages. */
  readonly uri: string;
  /** Path-style HTTP URL (endpoint/bucket/key) a database can read with its own S3 client. */
  readonly httpUrl: string;
  readonly etag?: string | undefined;
}

/** Neutral type of a source column, derived from the Parquet physical + logical type. */
export type ValueType =
  | { readonly kind: 'boolean' }
  | { readonly kind: 'int'; readonly bits: 8 | 16 | 32 | 64; readonly signed: boolean }
  | { readonly kind: 'float'; readonly bits: 32 | 64 }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'string' }
  | { readonly kind: 'binary' }
  | { readonly kind: 'uuid' }
  | { readonly kind: 'json' }
  | { readonly kind: 'date' }
  | { readonly kind: 'time'; readonly unit: 'millis' | 'micros' | 'nanos' }
  | {
      readonly kind: 'timestamp';
      readonly unit: 'millis' | 'micros' | 'nanos';
      /** isAdjustedToUTC; INT96 timestamps are reported as nanos, utc=false. */
      readonly utc: boolean;
    }
  | { readonly kind: 'list'; readonly element: ValueType }
  | { readonly kind: 'struct'; readonly fields: readonly SourceColumn[] }
  | { readonly kind: 'map'; readonly key: ValueType; readonly value: ValueType }
  | { readonly kind: 'unsupported'; readonly detail: string };

export interface SourceColumn {
  readonly name: string;
  readonly type: ValueType;
  readonly nullable: boolean;
  /** The Parquet physical type and logical/converted annotation, for messages (e.g. `INT64 TIMESTAMP(MICROS,true)`). */
  readonly parquetType: string;
}

export interface SourceSchema {
  /** The object the schema was read from. */
  readonly object: SourceObject;
  readonly columns: readonly SourceColumn[];
  readonly numRows: number;
  readonly rowGroups: number;
  /** Per top-level column whose footer statistics bound it in every row group: its smallest and largest value. */
  readonly ranges?: Readonly<Record<string, ColumnRange>>;
}

/**
 * The smallest and largest value of a column (both inclusive), from Parquet footer statistics, as JSON-safe text:
 * times and dates as ISO 8601 UTC instants with six fractional digits (`2024-12-17T00:00:00.000000Z`; widened where
 * the statistics lost sub-millisecond digits, so the range always contains the true values), numbers as decimal
 * text (exact for 64-bit integers).
 */
export interface ColumnRange {
  readonly kind: 'time' | 'number';
  readonly min: string;
  readonly max: string;
}
