/**
 * Typed errors. Every message says what failed, where, and what to do; the original error is kept as `cause`.
 * The CLI prints `error.message` on one line and exits with `error.exitCode`. `retryable` says whether another
 * attempt of the same step can succeed (the runner retries a batch only then); database errors carry their
 * `failure` in a small taxonomy mapped from SQLSTATE and ClickHouse error codes by the adapters.
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
  | 'BATCH_CLAIMED'
  | 'JOURNAL_CONFLICT'
  | 'NOTHING_TO_DO'
  | 'INTERRUPTED';

/** Codes whose failures another attempt can fix by default (a TargetError decides by its `failure`). */
const RETRYABLE_CODES: ReadonlySet<ShadowfillErrorCode> = new Set<ShadowfillErrorCode>([
  'SOURCE_UNREACHABLE',
  'TARGET_UNREACHABLE',
  'VERIFY_FAILED',
  'BATCH_FAILED',
]);

export interface ShadowfillErrorOptions {
  readonly cause?: unknown;
  readonly exitCode?: number;
  /** Whether another attempt can succeed; default by code (source/target unreachable, verification: yes). */
  readonly retryable?: boolean;
}

export class ShadowfillError extends Error {
  readonly code: ShadowfillErrorCode;
  readonly exitCode: number;
  /** Another attempt of the same step can succeed (a network blip, a timeout, a deadlock, …). */
  readonly retryable: boolean;

