import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { database } from '../../src/db/client';
import { transaction } from '../../src/db/transaction';
import { changeStatus } from '../../src/registrations/service';
import { deliverDue, RETRY_SCHEDULE_MS, type DeliveryOptions } from '../../src/webhooks/delivery';
import { purgeFinishedWebhookMessages } from '../../src/webhooks/service';
import type { LambdaHandler } from '../../src/http/route';
import { call } from '../helpers/api';
import { eventCounters } from '../helpers/invariants';
import { emptyTables, sqlClient } from '../helpers/sql';
import { WebhookReceiver } from '../helpers/webhook-receiver';

// Tests deliver to local receivers: loopback and http only by this explicit setting.
process.env.WEBHOOK_ALLOW_LOOPBACK = 'true';
// The handlers read their settings when loaded: import them after this.
const { handler: cancelRegistration } = (await import('../../functions/registrations-cancel')) as { handler: LambdaHandler };
const { handler: register } = (await import('../../functions/registrations-create')) as { handler: LambdaHandler };
const { handler: updateRegistration } = (await import('../../functions/registrations-update')) as { handler: LambdaHandler };
const { handler: createEvent } = (await import('../../functions/events-create')) as { handler: LambdaHandler };
const { handler: deleteEvent } = (await import('../../functions/events-delete')) as { handler: LambdaHandler };
const { handler: updateEvent } = (await import('../../functions/events-update')) as { handler: LambdaHandler };
const { handler: listAttempts } = (await import('../../functions/webhooks-attempts')) as { handler: LambdaHandler };
const { handler: createWebhook } = (await import('../../functions/webhooks-create')) as { handler: LambdaHandler };
const { handler: deleteWebhook } = (await import('../../functions/webhooks-delete')) as { handler: LambdaHandler };
const { handler: getWebhook } = (await import('../../functions/webhooks-get')) as { handler: LambdaHandler };
const { handler: replayWebhook } = (await import('../../functions/webhooks-replay')) as { handler: LambdaHandler };
const { handler: rotateSecret } = (await import('../../functions/webhooks-rotate-secret')) as { handler: LambdaHandler };
const { handler: updateWebhook } = (await import('../../functions/webhooks-update')) as { handler: LambdaHandler };
const { handler: getMe } = (await import('../../functions/me-get')) as { handler: LambdaHandler };
const { handler: createTeam } = (await import('../../functions/teams-create')) as { handler: LambdaHandler };
const { handler: addMember } = (await import('../../functions/team-members-add')) as { handler: LambdaHandler };

const sql = sqlClient();
const receiver = await new WebhookReceiver().start();
afterAll(() => receiver.stop());

/** The test clock: how far the deliverer's idea of now is ahead of the database's. */
let clockMs = 0;
const SECOND = 1000;
const MINUTE = 60 * SECOND;

function deliver(options: Partial<DeliveryOptions> = {}) {
  return deliverDue(database(), {
    schedule: RETRY_SCHEDULE_MS,
    // Generous: a busy test machine must not turn answers into timeouts (the timeout test sets its own).
    timeoutMs: 5000,
    allowLoopback: true,
    disableAfterMs: 5 * 24 * 60 * MINUTE,
    batch: 16,
    deadlineAt: Date.now() + 20 * SECOND,
    clockOffsetMs: clockMs,
    ...options,
  });
}

/** Move the test clock past the scheduled delay before attempt `n` (1-based), jitter included. */
const pastDelayBefore = (n: number) => (clockMs += RETRY_SCHEDULE_MS[n - 1]! * 1.1 + SECOND);

const ORGANIZER = 'hook-organizer';

async function eventWithHook(capacity: number, hook: Record<string, unknown> = {}) {
  const event = await call(createEvent, { as: ORGANIZER, body: { name: 'Hooked event', startsAt: '2027-05-01T10:00:00Z', capacity } });
  expect(event.status).toBe(201);
  const created = await call(createWebhook, { as: ORGANIZER, body: { url: receiver.url, ...hook } });
  expect(created.status).toBe(201);
  receiver.secrets = [created.body.secret];
  return { event: event.body, hook: created.body };
}

