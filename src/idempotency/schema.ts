import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per (caller, Idempotency-Key): claimed by the transaction that performs the effect and completed with
 * the response in that same transaction, so a committed key always has its response and a rolled-back request
 * leaves nothing behind.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** `sub:<subject>` or `anonymous`. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    /** SHA-256 of method, path and canonical JSON body. */
    fingerprint: text('fingerprint').notNull(),
    status: integer('status'),
    headers: jsonb('headers').$type<Record<string, string>>(),
    /** The body exactly as first sent, so a replay is byte-identical. */
    body: text('body'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'idempotency_keys_pkey', columns: [table.scope, table.key] }),
    index('idempotency_keys_created_idx').on(table.createdAt),
  ],
);
