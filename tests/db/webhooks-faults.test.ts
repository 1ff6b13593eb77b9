import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { database } from '../../src/db/client';
import { deliverDue, type DeliveryOptions } from '../../src/webhooks/delivery';
import type { LambdaHandler } from '../../src/http/route';
import { call } from '../helpers/api';
import { emptyTables, sqlClient } from '../helpers/sql';
import { WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * Issue 21's proof under faults: writers register (some twice: refused, rolled back) and cancel on two events while
 * three deliverers run at once, the app's backends are terminated again and again, and the endpoint fails one
 * request in ten. Afterwards every committed change has been delivered at least once, nothing else has, each
 * message has its own sequence number, each registration's numbers follow the order of its changes, and no message
 * was ever in flight twice at the same time.
 */
process.env.WEBHOOK_ALLOW_LOOPBACK = 'true';
// The handlers read their settings when loaded: import them after this.
const { handler: createEvent } = (await import('../../functions/events-create')) as { handler: LambdaHandler };
const { handler: cancelRegistration } = (await import('../../functions/registrations-cancel')) as { handler: LambdaHandler };
const { handler: register } = (await import('../../functions/registrations-create')) as { handler: LambdaHandler };
const { handler: createWebhook } = (await import('../../functions/webhooks-create')) as { handler: LambdaHandler };

const sql = sqlClient();
const receiver = await new WebhookReceiver().start();
afterAll(() => receiver.stop());

const killer = new pg.Client({ connectionString: process.env.DATABASE_URL, application_name: 'fault-injector' });
await killer.connect();
afterAll(() => killer.end());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const options = (clockOffsetMs: number): DeliveryOptions => ({
  // Retries in milliseconds: the schedule's shape, not its length, is under test here.
  schedule: [0, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000],
  timeoutMs: 2000,
  allowLoopback: true,
  // Far past the drain's clock (an hour on): a failure then must not disable the subscription (and fail its messages).
  disableAfterMs: 24 * 3600e3,
  batch: 8,
  deadlineAt: Date.now() + 30_000,
  clockOffsetMs,
});

describe('webhook delivery under faults', () => {
  it('every committed change is delivered at least once, nothing else, sequences in change order, never twice at once', { timeout: 60_000 }, async () => {
    await emptyTables(sql, 'events', 'users', 'webhook_messages');
    const slugs: string[] = [];
    for (const name of ['Faulty one', 'Faulty two']) {
      const event = await call(createEvent, { as: 'fault-organizer', body: { name, startsAt: '2027-05-01T10:00:00Z', capacity: 12 } });
      slugs.push(event.body.slug as string);
    }
    const hook = await call(createWebhook, { as: 'fault-organizer', body: { url: receiver.url } });
    receiver.secrets = [hook.body.secret];
    // Slow enough answers that the deliverers' claims meet messages in flight.
    receiver.reply = () => ({ status: Math.random() < 0.1 ? 500 : 204, delayMs: 40 });

    let running = true;
    const deliverers = Array.from({ length: 3 }, async () => {
      while (running) {
        // A deliverer whose connection is killed fails its run; the next run (another invocation) carries on.
        await deliverDue(database(), options(0)).catch(() => undefined);
        await sleep(10);
      }
    });
    let terminated = 0;
    const faults = (async () => {
      while (running) {
        await sleep(60);
        const { rowCount } = await killer.query(
          `select pg_terminate_backend(pid) from (select pid from pg_stat_activity
             where datname = current_database() and application_name = 'lockstep' order by random() limit 1) as victims`,
        );
        terminated += rowCount ?? 0;
      }
    })();

    const writers = Array.from({ length: 6 }, async (_, writer) => {
      for (let i = 0; i < 8; i++) {
        const slug = slugs[(writer + i) % 2]!;
        const body = { name: `w${writer}-${i}`, email: `w${writer}-${i}@example.com` };
        const created = await call(register, { params: { slug }, body });
        // The same email again: refused, nothing written.
        if (i % 4 === 0) await call(register, { params: { slug }, body });
        if (created.status === 201 && i % 3 === 0) {
          await call(cancelRegistration, { params: { slug, id: created.body.id }, query: { token: created.body.cancelToken } });
        }
      }
    });
    await Promise.all(writers);
    running = false;
    await Promise.all([...deliverers, faults]);

    // Drain with one deliverer, leases of killed runs expired (the clock an hour on).
    for (let round = 0; round < 50; round++) {
      const pending = await sql(`select 1 from webhook_messages where status = 'PENDING' limit 1`);
      if (pending.length === 0) break;
      await deliverDue(database(), options(3600e3)).catch(() => undefined);
    }

    expect(terminated).toBeGreaterThan(0);
    expect(receiver.rejected).toBe(0);
    expect(receiver.overlaps).toBe(0);
    const accepted = [...receiver.accepted().values()];
    const messages = await sql<{ id: string; status: string }>(`select id, status from webhook_messages`);
    expect(messages.every((m) => m.status === 'DELIVERED')).toBe(true);
    // Delivered: exactly the stored messages, each at least once.
    expect(accepted.map((m) => m.id).sort()).toEqual(messages.map((m) => `msg_${m.id}`).sort());
    // One number per change: none shared, though rolled-back changes and faults leave gaps.
    const sequences = accepted.map((m) => m.body.sequence);
    expect(new Set(sequences).size).toBe(accepted.length);
    // Per registration, in the order of its changes: created (confirmed or waitlisted), maybe promoted, then cancelled.
    const byRegistration = new Map<string, Array<{ sequence: number; type: string }>>();
    for (const m of accepted) {
      const id = m.body.data.registration.id as string;
      byRegistration.set(id, [...(byRegistration.get(id) ?? []), { sequence: m.body.sequence, type: m.body.type }]);
    }
    const rank: Record<string, number> = { 'registration.confirmed': 0, 'registration.waitlisted': 0, 'registration.promoted': 1, 'registration.cancelled': 2 };
    for (const [id, changes] of byRegistration) {
      const inOrder = changes.sort((a, b) => a.sequence - b.sequence).map((c) => c.type);
      expect({ id, types: inOrder }).toEqual({ id, types: [...inOrder].sort((a, b) => rank[a]! - rank[b]!) });
    }
    // Every committed registration and cancellation was heard.
    const rows = await sql<{ id: string; status: string }>(`select id, status from registrations`);
    const heard = (type: string) => new Set(accepted.filter((m) => m.body.type === type).map((m) => m.body.data.registration.id));
    const created = new Set([...heard('registration.confirmed'), ...heard('registration.waitlisted')]);
    expect(rows.filter((r) => !created.has(r.id))).toEqual([]);
    expect(rows.filter((r) => r.status === 'CANCELLED' && !heard('registration.cancelled').has(r.id))).toEqual([]);
  });
});