const registerAs = (slug: string, who: string) => call(register, { params: { slug }, body: { name: who, email: `${who}@example.com` } });
const attemptsOf = async (id: string) => (await call(listAttempts, { as: ORGANIZER, params: { id } })).body.items;

beforeEach(async () => {
  await emptyTables(sql, 'events', 'users', 'webhook_messages');
  receiver.received.length = 0;
  receiver.rejected = 0;
  receiver.overlaps = 0;
  receiver.reply = () => ({ status: 204 });
  clockMs = 0;
});

describe('webhook subscriptions', () => {
  it('shows the whsec_ secret once: not in a read, nor in the attempts', async () => {
    const { event, hook } = await eventWithHook(5);
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const read = await call(getWebhook, { as: ORGANIZER, params: { id: hook.id } });
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.body)).not.toContain(hook.secret.slice(6));
    expect(read.body).not.toHaveProperty('secret');
    await registerAs(event.slug, 'secret-keeper');
    expect(await deliver()).toEqual({ attempted: 1, delivered: 1, disabled: 0 });
    const attempts = await attemptsOf(hook.id);
    expect(attempts).toHaveLength(1);
    expect(JSON.stringify(attempts)).not.toContain(hook.secret.slice(6));
  });

  it('another organizer cannot see or change a subscription (404)', async () => {
    const { hook } = await eventWithHook(5);
    expect((await call(getWebhook, { as: 'someone-else', params: { id: hook.id } })).status).toBe(404);
    expect((await call(updateWebhook, { as: 'someone-else', params: { id: hook.id }, body: { enabled: false } })).status).toBe(404);
  });

  it('refuses endpoints at non-public address literals and non-http(s) schemes with 400', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data', 'https://10.0.0.7/hook', 'https://[fd00::1]/hook', 'ftp://example.com/hook']) {
      const refused = await call(createWebhook, { as: ORGANIZER, body: { url } });
      expect(refused.status, url).toBe(400);
      expect(refused.body.errors[0].path).toBe('url');
    }
  });

  it('deleting a subscription deletes its messages and their attempts', async () => {
    const { event, hook } = await eventWithHook(5);
    await registerAs(event.slug, 'delivered');
    expect(await deliver()).toEqual({ attempted: 1, delivered: 1, disabled: 0 });
    receiver.reply = () => ({ status: 500 });
    await registerAs(event.slug, 'pending');
    expect(await deliver()).toEqual({ attempted: 1, delivered: 0, disabled: 0 });
    // No foreign key any more: the trigger webhook_subscriptions_delete_messages takes them (drizzle/0017).
    const left = async () => ({
      messages: (await sql(`select status from webhook_messages where subscription_id = $1 order by status`, [hook.id])).map((r) => r.status),
      attempts: (await sql(`select count(*)::int as n from webhook_attempts where subscription_id = $1`, [hook.id]))[0]!.n,
    });
    expect(await left()).toEqual({ messages: ['PENDING', 'DELIVERED'], attempts: 2 });
    expect((await call(deleteWebhook, { as: ORGANIZER, params: { id: hook.id } })).status).toBe(204);
    expect(await left()).toEqual({ messages: [], attempts: 0 });
  });
});

