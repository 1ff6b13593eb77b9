import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../logger';
import { withClient } from './client';
import type { Db } from './handle';
import { deadlinePassed, transactionLimits } from './deadline';
import { ConnectionLostError, isConnectionLost, isRetryableTransactionError, postgresError } from './errors';

/** Extra attempts after a serialization failure or deadlock. */
const MAX_RETRIES = 5;

/** Handles bound to a client inside BEGIN … COMMIT: a nested `transaction` joins them. */
const openTransactions = new WeakSet<Db>();

/**
 * Run `work` in a transaction, retrying serialization failures and deadlocks with jittered backoff so clients
 * never see 40001/40P01. A connection lost before COMMIT was sent is retried too (on a fresh connection): the
 * server rolls such a transaction back, so nothing happened. A loss during COMMIT is ambiguous and is not retried.
 * Inside an enclosing transaction (an idempotent request) `work` simply joins it: any failure rolls back the whole
 * request and the outermost call retries, so a savepoint would only add round trips.
 *
 * BEGIN is sent by hand rather than by Drizzle so the request's deadline (lock, statement and transaction
 * timeouts) rides in the same round trip; the server then ends the transaction itself when the deadline passes.
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
        await control(`begin${transactionLimits()}`);
        openTransactions.add(tx);
        try {
          const result = await work(tx);
          committing = true;
          await control('commit');
          return result;
        } catch (err) {
          // After a failed COMMIT the server has already ended the transaction. A ROLLBACK that fails too (the
          // session is gone) must not hide why the work failed.
          if (!committing) await control('rollback').catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      const retryable = isRetryableTransactionError(err) || (!committing && isConnectionLost(err));
      if (attempt >= MAX_RETRIES || !retryable || deadlinePassed()) throw err;
      const delayMs = Math.random() * Math.min(200, 5 * 2 ** attempt);
      logger.debug('retrying transaction', { attempt: attempt + 1, delayMs: Math.round(delayMs) });
      await sleep(delayMs);
    }
  }
}
