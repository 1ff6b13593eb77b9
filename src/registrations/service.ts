import { and, eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/handle';
import { columnNames, qualifiedColumn } from '../db/columns';
import { lockWaitLimit, withinDeadline } from '../db/deadline';
import { isConstraintViolation } from '../db/errors';
import { resendAfterLostConnection } from '../db/retry';
import { executePrepared } from '../db/prepared';
import { transaction } from '../db/transaction';
import { invalidField, LockstepError, notFound } from '../errors';
import { events } from '../events/schema';
import { findEventAsOrganizer } from '../events/service';
import { eventForMessages } from '../events/changes';
import { eventShards } from '../capacity/schema';
import { eventCounters, lockShards, queueShard, settleShards } from '../capacity/service';
import { outboxCount, outboxWritten, statusChangeMessages } from '../webhooks/outbox';
import { keyset, toPage, type Page } from '../db/keyset';
import type { StatementKey } from '../idempotency/store';
import type { ExternalKey } from '../contract/external-key';
import type { UserRow } from '../users/schema';
import type { CreatedRegistration, CreateRegistration, EventStats, RegistrationView } from './contract';
import { EXTERNAL_KEY_INDEX, registrations, registrationStatusEnum, type RegistrationStatus } from './schema';
import { throughIntake } from './intake';
import { registrationJson, registrationView } from './view';
import { promoteWaitlist } from './waitlist';

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

const column = (c: AnyPgColumn) => columnNames(c);

const sh = eventShards;

const outer = (c: AnyPgColumn) => qualifiedColumn(c);
const ahead = (c: AnyPgColumn) => qualifiedColumn(c, 'ahead');

/** 1-based place in the event's queue (in arrival order), counted in the statement that reads the row. */
const waitlistPosition = sql<number | null>`case when ${outer(registrations.status)} = 'WAITLIST' then (
    select count(*)::int from ${registrations} as "ahead"
    where ${ahead(registrations.eventId)} = ${outer(registrations.eventId)} and ${ahead(registrations.status)} = 'WAITLIST'
      and (${ahead(registrations.createdAt)}, ${ahead(registrations.id)}) <= (${outer(registrations.createdAt)}, ${outer(registrations.id)})) end`.as('waitlist_position');

const withPosition = { ...getTableColumns(registrations), waitlistPosition };

/** The event to register for: by slug (the API) or by id (imports, which know the id of the event they wrote). */
type EventRef = { slug: string } | { id: string };

const eventIs = (ref: EventRef) => ('id' in ref ? eq(events.id, ref.id) : eq(events.slug, ref.slug));

/**
 * Register with ONE statement, a call of the event's intake (./intake.ts): the registration is decided with the
 * others that arrived with it, in arrival order, by one statement under all of the event's shard locks, which
 * records the outcome, the key's record and the webhook message with it. A refusal comes back as the SQLSTATE and
 * constraint it stands for (the active-email index: 409 already_registered), or as no reason, which the event's
 * row explains.
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
 * Register an imported row once per external key, through the same intake as `register`: a key that exists
 * already, or came earlier in the same batch, is refused on `registrations_external_key`, and means unchanged.
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
    if (isConstraintViolation(err, EXTERNAL_KEY_INDEX)) return 'unchanged';
    throw err;
  }
}

interface RegistrationKeys {
  /** The request's Idempotency-Key, recorded with the registration. */
  idempotency?: StatementKey;
  /** An import's (source, externalId). */
  external?: ExternalKey;
}

/** The admitter refused the row for a reason a statement would fail with: classified like that failure. */
class RefusedInBatch extends Error {
  constructor(
    readonly code: string,
    readonly constraint: string | undefined,
  ) {
    super('The registration was refused by its batch');
  }
}

async function registerFor(db: Db, ref: EventRef, input: CreateRegistration, keys: RegistrationKeys): Promise<CreatedRegistration> {
  // A refusal is explained by a second read; if that read finds no reason, the event changed in between: retry once.
  for (let attempt = 1; attempt <= 2; attempt++) {
    // What the client sent, and the token: the key's record holds them sealed.
    const personal = { name: input.name, email: input.email, cancelToken: randomBytes(32).toString('base64url') };
    const outcome = await throughIntake(db, {
      event: ref,
      name: input.name,
      email: input.email,
      spots: input.spots,
      cancelTokenHash: hashToken(personal.cancelToken),
      external: keys.external,
      key: keys.idempotency?.pending(personal),
    });
    if (outcome.o_status !== null) {
      outboxWritten(outcome.o_messages ?? 0);
      return { ...(JSON.parse(outcome.o_public_body!) as RegistrationView), ...personal };
    }
    if (outcome.o_refused_state !== null) throw new RefusedInBatch(outcome.o_refused_state, outcome.o_refused_constraint ?? undefined);
    await explainRefusal(db, ref, input.spots);
  }
  throw new Error('registration refused twice with no reason the event shows');
}

