import { and, asc, eq, gt, inArray, or, sql, type SQL } from 'drizzle-orm';
import * as z from 'zod';
import type { Db } from '../db/client';
import { transaction } from '../db/transaction';
import { forbidden, notFound } from '../errors';
import { decodeCursor, toPage, type Page } from '../http/pagination';
import { promoteWaitlist } from '../registrations/waitlist';
import { insertWithSlug, type SlugTarget } from '../slug/allocate';
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
    const row = await insertWithSlug(tx, eventSlugs, { name: input.name, explicitSlug }, async (slug) => {
      const [inserted] = await tx
        .insert(events)
        .values({ ...fields, slug, teamId, organizerId: organizer.id })
        .onConflictDoNothing({ target: events.slug })
        .returning();
      return inserted;
    });
    return eventView(row);
  });
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
