import { and, eq, getTableColumns, isNull, max, or, sql } from 'drizzle-orm';
import { insertOrReread } from '../db/get-or-create';
import type { Db } from '../db/handle';
import { transaction } from '../db/transaction';
import { forbidden, LockstepError, notFound } from '../errors';
import { keyset, toPage, type Page } from '../db/keyset';
import { registrations } from '../registrations/schema';
import { promoteWaitlist } from '../registrations/waitlist';
import { recordChange } from './changes';
import { eventCounters, lockShards } from '../capacity/service';
import type { ExternalKey } from '../contract/external-key';
import type { ExternalEventInput } from './contract';
import { insertWithDerivedSlug, insertWithSlug, type InsertWithSlug, type SlugTarget } from '../slug/allocate';
import { isTeamManager, lockManagedTeam, lockTeamManager } from '../teams/service';
import type { UserRow } from '../users/schema';
import type { CreateEvent, EventView, UpdateEvent } from './contract';
import { events, type EventRow } from './schema';

const eventSlugs: SlugTarget = { namespace: 'events', table: events, slugColumn: events.slug };

/** An event with its counters, summed over its shards. */
export type EventWithCounters = EventRow & { spotsReserved: number; waitlistCount: number };

/** Selected from `events` cross-joined LATERAL to `eventCounters`. */
const withCounters = {
  ...getTableColumns(events),
  spotsReserved: eventCounters.spotsReserved,
  waitlistCount: eventCounters.waitlistCount,
};

