import { sql } from 'drizzle-orm';
import { columnNames } from '../db/columns';
import type { Db } from '../db/handle';
import { changeMessages, outboxWritten, type EventChange } from '../webhooks/outbox';
import { events } from './schema';

/**
 * The event's change counter (events.change_seq): every change to an event or its registrations bumps it under the
 * event's row lock, in the statement or transaction that writes the change's webhook messages, whose per-event
 * sequence number it is.
 */

/** SET item for a statement's update of the event row: this change's sequence number. */
export const nextChangeSeq = sql`${columnNames(events.changeSeq)} = ${events.changeSeq} + 1`;

/** RETURNING items of that update, which the outbox reads from the statement's `event` CTE. */
export const changedEventColumns = sql`${events.organizerId} as organizer_id, ${events.teamId} as team_id, ${events.changeSeq} as change_seq`;

/**
 * The webhook messages of a transaction's changes to one event, in order, in ONE statement that also bumps the
 * event's change counter by their number. Call it inside the transaction that made the changes, holding the event's
 * row lock (every change takes it), and before a deletion of the event.
 */
export async function recordChanges(tx: Db, eventId: string, changes: EventChange[]): Promise<void> {
  if (changes.length === 0) return;
  const { rows } = await tx.execute(sql`
    with event as (
      update ${events} set ${columnNames(events.changeSeq)} = ${events.changeSeq} + ${changes.length}::int
      where ${events.id} = ${eventId}
      returning ${events.id} as id, ${changedEventColumns}
    )
    ${changeMessages(changes)}`);
  outboxWritten(rows.length);
}
