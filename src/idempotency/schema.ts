import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per (caller, Idempotency-Key): claimed by the transaction that performs the effect and completed with
 * the response in that same transaction, so a committed key always has its response and a rolled-back request
 * leaves nothing behind. Only a hash of the key is stored, and the body is encrypted with a key derived from the
 * Idempotency-Key itself: a stored response can carry a secret (a registration's cancelToken), readable again
 * only by whoever presents the key.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** `sub:<subject>` or `anonymous`. */
    scope: text('scope').notNull(),
    /** SHA-256 of the Idempotency-Key. */
    keyHash: text('key_hash').notNull(),
    /** SHA-256 of method, path and canonical JSON body. */
    fingerprint: text('fingerprint').notNull(),
    status: integer('status'),
    headers: jsonb('headers').$type<Record<string, string>>(),
    /** The body exactly as first sent (so a replay is byte-identical), AES-256-GCM sealed. */
    sealedBody: text('sealed_body'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'idempotency_keys_pkey', columns: [table.scope, table.keyHash] }),
    index('idempotency_keys_created_idx').on(table.createdAt),
  ],
);