  constructor(code: ShadowfillErrorCode, message: string, options?: ShadowfillErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShadowfillError';
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
    this.retryable = options?.retryable ?? RETRYABLE_CODES.has(code);
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

/**
 * What went wrong in the database, whichever it is. Adapters map their native codes onto these (PostgreSQL
 * SQLSTATE in adapters/timescaledb/connection.ts, ClickHouse codes in adapters/clickhouse/errors.ts).
 */
export type TargetFailure =
  /** The server cannot be reached or refuses connections. Retryable. */
  | 'unreachable'
  /** The connection broke during a statement (server restarted, network cut, backend terminated). Retryable. */
  | 'connection-lost'
  /** A statement or lock wait timed out. Retryable. */
  | 'timeout'
  /** Serialization failure, deadlock, lock not available: the transaction lost a race. Retryable. */
  | 'conflict'
  /** Out of memory, disk, connections; too many parts or queries. Retryable (after a pause). */
  | 'resources'
  /** The login was refused (user, password, client address). */
  | 'authentication'
  /** Logged in, but not allowed to do this. */
  | 'permission'
  /** A database, schema or table does not exist. */
  | 'missing-object'
  /** A column, function, setting or other name is unknown. */
  | 'unknown-identifier'
  /** The statement does not parse or is invalid as written. */
  | 'syntax'
  /** A row collides with a unique index or primary key. */
  | 'unique-violation'
  /** Another constraint refuses a row (not null, check, foreign key). */
  | 'constraint'
  /** A value cannot be converted, is out of range or malformed. */
  | 'invalid-data'
  /** The statement was cancelled by someone else (not by a timeout). */
  | 'cancelled'
  /** The server lacks a feature this needs. */
  | 'unsupported'
  /** Another process holds the embedded engine's data directory. */
  | 'locked'
  /** Anything else. Retryable: another attempt of a batch is safe and bounded by `attempts`. */
  | 'other';

const RETRYABLE_FAILURES: ReadonlySet<TargetFailure> = new Set<TargetFailure>([
  'unreachable',
  'connection-lost',
  'timeout',
  'conflict',
  'resources',
  'other',
]);

export function isRetryableFailure(failure: TargetFailure): boolean {
  return RETRYABLE_FAILURES.has(failure);
}

type TargetErrorCode =
  | 'TARGET_UNREACHABLE'
  | 'TARGET_ACCESS_DENIED'
  | 'TARGET_MISSING'
  | 'TARGET_UNSUPPORTED'
  | 'TARGET_QUERY_FAILED';

/** The failure a code implies when the adapter names none. */
const FAILURE_OF_CODE: Readonly<Record<TargetErrorCode, TargetFailure>> = {
  TARGET_UNREACHABLE: 'unreachable',
  TARGET_ACCESS_DENIED: 'permission',
  TARGET_MISSING: 'missing-object',
  TARGET_UNSUPPORTED: 'unsupported',
  TARGET_QUERY_FAILED: 'other',
};

/** The code a failure reports under. */
export function targetErrorCode(failure: TargetFailure): TargetErrorCode {
  switch (failure) {
    case 'unreachable':
    case 'connection-lost':
    case 'locked':
      return 'TARGET_UNREACHABLE';
    case 'authentication':
    case 'permission':
      return 'TARGET_ACCESS_DENIED';
    case 'missing-object':
    case 'unknown-identifier':
      return 'TARGET_MISSING';
    case 'unsupported':
      return 'TARGET_UNSUPPORTED';
    default:
      return 'TARGET_QUERY_FAILED';
  }
}

/** The target database refused or failed; adapters map their native errors onto these codes and failures. */
export class TargetError extends ShadowfillError {
  /** The database's own error code (ClickHouse numeric code, PostgreSQL SQLSTATE), when there is one. */
  readonly nativeCode: string | undefined;
  /** What went wrong, in the taxonomy shared by every adapter; decides `retryable`. */
  readonly failure: TargetFailure;

  constructor(
    code: TargetErrorCode,
    message: string,
    options?: { cause?: unknown; nativeCode?: string; failure?: TargetFailure; retryable?: boolean },
  ) {
    const failure = options?.failure ?? FAILURE_OF_CODE[code];
    super(code, message, {
      cause: options?.cause,
      retryable: options?.retryable ?? isRetryableFailure(failure),
    });
    this.name = 'TargetError';
    this.nativeCode = options?.nativeCode;
    this.failure = failure;
  }
}

/**
 * The database stopped a statement at a limit the statement itself set off (memory: `max_memory_usage`, work_mem;
 * time: `max_execution_time`, statement_timeout). In the taxonomy it is a `resources` (memory) or `timeout` (time)
 * failure, but unlike those it is not retryable: another attempt of the same unit of work fails the same way. The
 * fix is a smaller unit of work or a higher limit (`setting` names it); the engine's message says both (add-view:
 * lower `view.window` or raise the setting).
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
    super('TARGET_QUERY_FAILED', message, {
      ...options,
      failure: resource === 'time' ? 'timeout' : 'resources',
      retryable: false,
    });
    this.name = 'ResourceLimitError';
    this.resource = resource;
    this.setting = setting;
  }
}

/** A batch's rows in the shadow differ from the rows selected from the source. */
export class VerifyError extends ShadowfillError {
  /** `retryable: false` when running the step again finds the same difference (the fix is elsewhere). */
  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super('VERIFY_FAILED', message, options);
    this.name = 'VerifyError';
  }
}

/**
 * Another live process holds the claim on a batch (it is loading it now): not a failure of the batch; the
 * scheduler loads another one and looks again later.
 */
export class BatchClaimedError extends ShadowfillError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BATCH_CLAIMED', message, { ...options, retryable: false });
    this.name = 'BatchClaimedError';
  }
}

/** The journal holds a state this invocation cannot continue from (e.g. another config's run). */
export class JournalError extends ShadowfillError {
  constructor(code: 'JOURNAL_CONFLICT' | 'NOTHING_TO_DO', message: string, options?: { cause?: unknown }) {
    super(code, message, { ...options, exitCode: code === 'NOTHING_TO_DO' ? 0 : 1 });
    this.name = 'JournalError';
  }
}

/**
 * Whether another attempt of the step that threw `error` can succeed. A ShadowfillError says so itself (database
 * errors by their failure: a syntax error, a missing table or a unique violation is not retried); any other
 * error is unknown, and an unknown failure is given another attempt, as a TargetError's `other` failure is —
 * attempts are bounded by `attempts` and a retried batch is discarded first, so a retry is always safe.
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof ShadowfillError ? error.retryable : true;
}

/** First line of an error's message, for one-line CLI output. */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0]?.trim() ?? text;
}
