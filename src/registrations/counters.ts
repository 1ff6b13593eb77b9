import { eq, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
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
 * waits, and the quotas add up to the capacity. Of every event, or of one; the rows are summed once per shard.
 */
const shardsAgainstRows = (eventId?: string) => {
  const only = (column: AnyPgColumn) => (eventId === undefined ? sql`true` : sql`${column} = ${eventId}`);
  return sql`
  with per_shard as (
    select ${r.eventId} as event_id, ${r.shard} as shard, sum(${r.spots}) as confirmed
    from ${r} where ${r.status} = 'CONFIRMED' and ${only(r.eventId)} group by 1, 2
  ),
  waiting as (
    select ${r.eventId} as event_id, count(*)::int as rows from ${r} where ${r.status} = 'WAITLIST' and ${only(r.eventId)} group by 1
  )
  select ${events.id} as event_id, ${events.capacity} as capacity,
    sum(${sh.reserved})::int as spots_reserved, coalesce(sum(c.confirmed), 0)::int as confirmed_spots,
    sum(${sh.waitlist})::int as waitlist_count, coalesce(w.rows, 0) as waiting_rows,
    bool_or(${sh.reserved} <> coalesce(c.confirmed, 0)) or sum(${sh.waitlist}) <> coalesce(w.rows, 0)
      or bool_or(${sh.waiting} <> (coalesce(w.rows, 0) > 0)) or sum(${sh.quota}) is distinct from ${events.capacity} as drifted
  from ${events}
  join ${sh} on ${sh.eventId} = ${events.id}
  left join per_shard c on c.event_id = ${sh.eventId} and c.shard = ${sh.shard}
  left join waiting w on w.event_id = ${events.id}
  where ${only(events.id)}
  group by ${events.id}, w.rows`;
};

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
    await tx.execute(settleShards(sql`
      select l.event_id, l.shard, ${eventSettings},
        (select coalesce(sum(${r.spots}), 0) from ${r} where ${r.eventId} = l.event_id and ${r.shard} = l.shard and ${r.status} = 'CONFIRMED') as reserved,
        case when l.shard = ${queueShard} then ${actual.waiting_rows}::int else 0 end as waitlist
      from ${sh} as l join ${events} on ${events.id} = l.event_id
      where l.event_id = ${eventId}`));
    await promoteWaitlist(tx, eventId);
    return drift(actual, true);
  });
}
