import { bigint, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

/**
 * The next number to hand out for a slug base that is already taken, per slug namespace.
 * One atomic upsert gives each concurrent create its own number, so creates do not probe `name-2`, `name-3`, ...
 */
export const slugCounters = pgTable(
  'slug_counters',
  {
    namespace: text('namespace').notNull(),
    base: text('base').notNull(),
    lastNumber: bigint('last_number', { mode: 'number' }).notNull(),
  },
  (table) => [primaryKey({ name: 'slug_counters_pkey', columns: [table.namespace, table.base] })],
);
