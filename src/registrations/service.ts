import { and, eq, getTableColumns, lte, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Db } from '../db/handle';
import { columnNames, qualifiedColumn } from '../db/columns';
import { lockWaitLimit, withinDeadline } from '../db/deadline';
import { isConstraintViolation, postgresError, SqlState } from '../db/errors';
import { resendAfterLostConnection } from '../db/retry';
import { executePrepared, renderedOnce } from '../db/prepared';
import { transaction } from '../db/transaction';
import { invalidField, LockstepError, notFound } from '../errors';
import { events } from '../events/schema';
import { findEventAsOrganizer } from '../events/service';
import { eventForMessages } from '../events/changes';
import { eventShards, QUEUE_SHARD, SHARDS } from '../capacity/schema';
import { eventCounters, lockShards, queueShard, settleShards } from '../capacity/service';
import { outboxCount, outboxWritten, registrationMessages, statusChangeMessages } from '../webhooks/outbox';
import { keyset, toPage, type Page } from '../db/keyset';
import type { StatementKey } from '../idempotency/store';
import type { ExternalKey } from '../contract/external-key';
import type { UserRow } from '../users/schema';
import type { CreatedRegistration, CreateRegistration, EventStats, RegistrationView } from './contract';
import { registrations, registrationStatusEnum, type RegistrationStatus } from './schema';
import { registrationJson, registrationView } from './view';
import { promoteWaitlist } from './waitlist';

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

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
 * Register with ONE statement, which locks one of the event's shards (src/capacity/schema.ts): a shard with room
 * that nobody else holds (SKIP LOCKED), else one with room, waiting for it; while anyone waits, the queue's shard.
 * On the shard it confirms if the spots fit its quota and nobody is waiting, else it joins the queue, both read from
 * the shard row Postgres re-checks after a lock wait. When no single shard can decide (none has room for the spots,
 * and nobody waits yet), a second statement locks all of the event's shards, decides on their totals and spreads
 * the free spots again. Either statement records the outcome, and the key's record and webhook message with it. The
 * partial unique index on active emails fails the whole statement, counters included (409 already_registered,
 * mapped by constraint name).
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

/** What the client sent, and the token: filled into the statement's body, and sealed in a key's record. */
type Personal = { name: string; email: string; cancelToken: string };

async function registerFor(db: Db, ref: EventRef, input: CreateRegistration, keys: RegistrationKeys): Promise<CreatedRegistration> {
  // A refusal is explained by a second read; if that read finds no reason, the event changed in between: retry once.
  for (let attempt = 1; attempt <= 2; attempt++) {
    const personal = { name: input.name, email: input.email, cancelToken: randomBytes(32).toString('base64url') };
    let [row] = (await insertRegistration(db, { ref, input, personal, keys, shards: 'one' })).rows;
    if (row?.status == null && row?.undecided) [row] = (await insertRegistration(db, { ref, input, personal, keys, shards: 'all' })).rows;
    if (row?.status != null) {
      outboxWritten(row.messages);
      return { ...(JSON.parse(row.public_body!) as RegistrationView), ...personal };
    }
    await keys.idempotency?.throwIfRecorded(db);
    await explainRefusal(db, ref, input.spots);
  }
  throw new Error('registration refused twice with no reason the event shows');
}

const column = (c: AnyPgColumn) => columnNames(c);

interface RegistrationStatement {
  ref: EventRef;
  input: CreateRegistration;
  personal: Personal;
  keys: RegistrationKeys;
  /** Lock one shard, or all of the event's shards (when one shard could not decide). */
  shards: 'one' | 'all';
}

/** The statement's answer: the registration, or no status and whether the event would take it but no shard decided. */
type RegistrationOutcome = { status: RegistrationStatus | null; public_body: string | null; messages: number; undecided: boolean | null };

const sh = eventShards;

/** The shards a registration of `spots` may take, before any decision on room. */
const admits = (spots: SQL, keys: RegistrationKeys) => and(eq(sh.open, true), lte(spots, sh.maxSpots), keys.idempotency?.unused);

