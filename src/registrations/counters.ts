import { eq, sql } from 'drizzle-orm';
import { eventShards } from '../capacity/schema';
import { eventSettings, lockShards, queueShard, settleShards } from '../capacity/service';
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

const sh = eventShards;
const r = registrations;

/**
 * Each event's shards beside what its rows and its event row say they should hold: a shard's reserved spots are
 * its confirmed registrations' spots, the queue's shard counts the waiting rows, every shard says whether anyone
 * waits, and the quotas add up to the capacity. Of every event, or of one.
 */
const shardsAgainstRows = (eventId?: string) => sql`
  select ${events.id} as event_id, ${events.capacity} as capacity,
    sum(s.reserved)::int as spots_reserved, sum(s.confirmed)::int as confirmed_spots,
    sum(s.waitlist)::int as waitlist_count, w.rows as waiting_rows,
    bool_or(s.reserved <> s.confirmed) or sum(s.waitlist) <> w.rows or bool_or(s.waiting <> (w.rows > 0))
      or sum(s.quota) is distinct from ${events.capacity} as drifted
  from ${events}
  join lateral (select count(*)::int as rows from ${r} where ${r.eventId} = ${events.id} and ${r.status} = 'WAITLIST') as w on true
  join lateral (
    select ${sh.reserved} as reserved, ${sh.waitlist} as waitlist, ${sh.waiting} as waiting, ${sh.quota} as quota,
      (select coalesce(sum(${r.spots}), 0) from ${r}
       where ${r.eventId} = ${sh.eventId} and ${r.shard} = ${sh.shard} and ${r.status} = 'CONFIRMED') as confirmed
    from ${sh} where ${sh.eventId} = ${events.id}) as s on true
  ${eventId === undefined ? sql`` : sql`where ${events.id} = ${eventId}`}
  group by ${events.id}, w.rows`;

type Suspect = { event_id: string; spots_reserved: number; confirmed_spots: number; waitlist_count: number; waiting_rows: number; drifted: boolean };

const drift = (row: Suspect, repaired: boolean): CounterDrift => ({
  eventId: row.event_id,
  spotsReserved: row.spots_reserved,
  confirmedSpots: row.confirmed_spots,
  waitlistCount: row.waitlist_count,
  waitingRows: row.waiting_rows,
  repaired,
});

/**
 * Compare every event's shards with its registration rows and report drift, logged with the event id. With
 * `repair`, each drifted event is fixed in its own transaction under its row lock and all of its shard locks (the
 * locks every counter change takes), recounted inside them, and its waitlist promoted if that frees spots.
 */
export async function checkEventCounters(db: Db, options: { repair: boolean }): Promise<CounterDrift[]> {
  const { rows } = await db.execute<Suspect>(sql`select * from (${shardsAgainstRows()}) as checked where drifted`);
  const drifts: CounterDrift[] = [];
  for (const suspect of rows) {
    const found = options.repair
      ? await repairEvent(db, suspect.event_id).catch((err: unknown) => {
          // More confirmed spots than capacity cannot be written back: the CHECK refuses it. Leave it to a human.
          if (!isConstraintViolation(err, 'event_shards_reserved_within_quota')) throw err;
          return drift(suspect, false);
        })
      : drift(suspect, false);
    if (found) {
      drifts.push(found);
      logger.warn('event counter drift', { ...found });
    }
  }
  return drifts;
}

async function repairEvent(db: Db, eventId: string): Promise<CounterDrift | undefined> {
  return transaction(db, async (tx) => {
    await tx.select({ id: events.id }).from(events).where(eq(events.id, eventId)).for('no key update');
    if (!(await lockShards(tx, eventId))) return undefined; // deleted meanwhile
    const { rows } = await tx.execute<Suspect>(shardsAgainstRows(eventId));
    const actual = rows[0];
    if (!actual?.drifted) return undefined;
    await tx.execute(sql`with settled as (${settleShards(sql`
      select l.event_id, l.shard, ${eventSettings},
        (select coalesce(sum(${r.spots}), 0) from ${r} where ${r.eventId} = l.event_id and ${r.shard} = l.shard and ${r.status} = 'CONFIRMED') as reserved,
        case when l.shard = ${queueShard} then ${actual.waiting_rows}::int else 0 end as waitlist
      from ${sh} as l join ${events} on ${events.id} = l.event_id
      where l.event_id = ${eventId}`)}) select count(*) from settled`);
    await promoteWaitlist(tx, eventId);
    return drift(actual, true);
  });
}
