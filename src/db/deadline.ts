import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type SQL } from 'drizzle-orm';
import { LockstepError } from '../errors';

/**
 * The moment by which the database must have finished a unit of work (epoch ms), carried through async calls so
 * every statement of a request knows it without passing it along, with the signal that fires when the request
 * answered without waiting for it (the handler's backstop). Outside `withDeadline` (CLIs, tests calling data
 * functions directly) nothing is bounded beyond the connection's defaults.
 */
interface Deadline {
  at: number;
  abandoned?: AbortSignal;
}

const current = new AsyncLocalStorage<Deadline>();

/** Run `work` bounded by `deadlineAt`; `abandoned` fires if its request answers before it is done. */
export function withDeadline<T>(deadlineAt: number, work: () => Promise<T>, abandoned?: AbortSignal): Promise<T> {
  return current.run({ at: deadlineAt, abandoned }, work);
}

/** The signal that fires when the current request has answered without this work (see withDeadline). */
export function abandonedSignal(): AbortSignal | undefined {
  return current.getStore()?.abandoned;
}

/** Milliseconds left for database work, or undefined when unbounded. Never below 1: 0 would mean "no limit". */
export function remainingMs(): number | undefined {
  const deadline = current.getStore();
  return deadline === undefined ? undefined : Math.max(1, Math.floor(deadline.at - Date.now()));
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
  const deadline = current.getStore();
  return deadline !== undefined && Date.now() >= deadline.at;
}

/**
 * The session's idle-in-transaction timeout (and transaction_timeout on PostgreSQL 17+) fires this much after the
 * deadline, so a lock wait or statement that overruns fails with its own error first (the session survives) and the
 * FATAL end of the session stays a backstop. Kept well inside the answer's margin (DEADLINE_MARGIN_MS): the
 * transaction is over before any answer can leave.
 */
export const TRANSACTION_TIMEOUT_GRACE_MS = 100;

/**
 * The deadline as the server reads it: a timestamp, compared with the server's own clock when the work starts
 * (drizzle/0012_deadline_functions.sql). A duration computed here would start counting only when the server picks
 * the statement up, after any time it spent queued in a pooler; the timestamp counts that time too.
 */
const deadlineLiteral = (at: number) => `'${new Date(at).toISOString()}'::timestamptz`;

/**
 * BEGIN with the deadline's limits in the same simple query (no extra round trip): the server derives lock,
 * statement, idle and (17+) transaction timeouts from the time left when it starts the transaction, and refuses
 * to start one whose deadline has passed.
 */
export function beginStatement(): string {
  const deadline = current.getStore();
  return deadline === undefined
    ? 'begin'
    : `begin; select lockstep_begin_within(${deadlineLiteral(deadline.at)}, ${TRANSACTION_TIMEOUT_GRACE_MS})`;
}

/**
 * COMMIT, preceded in the same round trip by the server's own check of the deadline: past it, the check fails,
 * the rest of the query (the COMMIT) is skipped and the transaction stays uncommitted. What bounds the whole
 * transaction before PostgreSQL 17, which has no transaction_timeout.
 */
export function commitStatement(): string {
  const deadline = current.getStore();
  return deadline === undefined ? 'commit' : `select lockstep_time_left_ms(${deadlineLiteral(deadline.at)}); commit`;
}

/** The deadline as an ISO timestamp for a statement to bind (a procedure's argument, a row's column): null when unbounded. */
export function deadlineTimestamp(): string | null {
  const deadline = current.getStore();
  return deadline === undefined ? null : new Date(deadline.at).toISOString();
}

/** The deadline as a statement parameter, or undefined when unbounded. */
function deadlineParam(): SQL | undefined {
  const at = deadlineTimestamp();
  return at === null ? undefined : sql`${at}::timestamptz`;
}

/**
 * A condition that holds while the deadline has not passed on the server's clock, and fails the statement with
 * query_canceled once it has: in a locking update's WHERE it is checked when the statement starts and again on the
 * row's newer version after a lock wait; in the final SELECT, after the statement's work and before its commit.
 */
export function withinDeadline(): SQL {
  const deadline = deadlineParam();
  return deadline === undefined ? sql`true` : sql`lockstep_time_left_ms(${deadline}) > 0`;
}

/**
 * For a single autocommit statement, which has no BEGIN to ride on: a FROM item that sets the lock wait limit for
 * the rest of the statement (transaction-local, and an autocommit statement is its own transaction) to the time
 * the server has left when it starts the statement, failing it if none is left. The row lock a hot statement waits
 * for is where its time goes; `withinDeadline()` checks the rest. `capMs` bounds the wait below the deadline.
 */
export function lockWaitLimit(capMs?: number): SQL {
  const deadline = deadlineParam();
  if (deadline === undefined) {
    return capMs === undefined
      ? sql`(select null) as lock_wait_limit`
      : sql`(select set_config('lock_timeout', ${`${capMs}ms`}, true)) as lock_wait_limit`;
  }
  const left = capMs === undefined ? sql`lockstep_time_left_ms(${deadline})` : sql`least(${capMs}::bigint, lockstep_time_left_ms(${deadline}))`;
  return sql`(select set_config('lock_timeout', ${left} || 'ms', true)) as lock_wait_limit`;
}

/** The lock wait limit a transaction has outside capped waits: the time left, or the session's default without a deadline. */
export function lockWaitDefault(): SQL {
  const deadline = deadlineParam();
  return deadline === undefined
    ? sql`(select reset_val from pg_settings where name = 'lock_timeout')`
    : sql`lockstep_time_left_ms(${deadline}) || 'ms'`;
}
