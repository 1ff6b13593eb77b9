import { sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { columnNames, qualifiedColumn } from '../db/columns';
import { literal, renderedOnce } from '../db/prepared';
import { webhookMessages, webhookMessageStatusEnum, webhookSubscriptions, type WebhookEventType } from './schema';
import { noteMessagesWritten } from './wake';

/**
 * The transactional outbox: messages are inserted by the statement or transaction that makes the change, one per
 * change and matching subscription, so a rolled-back change leaves none and a committed one always has its own.
 * Each carries its change's sequence number (change_seq), drawn by the same statement under the locks that order
 * the change (src/events/changes.ts). The statements name the event `event` (a CTE with id, organizer_id, team_id
 * and, for one change, change_seq); this module knows no event table.
 */

/** The name of the outbox CTE in a statement that includes `registrationMessages`. */
const OUTBOX_CTE = sql.identifier('webhook_outbox');

const s = (column: AnyPgColumn) => qualifiedColumn(column, 's');

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
      (case when ${s(webhookSubscriptions.enabled)} then 'PENDING' else 'FAILED' end)::${sql.identifier(webhookMessageStatusEnum.enumName)}
    ${from} ${subscribers(e, sql`change.type`)}
    returning 1`;
}

/**
 * An outbox CTE with one message for each row of the statement's CTE `rows` (public_body, name, email, and its own
 * change_seq), of the type `type` says, about its `event` CTE. The public view holds no name or email: the
 * organizer's view adds them.
 */
const messagePerRow = (rows: string, type: SQL) => {
  const row = sql.identifier(rows);
  return renderedOnce(
    sql`${OUTBOX_CTE} as (${insertMessages(
      sql`from event cross join ${row} cross join lateral (select ${type} as type, ${row}.change_seq as sequence,
        jsonb_build_object('registration', ${row}.public_body::jsonb || jsonb_build_object('name', ${row}.name, 'email', ${row}.email)) as data) as change`,
      sql`event`,
    )})`,
  );
};

/**
 * The admitter's outbox CTE: `registration.confirmed` or `.waitlisted` for each row of its `decided` CTE (with
 * status). Rendered when called: only the intake procedure's migration script uses it, not a function at cold start.
 */
export const registrationMessages = (): SQL =>
  messagePerRow('decided', sql`case when decided.status = 'CONFIRMED' then 'registration.confirmed' else 'registration.waitlisted' end`);

/** Who cancelled, as a cancellation's message says. */
type CancelledBy = 'organizer' | 'registrant';

/**
 * A change of status's outbox CTE: `registration.cancelled` (and by whom) or `.moved` (and from which status) for the
 * row of the statement's `moved` CTE (status, previous_status, public_body, name, email), about its `event` CTE.
 */
function statusChangeCte(by: CancelledBy): SQL {
  const registration = sql`moved.public_body::jsonb || jsonb_build_object('name', moved.name, 'email', moved.email)`;
  const from = sql`from event cross join moved cross join lateral (select
      (case when moved.status = 'CANCELLED' then 'registration.cancelled' else 'registration.moved' end) as type,
      event.change_seq as sequence,
      (case when moved.status = 'CANCELLED' then jsonb_build_object('registration', ${registration}, 'cancelledBy', ${literal(by)}::text)
        else jsonb_build_object('registration', ${registration}, 'previousStatus', moved.previous_status) end) as data) as change`;
  return renderedOnce(sql`${OUTBOX_CTE} as (${insertMessages(from, sql`event`)})`);
}

const statusChanges: Record<CancelledBy, SQL> = { organizer: statusChangeCte('organizer'), registrant: statusChangeCte('registrant') };

export const statusChangeMessages = (by: CancelledBy): SQL => statusChanges[by];

/** A promotion's outbox CTE: `registration.promoted` for each row of the statement's `promoted` CTE. */
export const promotionMessages = messagePerRow('promoted', sql`'registration.promoted'`);

/** A statement's count of the messages its outbox CTE wrote, for `outboxWritten`. */
export const outboxCount = renderedOnce(sql`(select count(*) from ${OUTBOX_CTE})::int`);

/** After a statement that wrote `count` messages: wake the deliverer if it wrote any. */
export function outboxWritten(count: number): void {
  if (count > 0) noteMessagesWritten();
}

export interface EventChange {
  type: WebhookEventType;
  /** The message's `data`: the registration's organizer view, or the event's view. */
  data: Record<string, unknown>;
}

/**
 * The INSERT of the message of `change` about the statement's `event` CTE (see recordChange in
 * src/events/changes.ts).
 */
export function changeMessage(change: EventChange): SQL {
  return insertMessages(
    sql`from event cross join lateral (
      select ${change.type}::text as type, event.change_seq as sequence, ${JSON.stringify(change.data)}::jsonb as data) as change`,
    sql`event`,
  );
}
