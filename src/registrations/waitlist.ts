import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { events, type EventRow } from '../events/schema';
import { registrations } from './schema';

/**
 * Strict FIFO promotion: confirm waiting registrations in queue order while they fit, stopping at the first that
 * does not. One statement: a running sum over the queue picks the longest prefix that fits the free spots, and
 * the counters move by exactly what was promoted.
 *
 * The caller must hold the event's row lock (this transaction already updated or locked it), so no registration
 * can join the queue or take spots while this runs. Returns the updated event when anything was promoted.
 */
export async function promoteWaitlist(tx: Db, eventId: string): Promise<EventRow | undefined> {
  const result = await tx.execute<{ id: string }>(sql`
    with ev as (
      select id, capacity, spots_reserved from ${events} where id = ${eventId} and waitlist_count > 0
    ),
    queue as (
      select r.id, sum(r.spots) over (order by r.queue_seq) as running
      from ${registrations} r join ev on r.event_id = ev.id
      where r.status = 'WAITLIST'
      order by r.queue_seq
      -- Each registration takes at least one spot: no more than the free spots can be promoted.
      limit (select case when capacity is null then null else greatest(capacity - spots_reserved, 0) end from ev)
    ),
    promoted as (
      update ${registrations} r set status = 'CONFIRMED', updated_at = now()
      from queue, ev
      where r.id = queue.id and (ev.capacity is null or ev.spots_reserved + queue.running <= ev.capacity)
      returning r.id, r.spots
    )
    update ${events} set
      spots_reserved = spots_reserved + (select sum(spots) from promoted),
      waitlist_count = waitlist_count - (select count(*) from promoted)
    where id = ${eventId} and exists (select 1 from promoted)
    returning id`);
  if (result.rows.length === 0) return undefined;
  const [event] = await tx.select().from(events).where(eq(events.id, eventId));
  return event;
}
