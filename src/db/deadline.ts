import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type SQL } from 'drizzle-orm';
import { LockstepError } from '../errors';

/**
 * The moment by which the database must have finished a unit of work (epoch ms), carried through async calls so
 * every statement of a request knows it without passing it along. Outside `withDeadline` (CLIs, tests calling data
 * functions directly) nothing is bounded beyond the connection's defaults.
 */
const current = new AsyncLocalStorage<number>();

export function withDeadline<T>(deadlineAt: number, work: () => Promise<T>): Promise<T> {
  return current.run(deadlineAt, work);
}

/** Milliseconds left for database work, or undefined when unbounded. Never below 1: 0 would mean "no limit". */
export function remainingMs(): number | undefined {
  const deadlineAt = current.getStore();
  return deadlineAt === undefined ? undefined : Math.max(1, Math.floor(deadlineAt - Date.now()));
}

/** The deadline passed before any database work started: nothing ran, so the client may simply retry. */
export function deadlineExceeded(cause?: unknown): LockstepError {
  return new LockstepError('database_unavailable', 'The database did not answer before the deadline', { cause, retryAfter: 1 });
}

/**
 * `work`'s outcome, or deadlineExceeded() when `ms` pass first. The work is not cancelled: `onLate` is handed it
 * then, to release or report what it still does.
 */
export async function within<T>(ms: number, work: Promise<T>, onLate: (late: Promise<T>) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate(work);
      reject(deadlineExceeded());
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([work, gaveUp]);
  } finally {
    clearTimeout(timer);
  }
}

/** The deadline has passed: retrying work now would only fail again. */
export function deadlinePassed(): boolean {
  const deadlineAt = current.getStore();
  return deadlineAt !== undefined && Date.now() >= deadlineAt;
}

/**
 * transaction_timeout fires this much after the deadline, so a lock wait or statement that overruns fails with its
 * own error first (the session survives) and the FATAL end of the session stays a backstop. Kept well inside the
 * answer's margin (DEADLINE_MARGIN_MS): the transaction is over before any answer can leave.
 */
export const TRANSACTION_TIMEOUT_GRACE_MS = 100;

/**
 * Settings that bound a transaction by the deadline, sent with its BEGIN in the same simple query (no extra round
 * trip). The server aborts waits and statements itself, so a request that answers 503 leaves nothing behind that
 * could still commit; transaction_timeout (PostgreSQL 17+) bounds the whole transaction, statements between included.
 */
export function transactionLimits(): string {
  const ms = remainingMs();
  if (ms === undefined) return '';
  const whole = ms + TRANSACTION_TIMEOUT_GRACE_MS;
  return `; set local lock_timeout = ${ms}; set local statement_timeout = ${ms}; set local transaction_timeout = ${whole}`;
}

/**
 * For a single autocommit statement, which has no BEGIN to ride on: a FROM item that sets the lock wait limit for
 * the rest of the statement (transaction-local, and an autocommit statement is its own transaction). The row lock a
 * hot statement waits for is where its time goes; its own work is bounded by the connection's statement_timeout.
 * `capMs` bounds the wait below the deadline.
 */
export function lockWaitLimit(capMs?: number): SQL {
  const left = remainingMs();
  const ms = capMs === undefined ? left : Math.min(capMs, left ?? capMs);
  return ms === undefined
    ? sql`(select null) as lock_wait_limit`
    : sql`(select set_config('lock_timeout', ${`${ms}ms`}, true)) as lock_wait_limit`;
}
