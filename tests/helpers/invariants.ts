import { expect } from 'vitest';
import type { sqlClient } from './sql';

/**
 * The event invariants of the API, asserted in SQL: the counter equals the confirmed spots and stays within the
 * capacity, the waitlist count equals the waiting rows, the head of the queue does not fit (strict FIFO at rest),
 * and no email has two active registrations.
 */
export async function assertEventInvariants(sql: ReturnType<typeof sqlClient>, eventId: string): Promise<void> {
  const [event] = await sql(
    `select capacity, spots_reserved, waitlist_count,
       (select coalesce(sum(spots), 0)::int from registrations where event_id = e.id and status = 'CONFIRMED') as confirmed,
       (select count(*)::int from registrations where event_id = e.id and status = 'WAITLIST') as waiting
     from events e where id = $1`,
    [eventId],
  );
  expect(event!.spots_reserved).toBe(event!.confirmed);
  expect(event!.waitlist_count).toBe(event!.waiting);
  if (event!.capacity !== null) expect(event!.spots_reserved).toBeLessThanOrEqual(event!.capacity);
  const [head] = await sql(
    `select spots from registrations where event_id = $1 and status = 'WAITLIST' order by queue_seq limit 1`,
    [eventId],
  );
  if (head) {
    expect(event!.capacity).not.toBeNull();
    expect(head.spots).toBeGreaterThan(event!.capacity - event!.spots_reserved);
  }
  const duplicates = await sql(
    `select lower(email) from registrations where event_id = $1 and status in ('CONFIRMED', 'WAITLIST')
     group by lower(email) having count(*) > 1`,
    [eventId],
  );
  expect(duplicates).toEqual([]);
}
