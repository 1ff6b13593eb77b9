import { eq, ne, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { isConstraintViolation } from '../db/errors';
import { transaction } from '../db/transaction';
import { events } from '../events/schema';
import { logger } from '../logger';
import { registrations } from './schema';
import { promoteWaitlist } from './waitlist';

export interface CounterDrift {
  eventId: string;
  spotsReserved: number;
  confirmedSpots: number;
  waitlistCount: number;
  waitingRows: number;
  repaired: boolean;
}

const confirmedSpots = sql<number>`coalesce(sum(${registrations.spots}) filter (where ${registrations.status} = 'CONFIRMED'), 0)::int`;
const waitingRows = sql<number>`(count(${registrations.id}) filter (where ${registrations.status} = 'WAITLIST'))::int`;

/** Each event's counters beside the sums of its rows: of every event, or of the one `where` picks. */
const rowSums = (db: Db, where?: SQL) =>
  db
    .select({ eventId: events.id, spotsReserved: events.spotsReserved, waitlistCount: events.waitlistCount, confirmedSpots, waitingRows })
    .from(events)
    .leftJoin(registrations, eq(registrations.eventId, events.id))
    .where(where)
    .groupBy(events.id);

/**
 * Compare every event's counters with its registration rows and report drift, logged with the event id. With
 * `repair`, each drifted event is fixed in its own transaction under its row lock (the lock every counter change
 * takes), recounted inside that lock, and its waitlist promoted if the corrected counter frees spots.
 */
export async function checkEventCounters(db: Db, options: { repair: boolean }): Promise<CounterDrift[]> {
  const suspects = await rowSums(db).having(or(ne(events.spotsReserved, confirmedSpots), ne(events.waitlistCount, waitingRows)));
  const drifts: CounterDrift[] = [];
  for (const suspect of suspects) {
    const drift = options.repair
      ? await repairEvent(db, suspect.eventId).catch((err: unknown) => {
          // More confirmed spots than capacity cannot be written back: the CHECK refuses it. Leave it to a human.
          if (!isConstraintViolation(err, 'events_spots_reserved_within_capacity')) throw err;
          return { ...suspect, repaired: false };
        })
      : { ...suspect, repaired: false };
    if (drift) {
      drifts.push(drift);
      logger.warn('event counter drift', { ...drift });
    }
  }
  return drifts;
}

async function repairEvent(db: Db, eventId: string): Promise<CounterDrift | undefined> {
  return transaction(db, async (tx) => {
    await tx.select({ id: events.id }).from(events).where(eq(events.id, eventId)).for('update');
    const [actual] = await rowSums(tx, eq(events.id, eventId));
    if (!actual) return undefined; // deleted meanwhile
    if (actual.spotsReserved === actual.confirmedSpots && actual.waitlistCount === actual.waitingRows) return undefined;
    await tx
      .update(events)
      .set({ spotsReserved: actual.confirmedSpots, waitlistCount: actual.waitingRows })
      .where(eq(events.id, eventId));
    await promoteWaitlist(tx, eventId);
    return { ...actual, repaired: true };
  });
}
