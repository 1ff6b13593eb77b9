import { DrizzleQueryError } from 'drizzle-orm/errors';

/** SQLSTATE codes lockstep reacts to (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const SqlState = {
  uniqueViolation: '23505',
  checkViolation: '23514',
  foreignKeyViolation: '23503',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  lockNotAvailable: '55P03',
  queryCanceled: '57014',
  transactionTimeout: '25P04',
  adminShutdown: '57P01',
  cannotConnectNow: '57P03',
  tooManyConnections: '53300',
} as const;

export interface PostgresErrorFields {
  code: string;
  constraint?: string;
}

/**
 * The Postgres error behind a failure, whichever driver raised it. Drizzle 0.45 wraps driver errors in
 * DrizzleQueryError with the driver error as `cause`; both `pg` and the Neon driver expose `code` and `constraint`.
 */
export function postgresError(err: unknown): PostgresErrorFields | undefined {
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 5; depth++) {
    const fields = current as Error & Partial<PostgresErrorFields>;
    if (typeof fields.code === 'string' && /^[0-9A-Z]{5}$/.test(fields.code)) {
      return { code: fields.code, constraint: fields.constraint };
    }
    current = current.cause;
  }
  return undefined;
}

/**
 * Postgres refused a statement and the session goes on: a SQLSTATE with severity ERROR. FATAL and PANIC (a
 * terminated backend answers its pending query with 57P01 FATAL) end the connection.
 */
export function isStatementError(err: unknown): boolean {
  return postgresError(err) !== undefined && (err as { severity?: unknown }).severity === 'ERROR';
}

export function isConstraintViolation(err: unknown, constraint: string): boolean {
  return postgresError(err)?.constraint === constraint;
}

export function isRetryableTransactionError(err: unknown): boolean {
  const code = postgresError(err)?.code;
  return code === SqlState.serializationFailure || code === SqlState.deadlockDetected;
}

/**
 * SQLSTATEs of a session the server ended or refused: 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03, and the
 * timeouts that end the session: 25P03 idle_in_transaction_session_timeout, 25P04 transaction_timeout.
 */
const sessionEndedStates = new Set<string>([SqlState.adminShutdown, '57P02', SqlState.cannotConnectNow, '25P03', SqlState.transactionTimeout]);

const connectionErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** A query the driver could not complete because the connection went away, reported without a SQLSTATE. */
export class ConnectionLostError extends Error {
  override readonly name = 'ConnectionLostError';
  constructor(cause: unknown) {
    super('The database connection was lost', { cause });
  }
}

/**
 * The connection broke: the server ended the session (class 08, 57P0x), the socket failed, or a query failed with
 * no SQLSTATE at all (the driver lost the connection under it) — decided by codes, never by message text.
 */
export function isConnectionLost(err: unknown): boolean {
  const pgCode = postgresError(err)?.code;
  if (pgCode !== undefined) return sessionEndedStates.has(pgCode) || pgCode.startsWith('08');
  for (let current: unknown = err, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof DrizzleQueryError || current instanceof ConnectionLostError) return true;
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string' && connectionErrorCodes.has(code)) return true;
    current = current.cause;
  }
  return false;
}

const overloadedStates = new Set<string>([SqlState.lockNotAvailable, SqlState.queryCanceled, SqlState.tooManyConnections]);

/** The database could not be reached, shed the load or made us wait too long: the client may retry later. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return isConnectionLost(err) || overloadedStates.has(postgresError(err)?.code ?? '');
}
