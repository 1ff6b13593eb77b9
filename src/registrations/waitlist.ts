import { sql } from 'drizzle-orm';
import { eventSettings, queueShard, settleShards, shardTotals } from '../capacity/service';
import { eventShards } from '../capacity/schema';
import { columnNames } from '../db/columns';
import type { Db } from '../db/handle';
import { eventAudience, nextChangeSeq } from '../events/changes';
import { events } from '../events/schema';
import { outboxCount, outboxWritten, promotionMessages } from '../webhooks/outbox';
import { registrations } from './schema';
import { registrationJson } from './view';

/**
 * Strict FIFO promotion: confirm waiting registrations in arrival order while they fit, stopping at the first that
 * does not. ONE statement: a running sum over the queue picks the longest prefix that fits the free spots (the
 * event's capacity less every shard's reserved spots), the promoted spots go to the queue's shard, and the shards
 * take the event row's capacity, status and limit with the free spots spread again (a capacity below the reserved
 * spots fails the quota CHECK); each promotion's webhook message is written.
 *
 * The caller must hold all of the event's shard locks (`lockShards`), taken by an earlier statement: this one's
 * snapshot then holds every registration that joined the queue, and none can join, confirm or leave while it runs.
 */
export async function promoteWaitlist(tx: Db, eventId: string): Promise<void> {
  const r = registrations;
  const sh = eventShards;
  const { rows } = await tx.execute<{ messages: number }>(sql`
    with totals as (${shardTotals(sql`${eventId}`)}),
    queue as (
      select ${r.id} as reg_id, sum(${r.spots}) over (order by ${r.createdAt}, ${r.id}) as running
      from ${r}
      where ${r.eventId} = ${eventId} and ${r.status} = 'WAITLIST' and (select waitlist from totals) > 0
      order by ${r.createdAt}, ${r.id}
      -- Each registration takes at least one spot: no more than the free spots can be promoted.
      limit (select case when capacity is null then null else greatest(free, 0) end from totals)
    ),
    event as (select ${events.id} as id, null::int as waitlist_count, ${eventAudience} from ${events} where ${events.id} = ${eventId}),
    promoted as (
      update ${r} set ${columnNames(r.status)} = 'CONFIRMED', ${columnNames(r.shard)} = ${queueShard}, ${columnNames(r.updatedAt)} = now()
      from queue, totals
      where ${r.id} = queue.reg_id and (totals.capacity is null or queue.running <= totals.free)
      returning ${columnNames(r.spots)} as spots, ${registrationJson} as public_body, ${columnNames(r.name)} as name,
        ${columnNames(r.email)} as email, ${nextChangeSeq} as change_seq
    ),
    settled as (${settleShards(sql`select l.event_id, l.shard, ${eventSettings},
        l.reserved + case when l.shard = ${queueShard} then (select coalesce(sum(spots), 0) from promoted) else 0 end as reserved,
        l.waitlist - case when l.shard = ${queueShard} then (select count(*) from promoted) else 0 end as waitlist
      from ${sh} as l join ${events} on ${events.id} = l.event_id where l.event_id = ${eventId}`)}),
    ${promotionMessages}
    select ${outboxCount} as messages`);
  outboxWritten(rows[0]?.messages ?? 0);
}
