import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, pgEnum, pgTable, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { eventShards } from '../capacity/schema';

export const registrationStatusEnum = pgEnum('registration_status', ['CONFIRMED', 'WAITLIST', 'CANCELLED']);

export const registrations = pgTable(
  'registrations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eventId: uuid('event_id').notNull(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    spots: integer('spots').notNull(),
    status: registrationStatusEnum('status').notNull(),
    /** The event shard whose `reserved` holds this registration's spots while it is CONFIRMED. */
    shard: smallint('shard').notNull().default(0),
    /** SHA-256 of the cancel token; the token itself is returned once and never stored. */
    cancelTokenHash: text('cancel_token_hash').notNull(),
    /**
     * When the registration took its place in the queue (its arrival): stamped with clock_timestamp() under the lock
     * that decided that place. (created_at, id) is the queue's order (`arrivalOrder`).
     */
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** For imported registrations: the import source and the registration's id there (null for API registrations). */
    importSource: text('import_source'),
    externalId: text('external_id'),
  },
  (table) => [
    // Through the event's shards (deleted with the event): the foreign-key check of a new registration locks the
    // shard row its statement already holds, not the event row, where every registration's KEY SHARE lock would
    // meet the others (a MultiXact per locker) and a locked event (an update) would stall them all.
    foreignKey({
      name: 'registrations_event_shard_fkey',
      columns: [table.eventId, table.shard],
      foreignColumns: [eventShards.eventId, eventShards.shard],
    }).onDelete('cascade'),
    check('registrations_spots_range', sql`${table.spots} between 1 and 100`),
    // Invariant 3: one active registration per event and lower-cased email.
    uniqueIndex('registrations_one_active_per_email')
      .on(table.eventId, sql`lower(${table.email})`)
      .where(sql`${table.status} in ('CONFIRMED', 'WAITLIST')`),
    index('registrations_event_status_arrival_idx').on(table.eventId, table.status, table.createdAt, table.id),
    // The registration list's order within an event; the index above serves it filtered by status.
    index('registrations_event_arrival_idx').on(table.eventId, table.createdAt, table.id),
    // A violation fails the whole registration statement, its counter update included. Imported rows only: every
    // registration through the API would add a null key, all at the same place in the index.
    uniqueIndex('registrations_external_key').on(table.importSource, table.externalId).where(sql`${table.importSource} is not null`),
    check('registrations_external_key_complete', sql`(${table.importSource} is null) = (${table.externalId} is null)`),
  ],
);

export type RegistrationRow = typeof registrations.$inferSelect;
export type RegistrationStatus = RegistrationRow['status'];
