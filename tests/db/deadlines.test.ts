import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as createEvent } from '../../functions/events-create';
import { handler as updateEvent } from '../../functions/events-update';
import { handler as cancelRegistration } from '../../functions/registrations-cancel';
import { handler as register } from '../../functions/registrations-create';
import { sql as statement } from 'drizzle-orm';
import { connection, database } from '../../src/db/client';
import { withDeadline } from '../../src/db/deadline';
import { toLockstepError } from '../../src/db/errors';
import { transaction } from '../../src/db/transaction';
import { call, type Call, type Result } from '../helpers/api';
import { EVENT_COUNTERS } from '../helpers/invariants';
import { emptyTables, sqlClient } from '../helpers/sql';

/**
 * Every request answers before its function's deadline. The event row and its shards are held by another connection
 * for longer than the deadline allows: the request must answer 503 database_unavailable with Retry-After in time, and
 * once they are released nothing it did may appear.
 */
const sql = sqlClient();
const ORGANIZER = 'deadline-organizer';
/** Time left in the invocation; with the default 500 ms margin the database gets 700 ms. */
const REMAINING_MS = 1_200;

let blocker: pg.Client | undefined;

beforeEach(async () => {
  await emptyTables(sql, 'events', 'slug_counters', 'users', 'idempotency_keys', 'teams');
});

afterEach(async () => {
  await blocker?.end();
  blocker = undefined;
});

async function seedEvent(slug: string): Promise<{ id: string }> {
  const res = await call(createEvent, { as: ORGANIZER, body: { name: `Deadline ${slug}`, slug, startsAt: '2027-05-01T10:00:00Z', capacity: 10 } });
  expect(res.status).toBe(201);
  return res.body;
}

/**
 * Another session locks the event row and its shards (what registrations lock) in an open transaction, as a long
 * transaction of any client would.
 */
async function holdEventRow(eventId: string): Promise<pg.Client> {
  blocker = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await blocker.connect();
  await blocker.query('begin');
  await blocker.query('select 1 from events where id = $1 for update', [eventId]);
  await blocker.query('select 1 from event_shards where event_id = $1 order by shard for update', [eventId]);
  return blocker;
}

async function timed(request: Promise<Result>): Promise<{ res: Result; ms: number }> {
  const started = performance.now();
  const res = await request;
  return { res, ms: performance.now() - started };
}

const state = async (eventId: string) =>
  (await sql(
    `select c.spots_reserved, c.waitlist_count, c.capacity,
       (select count(*)::int from registrations r where r.event_id = c.id) as registrations,
       (select count(*)::int from idempotency_keys) as keys
     from (${EVENT_COUNTERS}) c where c.id = $1`,
    [eventId],
  ))[0];

function expectUnavailableInTime({ res, ms }: { res: Result; ms: number }) {
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(res.headers['retry-after']).toBe('1');
  expect(res.body.code).toBe('database_unavailable');
  expect(ms).toBeLessThan(REMAINING_MS);
}

describe('a request whose database work cannot finish before the deadline', () => {
  const cases: Array<[string, (slug: string, registrationId: string, token: string) => Call & { handler: typeof register }]> = [
    ['a registration', (slug) => ({ handler: register, params: { slug }, body: { name: 'Late', email: 'late@example.com' } })],
    ['a keyed registration (one statement)', (slug) => ({ handler: register, params: { slug }, body: { name: 'Late', email: 'late@example.com' }, key: 'late-key' })],
    ['a capacity change (transaction)', (slug) => ({ handler: updateEvent, as: ORGANIZER, params: { slug }, body: { capacity: 20 } })],
    ['a keyed cancellation (transaction with a claimed key)', (slug, id, token) => ({ handler: cancelRegistration, params: { slug, id }, query: { token }, key: 'late-cancel' })],
  ];

  for (const [name, build] of cases) {
    it(`${name}: 503 database_unavailable with Retry-After before the deadline, nothing committed after`, async () => {
      const slug = `late-${cases.findIndex(([n]) => n === name)}`;
      const event = await seedEvent(slug);
      const existing = await call(register, { params: { slug }, body: { name: 'Early', email: 'early@example.com' } });
      expect(existing.status).toBe(201);
      const before = await state(event.id);
      const holder = await holdEventRow(event.id);
      const { handler, ...request } = build(slug, existing.body.id, existing.body.cancelToken);

      expectUnavailableInTime(await timed(call(handler, { ...request, remainingMs: REMAINING_MS })));
      // No lock outlives the answer: the intake's admission lock is the session's, and a pooled connection lives on.
      // A transaction's own locks go with its abort, which Postgres runs just after reporting the error: waited for.
      const held = `select count(*)::int as held from pg_locks
        where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`;
      await vi.waitFor(async () => expect(await sql(held)).toEqual([{ held: 0 }]), { timeout: 2_000, interval: 50 });

      // Released only after the answer: anything still queued behind the lock would now go through.
      await holder.query('commit');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await state(event.id)).toEqual(before);
      expect(await sql('select status from registrations where id = $1', [existing.body.id])).toEqual([{ status: 'CONFIRMED' }]);

      // Nothing was stored under a key either: the same request now runs as new.
      const retried = await call(handler, request);
      expect(retried.status).toBeLessThan(300);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
    });
  }

  it('a pool checkout that cannot get a connection in time: 503 with Retry-After, nothing ran', async () => {
    const event = await seedEvent('exhausted');
    const before = await state(event.id);
    // Take every connection the app's pool may open.
    const { pool } = connection();
    const taken = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
    try {
      expectUnavailableInTime(
        await timed(call(register, { params: { slug: 'exhausted' }, body: { name: 'Nobody', email: 'nobody@example.com' }, remainingMs: REMAINING_MS })),
      );
    } finally {
      for (const client of taken) client.release();
    }
    expect(await state(event.id)).toEqual(before);
    expect((await call(register, { params: { slug: 'exhausted' }, body: { name: 'Nobody', email: 'nobody@example.com' } })).status).toBe(201);
  });

  it('a transaction whose statements each finish in time but which as a whole outlasts the deadline never commits', async () => {
    // What bounds a transaction where PostgreSQL (before 17) has no transaction_timeout: no COMMIT past the deadline.
    const event = await seedEvent('slow-transaction');
    const failed = await withDeadline(Date.now() + 300, () =>
      transaction(database(), async (tx) => {
        await tx.execute(statement`update events set capacity = 99 where id = ${event.id}`);
        await new Promise((resolve) => setTimeout(resolve, 350));
      }),
    ).then(
      () => undefined,
      (err: unknown) => toLockstepError(err).code,
    );
    expect(failed).toBe('database_unavailable');
    expect(await sql('select capacity from events where id = $1', [event.id])).toEqual([{ capacity: 10 }]);
  });
});
