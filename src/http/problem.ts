import { isDatabaseUnavailable, postgresError, SqlState } from '../db/errors';
import { LockstepError, type ErrorCode, type FieldError } from '../errors';
import type { HttpResponse } from './response';

/** The one place where error codes become HTTP statuses. */
const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  invalid_json: 400,
  invalid_idempotency_key: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  user_not_found: 404,
  member_not_found: 404,
  slug_taken: 409,
  capacity_below_reserved: 409,
  capacity_below_waiting: 409,
  capacity_exceeded: 409,
  event_closed: 409,
  already_registered: 409,
  owner_cannot_leave: 409,
  ownership_transfer_required: 409,
  last_card: 409,
  idempotency_key_in_flight: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_key_reused: 422,
  internal_error: 500,
  database_unavailable: 503,
  auth_unavailable: 503,
};

const TITLE: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * Constraint names whose violation is the client's doing, so they map to a 4xx instead of a 500. Domain code
 * may translate a violation itself; this table catches the rest.
 */
const slugTaken = { code: 'slug_taken', message: 'This slug is already taken', path: 'slug' } as const;
const CONSTRAINT_ERRORS: Record<string, { code: ErrorCode; message: string; path?: string }> = {
  events_slug_key: slugTaken,
  teams_slug_key: slugTaken,
  cards_slug_key: slugTaken,
  registrations_one_active_per_email: {
    code: 'already_registered',
    message: 'This email already has an active registration for this event',
    path: 'email',
  },
  events_spots_reserved_within_capacity: {
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
 * Postgres' range). Validation refuses these first; this is the backstop that keeps them from becoming a 500.
 */
const CLIENT_DATA_ERRORS = new Set<string>(['22021', '22P05', '22007', '22008']);

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

/** Turn anything thrown into a LockstepError; unknown failures become `internal_error`, keeping the cause for logs. */
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

export function problemBody(error: LockstepError): Problem {
  const status = statusOf(error.code);
  const exposed = status < 500;
  return {
    type: `urn:lockstep:problem:${error.code}`,
    title: TITLE[status] ?? 'Error',
    status,
    // Messages of 5xx errors may carry SQL or parameters: clients get a fixed text.
    detail: exposed ? error.message : 'The server could not complete the request. Please retry later.',
    code: error.code,
    ...(exposed && error.errors ? { errors: error.errors } : {}),
  };
}

export function problemResponse(error: LockstepError): HttpResponse {
  const body = problemBody(error);
  return {
    statusCode: body.status,
    headers: {
      'content-type': 'application/problem+json',
      ...(error.retryAfter !== undefined ? { 'retry-after': String(error.retryAfter) } : {}),
    },
    body: JSON.stringify(body),
  };
}
