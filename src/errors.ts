/**
 * Typed errors. Every message says what failed, where, and what to do; the original error is kept as `cause`.
 * The CLI prints `error.message` on one line and exits with `error.exitCode`.
 */

export type ShadowfillErrorCode =
  | 'CONFIG_INVALID'
  | 'SOURCE_EMPTY'
  | 'SOURCE_UNREACHABLE'
  | 'SOURCE_ACCESS_DENIED'
  | 'SOURCE_CORRUPT'
  | 'SCHEMA_MISMATCH'
  | 'TARGET_UNREACHABLE'
  | 'TARGET_ACCESS_DENIED'
  | 'TARGET_MISSING'
  | 'TARGET_UNSUPPORTED'
  | 'TARGET_QUERY_FAILED'
  | 'VERIFY_FAILED'
  | 'BATCH_FAILED'
  | 'JOURNAL_CONFLICT'
  | 'NOTHING_TO_DO'
  | 'INTERRUPTED';

export class ShadowfillError extends Error {
  readonly code: ShadowfillErrorCode;
  readonly exitCode: number;

  constructor(code: ShadowfillErrorCode, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShadowfillError';
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** Configuration is missing a field or has a value of the wrong shape. */
export class ConfigError extends ShadowfillError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIG_INVALID', message, { ...options, exitCode: 2 });
    this.name = 'ConfigError';
  }
}

/** The object store: nothing matched, unreachable, access denied, or an object is unreadable. */
export class SourceError extends ShadowfillError {
  constructor(
    code: 'SOURCE_EMPTY' | 'SOURCE_UNREACHABLE' | 'SOURCE_ACCESS_DENIED' | 'SOURCE_CORRUPT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'SourceError';
  }
}

/** The source's columns cannot be loaded into the target table as they are. */
export class SchemaMismatchError extends ShadowfillError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SCHEMA_MISMATCH', message, options);
    this.name = 'SchemaMismatchError';
  }
}

/** The target database refused or failed; adapters map their native errors onto these codes. */
export class TargetError extends ShadowfillError {
  /** The database's own error code (ClickHouse numeric code, PostgreSQL SQLSTATE), when there is one. */
  readonly nativeCode: string | undefined;

  constructor(
    code:
      | 'TARGET_UNREACHABLE'
      | 'TARGET_ACCESS_DENIED'
      | 'TARGET_MISSING'
      | 'TARGET_UNSUPPORTED'
      | 'TARGET_QUERY_FAILED',
    message: string,
    options?: { cause?: unknown; nativeCode?: string },
  ) {
    super(code, message, options);
    this.name = 'TargetError';
    this.nativeCode = options?.nativeCode;
  }
}

/**
 * The database stopped a statement at a resource limit (memory, time). Another attempt of the same statement
 * fails the same way: the fix is a smaller unit of work or a higher limit (`setting` names it).
 */
export class ResourceLimitError extends TargetError {
  readonly resource: 'memory' | 'time';
  /** The configuration field that raises the limit, e.g. `settings.max_memory_usage`. */
  readonly setting: string;

  constructor(
    resource: 'memory' | 'time',
    setting: string,
    message: string,
    options?: { cause?: unknown; nativeCode?: string },
  ) {
    super('TARGET_QUERY_FAILED', message, options);
    this.name = 'ResourceLimitError';
    this.resource = resource;
    this.setting = setting;
  }
}

/** A batch's rows in the shadow differ from the rows selected from the source. */
export class VerifyError extends ShadowfillError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VERIFY_FAILED', message, options);
    this.name = 'VerifyError';
  }
}

/** The journal holds a state this invocation cannot continue from (e.g. another config's run). */
export class JournalError extends ShadowfillError {
  constructor(code: 'JOURNAL_CONFLICT' | 'NOTHING_TO_DO', message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, exitCode: code === 'NOTHING_TO_DO' ? 0 : 1 });
    this.name = 'JournalError';
  }
}

/** First line of an error's message, for one-line CLI output. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]?.trim() ?? text;
}