/** The intake refused the registration without a reason: throw the event's, or return if the event shows none. */
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
  /** Someone was waiting when it was read: a cancellation will have to promote. */
  queued: boolean;
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
    .select({ eventId: events.id, status: registrations.status, queued: sh.waiting })
    .from(registrations)
    .innerJoin(events, eq(events.id, registrations.eventId))
    .innerJoin(sh, and(eq(sh.eventId, registrations.eventId), eq(sh.shard, registrations.shard)))
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

const enumValue = (status: RegistrationStatus) => sql`${status}::${sql.identifier(registrationStatusEnum.enumName)}`;

/**
 * A confirmed registration's cancellation while nobody waits, as ONE statement holding one shard: lock the shard
 * that holds its spots, only while nobody waits (then no promotion is due), cancel it and give the spots back to
 * that shard. Moves nothing when someone waits or the registration changed meanwhile (then the caller takes all
 * of the event's shards).
 */
async function cancelOnItsShard(db: Db, found: FoundForChange): Promise<{ moved: boolean; messages: number }> {
  const r = registrations;
  // Columns named apart from the registration's: `moved` returns the row's own through registrationJson.
  const { rows } = await executePrepared<{ moved: boolean; messages: number }>(db, sql`
    with target as (
      select ${sh.eventId} as t_event, ${sh.shard} as t_shard, ${r.id} as reg_id
      from ${lockWaitLimit()}, ${sh}
        join ${r} on ${r.eventId} = ${sh.eventId} and ${r.shard} = ${sh.shard}
        join ${events} on ${events.id} = ${r.eventId}
      where ${and(found.access, eq(r.status, 'CONFIRMED'), eq(sh.waiting, false), withinDeadline())}
      for update of ${sh}
    ),
    event as (select ${events.id} as id, null::int as waitlist_count, ${eventForMessages} from ${events} join target on ${events.id} = target.t_event),
    moved as (
      update ${r} set ${column(r.status)} = ${enumValue('CANCELLED')}, ${column(r.updatedAt)} = now()
      from target
      -- The registration as it is now: still confirmed on that shard.
      where ${r.id} = target.reg_id and ${r.status} = 'CONFIRMED' and ${r.shard} = target.t_shard
      returning ${column(r.status)} as status, 'CONFIRMED' as previous_status, ${registrationJson} as public_body,
        ${column(r.name)} as name, ${column(r.email)} as email, ${column(r.spots)} as freed, target.t_event, target.t_shard
    ),
    freed as (
      update ${sh} set ${column(sh.reserved)} = ${sh.reserved} - moved.freed
      from moved where ${sh.eventId} = moved.t_event and ${sh.shard} = moved.t_shard
    ),
    ${statusChangeMessages(found.by)}
    select exists (select 1 from moved) as moved, ${outboxCount} as messages where ${withinDeadline()}`);
  return rows[0]!;
}

/**
 * Any change, as ONE statement run with all of the event's shards locked (so its snapshot holds the latest of them
 * and of the queue): move the registration, only if the capacity allows it (an organizer may pass the queue, never
 * the capacity), then write the shards' counters with the free spots spread again. A registration joining the
 * waitlist takes a new place at its end, stamped with the time that place was decided.
 */
async function applyChange(tx: Db, found: FoundForChange, target: RegistrationStatus): Promise<ChangeOutcome | undefined> {
  const r = registrations;
  const counts = (status: RegistrationStatus, value: SQL) => sql`case when target.from_status = ${enumValue(status)} then ${value} else 0 end`;
  const { rows } = await tx.execute<ChangeOutcome>(sql`
    with target as (
      select ${r.id} as reg_id, ${r.status} as from_status, ${r.spots} as reg_spots, ${r.shard} as from_shard, ${r.eventId} as t_event
      from ${r} join ${events} on ${events.id} = ${r.eventId}
      where ${and(found.access, withinDeadline())}
    ),
    totals as (
      select sum(${sh.quota}) as capacity, sum(${sh.reserved}) as reserved,
        sum(${sh.waitlist}) filter (where ${sh.shard} = ${queueShard}) as waitlist
      from ${sh} join target on ${sh.eventId} = target.t_event
    ),
    delta as (
      select target.*, totals.capacity, totals.waitlist,
        ${target === 'CONFIRMED' ? sql`reg_spots` : sql`0`} - ${counts('CONFIRMED', sql`reg_spots`)} as spots_delta,
        ${target === 'WAITLIST' ? sql`1` : sql`0`} - ${counts('WAITLIST', sql`1`)} as waiting_delta
      from target, totals
      where target.from_status <> ${enumValue(target)}
    ),
    allowed as (
      select * from delta
      where (spots_delta <= 0 or capacity is null or (select reserved from totals) + spots_delta <= capacity)
        -- A waiting registration larger than the whole event would block the queue behind it forever.
        and (waiting_delta <= 0 or capacity is null or reg_spots <= capacity)
    ),
    event as (
      select ${events.id} as id, allowed.waitlist + allowed.waiting_delta as waitlist_count, ${eventForMessages}
      from ${events} join allowed on ${events.id} = allowed.t_event
    ),
    moved as (
      update ${r} set ${column(r.status)} = ${enumValue(target)}, ${column(r.updatedAt)} = now()
        ${target === 'CONFIRMED' ? sql`, ${column(r.shard)} = ${queueShard}` : sql``}
        ${target === 'WAITLIST' ? sql`, ${column(r.createdAt)} = clock_timestamp()` : sql``}
      from allowed
      where ${r.id} = allowed.reg_id
      -- The row as it is now, for the change's webhook message.
      returning ${column(r.status)} as status, allowed.from_status as previous_status, ${registrationJson} as public_body,
        ${column(r.name)} as name, ${column(r.email)} as email
    ),
    settled as (${settleShards(sql`select l.event_id, l.shard, l.open, l.max_spots, allowed.capacity,
        l.reserved - case when allowed.from_status = 'CONFIRMED' and l.shard = allowed.from_shard then allowed.reg_spots else 0 end
          + case when ${enumValue(target)} = 'CONFIRMED' and l.shard = ${queueShard} then allowed.reg_spots else 0 end as reserved,
        l.waitlist + case when l.shard = ${queueShard} then allowed.waiting_delta else 0 end as waitlist
      from ${sh} as l join allowed on l.event_id = allowed.t_event`)}),
    ${statusChangeMessages(found.by)}
    select from_status as "from", (select capacity from totals) as capacity, exists (select 1 from moved) as moved, ${outboxCount} as messages
    from target where ${withinDeadline()}`);
  return rows[0];
}

