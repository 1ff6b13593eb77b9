import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgEnum, pgSequence, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { events } from '../events/schema';

export const registrationStatusEnum = pgEnum('registration_status', ['CONFIRMED', 'WAITLIST', 'CANCELLED']);

/** Queue order for the waitlist: drawn when a registration enters the WAITLIST, always under the event's row lock. */
export const waitlistSequence = pgSequence('registration_queue_seq');

/** The next place in the queue: a new registration's default, and drawn again by each move into the WAITLIST. */
export const nextQueueSeq = sql.raw(`nextval('${waitlistSequence.seqName}')`);

export const registrations = pgTable(
  'registrations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eventId: uuid('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    email: text('email').notNull(),
    spots: integer('spots').notNull(),
    status: registrationStatusEnum('status').notNull(),
    /** Position key in the event's waitlist (strict FIFO); meaningful while status = WAITLIST. */
    queueSeq: bigint('queue_seq', { mode: 'number' })
      .notNull()
      .default(nextQueueSeq),
    /** SHA-256 of the cancel token; the token itself is returned once and never stored. */
    cancelTokenHash: text('cancel_token_hash').notNull(),
    /** When the registration took its place in the queue (its arrival), stamped with queue_seq: it follows queue order. */
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    /** For imported registrations: the import source and the registration's id there (null for API registrations). */
    importSource: text('import_source'),
    externalId: text('external_id'),
  },
  (table) => [
    check('registrations_spots_range', sql`${table.spots} between 1 and 100`),
    // Invariant 3: one active registration per event and lower-cased email.
    uniqueIndex('registrations_one_active_per_email')
      .on(table.eventId, sql`lower(${table.email})`)
      .where(sql`${table.status} in ('CONFIRMED', 'WAITLIST')`),
    index('registrations_event_status_queue_idx').on(table.eventId, table.status, table.queueSeq),
    // The registration list's order within an event; the index above serves it filtered by status.
    index('registrations_event_queue_idx').on(table.eventId, table.queueSeq),
    // A violation fails the whole registration statement, its counter update included.
    uniqueIndex('registrations_external_key').on(table.importSource, table.externalId),
    check('registrations_external_key_complete', sql`(${table.importSource} is null) = (${table.externalId} is null)`),
  ],
);

export type RegistrationRow = typeof registrations.$inferSelect;
export type RegistrationStatus = RegistrationRow['status'];
