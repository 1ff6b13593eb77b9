import { beforeEach, describe, expect, it } from 'vitest';
import { handler as createCard } from '../../functions/cards-create';
import { handler as createEvent } from '../../functions/events-create';
import { handler as updateEvent } from '../../functions/events-update';
import { handler as register } from '../../functions/registrations-create';
import { handler as listRegistrations } from '../../functions/registrations-list';
import { handler as updateRegistration } from '../../functions/registrations-update';
import { handler as createTeam } from '../../functions/teams-create';
import { MAX_BODY_BYTES } from '../../src/contract/input';
import { SLUG_MAX_LENGTH, SLUG_PATTERN } from '../../src/slug/slug';
import { call } from '../helpers/api';
import { emptyTables, sqlClient } from '../helpers/sql';

/** Regressions for the classes of input issue 11 found; each ran into a 500 or a stuck queue before its fix. */
const sql = sqlClient();
const ORGANIZER = 'organizer';
const count = async (table: string) => Number((await sql(`select count(*) from ${table}`))[0]!.count);

async function newEvent(slug: string, capacity: number | null) {
  const res = await call(createEvent, { as: ORGANIZER, body: { name: `Event ${slug}`, slug, startsAt: '2027-04-01T10:00:00Z', capacity } });
  expect(res.status).toBe(201);
  return res.body as { id: string; slug: string };
}

const registerFor = (slug: string, email: string, spots = 1) =>
  call(register, { params: { slug }, body: { name: `Person ${email}`, email, spots } });

beforeEach(async () => {
  await emptyTables(sql, 'events', 'slug_counters', 'users');
});

describe('deeply nested bodies', () => {
  it('20,000 levels of [ under the body limit → 400 validation_failed, nothing written', async () => {
    await newEvent('deep', 10);
    const body = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    const res = await call(register, { params: { slug: 'deep' }, body });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body.code).toBe('validation_failed');
    expect(await count('registrations')).toBe(0);
  });

  it('nesting inside an object field and under a key → 400 with the field path', async () => {
    await newEvent('deep-field', 10);
    const nested = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    const res = await call(register, { params: { slug: 'deep-field' }, body: `{"name":"x","email":"x@example.com","extra":${nested}}` });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toMatch(/^extra\.a\.a/);
  });
});

describe('slug numbering for long names', () => {
  const titleA = `${'a'.repeat(58)}xy`;
  const titleB = `${'a'.repeat(58)}zz`;

  it('22 cards of one 60-character title, then 5 of another sharing 58 characters: all 201, distinct valid slugs', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++) statuses.push((await call(createCard, { as: 'carder', body: { title: titleA } })).status);
    for (let i = 0; i < 5; i++) statuses.push((await call(createCard, { as: 'carder', body: { title: titleB } })).status);
    expect(statuses).toEqual(Array(27).fill(201));
    const slugs = (await sql<{ slug: string }>('select slug from cards')).map((row) => row.slug);
    expect(new Set(slugs).size).toBe(27);
    for (const slug of slugs) {
      expect(slug.length).toBeLessThanOrEqual(SLUG_MAX_LENGTH);
      expect(slug).toMatch(SLUG_PATTERN);
    }
  });

  it('explicit slugs that take the numbered forms of a long name cannot block it; neither can huge numbers', async () => {
    const name = `${'b'.repeat(70)}`;
    expect((await call(createEvent, { as: ORGANIZER, body: { name, startsAt: '2027-04-01T10:00:00Z', capacity: 1 } })).status).toBe(201);
    const second = await call(createEvent, { as: ORGANIZER, body: { name, startsAt: '2027-04-01T10:00:00Z', capacity: 1 } });
    expect(second.status).toBe(201);
    const stem = second.body.slug.replace(/-\d+$/, '');
    // Someone takes the next 25 numbers and one near the counter's end on purpose.
    for (const n of [...Array.from({ length: 25 }, (_, i) => i + 3), 999_999_999_999_999]) {
      const res = await call(createEvent, {
        as: 'squatter',
        body: { name: 'squat', slug: `${stem}-${n}`, startsAt: '2027-04-01T10:00:00Z', capacity: 1 },
      });
      expect(res.status).toBe(201);
    }
    const after = await Promise.all(
      Array.from({ length: 10 }, () => call(createEvent, { as: ORGANIZER, body: { name, startsAt: '2027-04-01T10:00:00Z', capacity: 1 } })),
    );
    expect(after.map((res) => res.status)).toEqual(Array(10).fill(201));
    for (const res of after) {
      expect(res.body.slug.length).toBeLessThanOrEqual(SLUG_MAX_LENGTH);
      expect(res.body.slug).toMatch(SLUG_PATTERN);
    }
    expect(await count('events')).toBe(2 + 26 + 10);
  });

  it('teams share the allocator: 30 concurrent teams of two long names, all 201', async () => {
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => call(createTeam, { as: `owner-${i}`, body: { name: i % 2 ? titleA : titleB } })),
    );
    expect(responses.map((res) => res.status)).toEqual(Array(30).fill(201));
    expect(new Set(responses.map((res) => res.body.slug)).size).toBe(30);
  });
});

