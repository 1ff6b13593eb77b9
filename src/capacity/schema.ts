import { sql } from 'drizzle-orm';
import { boolean, check, integer, pgTable, primaryKey, smallint, uuid } from 'drizzle-orm/pg-core';
import { events } from '../events/schema';

/** How many rows an event's capacity is split over: cancellations on different shards never wait for each other. */
export const SHARDS = 8;

/** The shard that counts the waitlist, and holds the spots of every registration the intake's admitter confirms. */
export const QUEUE_SHARD = 0;

/**
 * An event's capacity split over SHARDS rows: each holds at most its quota; the quotas add up to the capacity and
 * are re-spread only under all of the event's shard locks. Registrations reach the shards only through the event's
 * intake admitter, which locks all of them in shard order (src/registrations/intake.ts); a confirmed registration's
 * cancellation while nobody waits locks only the shard that holds its spots. Stored with fillfactor 20
 * (drizzle/0016): every update finds room on its page and stays HOT. See docs/ticket-drop.md.
 */
export const eventShards = pgTable(
  'event_shards',
  {
    eventId: uuid('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    shard: smallint('shard').notNull(),
    /** The event is OPEN: a copy, written under all of the event's shard locks. */
    open: boolean('open').notNull(),
    /** The most spots one registration may take: the event's limit per registration, and never above its capacity. */
    maxSpots: integer('max_spots').notNull(),
    /** The most spots this shard may hold; the shards' quotas add up to the event's capacity (null: unlimited). */
    quota: integer('quota'),
    /** Σ spots of the CONFIRMED registrations on this shard (registrations.shard). */
    reserved: integer('reserved').notNull().default(0),
    /** The number of WAITLIST registrations: counted on QUEUE_SHARD alone. */
    waitlist: integer('waitlist').notNull().default(0),
    /** Someone is waiting: true on every shard exactly while the waitlist is not empty, so no shard confirms past it. */
    waiting: boolean('waiting').notNull().default(false),
  },
  (table) => [
    primaryKey({ name: 'event_shards_pkey', columns: [table.eventId, table.shard] }),
    check('event_shards_shard_range', sql`${table.shard} between 0 and ${sql.raw(String(SHARDS - 1))}`),
    // Invariant 1, shard by shard: the quotas add up to the capacity, so no event confirms more than its capacity.
    check('event_shards_reserved_within_quota', sql`${table.reserved} >= 0 and (${table.quota} is null or ${table.reserved} <= ${table.quota})`),
    check('event_shards_waitlist_on_queue_shard', sql`${table.waitlist} >= 0 and (${table.shard} = ${sql.raw(String(QUEUE_SHARD))} or ${table.waitlist} = 0)`),
  ],
);

export type EventShardRow = typeof eventShards.$inferSelect;
