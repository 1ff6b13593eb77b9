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
    /**
     * AES-256-GCM sealed: the whole body as first sent (so a replay is byte-identical), or, when `publicBody` is
     * set, a JSON object of the secret fields a replay merges over it.
     */
    sealedBody: text('sealed_body'),
    /**
     * The non-secret part of a response built by the effect's own SQL statement (one-statement effects, whose
     * response the server computes); null when the whole body is sealed.
     */
    publicBody: text('public_body'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ name: 'idempotency_keys_pkey', columns: [table.scope, table.keyHash] }),
    index('idempotency_keys_created_idx').on(table.createdAt),
  ],
);
