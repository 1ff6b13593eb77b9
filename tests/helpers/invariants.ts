import { expect } from 'vitest';
import { SHARDS } from '../../src/capacity/schema';
import type { sqlClient } from './sql';

/**
 * An event's counters, summed over its shards (src/capacity/schema.ts), as the API shows them: capacity,
 * spots_reserved and waitlist_count.
 */
export const EVENT_COUNTERS = `
  select e.id, e.capacity, e.status,
    (select coalesce(sum(reserved), 0)::int from event_shards where event_id = e.id) as spots_reserved,
    (select coalesce(sum(waitlist), 0)::int from event_shards where event_id = e.id) as waitlist_count
  from events e`;

/** One event's counters (see EVENT_COUNTERS). */
export async function eventCounters(
  sql: ReturnType<typeof sqlClient>,
  eventId: string,
): Promise<{ capacity: number | null; spots_reserved: number; waitlist_count: number }> {
  const [event] = await sql(`${EVENT_COUNTERS} where e.id = $1`, [eventId]);
  return event as { capacity: number | null; spots_reserved: number; waitlist_count: number };
}

/**
 * The event invariants of the API, asserted in SQL: each shard's reserved spots equal its confirmed registrations'
 * spots, the shards' quotas add up to the capacity (so the counter stays within it), the queue's shard counts the
 * waiting rows and every shard knows whether anyone waits, the head of the queue does not fit (strict FIFO at rest),
 * and no email has two active registrations.
 */
export async function assertEventInvariants(sql: ReturnType<typeof sqlClient>, eventId: string): Promise<void> {
  const shards = await sql(
    `select s.shard, s.quota, s.reserved, s.waitlist, s.waiting,
       (select coalesce(sum(spots), 0)::int from registrations r
        where r.event_id = s.event_id and r.shard = s.shard and r.status = 'CONFIRMED') as confirmed
     from event_shards s where s.event_id = $1 order by s.shard`,
    [eventId],
  );
  for (const shard of shards) expect({ shard: shard.shard, reserved: shard.reserved }).toEqual({ shard: shard.shard, reserved: shard.confirmed });
  const [event] = await sql(
    `select e.capacity,
       (select count(*)::int from registrations where event_id = e.id and status = 'WAITLIST') as waiting,
       (select coalesce(sum(spots), 0)::int from registrations where event_id = e.id and status = 'CONFIRMED') as confirmed
     from events e where id = $1`,
    [eventId],
  );
  expect(shards.length).toBe(SHARDS);
  const quotas = shards.map((s) => s.quota);
  if (event!.capacity === null) expect(quotas.every((q) => q === null)).toBe(true);
  else expect(quotas.reduce((a, b) => a + b, 0)).toBe(event!.capacity);
  expect(shards.reduce((a, s) => a + s.waitlist, 0)).toBe(event!.waiting);
  expect(shards.map((s) => s.waiting)).toEqual(shards.map(() => event!.waiting > 0));
  if (event!.capacity !== null) expect(event!.confirmed).toBeLessThanOrEqual(event!.capacity);
  const [head] = await sql(
    `select spots from registrations where event_id = $1 and status = 'WAITLIST' order by created_at, id limit 1`,
    [eventId],
  );
  if (head) {
    expect(event!.capacity).not.toBeNull();
    expect(head.spots).toBeGreaterThan(event!.capacity - event!.confirmed);
  }
  const duplicates = await sql(
    `select lower(email) from registrations where event_id = $1 and status in ('CONFIRMED', 'WAITLIST')
     group by lower(email) having count(*) > 1`,
    [eventId],
  );
  expect(duplicates).toEqual([]);
}
