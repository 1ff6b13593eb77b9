import { index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * A key's record before its effect is decided, on the row that waits for the decision (a registration's intake row,
 * src/registrations/schema.ts): written into `idempotency_keys` by the statement that decides the effect
 * (`recordKeys` in ./store.ts). All null without a key.
 */
export const PENDING_KEY_COLUMNS = {
  keyScope: 'key_scope',
  keyHash: 'key_hash',
  keyFingerprint: 'key_fingerprint',
  keyStatus: 'key_status',
  keyHeaders: 'key_headers',
  keySealedBody: 'key_sealed_body',
} as const;

export const pendingKeyColumns = () => ({
  keyScope: text(PENDING_KEY_COLUMNS.keyScope),
  keyHash: text(PENDING_KEY_COLUMNS.keyHash),
  keyFingerprint: text(PENDING_KEY_COLUMNS.keyFingerprint),
  keyStatus: integer(PENDING_KEY_COLUMNS.keyStatus),
  keyHeaders: jsonb(PENDING_KEY_COLUMNS.keyHeaders).$type<Record<string, string>>(),
  keySealedBody: text(PENDING_KEY_COLUMNS.keySealedBody),
});

/** The key's primary key: a second record of a key fails on it, and a refusal naming it replays the first. */
export const KEY_CONSTRAINT = 'idempotency_keys_pkey';

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
    primaryKey({ name: KEY_CONSTRAINT, columns: [table.scope, table.keyHash] }),
    index('idempotency_keys_created_idx').on(table.createdAt),
  ],
);
