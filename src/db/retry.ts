import { setTimeout as sleep } from 'node:timers/promises';
import { remainingMs } from './deadline';
import { isConnectionLost } from './errors';

/** How long to wait before attempt n + 1: at least `floorMs`, plus up to `baseMs * 2^n` (capped at `capMs`) of jitter. */
export interface Backoff {
  floorMs: number;
  baseMs: number;
  capMs: number;
}

/**
 * After a lost connection: the server is restarting, failing over or shedding connections, which takes tens to
 * hundreds of milliseconds; resending at once would only meet the same failure (and, for a whole fleet of
 * instances, hammer the server as it comes back).
 */
export const AFTER_LOST_CONNECTION: Backoff = { floorMs: 50, baseMs: 100, capMs: 1_000 };

/** After a serialization failure or deadlock: the other transaction is done already, so short waits, spread out. */
export const AFTER_CONFLICT: Backoff = { floorMs: 2, baseMs: 5, capMs: 200 };

/** Exponential backoff with a floor and full jitter above it (spreads the retries of clients that failed together). */
export function backoffDelayMs(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  return backoff.floorMs + random() * Math.min(backoff.capMs, backoff.baseMs * 2 ** attempt);
}

/**
 * Wait before retry `attempt` (0 for the first), or return false without waiting when the request's deadline would
 * pass first: then the retry could not finish in time, and the failure is the answer.
 */
export async function pauseBeforeRetry(attempt: number, backoff: Backoff): Promise<boolean> {
  const delayMs = backoffDelayMs(attempt, backoff);
  const left = remainingMs();
  if (left !== undefined && delayMs >= left) return false;
  await sleep(delayMs);
  return true;
}

/** Times work that is safe to repeat is run again after its connection broke. */
const MAX_RESENDS = 3;

/**
 * Run `work`, and run it again after a lost connection (backing off, while the deadline leaves time). Only for work
 * that is safe to repeat whether or not its first run took effect: a read, a keyed statement whose record turns the
 * repeat into a replay, a change that finds itself already made.
 */
export async function resendAfterLostConnection<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (isConnectionLost(err) && attempt < MAX_RESENDS && (await pauseBeforeRetry(attempt, AFTER_LOST_CONNECTION))) continue;
      throw err;
    }
  }
}
