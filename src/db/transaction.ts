import { logger } from '../logger';
import { withClient } from './client';
import type { Db } from './handle';
import { beginStatement, commitStatement, deadlineExceeded, deadlinePassed } from './deadline';
import { ConnectionLostError, isConnectionLost, isRetryableTransactionError, postgresError, SqlState } from './errors';
import { AFTER_CONFLICT, AFTER_LOST_CONNECTION, pauseBeforeRetry } from './retry';

/** Extra attempts after a serialization failure, a deadlock or a connection lost before COMMIT. */
const MAX_RETRIES = 5;

/** Handles bound to a client inside BEGIN … COMMIT: a nested `transaction` joins them. */
const openTransactions = new WeakSet<Db>();

/**
 * Run `work` in a transaction, retrying serialization failures and deadlocks so clients never see 40001/40P01. A
 * connection lost before COMMIT was sent is retried too (on a fresh connection, after an exponential backoff with
 * a floor): the server rolls such a transaction back, so nothing happened. A loss during COMMIT is ambiguous and is
 * not retried. No retry starts that the deadline would cut short. Inside an enclosing transaction (an idempotent
 * request) `work` simply joins it: any failure rolls back the whole request and the outermost call retries, so a
 * savepoint would only add round trips.
 *
 * BEGIN and COMMIT are sent by hand rather than by Drizzle so the request's deadline rides in their round trips
 * (src/db/deadline.ts): the server derives the transaction's limits from it when the transaction starts and checks
 * it again before it commits, so nothing commits after the request answered.
 */
export async function transaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  if (openTransactions.has(db)) return work(db);
  for (let attempt = 0; ; attempt++) {
    let committing = false;
    try {
      return await withClient(async (tx, client) => {
        // Sent on the raw client, so a broken connection surfaces here without Drizzle's wrapper: name it.
        const control = (text: string) =>
          client.query(text).catch((err: unknown) => {
            throw postgresError(err) ? err : new ConnectionLostError(err);
          });
        await control(beginStatement());
        openTransactions.add(tx);
        try {
          const result = await work(tx);
          // Past the deadline the request may have answered already: roll back instead.
          if (deadlinePassed()) throw deadlineExceeded();
          committing = true;
          await control(commitStatement());
          return result;
        } catch (err) {
          // A failed COMMIT has ended the transaction on the server, unless it was the deadline check before it
          // (57014, the COMMIT never ran). A ROLLBACK that fails too (the session is gone) must not hide why the work failed.
          if (!committing || postgresError(err)?.code === SqlState.queryCanceled) await control('rollback').catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      const conflict = isRetryableTransactionError(err);
      const retryable = conflict || (!committing && isConnectionLost(err));
      // Past the deadline pauseBeforeRetry refuses: no retry could finish in time.
      if (attempt >= MAX_RETRIES || !retryable) throw err;
      if (!(await pauseBeforeRetry(attempt, conflict ? AFTER_CONFLICT : AFTER_LOST_CONNECTION))) throw err;
      logger.debug('retrying transaction', { attempt: attempt + 1 });
    }
  }
}
