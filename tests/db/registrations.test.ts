import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as createEvent } from '../../functions/events-create';
import { handler as getEvent } from '../../functions/events-get';
import { handler as updateEvent } from '../../functions/events-update';
import { handler as eventStats } from '../../functions/events-stats';
import { handler as cancelRegistration } from '../../functions/registrations-cancel';
import { handler as register } from '../../functions/registrations-create';
import { handler as getRegistration } from '../../functions/registrations-get';
import { handler as listRegistrations } from '../../functions/registrations-list';
import { handler as updateRegistration } from '../../functions/registrations-update';
import { database } from '../../src/db/client';
import { checkEventCounters } from '../../src/registrations/counters';
import { call, type Result } from '../helpers/api';
import { assertEventInvariants, EVENT_COUNTERS } from '../helpers/invariants';
import { emptyTables, sqlClient } from '../helpers/sql';

const sql = sqlClient();
const ORGANIZER = 'organizer';

async function newEvent(slug: string, capacity: number | null, extra: Record<string, unknown> = {}) {
  const res = await call(createEvent, {
    as: ORGANIZER,
    body: { name: `Event ${slug}`, slug, startsAt: '2027-04-01T10:00:00Z', capacity, ...extra },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; slug: string };
}

const registerFor = (slug: string, email: string, spots = 1) =>
  call(register, { params: { slug }, body: { name: `Person ${email}`, email, spots } });

/** Invariants 1-3 of docs/api.md, plus the counters the statement relies on, asserted from the rows. */
const assertInvariants = (eventId: string) => assertEventInvariants(sql, eventId);

beforeEach(async () => {
  await emptyTables(sql, 'events', 'slug_counters', 'users');
});

describe('POST /events/{slug}/registrations', () => {
  it('confirms while spots fit, then waitlists in order', async () => {
    const event = await newEvent('small', 3);
    const a = await registerFor('small', 'a@example.com', 2);
    const b = await registerFor('small', 'b@example.com', 2);
    const c = await registerFor('small', 'c@example.com', 1);
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ status: 'CONFIRMED', waitlistPosition: null, spots: 2, eventId: event.id });
    expect(a.body.cancelToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // b does not fit; c would fit, but b is waiting: strict FIFO.
    expect(b.body).toMatchObject({ status: 'WAITLIST', waitlistPosition: 1 });
    expect(c.body).toMatchObject({ status: 'WAITLIST', waitlistPosition: 2 });
    const stored = await sql(`select cancel_token_hash from registrations where id = $1`, [a.body.id]);
    expect(stored[0]!.cancel_token_hash).not.toContain(a.body.cancelToken);
    await assertInvariants(event.id);
  });

  it('300 concurrent registrations (1-3 spots) against capacity 50: no oversell, FIFO, all 201', async () => {
    const event = await newEvent('hot', 50);
    const requests = Array.from({ length: 300 }, (_, i) => ({ email: `p${i}@example.com`, spots: 1 + (i % 3) }));
    const responses = await Promise.all(requests.map((r) => registerFor('hot', r.email, r.spots)));
    expect(responses.map((r) => r.status)).toEqual(Array(300).fill(201));
    await assertInvariants(event.id);
    const [totals] = await sql(
      `select c.spots_reserved, (select count(*)::int from registrations where status = 'CONFIRMED') as confirmed_count,
         (select count(*)::int from registrations where status = 'WAITLIST') as waiting_count from (${EVENT_COUNTERS}) as c`,
    );
    expect(totals!.spots_reserved).toBeLessThanOrEqual(50);
    expect(totals!.confirmed_count + totals!.waiting_count).toBe(300);
    // Nobody was confirmed after the first waiter: every confirmed registration precedes the queue.
    const [order] = await sql(
      `select max(created_at) filter (where status = 'CONFIRMED') as last_confirmed,
              min(created_at) filter (where status = 'WAITLIST') as first_waiting from registrations`,
    );
    expect(order!.last_confirmed.getTime()).toBeLessThanOrEqual(order!.first_waiting.getTime());
    // The positions handed out are the queue order.
    const waiting = await sql<{ id: string }>(`select id from registrations where status = 'WAITLIST' order by created_at, id`);
    const positionById = new Map(responses.filter((r) => r.body.status === 'WAITLIST').map((r) => [r.body.id, r.body.waitlistPosition]));
    expect(waiting.map((w) => positionById.get(w.id))).toEqual(waiting.map((_, i) => i + 1));
  });

  it('50 concurrent registrations with one email (any case): one active, the rest 409', async () => {
    const event = await newEvent('dupes', 100);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => registerFor('dupes', i % 2 ? 'Same@Example.com' : 'same@example.COM')),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(49).fill(409)]);
    expect(responses.find((r) => r.status === 409)!.body.code).toBe('already_registered');
    const [row] = await sql(`select count(*)::int as n, (select spots_reserved from (${EVENT_COUNTERS}) as c) as reserved from registrations`);
    expect(row).toEqual({ n: 1, reserved: 1 });
    await assertInvariants(event.id);
  });

  it('refuses a CLOSED event, too many spots and unknown events, changing nothing', async () => {
    await newEvent('closed', 10);
    await call(updateEvent, { as: ORGANIZER, params: { slug: 'closed' }, body: { status: 'CLOSED' } });
    expect((await registerFor('closed', 'x@example.com')).body.code).toBe('event_closed');
    await newEvent('limited', 10, { maxSpotsPerRegistration: 2 });
    const tooMany = await registerFor('limited', 'y@example.com', 3);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0].path).toBe('spots');
    expect((await registerFor('nope', 'z@example.com')).status).toBe(404);
    for (const body of [{ name: 'N', email: 'bad' }, { name: '', email: 'a@b.co' }, { name: 'N', email: 'a@b.co', spots: 0 }, { name: 'N', email: 'a@b.co', spots: 1.5 }]) {
      expect((await call(register, { params: { slug: 'limited' }, body })).status).toBe(400);
    }
    expect((await sql(`select count(*)::int as n from registrations`))[0]!.n).toBe(0);
    expect((await sql(`select sum(spots_reserved)::int as n from (${EVENT_COUNTERS}) as c`))[0]!.n).toBe(0);
  });

  it('refuses more spots than the whole capacity, so no request can block the queue forever', async () => {
    const event = await newEvent('tiny', 3);
    const res = await registerFor('tiny', 'big@example.com', 4);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'capacity_exceeded', errors: [{ path: 'spots' }] });
    expect((await registerFor('tiny', 'small@example.com', 3)).body.status).toBe('CONFIRMED');
    await assertInvariants(event.id);
  });

  it('works with unlimited capacity', async () => {
    const event = await newEvent('open-air', null);
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => registerFor('open-air', `u${i}@example.com`, 3)));
    expect(responses.every((r) => r.body.status === 'CONFIRMED')).toBe(true);
    const res = await call(getEvent, { params: { slug: 'open-air' } });
    expect(res.body).toMatchObject({ capacity: null, spotsReserved: 60, spotsLeft: null, waitlistCount: 0 });
    await assertInvariants(event.id);
  });
});