export function eventView(row: EventWithCounters): EventView {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    location: row.location,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt?.toISOString() ?? null,
    capacity: row.capacity,
    spotsReserved: row.spotsReserved,
    spotsLeft: row.capacity === null ? null : row.capacity - row.spotsReserved,
    waitlistCount: row.waitlistCount,
    maxSpotsPerRegistration: row.maxSpotsPerRegistration,
    status: row.status,
    organizerId: row.organizerId,
    teamId: row.teamId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** With `teamSlug`, the caller must manage the team, which stays locked until the event is written. */
export async function createEvent(db: Db, organizer: UserRow, input: CreateEvent): Promise<EventView> {
  const { slug: explicitSlug, teamSlug, ...fields } = input;
  return transaction(db, async (tx) => {
    const teamId = typeof teamSlug === 'string' ? await lockManagedTeam(tx, organizer.id, teamSlug) : null;
    const values = { ...fields, teamId, organizerId: organizer.id };
    const { row } = await insertWithSlug(tx, eventSlugs, { name: input.name, explicitSlug }, insertEvent(tx, values));
    return eventView({ ...row, spotsReserved: 0, waitlistCount: 0 });
  });
}

type NewEvent = Omit<typeof events.$inferInsert, 'slug' | 'importSource' | 'externalId'>;

const hasExternalKey = (key: ExternalKey) => and(eq(events.importSource, key.source), eq(events.externalId, key.externalId));

/**
 * The slug allocator's insert: `undefined` when the slug is taken. With an external key, a conflict on either
 * unique index does nothing, and a read of the key in a new statement (which sees the committed winner) tells
 * which: an existing key ends the allocation as not created; otherwise the slug was taken and the allocator moves on.
 */
function insertEvent(db: Db, values: NewEvent, key?: ExternalKey): InsertWithSlug<{ row: EventRow; created: boolean }> {
  return async (slug) => {
    const insert = db.insert(events).values({ ...values, slug, importSource: key?.source, externalId: key?.externalId });
    if (!key) {
      const [row] = await insert.onConflictDoNothing({ target: events.slug }).returning();
      return row && { row, created: true };
    }
    const got = await insertOrReread(
      () => insert.onConflictDoNothing().returning(),
      () => db.select().from(events).where(hasExternalKey(key)),
    );
    return got && { row: got.row, created: got.from === 'insert' };
  };
}

/** Create an imported event once per external key, under a slug derived from its name, organized by `organizer`. */
export async function importEvent(
  db: Db,
  organizer: UserRow,
  key: ExternalKey,
  input: ExternalEventInput,
): Promise<{ eventId: string; created: boolean }> {
  const insert = insertEvent(db, { ...input, organizerId: organizer.id }, key);
  const { row, created } = await insertWithDerivedSlug(db, eventSlugs, input.name, insert);
  return { eventId: row.id, created };
}

/** The id of the event imported under this key, if it exists. */
export async function findImportedEventId(db: Db, key: ExternalKey): Promise<string | undefined> {
  const [row] = await db.select({ id: events.id }).from(events).where(hasExternalKey(key));
  return row?.id;
}

const soonestFirst = keyset(events.startsAt, events.id);

/** OPEN events, soonest first; keyset-paginated on (startsAt, id) so pages stay stable under inserts. */
export async function listOpenEvents(db: Db, query: { limit: number; cursor?: string }): Promise<Page<EventView>> {
  const rows = await db
    .select({ ...withCounters, cursorTime: soonestFirst.cursorTime })
    .from(events)
    .crossJoinLateral(eventCounters)
    .where(and(eq(events.status, 'OPEN'), soonestFirst.after(query.cursor)))
    .orderBy(...soonestFirst.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, eventView, soonestFirst.key);
}

export async function findEvent(db: Db, slug: string): Promise<EventWithCounters> {
  const [row] = await db.select(withCounters).from(events).crossJoinLateral(eventCounters).where(eq(events.slug, slug));
  if (!row) throw notFound('Event');
  return row;
}

export async function getEvent(db: Db, slug: string): Promise<EventView> {
  return eventView(await findEvent(db, slug));
}

const notOrganizer = () => forbidden("Only the event's organizer or its team's owner and admins may do this");

/**
 * The event, if the user organizes it: its organizer, or an OWNER or ADMIN of its team (404 / 403 otherwise).
 * With `lock`, the event row is locked FOR NO KEY UPDATE (every change to the event itself takes it; a change to
 * its registrations takes its shards instead), and a co-organizer's team membership FOR SHARE, so the permission
 * read here cannot change before the caller's write commits. Not FOR UPDATE: the foreign-key checks of a
 * concurrent change to the event's shards lock the row KEY SHARE, which that would block while this transaction
 * waits for those shards. With `lock: 'membership'`, only a co-organizer's team and membership are locked (in the
 * order deleting the team takes them): for a change that locks the event's shards itself, later and more briefly.
 */
export async function findEventAsOrganizer(
  db: Db,
  user: UserRow,
  slug: string,
  options: { lock?: boolean | 'membership' } = {},
): Promise<EventRow> {
  if (options.lock === true) return lockEventAsOrganizer(db, user, slug);
  const [event] = await db.select().from(events).where(eq(events.slug, slug));
  if (!event) throw notFound('Event');
  if (event.organizerId === user.id) return event;
  if (event.teamId === null) throw notOrganizer();
  const manages = options.lock === 'membership' ? lockTeamManager(db, event.teamId, user.id) : isTeamManager(db, event.teamId, user.id, { lock: false });
  if (await manages) return event;
  throw notOrganizer();
}

/**
 * Locks in the order deleting a team takes them: team, memberships, then the team's events (its foreign key's SET
 * NULL). Taking the event row before a co-organizer's membership or team would deadlock with that deletion, costing
 * deadlock_timeout. So the event is locked at once only where no team is involved (its organizer, or an event of no
 * team); a co-organizer locks the team and the membership first, then the event. Should the event change teams in
 * between (a race with its detachment), the new team's membership is read under the event lock as a last resort.
 */
async function lockEventAsOrganizer(tx: Db, user: UserRow, slug: string): Promise<EventRow> {
  const [own] = await tx
    .select()
    .from(events)
    .where(and(eq(events.slug, slug), or(eq(events.organizerId, user.id), isNull(events.teamId))))
    .for('no key update');
  if (own) {
    if (own.organizerId === user.id) return own;
    throw notOrganizer();
  }
  const [seen] = await tx.select({ id: events.id, teamId: events.teamId }).from(events).where(eq(events.slug, slug));
  if (!seen) throw notFound('Event');
  const managed = seen.teamId !== null && (await lockTeamManager(tx, seen.teamId, user.id));
  const [event] = await tx.select().from(events).where(eq(events.id, seen.id)).for('no key update');
  if (!event) throw notFound('Event');
  if (event.organizerId === user.id) return event;
  const manages = event.teamId === seen.teamId ? managed : event.teamId !== null && (await isTeamManager(tx, event.teamId, user.id, { lock: true }));
  if (!manages) throw notOrganizer();
  return event;
}

/**
 * `teamSlug: null` detaches the event; a team to attach must be one the caller manages. Runs under the event's row
 * lock and all of its shard locks: the shards take the new capacity, status and limit, the free spots are spread
 * again, and a capacity increase (or any change) promotes the queue.
 */
export async function updateEvent(db: Db, user: UserRow, slug: string, patch: UpdateEvent): Promise<EventView> {
  const { teamSlug, ...fields } = patch;
  return transaction(db, async (tx) => {
    // The team to attach first: teams are locked before events (see lockEventAsOrganizer).
    const teamId = typeof teamSlug === 'string' ? await lockManagedTeam(tx, user.id, teamSlug) : teamSlug;
    const event = await findEventAsOrganizer(tx, user, slug, { lock: true });
    await lockShards(tx, event.id);
    const [row] = await tx
      .update(events)
      .set({ ...fields, teamId, updatedAt: sql`now()` })
      .where(eq(events.id, event.id))
      .returning();
    // The shards take the new capacity, status and limit in the promotion; below the reserved spots it fails on
    // event_shards_reserved_within_quota (the first reason).
    await promoteWaitlist(tx, event.id);
    if (typeof fields.capacity === 'number') await refuseCapacityBelowWaiting(tx, event.id, fields.capacity);
    const view = eventView(await findEvent(tx, row!.slug));
    const closed = event.status === 'OPEN' && row!.status === 'CLOSED';
    await recordChange(tx, event.id, { type: closed ? 'event.closed' : 'event.changed', data: { event: view } });
    return view;
  });
}

/**
 * A waiting registration larger than the capacity could never be promoted, and the queue behind it would wait
 * forever. Read under all of the event's shard locks, so none can join meanwhile.
 */
async function refuseCapacityBelowWaiting(tx: Db, eventId: string, capacity: number): Promise<void> {
  const [largest] = await tx
    .select({ spots: max(registrations.spots) })
    .from(registrations)
    .where(and(eq(registrations.eventId, eventId), eq(registrations.status, 'WAITLIST')));
  if (largest?.spots != null && largest.spots > capacity) {
    const message = `A waiting registration holds ${largest.spots} spots: the capacity must be at least that`;
    throw new LockstepError('capacity_below_waiting', message, { errors: [{ path: 'capacity', message }] });
  }
}

export async function deleteEvent(db: Db, user: UserRow, slug: string): Promise<void> {
  await transaction(db, async (tx) => {
    const event = await findEventAsOrganizer(tx, user, slug, { lock: true });
    // In shard order, as every all-shards lock is taken, before the cascade deletes them.
    await lockShards(tx, event.id);
    // Its messages outlive it: they name the event by id, with no foreign key.
    await recordChange(tx, event.id, { type: 'event.deleted', data: { event: eventView(await findEvent(tx, event.slug)) } });
    await tx.delete(events).where(eq(events.id, event.id));
  });
}
