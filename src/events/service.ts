import { and, eq, getTableColumns, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { transaction } from '../db/transaction';
import { forbidden, notFound } from '../errors';
import { keyset, toPage, type Page } from '../http/pagination';
import { promoteWaitlist } from '../registrations/waitlist';
import { insertWithSlug, type SlugTarget } from '../slug/allocate';
import { isTeamManager, lockManagedTeam } from '../teams/service';
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

const soonestFirst = keyset(events.startsAt, events.id);

/** OPEN events, soonest first; keyset-paginated on (startsAt, id) so pages stay stable under inserts. */
export async function listOpenEvents(db: Db, query: { limit: number; cursor?: string }): Promise<Page<EventView>> {
  const rows = await db
    .select({ ...getTableColumns(events), cursorTime: soonestFirst.cursorTime })
    .from(events)
    .where(and(eq(events.status, 'OPEN'), soonestFirst.after(query.cursor)))
    .orderBy(...soonestFirst.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, eventView, soonestFirst.key);
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
 * The event, if the user organizes it: its organizer, or an OWNER or ADMIN of its team (404 / 403 otherwise).
 * With `lock`, the event row is locked FOR UPDATE first (every change to an event, its registrations and its
 * counters takes it, which orders them per event), then the caller's team membership FOR SHARE, so the permission
 * read here cannot change before the caller's write commits.
 */
export async function findEventAsOrganizer(
  db: Db,
  user: UserRow,
  slug: string,
  options: { lock?: boolean } = {},
): Promise<EventRow> {
  const lock = options.lock ?? false;
  const query = db.select().from(events).where(eq(events.slug, slug));
  const [event] = lock ? await query.for('update') : await query;
  if (!event) throw notFound('Event');
  if (event.organizerId === user.id) return event;
  if (event.teamId !== null && (await isTeamManager(db, event.teamId, user.id, { lock }))) return event;
  throw forbidden("Only the event's organizer or its team's owner and admins may do this");
}

/** `teamSlug: null` detaches the event; a team to attach must be one the caller manages. */
export async function updateEvent(db: Db, user: UserRow, slug: string, patch: UpdateEvent): Promise<EventView> {
  const { teamSlug, ...fields } = patch;
  return transaction(db, async (tx) => {
    const event = await findEventAsOrganizer(tx, user, slug, { lock: true });
    const teamId = typeof teamSlug === 'string' ? await lockManagedTeam(tx, user.id, teamSlug) : teamSlug;
    const [row] = await tx
      .update(events)
      .set({ ...fields, teamId, updatedAt: sql`now()` })
      .where(eq(events.id, event.id))
      .returning();
    // A capacity increase (or any change) may let the head of the waitlist in.
    return eventView((await promoteWaitlist(tx, row!.id)) ?? row!);
  });
}

export async function deleteEvent(db: Db, user: UserRow, slug: string): Promise<void> {
  await transaction(db, async (tx) => {
    const event = await findEventAsOrganizer(tx, user, slug, { lock: true });
    await tx.delete(events).where(eq(events.id, event.id));
  });
}
