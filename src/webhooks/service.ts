import { and, eq, getTableColumns, gte, inArray, isNull, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import { webhookConfig } from '../config';
import { columnNames } from '../db/columns';
import { lockWaitLimit, withinDeadline } from '../db/deadline';
import type { Db } from '../db/handle';
import { keyset, sequenceKeyset, toPage, type Page } from '../db/keyset';
import { deleteInBatches } from '../db/purge';
import { transaction } from '../db/transaction';
import { invalidField, notFound } from '../errors';
import { lockManagedTeam, TEAM_MANAGER_ROLES } from '../teams/service';
import { teamMemberships } from '../teams/schema';
import type { UserRow } from '../users/schema';
import type { CreatedWebhook, CreateWebhook, ReplayWebhook, UpdateWebhook, WebhookAttemptView, WebhookMessageView, WebhookView } from './contract';
import { webhookAttempts, webhookMessages, webhookSubscriptions, type WebhookEventType, type WebhookSubscriptionRow } from './schema';
import { newSecret } from './signing';
import { nowPlusMs } from '../db/sql-time';
import { endpointProblem } from './ssrf';
import { noteMessagesWritten } from './wake';

const subs = webhookSubscriptions;
const iso = (date: Date | null) => date?.toISOString() ?? null;

/** What the organizer sees of a subscription: never a secret. */
function webhookView(row: WebhookSubscriptionRow): WebhookView {
  const rotating = row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > new Date() ? row.previousSecretExpiresAt : null;
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    teamId: row.teamId,
    eventTypes: row.eventTypes as WebhookEventType[] | null,
    eventIds: row.eventIds,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    disabledAt: iso(row.disabledAt),
    failingSince: iso(row.failingSince),
    previousSecretExpiresAt: iso(rotating),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Refuse an endpoint no delivery could reach (https, public address literal); names are judged at connect time. */
function checkEndpoint(url: string): void {
  const problem = endpointProblem(new URL(url), webhookConfig().WEBHOOK_ALLOW_LOOPBACK);
  if (problem) throw invalidField('url', problem);
}

/** The subscriptions a user manages: their own, and those of the teams they are an OWNER or ADMIN of. */
function managedBy(user: UserRow): SQL {
  const managedTeams = sql`select ${teamMemberships.teamId} from ${teamMemberships}
    where ${teamMemberships.userId} = ${user.id} and ${inArray(teamMemberships.role, [...TEAM_MANAGER_ROLES])}`;
  return or(and(isNull(subs.teamId), eq(subs.ownerId, user.id)), sql`${subs.teamId} in (${managedTeams})`)!;
}

/** The subscription, if the user manages it (404 otherwise: another organizer's subscriptions do not exist for them). */
async function findManaged(db: Db, user: UserRow, id: string, options: { lock: boolean }): Promise<WebhookSubscriptionRow> {
  const query = db.select().from(subs).where(and(eq(subs.id, id), managedBy(user)));
  const [row] = options.lock ? await query.for('update') : await query;
  if (!row) throw notFound('Webhook subscription');
  return row;
}

/** The secret is in this answer only. With `teamSlug`, the caller must manage the team (locked until the insert). */
export async function createWebhook(db: Db, user: UserRow, input: CreateWebhook): Promise<CreatedWebhook> {
  checkEndpoint(input.url);
  return transaction(db, async (tx) => {
    const teamId = input.teamSlug === undefined ? null : await lockManagedTeam(tx, user.id, input.teamSlug);
    const secret = newSecret();
    const [row] = await tx
      .insert(subs)
      .values({
        ownerId: user.id,
        teamId,
        url: input.url,
        description: input.description ?? null,
        eventTypes: input.eventTypes ?? null,
        eventIds: input.eventIds ?? null,
        secret,
      })
      .returning();
    return { ...webhookView(row!), secret };
  });
}

const oldestFirst = keyset(subs.createdAt, subs.id);

export async function listWebhooks(db: Db, user: UserRow, query: { limit: number; cursor?: string }): Promise<Page<WebhookView>> {
  const rows = await db
    .select({ ...getTableColumns(subs), cursorTime: oldestFirst.cursorTime })
    .from(subs)
    .where(and(managedBy(user), oldestFirst.after(query.cursor)))
    .orderBy(...oldestFirst.orderBy)
    .limit(query.limit + 1);
  return toPage(rows, query.limit, webhookView, oldestFirst.key);
}

export async function getWebhook(db: Db, user: UserRow, id: string): Promise<WebhookView> {
  return webhookView(await findManaged(db, user, id, { lock: false }));
}

/** `enabled: true` re-enables: the reason, the failure streak and any slow-down are cleared. */
export async function updateWebhook(db: Db, user: UserRow, id: string, patch: UpdateWebhook): Promise<WebhookView> {
  if (patch.url !== undefined) checkEndpoint(patch.url);
  return transaction(db, async (tx) => {
    const current = await findManaged(tx, user, id, { lock: true });
    const { enabled, ...fields } = patch;
    const health =
      enabled === true && !current.enabled
        ? { enabled: true, disabledReason: null, disabledAt: null, failingSince: null, pausedUntil: null }
        : enabled === false && current.enabled
          ? { enabled: false, disabledReason: 'Disabled by the organizer', disabledAt: sql`now()` }
          : {};
    const [row] = await tx
      .update(subs)
      .set({ ...fields, ...health, updatedAt: sql`now()` })
      .where(eq(subs.id, id))
      .returning();
    // Disabled, its pending messages become FAILED, waiting for a replay (trigger webhook_subscriptions_fail_pending).
    return webhookView(row!);
  });
}

/**
 * One DELETE whose WHERE is the management check, in a transaction: the trigger that deletes its messages
 * (drizzle/0017) runs after any check a statement could make of its own deadline, and only the transaction's
 * statement_timeout bounds it.
 */
export async function deleteWebhook(db: Db, user: UserRow, id: string): Promise<void> {
  await transaction(db, async (tx) => {
    const deleted = await tx.delete(subs).where(and(eq(subs.id, id), managedBy(user))).returning({ id: subs.id });
    if (deleted.length === 0) throw notFound('Webhook subscription');
  });
}

/**
 * A new secret; the old one keeps signing (a second `v1,` signature) for `previousSecretTtlSeconds`. One statement,
 * its WHERE the management check; no BEGIN carries the deadline, so lockWaitLimit and withinDeadline do.
 */
export async function rotateWebhookSecret(
  db: Db,
  user: UserRow,
  id: string,
  input: { previousSecretTtlSeconds: number },
): Promise<{ secret: string; previousSecretExpiresAt: string }> {
  const secret = newSecret();
  const [row] = await db
    .update(subs)
    .set({
      previousSecret: subs.secret,
      previousSecretExpiresAt: nowPlusMs(input.previousSecretTtlSeconds * 1000),
      secret,
      updatedAt: sql`now()`,
    })
    .from(lockWaitLimit())
    .where(and(eq(subs.id, id), managedBy(user), withinDeadline()))
    .returning({ expiresAt: subs.previousSecretExpiresAt });
  if (!row) throw notFound('Webhook subscription');
  return { secret, previousSecretExpiresAt: row.expiresAt!.toISOString() };
}

/**
 * Send again, from a fresh retry schedule: one message, or every message written in [since, until). Same
 * `webhook-id` (a receiver that has it can drop it), new timestamp and signature. Pending messages stay as they are.
 */
export async function replayWebhook(db: Db, user: UserRow, id: string, input: ReplayWebhook): Promise<{ replayed: number }> {
  const m = webhookMessages;
  const { messageId, since, until } = input;
  const which =
    messageId !== undefined
      ? eq(m.id, messageId)
      : and(gte(m.createdAt, new Date(since!)), until === undefined ? undefined : lt(m.createdAt, new Date(until)));
  // FOR SHARE: a disable committed first is seen here, a later one waits and then fails what this made PENDING (drizzle/0018).
  const { rows } = await db.execute<{ enabled: boolean | null; replayed: number; message_found: boolean | null }>(sql`
    with subscription as (
      select ${subs.id} as id, ${subs.enabled} as enabled from ${lockWaitLimit()}, ${subs}
      where ${and(eq(subs.id, id), managedBy(user), withinDeadline())}
      for share of ${subs}
    ),
    replayed as (
      update ${m} set ${columnNames(m.status)} = 'PENDING', ${columnNames(m.attempts)} = 0, ${columnNames(m.nextAttemptAt)} = now(),
        ${columnNames(m.deliveredAt)} = null, ${columnNames(m.leaseUntil)} = null, ${columnNames(m.leaseToken)} = null
      where ${m.subscriptionId} = (select id from subscription where enabled) and ${and(which, ne(m.status, 'PENDING'))}
      returning ${m.id}
    )
    select (select enabled from subscription) as enabled, (select count(*)::int from replayed) as replayed,
      ${messageId === undefined ? sql`null::boolean` : sql`exists (select 1 from ${m} where ${and(eq(m.id, messageId), eq(m.subscriptionId, id))})`} as message_found
    where ${withinDeadline()}`);
  const outcome = rows[0]!;
  if (outcome.enabled === null) throw notFound('Webhook subscription');
  // A disabled subscription's messages are never claimed: replayed, they would stay PENDING for good.
  if (!outcome.enabled) throw invalidField('enabled', 'Enable the subscription before asking for a replay');
  if (messageId !== undefined && outcome.replayed === 0 && !outcome.message_found) throw notFound('Message');
  if (outcome.replayed > 0) noteMessagesWritten();
  return { replayed: outcome.replayed };
}

const messageOrder = keyset(webhookMessages.createdAt, webhookMessages.id);

/** The subscription's messages, oldest first, with their delivery state. */
export async function listWebhookMessages(
  db: Db,
  user: UserRow,
  id: string,
  query: { limit: number; cursor?: string },
): Promise<Page<WebhookMessageView>> {
  const m = webhookMessages;
  await findManaged(db, user, id, { lock: false });
  const rows = await db
    // Not the payload (`data`): the list shows delivery state only, and a payload may be large.
    .select({
      id: m.id,
      type: m.type,
      eventId: m.eventId,
      sequence: m.sequence,
      status: m.status,
      attempts: m.attempts,
      nextAttemptAt: m.nextAttemptAt,
      deliveredAt: m.deliveredAt,
      createdAt: m.createdAt,
      cursorTime: messageOrder.cursorTime,
    })
    .from(m)
    .where(and(eq(m.subscriptionId, id), messageOrder.after(query.cursor)))
    .orderBy(...messageOrder.orderBy)
    .limit(query.limit + 1);
  return toPage(
    rows,
    query.limit,
    (row) => ({
      id: row.id,
      type: row.type as WebhookEventType,
      eventId: row.eventId,
      sequence: row.sequence,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: row.status === 'PENDING' ? row.nextAttemptAt.toISOString() : null,
      deliveredAt: iso(row.deliveredAt),
      createdAt: row.createdAt.toISOString(),
    }),
    messageOrder.key,
  );
}

const attemptOrder = sequenceKeyset(webhookAttempts.id, 'id');

/** Every attempt to the subscription's endpoint, oldest first: when, the answer's status, how long, why not. */
export async function listWebhookAttempts(
  db: Db,
  user: UserRow,
  id: string,
  query: { limit: number; cursor?: string },
): Promise<Page<WebhookAttemptView>> {
  const a = webhookAttempts;
  await findManaged(db, user, id, { lock: false });
  const rows = await db
    .select()
    .from(a)
    .where(and(eq(a.subscriptionId, id), attemptOrder.after(query.cursor)))
    .orderBy(...attemptOrder.orderBy)
    .limit(query.limit + 1);
  return toPage(
    rows,
    query.limit,
    (row) => ({
      messageId: row.messageId,
      attemptedAt: row.attemptedAt.toISOString(),
      statusCode: row.statusCode,
      latencyMs: row.latencyMs,
      error: row.error,
      responseBody: row.responseBody,
    }),
    attemptOrder.key,
  );
}

/** Days a message that is no longer pending (delivered, or failed for good) is kept, with its attempts, for replays. */
export const MESSAGE_RETENTION_DAYS = 30;

/**
 * Delete finished messages past retention, and messages whose subscription is gone (written by a statement that
 * raced with its deletion); their attempts go with them (ON DELETE CASCADE).
 */
export function purgeFinishedWebhookMessages(db: Db): Promise<number> {
  const finished = and(ne(webhookMessages.status, 'PENDING'), lt(webhookMessages.createdAt, sql`now() - make_interval(days => ${MESSAGE_RETENTION_DAYS})`));
  const orphaned = sql`not exists (select 1 from ${webhookSubscriptions} where ${webhookSubscriptions.id} = ${webhookMessages.subscriptionId})`;
  return deleteInBatches(db, webhookMessages, or(finished, orphaned)!);
}
