import { sql } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { literal, renderedOnce } from '../db/prepared';
import { changeMessage, outboxWritten, type EventChange } from '../webhooks/outbox';
import { eventChangeSequence, events } from './schema';

/**
 * A change's webhook sequence number (event_change_seq), drawn by the statement that makes the change, under the
 * locks that order it against every change to the same rows: per event, the numbers of two changes that touch the
 * same registration, or the event itself, follow their commit order. Gaps are normal.
 */
export const nextChangeSeq = sql`nextval(${literal(eventChangeSequence.seqName!)})`;

/** Who hears about the event: the columns of a statement's `event` CTE that the outbox matches subscriptions by. */
export const eventAudience = renderedOnce(sql`${events.organizerId} as organizer_id, ${events.teamId} as team_id`);

/** The columns of a statement's `event` CTE that the outbox reads besides its id, for one change (src/webhooks/outbox.ts). */
export const eventForMessages = renderedOnce(sql`${eventAudience}, ${nextChangeSeq} as change_seq`);

/**
 * The webhook message of a change to the event itself, in ONE statement. Call it inside the transaction that made
 * the change, holding all of the event's shard locks, and before a deletion of the event.
 */
export async function recordChange(tx: Db, eventId: string, change: EventChange): Promise<void> {
  const { rows } = await tx.execute(sql`
    with event as (select ${events.id} as id, ${eventForMessages} from ${events} where ${events.id} = ${eventId})
    ${changeMessage(change)}`);
  outboxWritten(rows.length);
}