describe('cancelling, promoting and capacity changes', () => {
  it('a registrant cancel by token frees spots and promotes the queue in arrival order', async () => {
    const event = await newEvent('swap', 2);
    const first = await registerFor('swap', 'first@example.com', 2);
    const waiter1 = await registerFor('swap', 'w1@example.com', 1);
    const waiter2 = await registerFor('swap', 'w2@example.com', 1);
    const wrong = await call(cancelRegistration, { params: { slug: 'swap', id: first.body.id }, query: { token: 'guess' } });
    expect(wrong.status).toBe(404);
    const cancel = await call(cancelRegistration, { params: { slug: 'swap', id: first.body.id }, query: { token: first.body.cancelToken } });
    expect(cancel.status).toBe(204);
    const statuses = await sql(`select email, status from registrations order by created_at, id`);
    expect(statuses).toEqual([
      { email: 'first@example.com', status: 'CANCELLED' },
      { email: 'w1@example.com', status: 'CONFIRMED' },
      { email: 'w2@example.com', status: 'CONFIRMED' },
    ]);
    const own = await call(getRegistration, { params: { slug: 'swap', id: waiter1.body.id }, query: { token: waiter1.body.cancelToken } });
    expect(own.body).toMatchObject({ status: 'CONFIRMED', waitlistPosition: null });
    expect(own.body.cancelToken).toBeUndefined();
    expect((await call(cancelRegistration, { params: { slug: 'swap', id: first.body.id }, query: { token: first.body.cancelToken } })).status).toBe(204);
    expect(waiter2.body.status).toBe('WAITLIST');
    await assertInvariants(event.id);
  });

  it('an organizer promotion may pass the queue but never the capacity', async () => {
    const event = await newEvent('vip', 3);
    await registerFor('vip', 'a@example.com', 2);
    const big = await registerFor('vip', 'big@example.com', 2);
    const small = await registerFor('vip', 'small@example.com', 1);
    const over = await call(updateRegistration, { as: ORGANIZER, params: { slug: 'vip', id: big.body.id }, body: { status: 'CONFIRMED' } });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe('capacity_exceeded');
    const pass = await call(updateRegistration, { as: ORGANIZER, params: { slug: 'vip', id: small.body.id }, body: { status: 'CONFIRMED' } });
    expect(pass.body).toMatchObject({ status: 'CONFIRMED' });
    expect((await sql(`select spots_reserved, waitlist_count from (${EVENT_COUNTERS}) as c`))[0]).toEqual({ spots_reserved: 3, waitlist_count: 1 });
    await assertInvariants(event.id);
  });

  it('a capacity increase promotes in order; a capacity below spotsReserved is refused', async () => {
    const event = await newEvent('grow', 2);
    await registerFor('grow', 'a@example.com', 1);
    await registerFor('grow', 'b@example.com', 2);
    await registerFor('grow', 'c@example.com', 1);
    const refused = await call(updateEvent, { as: ORGANIZER, params: { slug: 'grow' }, body: { capacity: 0 } });
    expect(refused.body.code).toBe('capacity_below_reserved');
    const grown = await call(updateEvent, { as: ORGANIZER, params: { slug: 'grow' }, body: { capacity: 3 } });
    expect(grown.body).toMatchObject({ capacity: 3, spotsReserved: 3, waitlistCount: 1, spotsLeft: 0 });
    expect(await sql(`select email, status from registrations order by created_at, id`)).toEqual([
      { email: 'a@example.com', status: 'CONFIRMED' },
      { email: 'b@example.com', status: 'CONFIRMED' },
      { email: 'c@example.com', status: 'WAITLIST' },
    ]);
    await assertInvariants(event.id);
  });

  it('a demotion sends the registration to the end of the queue and lets the head in', async () => {
    const event = await newEvent('demote', 2);
    const a = await registerFor('demote', 'a@example.com', 2);
    await registerFor('demote', 'b@example.com', 2);
    const res = await call(updateRegistration, { as: ORGANIZER, params: { slug: 'demote', id: a.body.id }, body: { status: 'WAITLIST' } });
    expect(res.body).toMatchObject({ status: 'WAITLIST', waitlistPosition: 1 });
    expect(await sql(`select email, status from registrations order by created_at, id`)).toEqual([
      { email: 'b@example.com', status: 'CONFIRMED' },
      { email: 'a@example.com', status: 'WAITLIST' },
    ]);
    await assertInvariants(event.id);
  });

  it('reactivating a cancelled registration whose email registered again → 409 already_registered', async () => {
    await newEvent('again', 5);
    const first = await registerFor('again', 'a@example.com');
    await call(cancelRegistration, { as: ORGANIZER, params: { slug: 'again', id: first.body.id } });
    expect((await registerFor('again', 'A@example.com')).status).toBe(201);
    const res = await call(updateRegistration, { as: ORGANIZER, params: { slug: 'again', id: first.body.id }, body: { status: 'CONFIRMED' } });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('already_registered');
    expect((await sql(`select spots_reserved from (${EVENT_COUNTERS}) as c`))[0]!.spots_reserved).toBe(1);
  });

  it('a mixed storm keeps invariants 1-3 and never answers 5xx', async () => {
    const event = await newEvent('storm', 20);
    const created: Result[] = [];
    const seed = await Promise.all(Array.from({ length: 40 }, (_, i) => registerFor('storm', `seed${i}@example.com`, 1 + (i % 3))));
    created.push(...seed);
    const pick = () => created[Math.floor(Math.random() * created.length)]!.body;
    const operations: Array<() => Promise<Result>> = [];
    for (let i = 0; i < 200; i++) {
      const kind = i % 6;
      if (kind === 0) operations.push(() => registerFor('storm', `storm${i}@example.com`, 1 + (i % 3)).then((r) => (created.push(r), r)));
      if (kind === 1) operations.push(() => { const r = pick(); return call(cancelRegistration, { params: { slug: 'storm', id: r.id }, query: { token: r.cancelToken } }); });
      if (kind === 2) operations.push(() => call(cancelRegistration, { as: ORGANIZER, params: { slug: 'storm', id: pick().id } }));
      if (kind === 3) operations.push(() => call(updateRegistration, { as: ORGANIZER, params: { slug: 'storm', id: pick().id }, body: { status: 'CONFIRMED' } }));
      if (kind === 4) operations.push(() => call(updateRegistration, { as: ORGANIZER, params: { slug: 'storm', id: pick().id }, body: { status: i % 4 ? 'WAITLIST' : 'CANCELLED' } }));
      if (kind === 5) operations.push(() => call(updateEvent, { as: ORGANIZER, params: { slug: 'storm' }, body: { capacity: 10 + (i % 25) } }));
    }
    const results = await Promise.all(operations.map((operation) => operation()));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    const codes = new Set(results.filter((r) => r.status >= 400).map((r) => r.body.code));
    for (const code of codes) expect(['capacity_exceeded', 'capacity_below_reserved', 'already_registered']).toContain(code);
    await assertInvariants(event.id);
    const stats = await call(eventStats, { as: ORGANIZER, params: { slug: 'storm' } });
    expect(stats.body.consistent).toBe(true);
  });
});