describe('a capacity below a waiting registration', () => {
  it('→ 409 capacity_below_waiting and nothing changes; a capacity that fits the waiting registration is taken', async () => {
    const event = await newEvent('squeeze', 10);
    expect((await registerFor('squeeze', 'a@example.com', 3)).body.status).toBe('CONFIRMED');
    const waiting = await registerFor('squeeze', 'b@example.com', 8);
    expect(waiting.body.status).toBe('WAITLIST');
    // 7 holds the 3 reserved spots, but the 8 waiting ones could never be promoted.
    const refused = await call(updateEvent, { as: ORGANIZER, params: { slug: 'squeeze' }, body: { capacity: 7 } });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('capacity_below_waiting');
    expect((await sql('select capacity from events where id = $1', [event.id]))[0]!.capacity).toBe(10);
    const accepted = await call(updateEvent, { as: ORGANIZER, params: { slug: 'squeeze' }, body: { capacity: 11 } });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ spotsReserved: 11, waitlistCount: 0 });
  });

  it('a cancelled registration larger than a lowered capacity cannot rejoin the waitlist (409 capacity_exceeded)', async () => {
    await newEvent('rejoin', 10);
    const big = await registerFor('rejoin', 'big@example.com', 6);
    await call(updateRegistration, { as: ORGANIZER, params: { slug: 'rejoin', id: big.body.id }, body: { status: 'CANCELLED' } });
    expect((await call(updateEvent, { as: ORGANIZER, params: { slug: 'rejoin' }, body: { capacity: 4 } })).status).toBe(200);
    const res = await call(updateRegistration, { as: ORGANIZER, params: { slug: 'rejoin', id: big.body.id }, body: { status: 'WAITLIST' } });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('capacity_exceeded');
    expect((await sql(`select status from registrations where id = $1`, [big.body.id]))[0]!.status).toBe('CANCELLED');
  });
});

describe('registration pages during a rush', () => {
  it('pages read while 120 registrations commit never skip or repeat a row that existed when paging began', async () => {
    await newEvent('rush', null);
    for (let i = 0; i < 30; i++) await registerFor('rush', `early-${i}@example.com`);
    const existing = new Set((await sql<{ id: string }>('select id from registrations')).map((row) => row.id));
    const rush = Promise.all(Array.from({ length: 120 }, (_, i) => registerFor('rush', `late-${i}@example.com`)));
    expect(existing.size).toBe(30);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await call(listRegistrations, { as: ORGANIZER, params: { slug: 'rush' }, query: { limit: '7', ...(cursor && { cursor }) } });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor);
    expect((await rush).map((res) => res.status)).toEqual(Array(120).fill(201));
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
    // Queue order is commit order: every row listed after a page is newer than every row on it.
    const order = await sql<{ id: string }>(`select id from registrations order by created_at, id`);
    expect(seen).toEqual(order.map((row) => row.id).slice(0, seen.length));
  });
});
