import { and, eq, getTableColumns, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/handle';
import { columnNames, qualifiedColumn } from '../db/columns';
import { lockWaitLimit, withinDeadline } from '../db/deadline';
import { isConstraintViolation, postgresError, SqlState } from '../db/errors';
import { transaction } from '../db/transaction';
import { invalidField, LockstepError, notFound } from '../errors';
import { events, type EventRow } from '../events/schema';
import { findEventAsOrganizer } from '../events/service';
import { changedEventColumns, nextChangeSeq, recordChanges } from '../events/changes';
import { outboxCount, outboxWritten, registrationMessages, type EventChange } from '../webhooks/outbox';
import { sequenceKeyset, toPage, type Page } from '../db/keyset';
import type { StatementKey } from '../idempotency/store';
import type { ExternalKey } from '../contract/external-key';
import type { UserRow } from '../users/schema';
import type { CreatedRegistration, CreateRegistration, EventStats, RegistrationView } from './contract';
import { nextQueueSeq, registrations, registrationStatusEnum, type RegistrationRow, type RegistrationStatus } from './schema';
import { registrationJson, registrationView } from './view';
import { promoteWaitlist } from './waitlist';

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

const outer = (c: AnyPgColumn) => qualifiedColumn(c);
const ahead = (c: AnyPgColumn) => qualifiedColumn(c, 'ahead');

/** 1-based place in the event's queue, counted in the statement that reads the row. */
const waitlistPosition = sql<number | null>`case when ${outer(registrations.status)} = 'WAITLIST' then (
    select count(*)::int from ${registrations} as "ahead"
    where ${ahead(registrations.eventId)} = ${outer(registrations.eventId)} and ${ahead(registrations.status)} = 'WAITLIST'
      and ${ahead(registrations.queueSeq)} <= ${outer(registrations.queueSeq)}) end`.as('waitlist_position');

const withPosition = { ...getTableColumns(registrations), waitlistPosition };

/** The event to register for: by slug (the API) or by id (imports, which know the id of the event they wrote). */
type EventRef = { slug: string } | { id: string };

const eventIs = (ref: EventRef) => ('id' in ref ? eq(events.id, ref.id) : eq(events.slug, ref.slug));

/**
 * Register with ONE statement: lock-and-update the event row, confirming only if the spots fit and nobody is
 * waiting (both read from the event row, so a concurrent registration that got the row first is seen), else
 * joining the waitlist; the insert in the same statement records the outcome. The partial unique index on active
 * emails fails the whole statement, counter included (409 already_registered, mapped by constraint name). With an
 * Idempotency-Key the same statement stores the key's record and response, so the event row is locked for this one
 * statement whatever the client sends.
 */
export async function register(
  db: Db,
  slug: string,
  input: CreateRegistration,
  idempotency?: StatementKey,
): Promise<CreatedRegistration> {
  return registerFor(db, { slug }, input, { idempotency });
}

/**
 * Register an imported row once per external key, through the same statement as `register`. A key that exists
 * already fails that statement on `registrations_external_key`, so the counter update is undone with the insert
 * (ON CONFLICT DO NOTHING would keep it). Postgres may report the active-email index first for the same row, and
 * a refusal (closed event, ...) says nothing about the key: any such failure but the key's own is therefore followed
 * by a read of the key in a new statement, and an existing key means unchanged.
 */
export async function importRegistration(
  db: Db,
  eventId: string,
  external: ExternalKey,
  input: CreateRegistration,
): Promise<RegistrationStatus | 'unchanged'> {
  try {
    return (await registerFor(db, { id: eventId }, input, { external })).status;
  } catch (err) {
    // The key's own index refused it: the registration exists, and there is nothing to read.
    if (isConstraintViolation(err, 'registrations_external_key')) return 'unchanged';
    if (!(err instanceof LockstepError || postgresError(err)?.code === SqlState.uniqueViolation)) throw err;
    const [stored] = await db
      .select({ id: registrations.id })
      .from(registrations)
      .where(and(eq(registrations.importSource, external.source), eq(registrations.externalId, external.externalId)));
    if (stored === undefined) throw err;
    return 'unchanged';
  }
}

interface RegistrationKeys {
  /** The request's Idempotency-Key, recorded by the registration statement. */
  idempotency?: StatementKey;
  /** An import's (source, externalId). */
  external?: ExternalKey;
}

async function registerFor(db: Db, ref: EventRef, input: CreateRegistration, keys: RegistrationKeys): Promise<CreatedRegistration> {
  // A refusal is explained by a second read; if that read finds no reason, the event changed in between: retry once.
  for (let attempt = 1; attempt <= 2; attempt++) {
    // What the client sent, and the token: filled into the statement's body here, and sealed in a key's record.
    const secrets = { name: input.name, email: input.email, cancelToken: randomBytes(32).toString('base64url') };
    const { rows } = await insertRegistration(db, ref, input, secrets, keys);
    const [row] = rows;
    if (row) {
      outboxWritten(row.messages);
      return { ...(JSON.parse(row.public_body) as RegistrationView), ...secrets };
    }
    await keys.idempotency?.throwIfRecorded(db);
    await explainRefusal(db, ref, input.spots);
  }
  throw new Error('registration refused twice with no reason the event shows');
}

const column = (c: AnyPgColumn) => columnNames(c);

function insertRegistration(
  db: Db,
  ref: EventRef,
  input: CreateRegistration,
  secrets: { name: string; email: string; cancelToken: string },
  keys: RegistrationKeys,
) {
  const r = registrations;
  const spots = sql`${input.spots}::int`;
  const fits = sql`(${events.waitlistCount} = 0 and (${events.capacity} is null or ${events.spotsReserved} + ${spots} <= ${events.capacity}))`;
  const record = keys.idempotency?.record(sql`inserted`, sql`public_body`, secrets);
  return db.execute<{ status: RegistrationStatus; public_body: string; messages: number }>(sql`
    with event as (
      update ${events} set
        ${column(events.spotsReserved)} = ${events.spotsReserved} + case when ${fits} then ${spots} else 0 end,
        ${column(events.waitlistCount)} = ${events.waitlistCount} + case when ${fits} then 0 else 1 end,
        ${nextChangeSeq}
      from ${lockWaitLimit()}
      where ${and(
        eventIs(ref),
        eq(events.status, 'OPEN'),
        lte(spots, events.maxSpotsPerRegistration),
        // A request larger than the whole event could never leave the queue, and would block everyone behind it.
        or(isNull(events.capacity), lte(spots, events.capacity)),
        keys.idempotency?.unused,
        // Checked by the server's clock at the start and after a lock wait that found the row changed.
        withinDeadline(),
      )}
      returning ${events.id} as id, ${events.waitlistCount} as waitlist_count, ${changedEventColumns}
    ),
    inserted as (
      insert into ${registrations} (${columnNames(r.eventId, r.name, r.email, r.spots, r.status, r.cancelTokenHash, r.importSource, r.externalId)})
      select event.id, ${input.name}, ${input.email}, ${spots},
        -- Confirmed exactly when the update left the waitlist empty.
        (case when event.waitlist_count = 0 then 'CONFIRMED' else 'WAITLIST' end)::${sql.identifier(registrationStatusEnum.enumName)},
        ${hashToken(secrets.cancelToken)}, ${keys.external?.source ?? null}::text, ${keys.external?.externalId ?? null}::text
      from event
      returning ${column(r.status)} as status, ${registrationJson} as public_body
    )${record ? sql`, recorded as (${record})` : sql``},
    ${registrationMessages(secrets)}
    select status, public_body, ${outboxCount} as messages from inserted where ${withinDeadline()}`);
}

/** The registration statement matched no event row: throw the reason, or return if the event shows none. */
async function explainRefusal(db: Db, ref: EventRef, spots: number): Promise<void> {
  const [event] = await db.select().from(events).where(eventIs(ref));
  if (!event) throw notFound('Event');
  if (event.status !== 'OPEN') throw new LockstepError('event_closed', 'Registration for this event is closed');
  if (spots > event.maxSpotsPerRegistration) {
    throw invalidField('spots', `At most ${event.maxSpotsPerRegistration} spots per registration`);
  }
  if (event.capacity !== null && spots > event.capacity) {
    throw new LockstepError('capacity_exceeded', `This event has ${event.capacity} spots in all`, {
      errors: [{ path: 'spots', message: `At most ${event.capacity}` }],
    });
  }
}

/** Who is asking about a registration: its organizer, or the holder of its cancel token. */
export type RegistrationAccess = { user: UserRow | undefined; token: string | undefined };

const anonymous = () => new LockstepError('unauthorized', 'Sign in as the organizer, or pass ?token=<cancelToken>');

/**
 * Lock the event row (the per-event order every counter change follows), then the registration row. Token
 * holders reach only their own registration; a wrong token is indistinguishable from a missing registration.
 * A token is matched by a plain read first and the event row locked only on a match: whoever sends a guess must
 * not hold a hot event's row (and every registration behind it) while it is checked.
 */
async function lockForChange(
  tx: Db,
  slug: string,
  id: string,
  access: RegistrationAccess,
): Promise<{ event: EventRow; registration: RegistrationRow }> {
  let event: EventRow | undefined;
  const conditions = [eq(registrations.id, id)];
  if (access.token !== undefined) {
    conditions.push(eq(registrations.cancelTokenHash, hashToken(access.token)));
    const [match] = await tx
      .select({ eventId: events.id })
      .from(registrations)
      .innerJoin(events, eq(events.id, registrations.eventId))
      .where(and(...conditions, eq(events.slug, slug)));
    if (!match) throw notFound('Registration');
    // The slug is checked again under the lock: the event may have been renamed or deleted in between.
    [event] = await tx.select().from(events).where(and(eq(events.id, match.eventId), eq(events.slug, slug))).for('update');
    if (!event) throw notFound('Registration');
  } else if (access.user) {
    event = await findEventAsOrganizer(tx, access.user, slug, { lock: true });
  } else {
    throw anonymous();
  }
  const [registration] = await tx
    .select()
    .from(registrations)
    .where(and(...conditions, eq(registrations.eventId, event.id)))
    .for('update');
  if (!registration) throw notFound('Registration');
  return { event, registration };
}

/**
 * Move a registration to another status under the event's row lock. Confirming is capacity-checked by the same
 * conditional counter update as registering (an organizer may pass the queue, never the capacity); freeing
 * spots or leaving the queue lets the queue move up in the same transaction.
 */
export async function changeStatus(
  db: Db,
  slug: string,
  id: string,
  target: RegistrationStatus,
  access: RegistrationAccess,
): Promise<RegistrationView> {
  return transaction(db, async (tx) => {
    const { event, registration } = await lockForChange(tx, slug, id, access);
    const from = registration.status;
    // A waiting registration larger than the whole event would block the queue behind it forever.
    if (target === 'WAITLIST' && from !== 'WAITLIST' && event.capacity !== null && registration.spots > event.capacity) {
      throw new LockstepError('capacity_exceeded', `This event has ${event.capacity} spots in all`);
    }
    if (from !== target) {
      const spotsDelta = (target === 'CONFIRMED' ? registration.spots : 0) - (from === 'CONFIRMED' ? registration.spots : 0);
      const waitingDelta = (target === 'WAITLIST' ? 1 : 0) - (from === 'WAITLIST' ? 1 : 0);
      const [moved] = await tx
        .update(events)
        .set({
          spotsReserved: sql`${events.spotsReserved} + ${spotsDelta}::int`,
          waitlistCount: sql`${events.waitlistCount} + ${waitingDelta}::int`,
        })
        .where(
          and(
            eq(events.id, event.id),
            spotsDelta > 0
              ? or(isNull(events.capacity), lte(sql`${events.spotsReserved} + ${spotsDelta}::int`, events.capacity))
              : undefined,
          ),
        )
        .returning({ id: events.id });
      if (!moved) throw new LockstepError('capacity_exceeded', 'Confirming this registration would exceed the capacity');
      await tx
        .update(registrations)
        .set({
          status: target,
          updatedAt: sql`now()`,
          // Joining the waitlist means joining its end.
          ...(target === 'WAITLIST' && { queueSeq: nextQueueSeq }),
        })
        .where(eq(registrations.id, registration.id));
      await recordChanges(tx, event.id, [statusChange(from, await readView(tx, registration.id), access)]);
      await promoteWaitlist(tx, event.id);
    }
    return readView(tx, registration.id);
  });
}

async function readView(db: Db, id: string): Promise<RegistrationView> {
  const [row] = await db.select(withPosition).from(registrations).where(eq(registrations.id, id));
  return registrationView(row!);
}

/** The webhook message of a status change: a cancellation (by whom), or the organizer's move. */
function statusChange(from: RegistrationStatus, registration: RegistrationView, access: RegistrationAccess): EventChange {
  if (registration.status === 'CANCELLED') {
    return { type: 'registration.cancelled', data: { registration, cancelledBy: access.token === undefined ? 'organizer' : 'registrant' } };
  }
  return { type: 'registration.moved', data: { registration, previousStatus: from } };
}

/** Cancelling keeps the row (status CANCELLED) for the organizer's records; cancelling twice is a no-op. */
export async function cancelRegistration(db: Db, slug: string, id: string, access: RegistrationAccess): Promise<void> {
  await changeStatus(db, slug, id, 'CANCELLED', access);
}

export async function getRegistration(db: Db, slug: string, id: string, access: RegistrationAccess): Promise<RegistrationView> {
  let visible: SQL;
  if (access.token !== undefined) {
    visible = and(eq(events.slug, slug), eq(registrations.cancelTokenHash, hashToken(access.token)))!;
  } else if (access.user) {
    visible = eq(events.id, (await findEventAsOrganizer(db, access.user, slug)).id);
  } else {
    throw anonymous();
  }
  const [row] = await db
    .select(withPosition)
    .from(registrations)
    .innerJoin(events, eq(events.id, registrations.eventId))
    .where(and(eq(registrations.id, id), visible));
  if (!row) throw notFound('Registration');
  return registrationView(row);
}

const queueOrder = sequenceKeyset(registrations.queueSeq, 'queueSeq');

/**
 * In queue order, keyset-paginated on queue_seq, drawn by the registration statement once it holds the event's row
 * lock: unlike created_at (the transaction's start, before any lock wait) it grows in commit order, so a row that
 * commits while a client pages lands after the pages already read. A registration moved to the WAITLIST joins the
 * end of the queue, and of the list with it.
 */
export async function listRegistrations(
  db: Db,
  user: UserRow,
  slug: string,
  query: { limit: number; cursor?: string; status?: RegistrationStatus },
): Promise<Page<RegistrationView>> {
  const event = await findEventAsOrganizer(db, user, slug);
  const rows = await db
    .select(withPosition)
    .from(registrations)
    .where(
      and(
        eq(registrations.eventId, event.id),
        query.status ? eq(registrations.status, query.status) : undefined,
        queueOrder.after(query.cursor),
      ),
    )
    .orderBy(...queueOrder.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, registrationView, queueOrder.key);
}

/** Counters and row sums read in one statement, so `consistent` compares one snapshot. */
export async function eventStats(db: Db, user: UserRow, slug: string): Promise<EventStats> {
  const event = await findEventAsOrganizer(db, user, slug);
  const [stats] = await db
    .select({
      capacity: events.capacity,
      spotsReserved: events.spotsReserved,
      confirmedSpots: sql<number>`coalesce(sum(${registrations.spots}) filter (where ${registrations.status} = 'CONFIRMED'), 0)::int`,
      waitlistSpots: sql<number>`coalesce(sum(${registrations.spots}) filter (where ${registrations.status} = 'WAITLIST'), 0)::int`,
      waitlistCount: sql<number>`(count(*) filter (where ${registrations.status} = 'WAITLIST'))::int`,
      cancelledCount: sql<number>`(count(*) filter (where ${registrations.status} = 'CANCELLED'))::int`,
    })
    .from(events)
    .leftJoin(registrations, eq(registrations.eventId, events.id))
    .where(eq(events.id, event.id))
    .groupBy(events.id);
  if (!stats) throw notFound('Event');
  return { ...stats, consistent: stats.spotsReserved === stats.confirmedSpots };
}
