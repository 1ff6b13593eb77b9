import { and, asc, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import * as z from 'zod';
import type { Db } from '../db/client';
import { transaction } from '../db/transaction';
import { forbidden, notFound } from '../errors';
import { decodeCursor, toPage, type Page } from '../http/pagination';
import { promoteWaitlist } from '../registrations/waitlist';
import type { ExternalKey, ImportedEvent } from '../import/contract';
import { insertWithDerivedSlug, insertWithSlug, type InsertWithSlug, type SlugTarget } from '../slug/allocate';
import { lockManagedTeam, TEAM_MANAGER_ROLES, teamIdsWhereUserIs } from '../teams/service';
import type { UserRow } from '../users/schema';
import type { CreateEvent, EventView, UpdateEvent } from './contract';
import { events, type EventRow } from './schema';

const eventSlugs: SlugTarget = { namespace: 'events', table: events, slugColumn: events.slug };

export function eventView(row: EventRow): EventView {
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
    return eventView(row);
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
    const [row] = await (key ? insert.onConflictDoNothing() : insert.onConflictDoNothing({ target: events.slug })).returning();
    if (row) return { row, created: true };
    if (!key) return undefined;
    const [existing] = await db.select().from(events).where(hasExternalKey(key));
    return existing && { row: existing, created: false };
  };
}

/** Create an imported event once per external key, under a slug derived from its name, organized by `organizer`. */
export async function importEvent(
  db: Db,
  organizer: UserRow,
  key: ExternalKey,
  input: Omit<ImportedEvent, 'externalId'>,
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

const ListCursor = z.tuple([z.iso.datetime(), z.uuid()]);

/** OPEN events, soonest first; keyset-paginated on (startsAt, id) so pages stay stable under inserts. */
export async function listOpenEvents(db: Db, query: { limit: number; cursor?: string }): Promise<Page<EventView>> {
  const after = query.cursor === undefined ? undefined : decodeCursor(ListCursor, query.cursor);
  const afterCursor = after
    ? or(gt(events.startsAt, new Date(after[0])), and(eq(events.startsAt, new Date(after[0])), gt(events.id, after[1])))
    : undefined;
  const rows = await db
    .select()
    .from(events)
    .where(and(eq(events.status, 'OPEN'), afterCursor))
    .orderBy(asc(events.startsAt), asc(events.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, eventView, (row) => [row.startsAt.toISOString(), row.id]);
}

export async function findEvent(db: Db, slug: string): Promise<EventRow> {
  const [row] = await db.select().from(events).where(eq(events.slug, slug));
  if (!row) throw notFound('Event');
  return row;
}

export async function getEvent(db: Db, slug: string): Promise<EventView> {
  return eventView(await findEvent(db, slug));
}

/**
 * Who may manage an event, as SQL, so the permission check and the write are one statement: a concurrent change
 * of organizer cannot slip between them. The organizer, and the OWNER and ADMINs of the event's team.
 */
export function isOrganizer(userId: string): SQL {
  return or(eq(events.organizerId, userId), inArray(events.teamId, teamIdsWhereUserIs(userId, TEAM_MANAGER_ROLES)))!;
}

/** After a guarded statement matched nothing: 404 if the event does not exist, else 403. */
async function explainNoMatch(db: Db, slug: string): Promise<never> {
  await findEvent(db, slug);
  throw forbidden("Only the event's organizer or its team's owner and admins may do this");
}

/**
 * The event, if the user organizes it (404 / 403 otherwise). With `lock`, the row is locked FOR UPDATE: every
 * change to an event's registrations and counters locks the event row first, which orders them per event.
 */
export async function findEventAsOrganizer(
  db: Db,
  user: UserRow,
  slug: string,
  options: { lock?: boolean } = {},
): Promise<EventRow> {
  const query = db.select().from(events).where(and(eq(events.slug, slug), isOrganizer(user.id)));
  const [row] = options.lock ? await query.for('update') : await query;
  return row ?? explainNoMatch(db, slug);
}

/** `teamSlug: null` detaches the event; a team to attach must be one the caller manages. */
export async function updateEvent(db: Db, user: UserRow, slug: string, patch: UpdateEvent): Promise<EventView> {
  const { teamSlug, ...fields } = patch;
  return transaction(db, async (tx) => {
    const teamId = typeof teamSlug === 'string' ? await lockManagedTeam(tx, user.id, teamSlug) : teamSlug;
    const [row] = await tx
      .update(events)
      .set({ ...fields, teamId, updatedAt: sql`now()` })
      .where(and(eq(events.slug, slug), isOrganizer(user.id)))
      .returning();
    if (!row) return explainNoMatch(tx, slug);
    // A capacity increase (or any change) may let the head of the waitlist in.
    return eventView((await promoteWaitlist(tx, row.id)) ?? row);
  });
}

export async function deleteEvent(db: Db, user: UserRow, slug: string): Promise<void> {
  const [row] = await db
    .delete(events)
    .where(and(eq(events.slug, slug), isOrganizer(user.id)))
    .returning({ id: events.id });
  if (!row) await explainNoMatch(db, slug);
}