describe('organizer views and counter checks', () => {
  it('lists with a status filter and gives consistent stats; others get 403, anonymous 401', async () => {
    await newEvent('view', 2);
    await registerFor('view', 'a@example.com', 2);
    const waiter = await registerFor('view', 'b@example.com', 1);
    const all = await call(listRegistrations, { as: ORGANIZER, params: { slug: 'view' } });
    expect(all.body.items.map((r: { email: string }) => r.email)).toEqual(['a@example.com', 'b@example.com']);
    expect(all.body.items[0].cancelToken).toBeUndefined();
    const waiting = await call(listRegistrations, { as: ORGANIZER, params: { slug: 'view' }, query: { status: 'WAITLIST' } });
    expect(waiting.body.items).toEqual([expect.objectContaining({ id: waiter.body.id, waitlistPosition: 1 })]);
    expect((await call(listRegistrations, { as: 'stranger', params: { slug: 'view' } })).status).toBe(403);
    expect((await call(getRegistration, { params: { slug: 'view', id: waiter.body.id } })).status).toBe(401);
    expect((await call(getRegistration, { as: 'stranger', params: { slug: 'view', id: waiter.body.id } })).status).toBe(403);
    expect((await call(getRegistration, { params: { slug: 'view', id: 'not-a-uuid' }, query: { token: 'x' } })).status).toBe(400);
    const stats = await call(eventStats, { as: ORGANIZER, params: { slug: 'view' } });
    expect(stats.body).toEqual({
      capacity: 2, spotsReserved: 2, confirmedSpots: 2, waitlistSpots: 1, waitlistCount: 1, cancelledCount: 0, consistent: true,
    });
  });

  it('pages one registration at a time without repeating or skipping any', async () => {
    await newEvent('paged', 100);
    const created = await Promise.all(Array.from({ length: 7 }, (_, i) => registerFor('paged', `page${i}@example.com`)));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await call(listRegistrations, { as: ORGANIZER, params: { slug: 'paged' }, query: { limit: '1', ...(cursor && { cursor }) } });
      seen.push(...res.body.items.map((r: { id: string }) => r.id));
      cursor = res.body.nextCursor ?? undefined;
    } while (cursor && seen.length < 20);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(created.map((r) => r.body.id)));
  });

  it('finds corrupted counters, and repair fixes them and promotes the queue', async () => {
    const event = await newEvent('drift', 3);
    await registerFor('drift', 'a@example.com', 1);
    await registerFor('drift', 'b@example.com', 3);
    // Two spots counted that no registration holds, on a's shard (its quota raised with them, or the CHECK refuses).
    await sql(
      `update event_shards s set reserved = s.reserved + 2, quota = s.quota + 2
       from registrations r where r.email = 'a@example.com' and s.event_id = r.event_id and s.shard = r.shard`,
    );
    expect((await call(eventStats, { as: ORGANIZER, params: { slug: 'drift' } })).body.consistent).toBe(false);
    const found = await checkEventCounters(database(), { repair: false });
    expect(found).toEqual([expect.objectContaining({ eventId: event.id, spotsReserved: 3, confirmedSpots: 1, repaired: false })]);
    expect((await sql(`select spots_reserved from (${EVENT_COUNTERS}) as c`))[0]!.spots_reserved).toBe(3);
    const repaired = await checkEventCounters(database(), { repair: true });
    expect(repaired).toEqual([expect.objectContaining({ eventId: event.id, repaired: true })]);
    expect(await checkEventCounters(database(), { repair: false })).toEqual([]);
    // With the counter back at 1, b (3 spots) still does not fit capacity 3 - 1: it keeps waiting.
    await assertInvariants(event.id);
  });
});