/** The change statement moved nothing although the status differs: the capacity refused it. */
function refusal(target: RegistrationStatus, capacity: number | null): LockstepError {
  if (target === 'WAITLIST') return new LockstepError('capacity_exceeded', `This event has ${capacity} spots in all`);
  return new LockstepError('capacity_exceeded', 'Confirming this registration would exceed the capacity');
}

/**
 * Move a registration to another status. The registration is found without a lock. A confirmed registration's
 * cancellation while nobody waits holds one shard for one statement (`cancelOnItsShard`); any other change locks
 * all of the event's shards, then moves it (`applyChange`) and promotes the queue, each a new statement whose
 * snapshot sees every change that took a shard lock before, and commits.
 */
async function moveRegistration(db: Db, slug: string, id: string, target: RegistrationStatus, access: RegistrationAccess): Promise<void> {
  // Safe to repeat after a lost connection: a change that took effect before the connection broke finds itself made.
  return resendAfterLostConnection(async () => {
    let found = await findForChange(db, slug, id, access);
    if (found.status === target) return;
    if (found.status === 'CONFIRMED' && target === 'CANCELLED' && !found.queued && !found.holdsMembership) {
      const cancelled = await cancelOnItsShard(db, found);
      outboxWritten(cancelled.messages);
      if (cancelled.moved) return;
    }
    await transaction(db, async (tx) => {
      if (found.holdsMembership) found = await findForChange(tx, slug, id, access);
      if (!(await lockShards(tx, found.eventId))) throw notFound('Registration');
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

const arrivalOrder = keyset(registrations.createdAt, registrations.id);

/**
 * In arrival order, the queue's: keyset-paginated on (createdAt, id), stamped under all of the event's shard locks
 * by the statement that decided each registration's place (the intake's admitter stamps a batch after every earlier
 * registration of the event). A registration moved to the WAITLIST joins the end of the queue, and of the list.
 */
export async function listRegistrations(
  db: Db,
  user: UserRow,
  slug: string,
  query: { limit: number; cursor?: string; status?: RegistrationStatus },
): Promise<Page<RegistrationView>> {
  const event = await findEventAsOrganizer(db, user, slug);
  const rows = await db
    .select({ ...withPosition, cursorTime: arrivalOrder.cursorTime })
    .from(registrations)
    .where(
      and(
        eq(registrations.eventId, event.id),
        query.status ? eq(registrations.status, query.status) : undefined,
        arrivalOrder.after(query.cursor),
      ),
    )
    .orderBy(...arrivalOrder.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, registrationView, arrivalOrder.key);
}

/** Counters and row sums read in one statement, so `consistent` compares one snapshot. */
export async function eventStats(db: Db, user: UserRow, slug: string): Promise<EventStats> {
  const event = await findEventAsOrganizer(db, user, slug);
  const [stats] = await db
    .select({
      capacity: events.capacity,
      spotsReserved: eventCounters.spotsReserved,
      confirmedSpots: sql<number>`coalesce(sum(${registrations.spots}) filter (where ${registrations.status} = 'CONFIRMED'), 0)::int`,
      waitlistSpots: sql<number>`coalesce(sum(${registrations.spots}) filter (where ${registrations.status} = 'WAITLIST'), 0)::int`,
      waitlistCount: sql<number>`(count(*) filter (where ${registrations.status} = 'WAITLIST'))::int`,
      cancelledCount: sql<number>`(count(*) filter (where ${registrations.status} = 'CANCELLED'))::int`,
    })
    .from(events)
    .crossJoinLateral(eventCounters)
    .leftJoin(registrations, eq(registrations.eventId, events.id))
    .where(eq(events.id, event.id))
    .groupBy(events.id, eventCounters.spotsReserved);
  if (!stats) throw notFound('Event');
  return { ...stats, consistent: stats.spotsReserved === stats.confirmedSpots };
}
