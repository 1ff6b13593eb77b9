import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as createEvent } from '../../functions/events-create';
import { handler as cancelRegistration } from '../../functions/registrations-cancel';
import { handler as register } from '../../functions/registrations-create';
import { handler as getRegistration } from '../../functions/registrations-get';
import { handler as listRegistrations } from '../../functions/registrations-list';
import { call } from '../helpers/api';
import { assertEventInvariants } from '../helpers/invariants';
import { emptyTables, sqlClient } from '../helpers/sql';

/** What a ticket drop needs beyond the counters: arrival order clients can see, and locks nobody can hold for free. */
const sql = sqlClient();
const ORGANIZER = 'organizer';

async function newEvent(slug: string, capacity: number | null) {
  const res = await call(createEvent, { as: ORGANIZER, body: { name: `Event ${slug}`, slug, startsAt: '2027-04-01T10:00:00Z', capacity } });
  expect(res.status).toBe(201);
  return res.body as { id: string; slug: string };
}

const registerFor = (slug: string, email: string, spots = 1) =>
  call(register, { params: { slug }, body: { name: `Person ${email}`, email, spots } });

/** Another session holding the event's row lock, as a long transaction on the hot row would. */
async function holdEventRow(eventId: string): Promise<{ release: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('begin');
  await client.query('select 1 from events where id = $1 for update', [eventId]);
  return {
    release: async () => {
      await client.query('rollback');
      await client.end();
    },
  };
}

beforeEach(async () => {
  await emptyTables(sql, 'events', 'slug_counters', 'users');
});

describe('a ticket drop', () => {
  it('createdAt follows the queue order the list returns, through a rush that fills the waitlist', async () => {
    const event = await newEvent('rush', 10);
    await Promise.all(Array.from({ length: 120 }, (_, i) => registerFor('rush', `r${i}@example.com`)));
    const seen: Array<{ createdAt: string; status: string }> = [];
    let cursor: string | undefined;
    do {
      const page = await call(listRegistrations, { as: ORGANIZER, params: { slug: 'rush' }, query: { limit: '100', ...(cursor && { cursor }) } });
      seen.push(...page.body.items);
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toHaveLength(120);
    expect(seen.filter((r) => r.status === 'WAITLIST')).toHaveLength(110);
    const times = seen.map((r) => r.createdAt);
    expect(times).toEqual([...times].sort());
    await assertEventInvariants(sql, event.id);
  });

  it('a wrong cancel token answers 404 at once while the event row is locked: a guess holds no lock and waits for none', async () => {
    const event = await newEvent('guarded', 5);
    const mine = await registerFor('guarded', 'mine@example.com');
    const hold = await holdEventRow(event.id);
    try {
      const started = performance.now();
      const [cancel, view] = await Promise.all([
        call(cancelRegistration, { params: { slug: 'guarded', id: mine.body.id }, query: { token: 'guess' } }),
        call(getRegistration, { params: { slug: 'guarded', id: mine.body.id }, query: { token: 'guess' } }),
      ]);
      expect([cancel.status, view.status]).toEqual([404, 404]);
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      await hold.release();
    }
    expect((await sql(`select status from registrations where id = $1`, [mine.body.id]))[0]!.status).toBe('CONFIRMED');
  });
});

