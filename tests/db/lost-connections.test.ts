import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { LambdaHandler } from '../../src/http/route';
import { AFTER_LOST_CONNECTION } from '../../src/db/retry';
import { call } from '../helpers/api';
import { emptyTables, sqlClient } from '../helpers/sql';
import { startTcpHop } from '../helpers/tcp-hop';

/**
 * Issue 18, items 6 and 9: one warm Lambda instance (a pool of one connection) whose connection to the database
 * breaks under a request. The backstop's 503 must free the connection for the next request, and retries after a
 * lost connection must back off by at least a floor instead of hammering a server that is coming back.
 */
const realUrl = process.env.DATABASE_URL!;
const sql = sqlClient();
const hop = await startTcpHop({ host: new URL(realUrl).hostname, port: Number(new URL(realUrl).port) });
// Before the app reads its configuration: the handlers are imported below, after this.
process.env.DATABASE_URL = hop.through(realUrl);
process.env.DATABASE_POOL_MAX = '1';
const { handler: createEvent } = (await import('../../functions/events-create')) as { handler: LambdaHandler };
const { handler: register } = (await import('../../functions/registrations-create')) as { handler: LambdaHandler };
const { handler: cancel } = (await import('../../functions/registrations-cancel')) as { handler: LambdaHandler };
const { closeDatabase } = await import('../../src/db/client');
afterAll(() => hop.close());

/** Time left in the invocation: the database gets 1,000 ms with the default 500 ms margin. */
const REMAINING_MS = 1_500;

beforeEach(async () => {
  hop.refuse(false);
  await emptyTables(sql, 'events', 'users', 'slug_counters', 'idempotency_keys');
  expect((await call(createEvent, { as: 'lost-organizer', body: { name: 'Lost', slug: 'lost', startsAt: '2027-07-01T10:00:00Z', capacity: 10 } })).status).toBe(201);
});

/** Gaps between the connection attempts that reached the hop since `from`. */
const gapsSince = (from: number) => hop.arrivals.slice(from).slice(1).map((at, i) => at - hop.arrivals[from + i]!);

describe('a warm instance whose connection breaks under a request', () => {
  it('frees a stalled connection when the backstop answers: the next request on the instance gets a new one', async () => {
    hop.stall(); // The pool's only connection goes silent: no answer, no error, ever.
    const stalled = await call(register, { params: { slug: 'lost' }, body: { name: 'Stalled', email: 'stalled@example.com' }, remainingMs: REMAINING_MS });
    expect(stalled.status).toBe(503);

    const next = await call(register, { params: { slug: 'lost' }, body: { name: 'Next', email: 'next@example.com' }, remainingMs: REMAINING_MS });
    expect(next.status).toBe(201);
    expect(await sql(`select email from registrations`)).toEqual([{ email: 'next@example.com' }]);
  });

  it('resends a keyed registration after a lost connection only after a backoff of at least the floor', async () => {
    await closeDatabase();
    hop.refuse(true);
    const from = hop.arrivals.length;
    const res = await call(register, { params: { slug: 'lost' }, body: { name: 'Keyed', email: 'keyed@example.com' }, key: 'lost-key', remainingMs: REMAINING_MS });
    expect(res.status).toBe(503);
    const gaps = gapsSince(from);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    // Timers may fire a millisecond early.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(AFTER_LOST_CONNECTION.floorMs - 2);
  });

  it('retries a transaction after a lost connection only after a backoff of at least the floor, within the deadline', async () => {
    const registered = await call(register, { params: { slug: 'lost' }, body: { name: 'Leaving', email: 'leaving@example.com' } });
    expect(registered.status).toBe(201);
    await closeDatabase();
    hop.refuse(true);
    const from = hop.arrivals.length;
    const started = performance.now();
    const res = await call(cancel, { params: { slug: 'lost', id: registered.body.id }, query: { token: registered.body.cancelToken }, remainingMs: REMAINING_MS });
    expect(res.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(REMAINING_MS);
    const gaps = gapsSince(from);
    expect(gaps.length).toBeGreaterThanOrEqual(2);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(AFTER_LOST_CONNECTION.floorMs - 2);
  });
});
