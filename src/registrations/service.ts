import { and, eq, getTableColumns, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/handle';
import { columnNames, qualifiedColumn } from '../db/columns';
import { lockWaitLimit, withinDeadline } from '../db/deadline';
import { isConstraintViolation, postgresError, SqlState } from '../db/errors';
import { resendAfterLostConnection } from '../db/retry';
import { transaction } from '../db/transaction';
import { invalidField, LockstepError, notFound } from '../errors';
import { events } from '../events/schema';
import { findEventAsOrganizer } from '../events/service';
import { changedEventColumns, nextChangeSeq } from '../events/changes';
import { outboxCount, outboxWritten, registrationMessages, statusChangeMessages } from '../webhooks/outbox';
import { sequenceKeyset, toPage, type Page } from '../db/keyset';
import type { StatementKey } from '../idempotency/store';
import type { ExternalKey } from '../contract/external-key';
import type { UserRow } from '../users/schema';
import type { CreatedRegistration, CreateRegistration, EventStats, RegistrationView } from './contract';
import { nextQueueSeq, registrations, registrationStatusEnum, type RegistrationStatus } from './schema';
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
      insert into ${registrations} (${columnNames(r.eventId, r.name, r.email, r.spots, r.status, r.cancelTokenHash, r.importSource, r.externalId, r.createdAt)})
      select event.id, ${input.name}, ${input.email}, ${spots},
        -- Confirmed exactly when the update left the waitlist empty.
        (case when event.waitlist_count = 0 then 'CONFIRMED' else 'WAITLIST' end)::${sql.identifier(registrationStatusEnum.enumName)},
        ${hashToken(secrets.cancelToken)}, ${keys.external?.source ?? null}::text, ${keys.external?.externalId ?? null}::text,
        -- The moment the queue place was decided (under the event's row lock, as queue_seq is drawn), not the
        -- transaction's start before the lock wait: createdAt follows the queue order.
        clock_timestamp()
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

/** A registration as found for a change, read without a lock, with the event fields the change depends on. */
interface FoundForChange {
  eventId: string;
  status: RegistrationStatus;
  /** Which rows the change may touch: the same rows the lookup matched, re-checked under the locks. */
  access: SQL;
  /** The caller's team membership must stay locked until commit (a team manager, not the organizer). */
  holdsMembership: boolean;
  /** Who changes it, as a cancellation's webhook message says. */
  by: 'organizer' | 'registrant';
}

/**
 * Find the registration without taking any lock: by id and token hash for a token holder (a wrong token is
 * indistinguishable from a missing registration, and locks nothing), or as a registration of an event the user
 * organizes. A team manager's membership is locked FOR SHARE (inside the caller's transaction) so it cannot be
 * revoked before the change commits.
 */
async function findForChange(db: Db, slug: string, id: string, access: RegistrationAccess): Promise<FoundForChange> {
  let visible: SQL;
  let holdsMembership = false;
  if (access.token !== undefined) {
    visible = and(eq(events.slug, slug), eq(registrations.cancelTokenHash, hashToken(access.token)))!;
  } else if (access.user) {
    const event = await findEventAsOrganizer(db, access.user, slug, { lock: 'membership' });
    holdsMembership = event.organizerId !== access.user.id;
    // Under the lock, the event must still be organized by the user, or still belong to the team they manage.
    visible = and(eq(events.id, event.id), holdsMembership ? eq(events.teamId, event.teamId!) : eq(events.organizerId, access.user.id))!;
  } else {
    throw anonymous();
  }
  const [row] = await db
    .select({ eventId: events.id, status: registrations.status })
    .from(registrations)
    .innerJoin(events, eq(events.id, registrations.eventId))
    .where(and(eq(registrations.id, id), visible));
  if (!row) throw notFound('Registration');
  return { ...row, access: and(eq(registrations.id, id), visible)!, holdsMembership, by: access.token === undefined ? 'organizer' : 'registrant' };
}

/** What the change statement saw under its locks, and whether it moved the registration. */
type ChangeOutcome = {
  from: RegistrationStatus;
  capacity: number | null;
  moved: boolean;
  /** Webhook messages the statement wrote. */
  messages: number;
};

/**
 * The change as ONE statement: lock the event row, then the registration row (the per-event order every counter
 * change follows) in the join that finds them, so the status and counters it computes from are the latest; move
 * the counters by the difference, capacity-checked as a registration is (an organizer may pass the queue, never
 * the capacity); then move the registration, only if the counters moved. A registration joining the waitlist
 * takes a new place at its end, stamped with the time that place was decided.
 */
async function applyChange(db: Db, found: FoundForChange, target: RegistrationStatus): Promise<ChangeOutcome | undefined> {
  const r = registrations;
  const targetStatus = sql`${target}::${sql.identifier(registrationStatusEnum.enumName)}`;
  const { rows } = await db.execute<ChangeOutcome>(sql`
    with target as (
      select ${events.id} as ev_id, ${events.capacity} as capacity, ${r.id} as reg_id, ${r.status} as from_status, ${r.spots} as reg_spots
      from ${lockWaitLimit()}, ${events} join ${r} on ${r.eventId} = ${events.id}
      where ${found.access}
      for update of ${events}, ${r}
    ),
    delta as (
      select target.*,
        ${target === 'CONFIRMED' ? sql`reg_spots` : sql`0`} - (case when from_status = 'CONFIRMED' then reg_spots else 0 end) as spots_delta,
        ${target === 'WAITLIST' ? sql`1` : sql`0`} - (case when from_status = 'WAITLIST' then 1 else 0 end) as waiting_delta
      from target where from_status <> ${targetStatus}
    ),
    event as (
      update ${events} set
        ${column(events.spotsReserved)} = ${events.spotsReserved} + delta.spots_delta,
        ${column(events.waitlistCount)} = ${events.waitlistCount} + delta.waiting_delta,
        ${nextChangeSeq}
      from delta
      where ${events.id} = delta.ev_id
        and (delta.spots_delta <= 0 or ${events.capacity} is null or ${events.spotsReserved} + delta.spots_delta <= ${events.capacity})
        -- A waiting registration larger than the whole event would block the queue behind it forever.
        and (delta.waiting_delta <= 0 or ${events.capacity} is null or delta.reg_spots <= ${events.capacity})
        -- Checked by the server's clock at the start and after a lock wait that found the row changed.
        and ${withinDeadline()}
      returning ${events.id} as id, ${events.waitlistCount} as waitlist_count, ${changedEventColumns}
    ),
    moved as (
      update ${r} set ${column(r.status)} = ${targetStatus}, ${column(r.updatedAt)} = now()
        ${target === 'WAITLIST' ? sql`, ${column(r.queueSeq)} = ${nextQueueSeq}, ${column(r.createdAt)} = clock_timestamp()` : sql``}
      from delta
      where ${r.id} = delta.reg_id and exists (select 1 from event)
      -- The row as it is now, for the change's webhook message (delta's columns are named apart from the row's).
      returning ${column(r.status)} as status, delta.from_status as previous_status, ${registrationJson} as public_body,
        ${column(r.name)} as name, ${column(r.email)} as email
    ),
    ${statusChangeMessages(found.by)}
    select from_status as "from", capacity, exists (select 1 from moved) as moved, ${outboxCount} as messages
    from target where ${withinDeadline()}`);
  return rows[0];
}

/** The change statement moved nothing although the status differs: the capacity refused it. */
function refusal(target: RegistrationStatus, capacity: number | null): LockstepError {
  if (target === 'WAITLIST') return new LockstepError('capacity_exceeded', `This event has ${capacity} spots in all`);
  return new LockstepError('capacity_exceeded', 'Confirming this registration would exceed the capacity');
}

/**
 * Move a registration to another status. The registration is found without a lock; the change itself is one
 * statement that locks the event row then the registration row, in a transaction followed by the promotion of the
 * queue (a new statement, whose snapshot sees every waiter committed before the lock was granted) and the COMMIT.
 * (A variant that let the change commit on its own when the queue stayed empty broke the queue model test in 3 of
 * 14 runs: a status change then met a counter already moved, 409 from the CHECK. Removed until understood.)
 */
async function moveRegistration(db: Db, slug: string, id: string, target: RegistrationStatus, access: RegistrationAccess): Promise<void> {
  // Safe to repeat after a lost connection: a change that took effect before the connection broke finds itself made.
  return resendAfterLostConnection(async () => {
    let found = await findForChange(db, slug, id, access);
    if (found.status === target) return;
    await transaction(db, async (tx) => {
      if (found.holdsMembership) found = await findForChange(tx, slug, id, access);
      const outcome = await applyChange(tx, found, target);
      if (!outcome) throw notFound('Registration');
      outboxWritten(outcome.messages);
      if (!outcome.moved && outcome.from !== target) throw refusal(target, outcome.capacity);
      if (outcome.moved) await promoteWaitlist(tx, found.eventId);
    });
  });
}

/**
 * The organizer's change of status. Confirming may pass the queue but never the capacity; freeing spots or leaving
 * the queue lets the queue move up in the same transaction. Answers the registration as it is after the change.
 */
export async function changeStatus(
  db: Db,
  slug: string,
  id: string,
  target: RegistrationStatus,
  access: RegistrationAccess,
): Promise<RegistrationView> {
  await moveRegistration(db, slug, id, target, access);
  const [row] = await db.select(withPosition).from(registrations).where(eq(registrations.id, id));
  if (!row) throw notFound('Registration');
  return registrationView(row);
}


/** Cancelling keeps the row (status CANCELLED) for the organizer's records; cancelling twice is a no-op. */
export async function cancelRegistration(db: Db, slug: string, id: string, access: RegistrationAccess): Promise<void> {
  await moveRegistration(db, slug, id, 'CANCELLED', access);
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
 * lock: it grows in commit order, so a row that commits while a client pages lands after the pages already read.
 * created_at is stamped in the same place (clock_timestamp()), so it follows this order. A registration moved to the
 * WAITLIST joins the end of the queue, and of the list with it.
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
