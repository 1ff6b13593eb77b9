import { sql } from 'drizzle-orm';
import { bigint, boolean, check, foreignKey, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { teams } from '../teams/schema';
import { users } from '../users/schema';

/** What a subscription can hear; the outbox writes one message per change and matching subscription. */
export const WEBHOOK_EVENT_TYPES = [
  'registration.confirmed',
  'registration.waitlisted',
  'registration.promoted',
  'registration.moved',
  'registration.cancelled',
  'event.changed',
  'event.closed',
  'event.deleted',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** WEBHOOK_EVENT_TYPES as an SQL list for the checks: a type added there changes them, and the next migration. */
const knownTypes = sql.raw(WEBHOOK_EVENT_TYPES.map((type) => `'${type}'`).join(', '));

/**
 * An organizer's endpoint: the events its owner organizes (team_id null), or the events of a team its OWNER and
 * ADMINs manage together. The signing secret is kept in clear (HMAC needs it); it is shown once and never logged.
 */
export const webhookSubscriptions = pgTable(
  'webhook_subscriptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    ownerId: uuid('owner_id').notNull(),
    teamId: uuid('team_id'),
    url: text('url').notNull(),
    description: text('description'),
    /** null: every type. */
    eventTypes: text('event_types').array(),
    /** null: every event in scope. */
    eventIds: uuid('event_ids').array(),
    secret: text('secret').notNull(),
    /** During a rotation the old secret signs too, until it expires. */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: time('previous_secret_expires_at'),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    disabledAt: time('disabled_at'),
    /** The first failed attempt since the last success: failing longer than the limit disables the subscription. */
    failingSince: time('failing_since'),
    /** 429/502/504 with Retry-After: no attempt to this endpoint before then. */
    pausedUntil: time('paused_until'),
    createdAt: time('created_at').notNull().defaultNow(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (table) => [
    foreignKey({ name: 'webhook_subscriptions_owner_id_fkey', columns: [table.ownerId], foreignColumns: [users.id] }).onDelete('cascade'),
    foreignKey({ name: 'webhook_subscriptions_team_id_fkey', columns: [table.teamId], foreignColumns: [teams.id] }).onDelete('cascade'),
    // The outbox matches a change's event to subscriptions through these two.
    index('webhook_subscriptions_owner_idx').on(table.ownerId).where(sql`${table.teamId} is null`),
    index('webhook_subscriptions_team_idx').on(table.teamId),
    check('webhook_subscriptions_disabled_at', sql`${table.enabled} = (${table.disabledAt} is null)`),
    check('webhook_subscriptions_previous_secret_pair', sql`(${table.previousSecret} is null) = (${table.previousSecretExpiresAt} is null)`),
    // The contract refuses an empty list: null means every type.
    check('webhook_subscriptions_event_types_not_empty', sql`${table.eventTypes} is null or cardinality(${table.eventTypes}) > 0`),
    check('webhook_subscriptions_event_types_known', sql`${table.eventTypes} is null or ${table.eventTypes} <@ array[${knownTypes}]::text[]`),
  ],
);

export const webhookMessageStatusEnum = pgEnum('webhook_message_status', ['PENDING', 'DELIVERED', 'FAILED']);

/**
 * The transactional outbox: one row per change and subscription, written by the change's own statement or
 * transaction. Its id is the `webhook-id` (stable across retries). No foreign key to the event: `event.deleted`
 * outlives its event.
 */
export const webhookMessages = pgTable(
  'webhook_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    subscriptionId: uuid('subscription_id').notNull(),
    eventId: uuid('event_id').notNull(),
    /** The change's sequence number (event_change_seq, src/events/changes.ts): receivers drop a lower one as stale. */
    sequence: bigint('sequence', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    data: jsonb('data').notNull(),
    createdAt: time('created_at').notNull().defaultNow(),
    status: webhookMessageStatusEnum('status').notNull().default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: time('next_attempt_at').notNull().defaultNow(),
    /** A deliverer's claim: nobody else sends the message before it expires; the token names the claim. */
    leaseUntil: time('lease_until'),
    leaseToken: uuid('lease_token'),
    deliveredAt: time('delivered_at'),
  },
  (table) => [
    // No foreign key to the subscription either: every registration's outbox insert would lock the subscription row
    // KEY SHARE, a new MultiXact per concurrent registration of a ticket drop. A subscription's messages go with it
    // (trigger webhook_subscriptions_delete_messages, drizzle/0017); one written by a statement that raced with the
    // deletion is never claimed (the claim joins the subscription) and is purged.
    index('webhook_messages_due_idx').on(table.nextAttemptAt).where(sql`${table.status} = 'PENDING'`),
    index('webhook_messages_subscription_idx').on(table.subscriptionId, table.createdAt),
    check('webhook_messages_lease_pair', sql`(${table.leaseUntil} is null) = (${table.leaseToken} is null)`),
    // Not the converse: a 2xx that lands after the subscription was disabled leaves a FAILED message with delivered_at.
    check('webhook_messages_pending_not_delivered', sql`${table.status} <> 'PENDING' or ${table.deliveredAt} is null`),
    check('webhook_messages_delivered_when', sql`${table.status} <> 'DELIVERED' or ${table.deliveredAt} is not null`),
    check('webhook_messages_type_known', sql`${table.type} in (${knownTypes})`),
  ],
);

/** Every delivery attempt: when, the answer's status (null: no answer), latency and a short reason. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    messageId: uuid('message_id').notNull(),
    subscriptionId: uuid('subscription_id').notNull(),
    attemptedAt: time('attempted_at').notNull(),
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    /** timeout, refused, blocked_address, ... or null when the endpoint answered. */
    error: text('error'),
    /** The first bytes of the endpoint's answer, for the organizer's debugging. */
    responseBody: text('response_body'),
  },
  (table) => [
    foreignKey({ name: 'webhook_attempts_message_id_fkey', columns: [table.messageId], foreignColumns: [webhookMessages.id] }).onDelete(
      'cascade',
    ),
    index('webhook_attempts_message_idx').on(table.messageId),
    index('webhook_attempts_subscription_idx').on(table.subscriptionId, table.attemptedAt),
    check('webhook_attempts_latency', sql`${table.latencyMs} >= 0`),
  ],
);

export type WebhookSubscriptionRow = typeof webhookSubscriptions.$inferSelect;
export type WebhookMessageRow = typeof webhookMessages.$inferSelect;
