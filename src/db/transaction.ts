import { PgTransaction } from 'drizzle-orm/pg-core';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../logger';
import { withClient, type Db } from './client';
import { isConnectionLost, isRetryableTransactionError } from './errors';

/** Extra attempts after a serialization failure or deadlock. */
const MAX_RETRIES = 5;

/**
 * Run `work` in a transaction, retrying serialization failures and deadlocks with jittered backoff so clients
 * never see 40001/40P01. A connection lost before COMMIT was sent is retried too (on a fresh connection): the
 * server rolls such a transaction back, so nothing happened. A loss during COMMIT is ambiguous and is not retried.
 * Inside an enclosing transaction (an idempotent request) `work` simply joins it: any failure rolls back the whole
 * request and the outermost call retries, so a savepoint would only add round trips. A top-level transaction runs
 * on the shared pool (`withClient`), which `db` must be.
 */
export async function transaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  if (isTransaction(db)) return work(db);
  for (let attempt = 0; ; attempt++) {
    let committing = false;
    try {
      return await withClient((client) =>
        client.transaction(async (tx) => {
          const result = await work(tx);
          committing = true;
          return result;
        }),
      );
    } catch (err) {
      const retryable = isRetryableTransactionError(err) || (!committing && isConnectionLost(err));
      if (attempt >= MAX_RETRIES || !retryable) throw err;
      const delayMs = Math.random() * Math.min(200, 5 * 2 ** attempt);
      logger.debug('retrying transaction', { attempt: attempt + 1, delayMs: Math.round(delayMs) });
      await sleep(delayMs);
    }
  }
}

/** Not a type guard on purpose: narrowing to PgTransaction<any> would drop the schema type. */
function isTransaction(db: Db): boolean {
  return db instanceof PgTransaction;
}
