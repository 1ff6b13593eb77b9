import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, pgEnum, pgSequence, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { teams } from '../teams/schema';
import { users } from '../users/schema';

export const eventStatusEnum = pgEnum('event_status', ['OPEN', 'CLOSED']);

/**
 * The sequence number of a webhook message (src/events/changes.ts): drawn by every change to an event or its
 * registrations under the locks that order that change, so two changes that touch the same rows are numbered in
 * the order they committed.
 */
export const eventChangeSequence = pgSequence('event_change_seq');

export const events = pgTable(
  'events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    // Named so a unique violation maps to `slug_taken` by constraint name.
    slug: text('slug').notNull().unique('events_slug_key'),
    name: text('name').notNull(),
    description: text('description'),
    location: text('location'),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true, mode: 'date' }),
    /** null = unlimited. Split over the event's shards (src/capacity/schema.ts), which count its registrations. */
    capacity: integer('capacity'),
    maxSpotsPerRegistration: integer('max_spots_per_registration').notNull().default(10),
    status: eventStatusEnum('status').notNull().default('OPEN'),
    organizerId: uuid('organizer_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    /** The co-organizing team, whose OWNER and ADMINs may manage the event too. */
    teamId: uuid('team_id'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** For imported events: the import source and the event's id there (both null for events created by the API). */
    importSource: text('import_source'),
    externalId: text('external_id'),
  },
  (table) => [
    // Lets `slug LIKE 'base-%'` use an index whatever the database collation.
    index('events_slug_pattern_idx').using('btree', table.slug.op('text_pattern_ops')),
    check('events_capacity_range', sql`${table.capacity} is null or ${table.capacity} between 0 and 1000000`),
    check('events_max_spots_range', sql`${table.maxSpotsPerRegistration} between 1 and 100`),
    check('events_ends_after_start', sql`${table.endsAt} is null or ${table.endsAt} >= ${table.startsAt}`),
    index('events_open_by_start_idx').on(table.startsAt, table.id).where(sql`${table.status} = 'OPEN'`),
    index('events_organizer_idx').on(table.organizerId),
    index('events_team_idx').on(table.teamId),
    // Deleting a team keeps its events, organized by their organizer alone.
    foreignKey({ name: 'events_team_id_fkey', columns: [table.teamId], foreignColumns: [teams.id] }).onDelete('set null'),
    // An import creates each source's event once, however often or concurrently it runs (NULLs never collide).
    uniqueIndex('events_external_key').on(table.importSource, table.externalId),
    check('events_external_key_complete', sql`(${table.importSource} is null) = (${table.externalId} is null)`),
  ],
);

export type EventRow = typeof events.$inferSelect;
