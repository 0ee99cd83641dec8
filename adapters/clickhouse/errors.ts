/**
 * Turns a ClickHouseError (from either driver) into the engine's TargetError: the code decides the failure in the
 * engine's taxonomy (and so whether a retry can help) and the category (unreachable / access denied / missing /
 * query failed); the message is one line that names where it happened and what to do. Also names the error codes
 * that servers older than 21.x report without their type name.
 */
import { TargetError, targetErrorCode, type TargetFailure } from '../../src/errors.ts';
import type { ClickHouseError } from './driver.ts';

/**
 * The codes this project meets, with their type names (servers older than 21.x send only the number) and their
 * failure in the engine's taxonomy (src/errors.ts). Numbers from ClickHouse's src/Common/ErrorCodes.cpp.
 */
const CODES: ReadonlyMap<number, readonly [name: string, failure: TargetFailure]> = new Map([
  [6, ['CANNOT_PARSE_TEXT', 'invalid-data']],
  [16, ['NO_SUCH_COLUMN_IN_TABLE', 'unknown-identifier']],
  [27, ['CANNOT_PARSE_INPUT_ASSERTION_FAILED', 'invalid-data']],
  [36, ['BAD_ARGUMENTS', 'syntax']],
  [38, ['CANNOT_PARSE_DATE', 'invalid-data']],
  [41, ['CANNOT_PARSE_DATETIME', 'invalid-data']],
  [42, ['NUMBER_OF_ARGUMENTS_DOESNT_MATCH', 'syntax']],
  [43, ['ILLEGAL_TYPE_OF_ARGUMENT', 'syntax']],
  [44, ['ILLEGAL_COLUMN', 'syntax']],
  [46, ['UNKNOWN_FUNCTION', 'unknown-identifier']],
  [47, ['UNKNOWN_IDENTIFIER', 'unknown-identifier']],
  [48, ['NOT_IMPLEMENTED', 'unsupported']],
  [50, ['UNKNOWN_TYPE', 'unknown-identifier']],
  [53, ['TYPE_MISMATCH', 'invalid-data']],
  [57, ['TABLE_ALREADY_EXISTS', 'other']],
  [60, ['UNKNOWN_TABLE', 'missing-object']],
  [62, ['SYNTAX_ERROR', 'syntax']],
  [63, ['UNKNOWN_AGGREGATE_FUNCTION', 'unknown-identifier']],
  [69, ['ARGUMENT_OUT_OF_BOUND', 'invalid-data']],
  [70, ['CANNOT_CONVERT_TYPE', 'invalid-data']],
  [72, ['CANNOT_PARSE_NUMBER', 'invalid-data']],
  [73, ['UNKNOWN_FORMAT', 'unknown-identifier']],
  [76, ['CANNOT_OPEN_FILE', 'other']],
  [80, ['INCORRECT_QUERY', 'syntax']],
  [81, ['UNKNOWN_DATABASE', 'missing-object']],
  [82, ['DATABASE_ALREADY_EXISTS', 'other']],
  [115, ['UNKNOWN_SETTING', 'unknown-identifier']],
  [117, ['INCORRECT_DATA', 'invalid-data']],
  [158, ['TOO_MANY_ROWS', 'other']],
  [159, ['TIMEOUT_EXCEEDED', 'timeout']],
  [160, ['TOO_SLOW', 'timeout']],
  [164, ['READONLY', 'permission']],
  [173, ['CANNOT_ALLOCATE_MEMORY', 'resources']],
  [192, ['UNKNOWN_USER', 'authentication']],
  [193, ['WRONG_PASSWORD', 'authentication']],
  [194, ['REQUIRED_PASSWORD', 'authentication']],
  [195, ['IP_ADDRESS_NOT_ALLOWED', 'authentication']],
  [202, ['TOO_MANY_SIMULTANEOUS_QUERIES', 'resources']],
  [203, ['NO_FREE_CONNECTION', 'resources']],
  [209, ['SOCKET_TIMEOUT', 'timeout']],
  [210, ['NETWORK_ERROR', 'connection-lost']],
  [236, ['ABORTED', 'cancelled']],
  [241, ['MEMORY_LIMIT_EXCEEDED', 'resources']],
  [242, ['TABLE_IS_READ_ONLY', 'permission']],
  [243, ['NOT_ENOUGH_SPACE', 'resources']],
  [252, ['TOO_MANY_PARTS', 'resources']],
  [279, ['ALL_CONNECTION_TRIES_FAILED', 'unreachable']],
  [291, ['DATABASE_ACCESS_DENIED', 'permission']],
  [319, ['UNKNOWN_STATUS_OF_INSERT', 'connection-lost']],
  [321, ['VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE', 'invalid-data']],
  [349, ['CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN', 'constraint']],
  [390, ['CANNOT_GET_CREATE_TABLE_QUERY', 'missing-object']],
  [394, ['QUERY_WAS_CANCELLED', 'cancelled']],
  [395, ['FUNCTION_THROW_IF_VALUE_IS_NON_ZERO', 'invalid-data']],
  [407, ['DECIMAL_OVERFLOW', 'invalid-data']],
  [452, ['SETTING_CONSTRAINT_VIOLATION', 'permission']],
  [469, ['VIOLATED_CONSTRAINT', 'constraint']],
  [471, ['INVALID_SETTING_VALUE', 'syntax']],
  [472, ['READONLY_SETTING', 'permission']],
  [473, ['DEADLOCK_AVOIDED', 'conflict']],
  [481, ['PATH_ACCESS_DENIED', 'permission']],
  [497, ['ACCESS_DENIED', 'permission']],
  [499, ['S3_ERROR', 'other']],
  [516, ['AUTHENTICATION_FAILED', 'authentication']],
]);

