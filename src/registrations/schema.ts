import { sql } from 'drizzle-orm';
import { bigint, check, customType, foreignKey, index, integer, pgEnum, pgTable, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { eventShards } from '../capacity/schema';
import { pendingKeyColumns } from '../idempotency/schema';

/** Invariant 3's index: one active registration per event and lower-cased email. */
export const ACTIVE_EMAIL_INDEX = 'registrations_one_active_per_email';

/** An import's key: one registration per (import source, external id). */
export const EXTERNAL_KEY_INDEX = 'registrations_external_key';

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
    uniqueIndex(ACTIVE_EMAIL_INDEX)
      .on(table.eventId, sql`lower(${table.email})`)
      .where(sql`${table.status} in ('CONFIRMED', 'WAITLIST')`),
    index('registrations_event_status_arrival_idx').on(table.eventId, table.status, table.createdAt, table.id),
    // The registration list's order within an event; the index above serves it filtered by status.
    index('registrations_event_arrival_idx').on(table.eventId, table.createdAt, table.id),
    // The admit statement refuses a key that exists or repeats in its batch; a violation would fail the whole
    // statement, its counter update included. Imported rows only: every registration through the API would add a
    // null key, all at the same place in the index.
    uniqueIndex(EXTERNAL_KEY_INDEX).on(table.importSource, table.externalId).where(sql`${table.importSource} is not null`),
    check('registrations_external_key_complete', sql`(${table.importSource} is null) = (${table.externalId} is null)`),
  ],
);

export type RegistrationRow = typeof registrations.$inferSelect;

/** A transaction id with its epoch (64 bits, never wraps), as `pg_current_xact_id()` returns it. */
const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

/**
 * A registration waiting for its event's admitter (docs/ticket-drop.md): committed by the request before it
 * queues, decided in arrival order with the rest of a batch by ONE statement (src/registrations/intake.ts), which
 * writes the outcome here for the request to read. No foreign key to the event: each insert would lock the event
 * row the batch's counters depend on. Decided rows are purged by maintenance.
 */
export const registrationIntake = pgTable(
  'registration_intake',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    eventId: uuid('event_id').notNull(),
    /**
     * Arrival order: the inserting transaction's id, drawn while it holds the event's intake lock (shared), which the
     * admitter takes exclusively to read its horizon, so every arrival below the horizon has committed.
     */
    arrival: xid8('arrival').notNull().default(sql`pg_current_xact_id()`),
    /** The request's deadline: the admitter refuses the row once it has passed (57014). */
    deadline: timestamp('deadline', { withTimezone: true, mode: 'date' }),
    /** The waiting backend (pid, start): a row whose backend is gone is refused, never decided after its answer. */
    ownerPid: integer('owner_pid').notNull(),
    ownerStart: timestamp('owner_start', { withTimezone: true, mode: 'date' }).notNull(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    spots: integer('spots').notNull(),
    cancelTokenHash: text('cancel_token_hash').notNull(),
    importSource: text('import_source'),
    externalId: text('external_id'),
    ...pendingKeyColumns(),
    /** Null while pending. */
    decidedAt: timestamp('decided_at', { withTimezone: true, mode: 'date' }),
    /** The outcome: a status and the registration's public JSON, or a refusal as the SQLSTATE and constraint name it stands for. */
    status: registrationStatusEnum('status'),
    publicBody: text('public_body'),
    refusedState: text('refused_state'),
    refusedConstraint: text('refused_constraint'),
    /** Webhook messages written by the statement that decided it (for the deliverer's wake-up). */
    messages: integer('messages'),
  },
  (table) => [
    index('registration_intake_pending_idx').on(table.eventId, table.arrival, table.id).where(sql`${table.decidedAt} is null`),
    index('registration_intake_decided_idx').on(table.decidedAt),
  ],
);
export type RegistrationStatus = RegistrationRow['status'];
