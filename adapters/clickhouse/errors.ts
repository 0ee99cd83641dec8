/**
 * Turns a ClickHouseError (from either driver) into the engine's TargetError: the code decides the category
 * (unreachable / access denied / missing / query failed), the message is one line that names where it happened
 * and what to do. Also names the error codes that servers older than 21.x report without their type name.
 */
import { TargetError } from '../../src/errors.ts';
import type { ClickHouseError } from './driver.ts';

/** Type names of the codes this project meets; newer servers send the name themselves (`… (UNKNOWN_TABLE)`). */
const CODE_NAMES: ReadonlyMap<number, string> = new Map([
  [6, 'CANNOT_PARSE_TEXT'],
  [16, 'NO_SUCH_COLUMN_IN_TABLE'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  [36, 'BAD_ARGUMENTS'],
  [46, 'UNKNOWN_FUNCTION'],
  [47, 'UNKNOWN_IDENTIFIER'],
  [48, 'NOT_IMPLEMENTED'],
  [53, 'TYPE_MISMATCH'],
  [57, 'TABLE_ALREADY_EXISTS'],
  [60, 'UNKNOWN_TABLE'],
  [62, 'SYNTAX_ERROR'],
  [73, 'UNKNOWN_FORMAT'],
  [81, 'UNKNOWN_DATABASE'],
  [82, 'DATABASE_ALREADY_EXISTS'],
  [115, 'UNKNOWN_SETTING'],
  [117, 'INCORRECT_DATA'],
  [158, 'TOO_MANY_ROWS'],
  [159, 'TIMEOUT_EXCEEDED'],
  [164, 'READONLY'],
  [192, 'UNKNOWN_USER'],
  [193, 'WRONG_PASSWORD'],
  [194, 'REQUIRED_PASSWORD'],
  [195, 'IP_ADDRESS_NOT_ALLOWED'],
  [209, 'SOCKET_TIMEOUT'],
  [210, 'NETWORK_ERROR'],
  [241, 'MEMORY_LIMIT_EXCEEDED'],
  [252, 'TOO_MANY_PARTS'],
  [291, 'DATABASE_ACCESS_DENIED'],
  [390, 'CANNOT_GET_CREATE_TABLE_QUERY'],
  [394, 'QUERY_WAS_CANCELLED'],
  [395, 'FUNCTION_THROW_IF_VALUE_IS_NON_ZERO'],
  [497, 'ACCESS_DENIED'],
  [516, 'AUTHENTICATION_FAILED'],
]);

/** The type name of a ClickHouse error code, or '' when this table does not know it. */
export function clickHouseErrorName(code: number): string {
  return CODE_NAMES.get(code) ?? '';
}

/** The login itself was refused: wrong user, password, or client address. */
const CREDENTIAL_CODES = new Set([192, 193, 194, 195, 516]);
/** Logged in, but the user may not do this. */
const PRIVILEGE_CODES = new Set([164, 291, 497]);
const MISSING_TABLE_CODES = new Set([60, 390]);
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
  const make = (
    category: 'TARGET_UNREACHABLE' | 'TARGET_ACCESS_DENIED' | 'TARGET_MISSING' | 'TARGET_QUERY_FAILED',
    message: string,
  ) => new TargetError(category, message, { cause: error, nativeCode });

  if (code === 0 && type === 'NETWORK') {
    return make(
      'TARGET_UNREACHABLE',
      `cannot reach ClickHouse at ${where}: ${detail}; check target.url and that the server is running and reachable`,
    );
  }
  if (CREDENTIAL_CODES.has(code)) {
    return make(
      'TARGET_ACCESS_DENIED',
      `ClickHouse at ${where} refused the login (${codeText}: ${detail}); check target.user/target.password`,
    );
  }
  if (PRIVILEGE_CODES.has(code)) {
    return make(
      'TARGET_ACCESS_DENIED',
      `ClickHouse at ${where} denied the operation (${codeText}: ${detail}); grant the privilege to target.user or use another target.user`,
    );
  }
  if (MISSING_TABLE_CODES.has(code)) {
    return make(
      'TARGET_MISSING',
      `ClickHouse at ${where}: table not found (${codeText}: ${detail}); create the table or fix target.table`,
    );
  }
  if (MISSING_DATABASE_CODES.has(code)) {
    return make(
      'TARGET_MISSING',
      `ClickHouse at ${where}: database not found (${codeText}: ${detail}); create the database or fix target.database`,
    );
  }
  if (MISSING_COLUMN_CODES.has(code)) {
    return make(
      'TARGET_MISSING',
      `ClickHouse at ${where}: column not found (${codeText}: ${detail}); check the table's columns against the source, then run again`,
    );
  }
  return make('TARGET_QUERY_FAILED', `ClickHouse query failed at ${where} (${codeText}: ${detail})`);
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