describe('a guessed token holds no lock', () => {
  it('with the event row held elsewhere, DELETE and GET with a wrong token answer 404 at once', async () => {
    const event = await newEvent('held', 10);
    const registered = await registerFor('held', 'held@example.com');
    const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    const holdMs = 3_000;
    try {
      await holder.query('begin');
      await holder.query('select 1 from events where id = $1 for update', [event.id]);
      // Held until both answered, or for holdMs: a request waiting for the lock answers only after that.
      const hold = new AbortController();
      const released = sleep(holdMs, undefined, { signal: hold.signal }).catch(() => undefined).then(() => holder.query('commit'));
      const guess = { params: { slug: 'held', id: registered.body.id }, query: { token: 'guess' } };
      const started = performance.now();
      const timed = async (answer: Promise<Result>) => ({ status: (await answer).status, fast: performance.now() - started < holdMs / 3 });
      const answers = await Promise.all([timed(call(cancelRegistration, guess)), timed(call(getRegistration, guess))]);
      hold.abort();
      await released;
      expect(answers).toEqual([{ status: 404, fast: true }, { status: 404, fast: true }]);
    } finally {
      await holder.end();
    }
    expect((await sql(`select status from registrations where id = $1`, [registered.body.id]))[0]!.status).toBe('CONFIRMED');
  });
});
