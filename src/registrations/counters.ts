import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { isConstraintViolation } from '../db/errors';
import { transaction } from '../db/transaction';
import { events } from '../events/schema';
import { logger } from '../logger';
import { promoteWaitlist } from './waitlist';

export interface CounterDrift {
  eventId: string;
  spotsReserved: number;
  confirmedSpots: number;
  waitlistCount: number;
  waitingRows: number;
  repaired: boolean;
}

const rowSums = sql`
  select e.id as "eventId", e.spots_reserved as "spotsReserved", e.waitlist_count as "waitlistCount",
    coalesce(sum(r.spots) filter (where r.status = 'CONFIRMED'), 0)::int as "confirmedSpots",
    (count(r.id) filter (where r.status = 'WAITLIST'))::int as "waitingRows"
  from events e left join registrations r on r.event_id = e.id`;

/**
 * Compare every event's counters with its registration rows and report drift, logged with the event id. With
 * `repair`, each drifted event is fixed in its own transaction under its row lock (the lock every counter change
 * takes), recounted inside that lock, and its waitlist promoted if the corrected counter frees spots.
 */
export async function checkEventCounters(db: Db, options: { repair: boolean }): Promise<CounterDrift[]> {
  const suspects = await db.execute<Omit<CounterDrift, 'repaired'>>(sql`
    ${rowSums} group by e.id
    having e.spots_reserved <> coalesce(sum(r.spots) filter (where r.status = 'CONFIRMED'), 0)
        or e.waitlist_count <> count(r.id) filter (where r.status = 'WAITLIST')`);
  const drifts: CounterDrift[] = [];
  for (const suspect of suspects.rows) {
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
    const [actual] = (await tx.execute<Omit<CounterDrift, 'repaired'>>(sql`${rowSums} where e.id = ${eventId} group by e.id`)).rows;
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
