import { sql, type SQL } from 'drizzle-orm';
import { columnNames } from '../db/columns';
import type { Db } from '../db/handle';
import { events } from '../events/schema';
import { webhookMessages, webhookSubscriptions, type WebhookEventType } from './schema';
import { noteMessagesWritten } from './wake';

/**
 * The transactional outbox: messages are inserted by the statement or transaction that makes the change, one per
 * change and matching subscription, so a rolled-back change leaves none and a committed one always has its own.
 * Each carries the event's change counter (events.change_seq), bumped under the event's row lock by the same
 * statement: per event, sequences follow the order in which the changes committed.
 */

/** The name of the outbox CTE in a statement that includes `registrationMessages`. */
const OUTBOX_CTE = sql.identifier('webhook_outbox');

/** SET item for the statement's update of the event row: this change's sequence number. */
export const nextChangeSeq = sql`${columnNames(events.changeSeq)} = ${events.changeSeq} + 1`;

/** RETURNING items of that update, read by the outbox CTE from the statement's `event` CTE. */
export const changedEventColumns = sql`${events.organizerId} as organizer_id, ${events.teamId} as team_id, ${events.changeSeq} as change_seq`;

const s = (column: { name: string }) => sql`s.${sql.identifier(column.name)}`;

/**
 * Subscriptions that hear a change of type `type` to event `e` (a relation with id, organizer_id, team_id): the
 * organizer's own, or its team's, narrowed to their event types and events when they chose some.
 */
function subscribers(e: SQL, type: SQL): SQL {
  const sub = webhookSubscriptions;
  return sql`join ${sub} as s on (
      (${s(sub.teamId)} is null and ${s(sub.ownerId)} = ${e}.organizer_id) or ${s(sub.teamId)} = ${e}.team_id)
    and (${s(sub.eventTypes)} is null or ${type} = any(${s(sub.eventTypes)}))
    and (${s(sub.eventIds)} is null or ${e}.id = any(${s(sub.eventIds)}))`;
}

/** The INSERT of one message per row of `from` (which yields e.*, type, sequence, data) and subscriber. */
function insertMessages(from: SQL, e: SQL): SQL {
  const m = webhookMessages;
  return sql`insert into ${m} (${columnNames(m.subscriptionId, m.eventId, m.sequence, m.type, m.data, m.status)})
    select s.id, ${e}.id, change.sequence, change.type, change.data,
      -- A disabled subscription keeps its messages for a replay, but nothing is sent.
      (case when ${s(webhookSubscriptions.enabled)} then 'PENDING' else 'FAILED' end)::${sql.identifier(webhookMessageStatus)}
    ${from} ${subscribers(e, sql`change.type`)}
    returning 1`;
}

const webhookMessageStatus = 'webhook_message_status';

/**
 * The registration statement's outbox CTE: `registration.confirmed` or `.waitlisted` for the row of its `inserted`
 * CTE (status, public_body), about the event of its `event` CTE (with `changedEventColumns`). The public view
 * holds no name or email: the organizer's view adds them from the request.
 */
export function registrationMessages(personal: { name: string; email: string }): SQL {
  const data = sql`jsonb_build_object('registration',
    inserted.public_body::jsonb || jsonb_build_object('name', ${personal.name}::text, 'email', ${personal.email}::text))`;
  const from = sql`from event cross join inserted cross join lateral (select
      (case when inserted.status = 'CONFIRMED' then 'registration.confirmed' else 'registration.waitlisted' end) as type,
      event.change_seq as sequence, ${data} as data) as change`;
  return sql`${OUTBOX_CTE} as (${insertMessages(from, sql`event`)})`;
}

/** The registration statement's count of messages it wrote, for `outboxWritten`. */
export const outboxCount = sql`(select count(*) from ${OUTBOX_CTE})::int`;

/** After a statement with `registrationMessages`: wake the deliverer if it wrote any. */
export function outboxWritten(count: number): void {
  if (count > 0) noteMessagesWritten();
}

export interface EventChange {
  type: WebhookEventType;
  /** The message's `data`: the registration's organizer view, or the event's view. */
  data: Record<string, unknown>;
}

/**
 * The messages of a transaction's changes to one event, in order, in ONE statement that also bumps the event's
 * change counter by their number. Call it inside the transaction that made the changes, holding the event's row
 * lock (every change takes it), and before a deletion of the event.
 */
export async function recordChanges(tx: Db, eventId: string, changes: EventChange[]): Promise<void> {
  if (changes.length === 0) return;
  const { rows } = await tx.execute(sql`
    with event as (
      update ${events} set ${columnNames(events.changeSeq)} = ${events.changeSeq} + ${changes.length}::int
      where ${events.id} = ${eventId}
      returning ${events.id} as id, ${changedEventColumns}
    )
    ${insertMessages(
      sql`from event cross join lateral (
        select c.value->>'type' as type, event.change_seq - ${changes.length}::int + c.n as sequence, c.value->'data' as data
        from jsonb_array_elements(${JSON.stringify(changes)}::jsonb) with ordinality as c(value, n)) as change`,
      sql`event`,
    )}`);
  if (rows.length > 0) noteMessagesWritten();
}
