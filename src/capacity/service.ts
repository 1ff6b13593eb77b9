import { eq, sql, type SQL } from 'drizzle-orm';
import { QueryBuilder } from 'drizzle-orm/pg-core';
import { columnNames } from '../db/columns';
import { lockWaitLimit, withinDeadline } from '../db/deadline';
import type { Db } from '../db/handle';
import { events } from '../events/schema';
import { eventShards, QUEUE_SHARD } from './schema';

const s = eventShards;

/** The queue's shard, as a SQL literal. */
export const queueShard = sql.raw(String(QUEUE_SHARD));

/**
 * Lock every shard of the event, in shard order (the order every all-shards lock follows, so two never deadlock):
 * no registration can confirm, join the queue or leave it until the transaction ends. A statement run after this
 * one sees every change that took a shard lock before. Returns false when the event has no shards (deleted).
 */
export async function lockShards(tx: Db, eventId: string): Promise<boolean> {
  const { rows } = await tx.execute(sql`
    select ${s.shard} from ${lockWaitLimit()}, ${s}
    where ${s.eventId} = ${eventId} and ${withinDeadline()}
    order by ${s.shard} for update of ${s}`);
  return rows.length > 0;
}

/**
 * A CTE body that writes the shards of one event as `next` has them (every shard, with event_id, shard, open,
 * max_spots, capacity, reserved and waitlist), under all of the event's shard locks: counters as given, `waiting`
 * on every shard exactly when anyone waits, and the free spots (capacity - Σ reserved) spread over the shards'
 * quotas in chunks no smaller than the largest registration (lockstep_quota_share, drizzle/0016_event_shards.sql).
 * Free spots below zero fail the quota CHECK
 * (event_shards_reserved_within_quota): nothing can be spread that the capacity does not have.
 */
export function settleShards(next: SQL): SQL {
  return sql`update ${s} set
      ${columnNames(s.open)} = n.open, ${columnNames(s.maxSpots)} = n.max_spots, ${columnNames(s.reserved)} = n.reserved,
      ${columnNames(s.waitlist)} = n.waitlist, ${columnNames(s.waiting)} = n.waiting, ${columnNames(s.quota)} = n.quota
    from (
      select y.*, case when y.capacity is null then null when y.free < 0 then -1
          else y.reserved + lockstep_quota_share(y.free, y.shard, y.shards, y.max_spots) end as quota
      from (
        -- In bigint: a sum of bigints is numeric, whose division is not the integer one.
        select x.*, (x.capacity - sum(x.reserved) over w)::bigint as free, sum(x.waitlist) over w > 0 as waiting, count(*) over w as shards
        from (${next}) as x
        window w as (partition by x.event_id)
      ) as y
    ) as n
    -- Every shard of \`next\`, even one that stays as it is: a filter on the values would be checked first against the
    -- row as this statement's snapshot has it, which for the registration that locked the shards itself may be older
    -- than the version it locked (a shard skipped for looking unchanged would keep a newer, wrong value).
    where ${s.eventId} = n.event_id and ${s.shard} = n.shard`;
}

/**
 * A `totals` CTE body: one row for the event (none once it is deleted) with its capacity, the free spots (capacity −
 * Σ reserved), the waitlist's length, whether every shard is open, and the most spots one registration may take.
 * Read under all of the event's shard locks by the statements that decide on the queue (promotion, the admitter).
 */
export function shardTotals(eventId: SQL): SQL {
  return sql`select ${events.capacity} as capacity, ${events.capacity} - sum(${s.reserved}) as free, sum(${s.waitlist}) as waitlist,
      bool_and(${s.open}) as open, min(${s.maxSpots}) as max_spots
    from ${s} join ${events} on ${events.id} = ${s.eventId} where ${s.eventId} = ${eventId} group by ${events.capacity}`;
}

/**
 * The columns of `next` that come from the event row (`events`, joined): open, max_spots (the limit per
 * registration, never above the capacity) and capacity. The same as the shards get when the event is created
 * (lockstep_create_event_shards, drizzle/0016_event_shards.sql); every later change of the event row reaches its
 * shards through the promotion that follows it (src/registrations/waitlist.ts).
 */
export const eventSettings = sql`${events.status} = 'OPEN' as open,
  least(${events.maxSpotsPerRegistration}, coalesce(${events.capacity}, ${events.maxSpotsPerRegistration})) as max_spots,
  ${events.capacity} as capacity`;

/**
 * An event's counters, summed over its shards in one pass: cross-joined LATERAL to `events` (an aggregate without
 * GROUP BY, so exactly one row for each event).
 */
export const eventCounters = new QueryBuilder()
  .select({
    spotsReserved: sql<number>`coalesce(sum(${s.reserved}), 0)::int`.as('spots_reserved'),
    waitlistCount: sql<number>`coalesce(sum(${s.waitlist}), 0)::int`.as('waitlist_count'),
  })
  .from(s)
  .where(eq(s.eventId, events.id))
  .as('counters');
