import type { Db } from '../db/handle';
import { purgeExpiredIdempotencyKeys } from '../idempotency/store';
import { logger } from '../logger';
import { checkEventCounters, type CounterDrift } from '../registrations/counters';

export interface MaintenanceReport {
  purgedIdempotencyKeys: number;
  /** Every event whose counters disagreed with its rows, each logged with its id; `repaired` when fixed. */
  drift: CounterDrift[];
}

/** The scheduled housekeeping: purge idempotency keys past retention, then check (and with `repair`, fix) counters. */
export async function runMaintenance(db: Db, options: { repair: boolean }): Promise<MaintenanceReport> {
  const purgedIdempotencyKeys = await purgeExpiredIdempotencyKeys(db);
  const drift = await checkEventCounters(db, options);
  logger.info('maintenance finished', {
    purgedIdempotencyKeys,
    repair: options.repair,
    drifted: drift.length,
    repaired: drift.filter((event) => event.repaired).length,
  });
  return { purgedIdempotencyKeys, drift };
}
