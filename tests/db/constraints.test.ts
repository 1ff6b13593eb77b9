import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { database } from '../../src/db/client';
import { postgresError, SqlState } from '../../src/db/errors';
import type { Db } from '../../src/db/handle';
import { importSources } from '../../src/import/schema';
import { users } from '../../src/users/schema';
import { webhookMessages, webhookSubscriptions } from '../../src/webhooks/schema';

/**
 * The CHECK constraints of drizzle/0019: each refuses a row that breaks its rule, written directly through the
 * driver under test, so a write that forgets half of a pair fails in the database and not later in a reader.
 */
let ids: { subscription: string; message: string; source: string };

beforeEach(async () => {
  const db = database();
  const [user] = await db.insert(users).values({ sub: `constraints-${randomUUID()}` }).returning({ id: users.id });
  const [subscription] = await db
    .insert(webhookSubscriptions)
    .values({ ownerId: user!.id, url: 'https://hooks.example.com/x', secret: 'whsec_dGVzdA==' })
    .returning({ id: webhookSubscriptions.id });
  const [message] = await db
    .insert(webhookMessages)
    .values({ subscriptionId: subscription!.id, eventId: randomUUID(), sequence: 1, type: 'event.changed', data: {} })
    .returning({ id: webhookMessages.id });
  const source = `file:///constraints/${randomUUID()}`;
  await db.insert(importSources).values({ source });
  ids = { subscription: subscription!.id, message: message!.id, source };
});

const subscription = () => eq(webhookSubscriptions.id, ids.subscription);
const message = () => eq(webhookMessages.id, ids.message);
const source = () => eq(importSources.source, ids.source);

/** The write's refusal, as Postgres reported it. */
async function refusal(write: Promise<unknown>) {
  try {
    await write;
  } catch (err) {
    return postgresError(err);
  }
  throw new Error('the write was accepted');
}

type Write = (db: Db) => Promise<unknown>;

describe('check constraints', () => {
  it('accepts every state the code writes', async () => {
    const db = database();
    await db
      .update(webhookSubscriptions)
      .set({ enabled: false, disabledAt: sql`now()`, previousSecret: 'whsec_b2xk', previousSecretExpiresAt: sql`now()`, eventTypes: ['event.changed'] })
      .where(subscription());
    await db.update(webhookMessages).set({ leaseUntil: sql`now()`, leaseToken: randomUUID() }).where(message());
    // A 2xx after the subscription was disabled: FAILED, with delivered_at.
    await db.update(webhookMessages).set({ status: 'FAILED', deliveredAt: sql`now()`, leaseUntil: null, leaseToken: null }).where(message());
    await db.update(importSources).set({ leaseRunId: randomUUID(), leaseExpiresAt: sql`now()` }).where(source());
  });

  it.each<[string, string, Write]>([
    ['a disabled subscription without disabled_at', 'webhook_subscriptions_disabled_at', (db) => db.update(webhookSubscriptions).set({ enabled: false }).where(subscription())],
    ['an enabled subscription with disabled_at', 'webhook_subscriptions_disabled_at', (db) => db.update(webhookSubscriptions).set({ disabledAt: sql`now()` }).where(subscription())],
    [
      'a previous secret without its expiry',
      'webhook_subscriptions_previous_secret_pair',
      (db) => db.update(webhookSubscriptions).set({ previousSecret: 'whsec_b2xk' }).where(subscription()),
    ],
    [
      'a previous secret expiry without the secret',
      'webhook_subscriptions_previous_secret_pair',
      (db) => db.update(webhookSubscriptions).set({ previousSecretExpiresAt: sql`now()` }).where(subscription()),
    ],
    ['an empty list of event types', 'webhook_subscriptions_event_types_not_empty', (db) => db.update(webhookSubscriptions).set({ eventTypes: [] }).where(subscription())],
    [
      'an unknown event type in a subscription',
      'webhook_subscriptions_event_types_known',
      (db) => db.update(webhookSubscriptions).set({ eventTypes: ['event.changed', 'registration.refunded'] }).where(subscription()),
    ],
    ['a message lease without its token', 'webhook_messages_lease_pair', (db) => db.update(webhookMessages).set({ leaseUntil: sql`now()` }).where(message())],
    ['a message lease token without its expiry', 'webhook_messages_lease_pair', (db) => db.update(webhookMessages).set({ leaseToken: randomUUID() }).where(message())],
    ['a PENDING message with delivered_at', 'webhook_messages_pending_not_delivered', (db) => db.update(webhookMessages).set({ deliveredAt: sql`now()` }).where(message())],
    ['a DELIVERED message without delivered_at', 'webhook_messages_delivered_when', (db) => db.update(webhookMessages).set({ status: 'DELIVERED' }).where(message())],
    ['a message of an unknown type', 'webhook_messages_type_known', (db) => db.update(webhookMessages).set({ type: 'registration.refunded' }).where(message())],
    ['a source lease without its expiry', 'import_sources_lease_pair', (db) => db.update(importSources).set({ leaseRunId: randomUUID() }).where(source())],
    ['a source lease expiry without its run', 'import_sources_lease_pair', (db) => db.update(importSources).set({ leaseExpiresAt: sql`now()` }).where(source())],
  ])('refuses %s (%s)', async (_, constraint, write) => {
    expect(await refusal(write(database()))).toEqual({ code: SqlState.checkViolation, constraint });
  });
});
