import { DrizzleQueryError } from 'drizzle-orm/errors';
import { LockstepError, type RefusalCode } from '../errors';

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

/**
 * Constraint names whose violation is the client's doing, so they are refusals instead of internal errors. Domain
 * code may translate a violation itself; this table catches the rest.
 */
const slugTaken = { code: 'slug_taken', message: 'This slug is already taken', path: 'slug' } as const;
const CONSTRAINT_ERRORS: Record<string, { code: RefusalCode; message: string; path?: string }> = {
  events_slug_key: slugTaken,
  teams_slug_key: slugTaken,
  cards_slug_key: slugTaken,
  registrations_one_active_per_email: {
    code: 'already_registered',
    message: 'This email already has an active registration for this event',
    path: 'email',
  },
  event_shards_reserved_within_quota: {
    code: 'capacity_below_reserved',
    message: 'The capacity is below the spots already reserved',
    path: 'capacity',
  },
  events_ends_after_start: { code: 'validation_failed', message: 'endsAt must not be before startsAt', path: 'endsAt' },
  // A team deleted between an add-member statement's snapshot and its foreign-key check.
  team_memberships_team_id_fkey: { code: 'not_found', message: 'Team not found' },
  team_memberships_user_id_fkey: { code: 'user_not_found', message: 'No user with this id', path: 'userId' },
};

const CLIENT_VIOLATIONS = new Set<string>([SqlState.uniqueViolation, SqlState.checkViolation, SqlState.foreignKeyViolation]);

/**
 * Data exceptions only client text or dates can cause (a NUL byte, a character the encoding lacks, a date out of
 * Postgres' range). Validation refuses these first; this is the backstop that keeps them from being internal errors.
 */
const CLIENT_DATA_ERRORS = new Set<string>(['22021', '22P05', '22007', '22008']);

/**
 * The one error table: anything thrown becomes a LockstepError, classified by SQLSTATE and constraint name (never
 * by message text). Unknown failures become `internal_error`, keeping the cause for logs.
 */
export function toLockstepError(err: unknown): LockstepError {
  if (err instanceof LockstepError) return err;
  const pgError = postgresError(err);
  const known = pgError?.constraint ? CONSTRAINT_ERRORS[pgError.constraint] : undefined;
  if (known && CLIENT_VIOLATIONS.has(pgError?.code ?? '')) {
    return new LockstepError(known.code, known.message, {
      cause: err,
      errors: known.path ? [{ path: known.path, message: known.message }] : undefined,
    });
  }
  if (CLIENT_DATA_ERRORS.has(pgError?.code ?? '')) {
    return new LockstepError('validation_failed', 'The request holds a value the database cannot store', { cause: err });
  }
  if (isDatabaseUnavailable(err)) {
    return new LockstepError('database_unavailable', 'The database is unavailable', { cause: err, retryAfter: 1 });
  }
  return new LockstepError('internal_error', 'Internal error', { cause: err });
}