describe('transactional outbox', () => {
  it('a registration writes its message in its own statement; delivered signed, with the organizer view', async () => {
    const { event } = await eventWithHook(1);
    expect((await registerAs(event.slug, 'first')).body.status).toBe('CONFIRMED');
    expect((await registerAs(event.slug, 'second')).body.status).toBe('WAITLIST');
    expect(await deliver()).toEqual({ attempted: 2, delivered: 2, disabled: 0 });
    expect(receiver.rejected).toBe(0);
    // Sorted by sequence: the first registration's message has the lower number (gaps allowed).
    const [first, second] = [...receiver.accepted().values()].sort((a, b) => a.body.sequence - b.body.sequence);
    expect(first!.body.sequence).toBeLessThan(second!.body.sequence);
    expect(first!.body).toMatchObject({
      type: 'registration.confirmed',
      eventId: event.id,
      sequence: expect.any(Number),
      data: { registration: { name: 'first', email: 'first@example.com', status: 'CONFIRMED', waitlistPosition: null } },
    });
    expect(second!.body).toMatchObject({ type: 'registration.waitlisted', data: { registration: { waitlistPosition: 1 } } });
    expect(first!.body.data.registration).not.toHaveProperty('cancelToken');
    expect(first!.id).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(first!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('a refused registration, and a change whose transaction rolls back, write no message', async () => {
    const { event } = await eventWithHook(1);
    const created = await registerAs(event.slug, 'only');
    expect((await registerAs(event.slug, 'only')).status).toBe(409);
    const organizer = (await sql<{ id: string }>(`select id from users where sub = $1`, [ORGANIZER]))[0]!;
    const user = { id: organizer.id } as Parameters<typeof changeStatus>[4]['user'] & object;
    await expect(
      transaction(database(), async (tx) => {
        await changeStatus(tx, event.slug, created.body.id, 'CANCELLED', { user, token: undefined });
        throw new Error('rolled back after the change');
      }),
    ).rejects.toThrow('rolled back');
    const rows = await sql(`select type, data->'registration'->>'id' as id from webhook_messages order by sequence`);
    expect(rows).toEqual([{ type: 'registration.confirmed', id: created.body.id }]);
    // Nothing of the change stayed: the registration holds its spot (a rolled-back number is only a gap).
    expect(await sql(`select status from registrations`)).toEqual([{ status: 'CONFIRMED' }]);
    expect(await eventCounters(sql, event.id)).toMatchObject({ spots_reserved: 1, waitlist_count: 0 });
  });

  it("a cancellation's promotions, an organizer's move and event changes: one message each, sequences in change order", async () => {
    const { event } = await eventWithHook(1);
    const a = await registerAs(event.slug, 'a');
    const b = await registerAs(event.slug, 'b');
    const c = await registerAs(event.slug, 'c');
    expect((await call(cancelRegistration, { params: { slug: event.slug, id: a.body.id }, query: { token: a.body.cancelToken } })).status).toBe(204);
    const moved = await call(updateRegistration, { as: ORGANIZER, params: { slug: event.slug, id: b.body.id }, body: { status: 'WAITLIST' } });
    expect(moved.status).toBe(200);
    expect((await call(updateEvent, { as: ORGANIZER, params: { slug: event.slug }, body: { capacity: 3 } })).status).toBe(200);
    expect((await call(updateEvent, { as: ORGANIZER, params: { slug: event.slug }, body: { status: 'CLOSED' } })).status).toBe(200);
    expect((await call(deleteEvent, { as: ORGANIZER, params: { slug: event.slug } })).status).toBe(204);
    await deliver();
    const got = [...receiver.accepted().values()].sort((x, y) => x.body.sequence - y.body.sequence);
    const sequences = got.map((m) => m.body.sequence);
    expect(new Set(sequences).size).toBe(got.length);
    // Each request's messages, in sequence order, come after the previous request's. Within one transaction the
    // messages are about different registrations (or the event), whose relative order the sequence does not promise.
    const who = new Map([[a.body.id, 'a'], [b.body.id, 'b'], [c.body.id, 'c']]);
    const heard = got.map((m) => `${m.body.type.startsWith('event.') ? 'event' : who.get(m.body.data.registration.id)} ${m.body.type}`);
    const changes = [
      ['a registration.confirmed'],
      ['b registration.waitlisted'],
      ['c registration.waitlisted'],
      ['a registration.cancelled', 'b registration.promoted'], // b, in the cancellation's transaction
      ['b registration.moved', 'c registration.promoted'], // b back to the queue's end, behind c; c, the new head, in the move's transaction
      ['event event.changed', 'b registration.promoted'], // b, let in by the capacity increase
      ['event event.closed'],
      ['event event.deleted'],
    ];
    let at = 0;
    for (const change of changes) {
      expect(heard.slice(at, at + change.length).sort()).toEqual([...change].sort());
      at += change.length;
    }
    expect(heard).toHaveLength(at);
    const message = (type: string, id: string) => got.find((m) => m.body.type === type && m.body.data.registration.id === id)!;
    expect(message('registration.cancelled', a.body.id).body.data).toMatchObject({ cancelledBy: 'registrant', registration: { status: 'CANCELLED' } });
    expect(message('registration.moved', b.body.id).body.data).toMatchObject({ previousStatus: 'CONFIRMED', registration: { status: 'WAITLIST' } });
  });
});

describe('delivery', () => {
  it('retries a 500 and a timeout on the schedule, only 2xx delivers, and records every attempt', async () => {
    const { event, hook } = await eventWithHook(5);
    receiver.reply = (_, attempt) => (attempt === 1 ? { status: 500 } : attempt === 2 ? { status: 200, delayMs: 2000 } : { status: 200 });
    await registerAs(event.slug, 'patient');
    expect(await deliver()).toEqual({ attempted: 1, delivered: 0, disabled: 0 });
    expect(await deliver()).toEqual({ attempted: 0, delivered: 0, disabled: 0 }); // not due for 5 s
    pastDelayBefore(2);
    expect(await deliver({ timeoutMs: 300 })).toEqual({ attempted: 1, delivered: 0, disabled: 0 }); // times out after 300 ms
    pastDelayBefore(3);
    expect(await deliver()).toEqual({ attempted: 1, delivered: 1, disabled: 0 });
    const attempts = await attemptsOf(hook.id);
    expect(attempts.map((a: any) => [a.statusCode, a.error])).toEqual([
      [500, null],
      [null, 'timeout'],
      [200, null],
    ]);
    expect(attempts[1].latencyMs).toBeGreaterThanOrEqual(290);
    // The same webhook-id every time.
    expect(new Set((await sql(`select message_id from webhook_attempts`)).map((r) => r.message_id)).size).toBe(1);
  });

  it('410 disables the subscription with its reason; re-enabled, a replay of the range delivers what it missed', async () => {
    const { event, hook } = await eventWithHook(5);
    receiver.reply = () => ({ status: 410 });
    await registerAs(event.slug, 'gone-1');
    await registerAs(event.slug, 'gone-2');
    expect(await deliver({ batch: 1 })).toEqual({ attempted: 1, delivered: 0, disabled: 1 });
    const disabled = await call(getWebhook, { as: ORGANIZER, params: { id: hook.id } });
    expect(disabled.body).toMatchObject({ enabled: false, disabledReason: 'The endpoint answered 410 Gone' });
    // Written while disabled: kept, not sent; and not replayed while disabled, where it would wait for good.
    await registerAs(event.slug, 'gone-3');
    expect(await deliver()).toEqual({ attempted: 0, delivered: 0, disabled: 0 });
    const early = await call(replayWebhook, { as: ORGANIZER, params: { id: hook.id }, body: { since: event.createdAt } });
    expect(early).toMatchObject({ status: 400, body: { code: 'validation_failed', errors: [{ path: 'enabled' }] } });
    expect(await sql(`select count(*)::int as n from webhook_messages where status = 'PENDING'`)).toEqual([{ n: 0 }]);

    receiver.reply = () => ({ status: 204 });
    expect((await call(updateWebhook, { as: ORGANIZER, params: { id: hook.id }, body: { enabled: true } })).body).toMatchObject({
      enabled: true,
      disabledReason: null,
    });
    const replay = await call(replayWebhook, { as: ORGANIZER, params: { id: hook.id }, body: { since: event.createdAt } });
    expect(replay).toMatchObject({ status: 202, body: { replayed: 3 } });
    await deliver();
    expect([...receiver.accepted().values()].map((m) => m.body.data.registration.name).sort()).toEqual(['gone-1', 'gone-2', 'gone-3']);
  });

  it('429 with Retry-After: nothing goes to the endpoint before then', async () => {
    const { event } = await eventWithHook(5);
    let requests = 0;
    receiver.reply = () => (++requests === 1 ? { status: 429, headers: { 'retry-after': '120' } } : { status: 204 });
    await registerAs(event.slug, 'slow-1');
    await deliver();
    await registerAs(event.slug, 'slow-2'); // the endpoint is paused: this one waits too
    clockMs += 60 * SECOND;
    expect(await deliver()).toEqual({ attempted: 0, delivered: 0, disabled: 0 });
    clockMs += 61 * SECOND;
    expect(await deliver()).toEqual({ attempted: 2, delivered: 2, disabled: 0 });
  });

  it('an endpoint that is down gets the message once it is back', async () => {
    const { event, hook } = await eventWithHook(5);
    const port = receiver.port;
    await receiver.stop();
    await registerAs(event.slug, 'late');
    expect(await deliver()).toEqual({ attempted: 1, delivered: 0, disabled: 0 });
    await receiver.start(port);
    pastDelayBefore(2);
    expect(await deliver()).toEqual({ attempted: 1, delivered: 1, disabled: 0 });
    expect((await attemptsOf(hook.id)).map((a: any) => a.error)).toEqual(['connection_refused', null]);
  });

  it('a subscription failing for longer than the limit is disabled, and says since when', async () => {
    const { event, hook } = await eventWithHook(5);
    receiver.reply = () => ({ status: 503 });
    await registerAs(event.slug, 'doomed');
    const limits = { disableAfterMs: 10 * MINUTE };
    const reports = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      if (attempt > 1) pastDelayBefore(attempt);
      reports.push(await deliver(limits));
    }
    // The fourth attempt, 35 minutes after the first failure, disables it.
    expect(reports).toEqual([0, 0, 0, 1].map((disabled) => ({ attempted: 1, delivered: 0, disabled })));
    const read = await call(getWebhook, { as: ORGANIZER, params: { id: hook.id } });
    expect(read.body.enabled).toBe(false);
    expect(read.body.disabledReason).toMatch(/^Every attempt failed since \d{4}-/);
    // The message whose failure disabled it waits, FAILED, for a replay like the others: none stays PENDING.
    expect(await sql(`select status from webhook_messages where subscription_id = $1`, [hook.id])).toEqual([{ status: 'FAILED' }]);
  });

  it('failures of one batch disable a subscription once, and leave none of its messages pending', async () => {
    const { event, hook } = await eventWithHook(5);
    receiver.reply = () => ({ status: 503 });
    for (const who of ['batch-a', 'batch-b', 'batch-c']) await registerAs(event.slug, who);
    const limits = { disableAfterMs: 10 * MINUTE };
    const reports = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      if (attempt > 1) pastDelayBefore(attempt);
      reports.push(await deliver(limits));
    }
    expect(reports.at(-1)).toEqual({ attempted: 3, delivered: 0, disabled: 1 });
    const [row] = await sql(`select enabled, disabled_at from webhook_subscriptions where id = $1`, [hook.id]);
    expect(row!.enabled).toBe(false);
    expect(await sql(`select distinct status from webhook_messages where subscription_id = $1`, [hook.id])).toEqual([{ status: 'FAILED' }]);
  });

  it('during a rotation every message is signed with both secrets', async () => {
    const { event, hook } = await eventWithHook(5);
    const old = receiver.secrets[0]!;
    const rotated = await call(rotateSecret, { as: ORGANIZER, params: { id: hook.id }, body: { previousSecretTtlSeconds: 3600 } });
    expect(rotated.status).toBe(200);
    receiver.secrets = [rotated.body.secret];
    await registerAs(event.slug, 'rotating');
    await deliver();
    const [message] = receiver.received;
    expect(String(message!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(() => new Webhook(old).verify(message!.raw, message!.headers as Record<string, string>)).not.toThrow();
    expect(() => new Webhook(rotated.body.secret).verify(message!.raw, message!.headers as Record<string, string>)).not.toThrow();
  });

  it('a message whose subscription is gone is never sent, and the purge removes it, not a live pending one', async () => {
    const { event, hook } = await eventWithHook(5);
    receiver.reply = () => ({ status: 500 }); // the live message stays PENDING
    await registerAs(event.slug, 'live');
    // The race the trigger cannot see: a message written by a statement that ran beside the subscription's deletion.
    const [orphan] = await sql<{ id: string }>(
      `insert into webhook_messages (subscription_id, event_id, sequence, type, data)
       select gen_random_uuid(), event_id, sequence, type, data from webhook_messages returning id`,
    );
    // Due like the live one, which this run claims: the orphan is not.
    expect(await deliver()).toEqual({ attempted: 1, delivered: 0, disabled: 0 });
    const orphanRow = `select status, attempts, (select count(*)::int from webhook_attempts a where a.message_id = m.id) as recorded
                       from webhook_messages m where id = $1`;
    expect(await sql(orphanRow, [orphan!.id])).toEqual([{ status: 'PENDING', attempts: 0, recorded: 0 }]);

    expect(await purgeFinishedWebhookMessages(database())).toBe(1);
    expect(await sql(orphanRow, [orphan!.id])).toEqual([]);
    expect(await sql(`select subscription_id, status, attempts from webhook_messages`)).toEqual([
      { subscription_id: hook.id, status: 'PENDING', attempts: 1 },
    ]);
  });

  it('never connects to loopback unless development allows it, though the name looked harmless', async () => {
    const { event, hook } = await eventWithHook(5, { url: `http://localhost:${receiver.port}/hook` });
    await registerAs(event.slug, 'ssrf');
    expect(await deliver({ allowLoopback: false })).toEqual({ attempted: 1, delivered: 0, disabled: 0 });
    expect((await attemptsOf(hook.id)).map((a: any) => a.error)).toEqual(['blocked_address']);
    expect(receiver.received).toHaveLength(0);
  });
});

describe('delete, rotate and replay: one guarded statement each', () => {
  /** Another session's open transaction on the subscription row, as a PATCH or a delivery's record would hold it. */
  async function holdSubscription(id: string, change: string): Promise<pg.Client> {
    const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    await holder.query('begin');
    await holder.query(change, [id]);
    return holder;
  }
  const stored = async (id: string) => (await sql(`select secret, previous_secret from webhook_subscriptions where id = $1`, [id]))[0];

  it('another organizer and a plain team member get 404 and change nothing; a team ADMIN rotates and deletes', async () => {
    const team = await call(createTeam, { as: ORGANIZER, body: { name: 'Hook crew' } });
    expect(team.status).toBe(201);
    for (const [sub, role] of [['hook-admin', 'ADMIN'], ['hook-member', 'MEMBER']]) {
      const userId = (await call(getMe, { as: sub })).body.id;
      expect((await call(addMember, { as: ORGANIZER, params: { slug: team.body.slug }, body: { userId, role } })).status).toBe(201);
    }
    const hook = (await call(createWebhook, { as: ORGANIZER, body: { url: receiver.url, teamSlug: team.body.slug } })).body;
    const before = await stored(hook.id);
    for (const outsider of ['someone-else', 'hook-member']) {
      const params = { id: hook.id };
      const refusals = [
        await call(deleteWebhook, { as: outsider, params }),
        await call(rotateSecret, { as: outsider, params, body: { previousSecretTtlSeconds: 60 } }),
        await call(replayWebhook, { as: outsider, params, body: { since: hook.createdAt } }),
      ];
      expect(refusals.map((r) => [r.status, r.body.code, r.body.detail])).toEqual(
        Array(3).fill([404, 'not_found', 'Webhook subscription not found']),
      );
    }
    expect(await stored(hook.id)).toEqual(before);

    const rotated = await call(rotateSecret, { as: 'hook-admin', params: { id: hook.id }, body: { previousSecretTtlSeconds: 60 } });
    expect(rotated.status).toBe(200);
    expect(await stored(hook.id)).toEqual({ secret: rotated.body.secret, previous_secret: before!.secret });
    expect((await call(deleteWebhook, { as: 'hook-admin', params: { id: hook.id } })).status).toBe(204);
    expect((await call(deleteWebhook, { as: ORGANIZER, params: { id: hook.id } })).status).toBe(404);
    expect((await call(rotateSecret, { as: ORGANIZER, params: { id: hook.id }, body: { previousSecretTtlSeconds: 60 } })).status).toBe(404);
  });

  it('a rotation keeps the secret it replaces until now + the TTL; the next one replaces that', async () => {
    const { hook } = await eventWithHook(5);
    const started = Date.now();
    const first = await call(rotateSecret, { as: ORGANIZER, params: { id: hook.id }, body: { previousSecretTtlSeconds: 3600 } });
    expect(first.status).toBe(200);
    const expires = Date.parse(first.body.previousSecretExpiresAt);
    // The database's clock, not this process's: a few seconds of leeway either side.
    expect(Math.abs(expires - (started + 3600 * SECOND))).toBeLessThan(5 * SECOND);
    expect((await call(getWebhook, { as: ORGANIZER, params: { id: hook.id } })).body.previousSecretExpiresAt).toBe(first.body.previousSecretExpiresAt);
    const second = await call(rotateSecret, { as: ORGANIZER, params: { id: hook.id }, body: { previousSecretTtlSeconds: 0 } });
    expect(await stored(hook.id)).toEqual({ secret: second.body.secret, previous_secret: first.body.secret });
  });

  it('a replay of one message: 404 for a message not of this subscription, 0 for a pending one, 1 for a delivered one', async () => {
    const { event, hook } = await eventWithHook(5);
    receiver.reply = () => ({ status: 500 });
    await registerAs(event.slug, 'replayed');
    await deliver();
    const [message] = await sql<{ id: string }>(`select id from webhook_messages where subscription_id = $1`, [hook.id]);
    const replay = (messageId: string) => call(replayWebhook, { as: ORGANIZER, params: { id: hook.id }, body: { messageId } });
    expect(await replay(message!.id)).toMatchObject({ status: 202, body: { replayed: 0 } });
    const unknown = await replay(randomUUID());
    expect([unknown.status, unknown.body.code, unknown.body.detail]).toEqual([404, 'not_found', 'Message not found']);
    const other = (await call(createWebhook, { as: ORGANIZER, body: { url: receiver.url } })).body;
    const foreign = await call(replayWebhook, { as: ORGANIZER, params: { id: other.id }, body: { messageId: message!.id } });
    expect([foreign.status, foreign.body.detail]).toEqual([404, 'Message not found']);

    receiver.reply = () => ({ status: 204 });
    pastDelayBefore(2);
    expect(await deliver()).toMatchObject({ delivered: 1 });
    expect(await replay(message!.id)).toMatchObject({ status: 202, body: { replayed: 1 } });
    expect(await sql(`select status, attempts, lease_until from webhook_messages where id = $1`, [message!.id])).toEqual([
      { status: 'PENDING', attempts: 0, lease_until: null },
    ]);
  });

  it('a replay meeting a disable in flight waits for it, then answers 400 and leaves nothing pending', async () => {
    const { event, hook } = await eventWithHook(5);
    await registerAs(event.slug, 'raced');
    expect(await deliver()).toMatchObject({ delivered: 1 });
    const holder = await holdSubscription(
      hook.id,
      `update webhook_subscriptions set enabled = false, disabled_reason = 'Disabled by the organizer', disabled_at = now() where id = $1`,
    );
    try {
      const replay = call(replayWebhook, { as: ORGANIZER, params: { id: hook.id }, body: { since: event.createdAt } });
      // Read from a snapshot, the subscription still looked enabled: a replay that did not wait would make it PENDING now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await holder.query('commit');
      expect(await replay).toMatchObject({ status: 400, body: { code: 'validation_failed', errors: [{ path: 'enabled' }] } });
    } finally {
      await holder.end();
    }
    expect(await sql(`select status from webhook_messages where subscription_id = $1`, [hook.id])).toEqual([{ status: 'DELIVERED' }]);
  });

  it('waiting on a subscription held past the deadline: 503 with Retry-After in time, nothing changed after', async () => {
    const { event, hook } = await eventWithHook(5);
    await registerAs(event.slug, 'late');
    expect(await deliver()).toMatchObject({ delivered: 1 });
    const before = await stored(hook.id);
    const holder = await holdSubscription(hook.id, `select 1 from webhook_subscriptions where id = $1 for update`);
    const remainingMs = 1_200;
    try {
      const params = { id: hook.id };
      for (const request of [
        () => call(deleteWebhook, { as: ORGANIZER, params, remainingMs }),
        () => call(rotateSecret, { as: ORGANIZER, params, body: { previousSecretTtlSeconds: 60 }, remainingMs }),
        () => call(replayWebhook, { as: ORGANIZER, params, body: { since: event.createdAt }, remainingMs }),
      ]) {
        const started = performance.now();
        const res = await request();
        expect([res.status, res.body.code, res.headers['retry-after']]).toEqual([503, 'database_unavailable', '1']);
        expect(performance.now() - started).toBeLessThan(remainingMs);
      }
      await holder.query('commit');
    } finally {
      await holder.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stored(hook.id)).toEqual(before);
    expect(await sql(`select status from webhook_messages where subscription_id = $1`, [hook.id])).toEqual([{ status: 'DELIVERED' }]);
  });
});