/** The type name of a ClickHouse error code, or '' when this table does not know it. */
export function clickHouseErrorName(code: number): string {
  return CODES.get(code)?.[0] ?? '';
}

/** The failure of a ClickHouse error code (or of its type name, from newer servers), in the engine's taxonomy. */
export function clickHouseFailure(code: number, type = ''): TargetFailure {
  const known = CODES.get(code);
  if (known) return known[1];
  for (const [name, failure] of CODES.values()) if (name === type) return failure;
  return 'other';
}

/** Failures without a ClickHouse code (type set by the drivers). */
const TRANSPORT_FAILURES: Readonly<Record<string, TargetFailure>> = {
  NETWORK: 'unreachable',
  CONNECTION_LOST: 'connection-lost',
  TIMEOUT: 'timeout',
  CLOSED: 'connection-lost',
  LOCKED: 'locked',
};

const MISSING_DATABASE_CODES = new Set([81]);
const MISSING_COLUMN_CODES = new Set([16, 47]);

const MAX_DETAIL = 300;

export interface ToTargetErrorOptions {
  /** Values that must not appear in the message (passwords, secret keys); each is replaced by `***`. */
  readonly secrets?: readonly string[];
}

/**
 * Maps `error` to a TargetError whose one-line message names `where` (e.g. `http://ch:8123` or
 * `http://ch:8123 table \`db\`.\`t\``) and the fix. Passwords never appear: the drivers do not put them into
 * messages, and anything listed in `options.secrets` is masked from the server's text as well.
 */
export function toTargetError(
  error: ClickHouseError,
  where: string,
  options?: ToTargetErrorOptions,
): TargetError {
  const code = error.code;
  const type = error.type || clickHouseErrorName(code);
  const detail = describeDetail(error.message, options?.secrets ?? []);
  const codeText = code === 0 ? type || 'no ClickHouse error code' : `code ${code}${type ? ` ${type}` : ''}`;
  const nativeCode = code === 0 ? undefined : String(code);
  const failure: TargetFailure =
    code === 0 ? (TRANSPORT_FAILURES[type] ?? 'other') : clickHouseFailure(code, type);
  const make = (message: string) =>
    new TargetError(targetErrorCode(failure), message, { cause: error, nativeCode, failure });

  switch (failure) {
    case 'unreachable':
      return make(
        `cannot reach ClickHouse at ${where}: ${detail}; check target.url and that the server is running and reachable`,
      );
    case 'locked':
      return make(`${detail}`);
    case 'connection-lost':
      return make(
        `lost the connection to ClickHouse at ${where} (${codeText}: ${detail}); run the same command again to resume`,
      );
    case 'authentication':
      return make(
        `ClickHouse at ${where} refused the login (${codeText}: ${detail}); check target.user/target.password`,
      );
    case 'permission':
      return make(
        `ClickHouse at ${where} denied the operation (${codeText}: ${detail}); grant the privilege to target.user or use another target.user`,
      );
    case 'missing-object':
      return MISSING_DATABASE_CODES.has(code)
        ? make(
            `ClickHouse at ${where}: database not found (${codeText}: ${detail}); create the database or fix target.database`,
          )
        : make(
            `ClickHouse at ${where}: table not found (${codeText}: ${detail}); create the table or fix target.table`,
          );
    case 'unknown-identifier':
      if (MISSING_COLUMN_CODES.has(code)) {
        return make(
          `ClickHouse at ${where}: column not found (${codeText}: ${detail}); check the table's columns against the source, then run again`,
        );
      }
      if (code === 115) {
        return make(
          `ClickHouse at ${where} does not know a setting (${codeText}: ${detail}); fix or remove it under settings`,
        );
      }
      return make(`ClickHouse query failed at ${where} (${codeText}: ${detail})`);
    default:
      return make(`ClickHouse query failed at ${where} (${codeText}: ${detail})`);
  }
}

/** The server's text on one line, without the repeated `(TYPE) (version …)` suffix, secrets masked, shortened. */
function describeDetail(message: string, secrets: readonly string[]): string {
  let text = message
    .replace(/\s+/g, ' ')
    .replace(/(?:\s*\([A-Z][A-Z0-9_]+\))?(?:\s*\(version [^)]*\))?\s*$/, '')
    .trim();
  for (const secret of secrets) {
    if (secret.length > 0) text = text.split(secret).join('***');
  }
  if (text.length > MAX_DETAIL) text = `${text.slice(0, MAX_DETAIL - 1)}…`;
  return text.length > 0 ? text : 'no message';
}