/**
 * The CTEs that lock one shard and take the spots or a place in the queue on it: a shard that can decide alone is
 * one with room when nobody waits, or the queue's shard when someone does. The event is found first (`ev`), so each
 * pick plans a scan of its shards alone. Ends in an `event` CTE (see `decided`).
 */
function oneShard(ref: EventRef, spots: SQL, keys: RegistrationKeys): SQL {
  const decides = sql`case when ${sh.waiting} then ${sh.shard} = ${queueShard} else ${sh.quota} is null or ${sh.reserved} + ${spots} <= ${sh.quota} end`;
  const candidates = sql`${sh}
    -- Checked by the server's clock at the start and again on the row's newer version after a lock wait.
    where ${sh.eventId} = (select id from ev) and ${and(admits(spots, keys), decides, withinDeadline())}`;
  // In an order of its own for each registration, so concurrent ones spread. The blocking pick waits for ONE shard,
  // chosen first: a shard it waited for and found full stays locked until the statement ends, so waiting for a
  // second could deadlock. The choice is no random() in SQL: Postgres re-evaluates that subquery when it re-checks
  // the row it waited for, and a new draw names another shard (the row fails, and the registration fell through
  // to the all-shards statement).
  const start = sql`${randomInt(SHARDS)}::int`;
  const spread = sql`(${sh.shard} + ${start}) % ${SHARDS}`;
  return sql`ev as (select ${events.id} as id from ${events} where ${eventIs(ref)}),
    free_shard as (
      select ${sh.eventId} as event_id, ${sh.shard} as shard from ${lockWaitLimit()}, ${candidates}
      order by ${spread} limit 1 for update of ${sh} skip locked
    ),
    any_shard as (
      select ${sh.eventId} as event_id, ${sh.shard} as shard from ${lockWaitLimit()}, ${candidates}
        and ${sh.shard} = (select ${sh.shard} from ${candidates} order by ${spread} limit 1)
      for update of ${sh}
    ),
    picked as materialized (
      -- The blocking pick runs only when every shard that could decide was busy. Materialized: inlined into the
      -- update below, it left the update with no row in a third of the registrations at 128 clients (measured).
      select * from free_shard union all select * from any_shard where not exists (select 1 from free_shard)
      limit 1
    ),
    taken as (
      update ${sh} set
        ${column(sh.reserved)} = ${sh.reserved} + case when ${sh.waiting} then 0 else ${spots} end,
        ${column(sh.waitlist)} = ${sh.waitlist} + case when ${sh.waiting} then 1 else 0 end
      from picked where ${sh.eventId} = picked.event_id and ${sh.shard} = picked.shard
      returning ${sh.eventId} as event_id, ${sh.shard} as shard, not ${sh.waiting} as confirmed, ${sh.waitlist} as waitlist
    ),
    ${decided}`;
}

/**
 * The CTEs that lock the event's shards in order and decide on their totals: confirmed if the spots fit the
 * capacity and nobody waits, else last in the queue. The queue's shard first: when someone waits already, the
 * registration joins the queue through it and locks no other (the statements that started before the first waiter
 * drain through one row, not all of them). Otherwise it locks every shard, counts the registration on the queue's
 * shard and spreads the free spots again. Ends in an `event` CTE (see `decided`).
 */
