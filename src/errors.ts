/**
 * Stable, client-visible error codes of refusals: the request's own doing. It changed nothing, and only a
 * different request can succeed. Their HTTP status lives in one place: src/http/problem.ts.
 */
export type RefusalCode =
  | 'validation_failed'
  | 'invalid_json'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'user_not_found'
  | 'member_not_found'
  | 'slug_taken'
  | 'capacity_below_reserved'
  | 'capacity_below_waiting'
  | 'capacity_exceeded'
  | 'event_closed'
  | 'already_registered'
  | 'owner_cannot_leave'
  | 'ownership_transfer_required'
  | 'last_card'
  | 'invalid_idempotency_key'
  | 'idempotency_key_in_flight'
  | 'idempotency_key_reused';

/** Codes of failures: ours or a dependency's, not the request's; the same request may succeed later. */
export type FailureCode = 'database_unavailable' | 'auth_unavailable' | 'internal_error';

export type ErrorCode = RefusalCode | FailureCode;

const FAILURES: Record<FailureCode, true> = { database_unavailable: true, auth_unavailable: true, internal_error: true };

export interface FieldError {
  path: string;
  message: string;
}

export interface LockstepErrorOptions {
  cause?: unknown;
  errors?: FieldError[];
  /** Seconds a client should wait before retrying (409 in-flight, 503). */
  retryAfter?: number;
}

/** A failure with a stable code. Only errors below 500 show their message to clients. */
export class LockstepError extends Error {
  override readonly name = 'LockstepError';
  readonly errors?: FieldError[];
  readonly retryAfter?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: LockstepErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.errors = options.errors;
    this.retryAfter = options.retryAfter;
  }
}

/**
 * A refusal is the request's answer (stored under its Idempotency-Key, an import row's rejection); a failure is
 * not, and must not cost the request or the row.
 */
export const isRefusal = (error: LockstepError): boolean => !Object.hasOwn(FAILURES, error.code);

export const notFound = (what: string) => new LockstepError('not_found', `${what} not found`);
export const forbidden = (detail = 'You are not allowed to do this') => new LockstepError('forbidden', detail);
export const invalidField = (path: string, message: string) =>
  new LockstepError('validation_failed', 'The request is invalid', { errors: [{ path, message }] });
