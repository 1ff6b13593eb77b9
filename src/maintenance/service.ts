import type { Db } from '../db/handle';
import { purgeExpiredIdempotencyKeys } from '../idempotency/store';
import { logger } from '../logger';
import { checkEventCounters, type CounterDrift } from '../registrations/counters';
import { purgeIntake } from '../registrations/intake';
import { purgeFinishedWebhookMessages } from '../webhooks/service';

export interface MaintenanceReport {
  purgedIdempotencyKeys: number;
  /** Webhook messages delivered or failed for good more than MESSAGE_RETENTION_DAYS ago, with their attempts. */
  purgedWebhookMessages: number;
  /** Registration intake rows decided past retention, or left pending by a backend that is gone. */
  purgedIntakeRows: number;
  /** Every event whose counters disagreed with its rows, each logged with its id; `repaired` when fixed. */
  drift: CounterDrift[];
}

/**
 * The scheduled housekeeping: purge idempotency keys, finished webhook messages and registration intake rows past
 * retention, then check (and with `repair`, fix) counters.
 */
export async function runMaintenance(db: Db, options: { repair: boolean }): Promise<MaintenanceReport> {
  const purgedIdempotencyKeys = await purgeExpiredIdempotencyKeys(db);
  const purgedWebhookMessages = await purgeFinishedWebhookMessages(db);
  const purgedIntakeRows = await purgeIntake(db);
  const drift = await checkEventCounters(db, options);
  logger.info('maintenance finished', {
    purgedIdempotencyKeys,
    purgedWebhookMessages,
    purgedIntakeRows,
    repair: options.repair,
    drifted: drift.length,
    repaired: drift.filter((event) => event.repaired).length,
  });
  return { purgedIdempotencyKeys, purgedWebhookMessages, purgedIntakeRows, drift };
}