function allShards(ref: EventRef, spots: SQL, keys: RegistrationKeys): SQL {
  const columns = sql`${sh.eventId} as event_id, ${sh.shard} as shard, ${sh.open} as open, ${sh.maxSpots} as max_spots,
        ${sh.quota} as quota, ${sh.reserved} as reserved, ${sh.waitlist} as waitlist, ${sh.waiting} as waiting`;
  return sql`queue_row as (
      select ${columns}
      from ${lockWaitLimit()}, ${sh} join ${events} on ${events.id} = ${sh.eventId}
      where ${and(eventIs(ref), eq(sh.shard, QUEUE_SHARD), keys.idempotency?.unused, withinDeadline())}
      for update of ${sh}
    ),
    other_rows as (
      select ${columns}
      from ${sh} join queue_row on ${sh.eventId} = queue_row.event_id
      where ${sh.shard} <> ${queueShard} and not queue_row.waiting
      order by ${sh.shard} for update of ${sh}
    ),
    locked as (select * from queue_row union all select * from other_rows),
    totals as (
      select event_id, sum(quota) as capacity,
        sum(waitlist) = 0 and (sum(quota) is null or sum(reserved) + ${spots} <= sum(quota)) as confirmed
      from locked group by event_id
      having bool_and(open) and ${spots} <= min(max_spots)
    ),
    settled as (${settleShards(sql`select l.event_id, l.shard, l.open, l.max_spots, t.capacity,
        l.reserved + case when t.confirmed and l.shard = ${queueShard} then ${spots} else 0 end as reserved,
        l.waitlist + case when not t.confirmed and l.shard = ${queueShard} then 1 else 0 end as waitlist
      from locked l join totals t on t.event_id = l.event_id`)}),
    taken as (
      select t.event_id, ${queueShard} as shard, t.confirmed, l.waitlist + case when t.confirmed then 0 else 1 end as waitlist
      from totals t join locked l on l.shard = ${queueShard}
    ),
    ${decided}`;
}

/**
 * The `event` CTE both registration statements end in, from their `taken` CTE (event_id, shard, confirmed, and
 * the queue's length when it joined the queue): the outcome, with what the outbox reads of the event.
 */
const decided = renderedOnce(sql`event as (
      select ${events.id} as id, taken.shard, taken.waitlist as waitlist_count,
        (case when taken.confirmed then 'CONFIRMED' else 'WAITLIST' end)::${sql.identifier(registrationStatusEnum.enumName)} as status,
        ${eventForMessages}
      from taken join ${events} on ${events.id} = taken.event_id
    )`);

/** What the registration statement inserts, and what it returns of the row (for the answer, the key and the outbox). */
const insertedColumns = renderedOnce(
  columnNames(registrations.eventId, registrations.name, registrations.email, registrations.spots, registrations.status, registrations.shard,
    registrations.cancelTokenHash, registrations.importSource, registrations.externalId, registrations.createdAt),
);
const insertedReturns = renderedOnce(
  sql`${column(registrations.status)} as status, ${registrationJson} as public_body, ${column(registrations.name)} as name, ${column(registrations.email)} as email`,
);

function insertRegistration(db: Db, statement: RegistrationStatement) {
  const { ref, input, personal, keys } = statement;
  const r = registrations;
  const spots = sql`${input.spots}::int`;
  const record = keys.idempotency?.record(sql`inserted`, sql`public_body`, personal);
  const head = statement.shards === 'one' ? oneShard(ref, spots, keys) : allShards(ref, spots, keys);
  // Only the one-shard statement asks, and only when it took nothing: would a shard take it if it had room?
  const undecided =
    statement.shards === 'one' ? sql`exists (select 1 from ${sh} where ${sh.eventId} = (select id from ev) and ${admits(spots, keys)})` : sql`false`;
  return executePrepared<RegistrationOutcome>(db, sql`
    with ${head},
    inserted as (
      insert into ${r} (${insertedColumns})
      select event.id, ${input.name}, ${input.email}, ${spots}, event.status, event.shard,
        ${hashToken(personal.cancelToken)}, ${keys.external?.source ?? null}::text, ${keys.external?.externalId ?? null}::text,
        -- The moment the queue place was decided, under the shard lock that decided it (not the transaction's start,
        -- before the lock wait): createdAt follows the queue order.
        clock_timestamp()
      from event
      returning ${insertedReturns}
    )${record ? sql`, recorded as (${record})` : sql``},
    ${registrationMessages}
    select inserted.status, inserted.public_body, ${outboxCount} as messages,
      case when inserted.status is null then ${undecided} end as undecided
    from (select 1) as one left join inserted on true
    where ${withinDeadline()}`);
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
 * In arrival order, the queue's: keyset-paginated on (createdAt, id), stamped by the statement that decided each
 * registration's place under the shard lock it held. Registrations confirmed at the same moment on different
 * shards may commit out of that order, so a page read meanwhile can miss one that commits just before its last
 * row. A registration moved to the WAITLIST joins the end of the queue, and of the list with it.
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
