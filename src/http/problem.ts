import type { ErrorCode, FailureCode, FieldError, LockstepError } from '../errors';
import type { HttpResponse } from './response';

type RefusalStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422;
type FailureStatus = 500 | 503;

/**
 * The one place where error codes become HTTP statuses: a refusal below 500, a failure 500 or more, as the type
 * holds it to (src/errors.ts says which codes are which).
 */
const STATUS: { [C in ErrorCode]: C extends FailureCode ? FailureStatus : RefusalStatus } = {
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
