import { asc, inArray, sql } from 'drizzle-orm';
import { columnNames } from '../db/columns';
import type { Db } from '../db/handle';
import { events } from '../events/schema';
import { recordChanges } from '../events/changes';
import { registrations } from './schema';
import { registrationView } from './view';

/**
 * Strict FIFO promotion: confirm waiting registrations in queue order while they fit, stopping at the first that
 * does not. One statement: a running sum over the queue picks the longest prefix that fits the free spots, and
 * the counters move by exactly what was promoted.
 *
 * The caller must hold the event's row lock (this transaction already updated or locked it), so no registration
 * can join the queue or take spots while this runs. Each promotion's webhook message is written in the same
 * transaction. Returns whether anything was promoted (the caller re-reads the event only if it needs it: every
 * round trip here is one the event row stays locked for).
 */
export async function promoteWaitlist(tx: Db, eventId: string): Promise<boolean> {
  const r = registrations;
  const result = await tx.execute<{ id: string }>(sql`
    with ev as (
      select ${events.id} as id, ${events.capacity} as capacity, ${events.spotsReserved} as spots_reserved
      from ${events} where ${events.id} = ${eventId} and ${events.waitlistCount} > 0
    ),
    queue as (
      select ${r.id} as id, sum(${r.spots}) over (order by ${r.queueSeq}) as running
      from ${r} join ev on ${r.eventId} = ev.id
      where ${r.status} = 'WAITLIST'
      order by ${r.queueSeq}
      -- Each registration takes at least one spot: no more than the free spots can be promoted.
      limit (select case when capacity is null then null else greatest(capacity - spots_reserved, 0) end from ev)
    ),
    promoted as (
      update ${r} set ${columnNames(r.status)} = 'CONFIRMED', ${columnNames(r.updatedAt)} = now()
      from queue, ev
      where ${r.id} = queue.id and (ev.capacity is null or ev.spots_reserved + queue.running <= ev.capacity)
      returning ${r.id} as id, ${r.spots} as spots
    ),
    counted as (
      update ${events} set
        ${columnNames(events.spotsReserved)} = ${events.spotsReserved} + (select sum(spots) from promoted),
        ${columnNames(events.waitlistCount)} = ${events.waitlistCount} - (select count(*) from promoted)
      where ${events.id} = ${eventId} and exists (select 1 from promoted)
    )
    select id from promoted`);
  if (result.rows.length === 0) return false;
  const promoted = await tx
    .select()
    .from(r)
    .where(inArray(r.id, result.rows.map((row) => row.id)))
    .orderBy(asc(r.queueSeq));
  const promotions = promoted.map((row) => ({ registration: registrationView({ ...row, waitlistPosition: null }) }));
  await recordChanges(tx, eventId, promotions.map((data) => ({ type: 'registration.promoted' as const, data })));
  return true;
}
