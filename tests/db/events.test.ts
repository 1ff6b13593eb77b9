import { beforeEach, describe, expect, it } from 'vitest';
import { handler as createEvent } from '../../functions/events-create';
import { handler as deleteEvent } from '../../functions/events-delete';
import { handler as getEvent } from '../../functions/events-get';
import { handler as listEvents } from '../../functions/events-list';
import { handler as updateEvent } from '../../functions/events-update';
import { slugAllocationStats } from '../../src/slug/allocate';
import { call } from '../helpers/api';
import { emptyTables, sqlClient } from '../helpers/sql';

const sql = sqlClient();
const startsAt = '2027-03-01T18:00:00Z';
const newEvent = (name: string, extra: Record<string, unknown> = {}) => ({ name, startsAt, capacity: 50, ...extra });
const count = async (table: string) => Number((await sql(`select count(*) from ${table}`))[0]!.count);

beforeEach(async () => {
  await emptyTables(sql, 'events', 'slug_counters', 'users');
});

describe('POST /events', () => {
  it('creates an event with a slug derived from the name', async () => {
    const res = await call(createEvent, { as: 'alice', body: newEvent('Node Meetup: Spring', { location: 'Berlin' }) });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      slug: 'node-meetup-spring',
      name: 'Node Meetup: Spring',
      location: 'Berlin',
      startsAt: '2027-03-01T18:00:00.000Z',
      endsAt: null,
      capacity: 50,
      spotsReserved: 0,
      spotsLeft: 50,
      waitlistCount: 0,
      maxSpotsPerRegistration: 10,
      status: 'OPEN',
      teamId: null,
    });
    const [organizer] = await sql('select id from users where sub = $1', ['alice']);
    expect(res.body.organizerId).toBe(organizer!.id);
  });

  it('100 concurrent creates with one name: all 201, slugs name, name-2 … name-100, ≤ 2 insert attempts each', async () => {
    const before = { ...slugAllocationStats };
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(createEvent, { as: `racer-${i % 10}`, body: newEvent('Race Night') })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(201));
    const rows = await sql<{ slug: string }>(`select slug from events order by slug`);
    expect(rows).toHaveLength(100);
    const expected = ['race-night', ...Array.from({ length: 99 }, (_, i) => `race-night-${i + 2}`)].sort();
    expect(rows.map((r) => r.slug)).toEqual(expected);
    expect(new Set(responses.map((r) => r.body.slug)).size).toBe(100);
    const attempts = slugAllocationStats.insertAttempts - before.insertAttempts;
    const creates = slugAllocationStats.allocations - before.allocations;
    expect(creates).toBe(100);
    expect(attempts / creates).toBeLessThanOrEqual(2);
  });

  it('numbers past slugs someone took explicitly, in one query', async () => {
    for (const slug of ['fest', 'fest-2', 'fest-3', 'fest-40']) {
      expect((await call(createEvent, { as: 'alice', body: newEvent('Other', { slug }) })).status).toBe(201);
    }
    const res = await call(createEvent, { as: 'alice', body: newEvent('Fest') });
    expect(res.body.slug).toBe('fest-41');
  });

  it('an explicit slug that is taken is refused with 409 slug_taken and nothing is written', async () => {
    await call(createEvent, { as: 'alice', body: newEvent('First', { slug: 'my-event' }) });
    const res = await call(createEvent, { as: 'bob', body: newEvent('Second', { slug: 'my-event' }) });
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 409, code: 'slug_taken', errors: [{ path: 'slug' }] });
    expect(await count('events')).toBe(1);
  });

  it('refuses invalid and reserved explicit slugs with 400 and never alters them', async () => {
    for (const slug of ['Has Spaces', 'trailing-', 'admin', 'x'.repeat(61), '']) {
      const res = await call(createEvent, { as: 'alice', body: newEvent('Valid name', { slug }) });
      expect(res.status, slug).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors[0].path).toBe('slug');
    }
    expect(await count('events')).toBe(0);
  });

  it('never uses a reserved word as a derived slug', async () => {
    const first = await call(createEvent, { as: 'alice', body: newEvent('New') });
    const second = await call(createEvent, { as: 'alice', body: newEvent('NEW!') });
    expect([first.body.slug, second.body.slug]).toEqual(['new-2', 'new-3']);
  });

  it('gives a random slug when the name yields nothing usable', async () => {
    const res = await call(createEvent, { as: 'alice', body: newEvent('東京の会') });
    expect(res.status).toBe(201);
    expect(res.body.slug).toMatch(/^[a-z0-9]{10}$/);
  });

  it.each([
    ['bad JSON', '{"name": "x",', 'invalid_json'],
    ['wrong types', { name: 42, startsAt: 'tomorrow', capacity: '10' }, 'validation_failed'],
    ['out of range', newEvent('Big one', { capacity: 1_000_001 }), 'validation_failed'],
    ['negative capacity', newEvent('Small one', { capacity: -1 }), 'validation_failed'],
    ['ends before start', newEvent('Backwards', { endsAt: '2027-03-01T17:00:00Z' }), 'validation_failed'],
    ['unknown field', newEvent('Typo', { capcity: 3 }), 'validation_failed'],
    ['short name', newEvent('ab'), 'validation_failed'],
    ['array body', [1, 2], 'validation_failed'],
  ])('%s → 400 and nothing written', async (_, body, code) => {
    const res = await call(createEvent, { as: 'alice', body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(code);
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(await count('events')).toBe(0);
  });

  it.each([
    ['a NUL byte in the name', newEvent('Nul\u0000byte'), 'name'],
    ['a NUL byte in a nested field', newEvent('Fine', { location: 'Room \u0000' }), 'location'],
    ['year 0', newEvent('Ancient', { startsAt: '0000-06-01T00:00:00Z' }), 'startsAt'],
    ['past year 9999 after the offset', newEvent('Future', { startsAt: '9999-12-31T23:00:00-05:00' }), 'startsAt'],
  ])('%s → 400 with the field, nothing written', async (_, body, path) => {
    const res = await call(createEvent, { as: 'alice', body });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe(path);
    expect(await count('events')).toBe(0);
  });

  it('a NUL byte in a path parameter → 400', async () => {
    const res = await call(getEvent, { params: { slug: 'a\u0000' } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('path.slug');
  });

  it('a body over 64 KiB → 413 and nothing written', async () => {
    const res = await call(createEvent, { as: 'alice', body: newEvent('Huge', { description: 'x'.repeat(70_000) }) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(await count('events')).toBe(0);
  });
});

describe('GET /events and /events/{slug}', () => {
  it('lists OPEN events soonest first, with a working cursor', async () => {
    const dates = ['2027-05-01', '2027-01-01', '2027-03-01', '2027-02-01', '2027-04-01'];
    for (const [i, day] of dates.entries()) {
      await call(createEvent, { as: 'alice', body: newEvent(`Event ${i}`, { startsAt: `${day}T10:00:00Z` }) });
    }
    await call(updateEvent, { as: 'alice', params: { slug: 'event-3' }, body: { status: 'CLOSED' } });
    const first = await call(listEvents, { query: { limit: '2' } });
    expect(first.status).toBe(200);
    expect(first.body.items.map((e: { slug: string }) => e.slug)).toEqual(['event-1', 'event-2']);
    const second = await call(listEvents, { query: { limit: '2', cursor: first.body.nextCursor } });
    expect(second.body.items.map((e: { slug: string }) => e.slug)).toEqual(['event-4', 'event-0']);
    expect(second.body.nextCursor).toBeNull();
  });

  it('rejects a bad limit or cursor with 400', async () => {
    expect((await call(listEvents, { query: { limit: '0' } })).status).toBe(400);
    expect((await call(listEvents, { query: { limit: '101' } })).status).toBe(400);
    expect((await call(listEvents, { query: { cursor: 'garbage' } })).body.code).toBe('validation_failed');
  });

  it('404 for an unknown slug', async () => {
    const res = await call(getEvent, { params: { slug: 'nope' } });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });
});

describe('PATCH and DELETE /events/{slug}', () => {
  it('lets the organizer change fields; others get 403, unknown events 404', async () => {
    await call(createEvent, { as: 'alice', body: newEvent('Editable') });
    const patched = await call(updateEvent, {
      as: 'alice',
      params: { slug: 'editable' },
      body: { name: 'Edited', capacity: null, location: 'Online' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Edited', capacity: null, spotsLeft: null, slug: 'editable' });
    const byOther = await call(updateEvent, { as: 'mallory', params: { slug: 'editable' }, body: { name: 'Hacked' } });
    expect(byOther.status).toBe(403);
    expect(byOther.body.code).toBe('forbidden');
    expect((await call(updateEvent, { as: 'alice', params: { slug: 'missing' }, body: { name: 'x y z' } })).status).toBe(404);
    const [row] = await sql('select name from events');
    expect(row!.name).toBe('Edited');
  });

  it('refuses a capacity below spotsReserved with 409 capacity_below_reserved', async () => {
    await call(createEvent, { as: 'alice', body: newEvent('Busy') });
    // 30 spots taken: 6 on each of shards 0 to 4 (a capacity of 50 gives each shard a quota of 6 or 7).
    await sql(`update event_shards set reserved = 6 where event_id = (select id from events where slug = 'busy') and shard < 5`);
    const res = await call(updateEvent, { as: 'alice', params: { slug: 'busy' }, body: { capacity: 29 } });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('capacity_below_reserved');
    expect((await sql(`select capacity from events`))[0]!.capacity).toBe(50);
    expect((await call(updateEvent, { as: 'alice', params: { slug: 'busy' }, body: { capacity: 30 } })).status).toBe(200);
  });

  it('refuses endsAt before the stored startsAt with 400', async () => {
    await call(createEvent, { as: 'alice', body: newEvent('Timed') });
    const res = await call(updateEvent, { as: 'alice', params: { slug: 'timed' }, body: { endsAt: '2027-01-01T00:00:00Z' } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('endsAt');
  });

  it('renames the slug only to a free one', async () => {
    await call(createEvent, { as: 'alice', body: newEvent('One') });
    await call(createEvent, { as: 'alice', body: newEvent('Two') });
    const taken = await call(updateEvent, { as: 'alice', params: { slug: 'two' }, body: { slug: 'one' } });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('slug_taken');
    const renamed = await call(updateEvent, { as: 'alice', params: { slug: 'two' }, body: { slug: 'second' } });
    expect(renamed.body.slug).toBe('second');
  });

  it('deletes for the organizer only', async () => {
    await call(createEvent, { as: 'alice', body: newEvent('Doomed') });
    expect((await call(deleteEvent, { as: 'bob', params: { slug: 'doomed' } })).status).toBe(403);
    expect((await call(deleteEvent, { params: { slug: 'doomed' } })).status).toBe(401);
    const res = await call(deleteEvent, { as: 'alice', params: { slug: 'doomed' } });
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(await count('events')).toBe(0);
    expect((await call(deleteEvent, { as: 'alice', params: { slug: 'doomed' } })).status).toBe(404);
  });
});
