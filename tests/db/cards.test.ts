import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as createCard } from '../../functions/cards-create';
import { handler as deleteCard } from '../../functions/cards-delete';
import { handler as getCard } from '../../functions/cards-get';
import { handler as getPublicCard } from '../../functions/cards-get-public';
import { handler as replaceLinks } from '../../functions/cards-links-replace';
import { handler as listCards } from '../../functions/cards-list';
import { handler as setDefault } from '../../functions/cards-set-default';
import { handler as updateCard } from '../../functions/cards-update';
import { handler as getMe } from '../../functions/me-get';
import { handler as updateMe } from '../../functions/me-update';
import { call, type Result } from '../helpers/api';
import { emptyTables, sqlClient } from '../helpers/sql';

const sql = sqlClient();
/** What UNLISTED and PRIVATE cards get for a slug. */
const SECRET_SLUG = /^[0-9a-f]{32}$/;
const count = async (table: string) => Number((await sql(`select count(*) from ${table}`))[0]!.count);

const newCard = (as: string | undefined, body: Record<string, unknown> = {}) =>
  call(createCard, { as, body: { title: 'My Card', ...body } });

async function cardOf(as: string, body: Record<string, unknown> = {}): Promise<string> {
  const res = await newCard(as, body);
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Per user: how many cards, how many defaults, and whether the default is the oldest card. */
async function cardStates() {
  return sql<{ sub: string; cards: number; defaults: number; default_is_oldest: boolean | null }>(`
    select u.sub, count(c.id)::int as cards, count(c.id) filter (where c.is_default)::int as defaults,
      (select d.is_default from cards d where d.user_id = u.id order by d.created_at, d.id limit 1) as default_is_oldest
    from users u left join cards c on c.user_id = u.id group by u.id order by u.sub`);
}

const tally = (responses: Result[]) =>
  responses.reduce<Record<number, number>>((acc, { status }) => ({ ...acc, [status]: (acc[status] ?? 0) + 1 }), {});

const links = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ label: `${prefix}-${i}`, url: `https://example.com/${prefix}/${i}` }));

/**
 * Creates the user and opens all of the app pool's connections before a race: otherwise the first request runs
 * alone while the others wait for a connection or for the user row, and the race does not happen.
 */
const warmUp = (sub: string) => Promise.all(Array.from({ length: 20 }, () => call(getMe, { as: sub })));

beforeEach(async () => {
  await emptyTables(sql, 'users', 'slug_counters');
});

describe('POST /cards', () => {
  it('creates the first card as default with its links in order, the second as not default', async () => {
    const first = await newCard('alice', {
      title: 'Alice Dev',
      description: 'Backend things',
      visibility: 'UNLISTED',
      links: [
        { label: 'GitHub', url: 'https://github.com/alice' },
        { label: 'Blog', url: 'http://alice.example.org/posts?page=1#top' },
      ],
    });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: expect.any(String),
      slug: expect.stringMatching(SECRET_SLUG),
      title: 'Alice Dev',
      description: 'Backend things',
      visibility: 'UNLISTED',
      isDefault: true,
      links: [
        { id: expect.any(String), label: 'GitHub', url: 'https://github.com/alice', position: 0 },
        { id: expect.any(String), label: 'Blog', url: 'http://alice.example.org/posts?page=1#top', position: 1 },
      ],
      createdAt: expect.any(String),
      updatedAt: first.body.createdAt,
    });
    const second = await newCard('alice', { title: 'Alice Dev' });
    // The UNLISTED card took no title slug.
    expect(second.body).toMatchObject({ slug: 'alice-dev', visibility: 'PUBLIC', isDefault: false, links: [] });
    expect((await call(getMe, { as: 'alice' })).body.defaultCardId).toBe(first.body.id);
    expect(await cardStates()).toEqual([{ sub: 'alice', cards: 2, defaults: 1, default_is_oldest: true }]);
  });

  it('50 concurrent first cards of a new user: all 201, 50 cards, exactly one default, the oldest', async () => {
    // Distinct titles: one shared slug would queue the inserts on its unique index and hide the race.
    await warmUp('newcomer');
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => newCard('newcomer', { title: `Card ${i}`, links: links(`c${i}`, 3) })));
    expect(tally(responses)).toEqual({ 201: 50 });
    expect(responses.filter((r) => r.body.isDefault)).toHaveLength(1);
    expect(await cardStates()).toEqual([{ sub: 'newcomer', cards: 50, defaults: 1, default_is_oldest: true }]);
    const [oldest] = await sql(`select id from cards order by created_at, id limit 1`);
    expect((await call(getMe, { as: 'newcomer' })).body.defaultCardId).toBe(oldest!.id);
    expect(new Set(responses.map((r) => r.body.slug)).size).toBe(50);
  });
});

describe('races between create, delete and set-default', () => {
  it('3 storms of creates, set-defaults and deletes on five users: one default per user, a card left, no 5xx', async () => {
    const subs = ['u1', 'u2', 'u3', 'u4', 'u5'];
    const allowed = { create: [201], setDefault: [200, 404], delete: [204, 404, 409] };
    for (let round = 0; round < 3; round++) {
      await emptyTables(sql, 'users', 'slug_counters');
      const initial = new Map<string, string[]>();
      for (const sub of subs) initial.set(sub, [await cardOf(sub), await cardOf(sub), await cardOf(sub)]);
      await warmUp('u1');
      // Per card: two deletes, two switches of the default to it, one create; all users at once, shuffled.
      const ops = subs.flatMap((sub) =>
        initial.get(sub)!.flatMap((id) => [
          { kind: 'delete' as const, run: () => call(deleteCard, { as: sub, params: { id } }) },
          { kind: 'delete' as const, run: () => call(deleteCard, { as: sub, params: { id } }) },
          { kind: 'setDefault' as const, run: () => call(setDefault, { as: sub, params: { id } }) },
          { kind: 'setDefault' as const, run: () => call(setDefault, { as: sub, params: { id } }) },
          { kind: 'create' as const, run: () => newCard(sub) },
        ]),
      );
      ops.sort(() => Math.random() - 0.5);
      const results = await Promise.all(ops.map(async (op) => ({ kind: op.kind, res: await op.run() })));

      for (const { kind, res } of results) {
        expect(allowed[kind], `${kind} → ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
        if (res.status === 404) expect(res.body.code).toBe('not_found');
        if (res.status === 409) expect(res.body.code).toBe('last_card');
      }
      const states = await cardStates();
      expect(states).toHaveLength(subs.length);
      for (const state of states) {
        expect(state.cards, state.sub).toBeGreaterThanOrEqual(1);
        expect(state.defaults, state.sub).toBe(1);
      }
      // Every 201 added a card and every 204 removed one: nothing was lost or written twice.
      const answered = (kind: string, status: number) =>
        results.filter((r) => r.kind === kind && r.res.status === status).length;
      const total = states.reduce((sum, state) => sum + state.cards, 0);
      expect(total).toBe(subs.length * 3 + answered('create', 201) - answered('delete', 204));
    }
  });

  it('two concurrent deletes of the last two cards, 30 rounds: one 204, one 409 last_card, the survivor is default', async () => {
    for (let round = 0; round < 30; round++) {
      const sub = `pair-${round}`;
      const ids = [await cardOf(sub), await cardOf(sub)];
      if (round % 2) ids.reverse();
      if (round === 0) await warmUp(sub);
      const responses = await Promise.all(ids.map((id) => call(deleteCard, { as: sub, params: { id } })));
      expect(responses.map((r) => r.status).sort(), `round ${round}`).toEqual([204, 409]);
      expect(responses.find((r) => r.status === 409)!.body.code).toBe('last_card');
      const left = await sql(`select c.id, c.is_default from cards c join users u on u.id = c.user_id where u.sub = $1`, [sub]);
      expect(left, `round ${round}`).toEqual([{ id: expect.any(String), is_default: true }]);
      expect(ids).toContain(left[0]!.id);
    }
  });

  it('concurrent deletes of the default and switches of the default leave exactly one default', async () => {
    const ids = [await cardOf('sw'), await cardOf('sw'), await cardOf('sw'), await cardOf('sw')];
    await warmUp('sw');
    const responses = await Promise.all([
      call(deleteCard, { as: 'sw', params: { id: ids[0]! } }),
      ...ids.slice(1).map((id) => call(setDefault, { as: 'sw', params: { id } })),
      call(deleteCard, { as: 'sw', params: { id: ids[1]! } }),
    ]);
    for (const res of responses) expect([200, 204, 404]).toContain(res.status);
    expect(await cardStates()).toEqual([expect.objectContaining({ cards: 2, defaults: 1 })]);
  });
});

describe('POST /cards/{id}/default and DELETE /cards/{id}', () => {
  it('switches the default; GET /me and PATCH /me report it', async () => {
    const [a, b] = [await cardOf('bob'), await cardOf('bob')];
    const res = await call(setDefault, { as: 'bob', params: { id: b } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: b, isDefault: true });
    expect((await call(getCard, { as: 'bob', params: { id: a } })).body.isDefault).toBe(false);
    expect((await call(getMe, { as: 'bob' })).body.defaultCardId).toBe(b);
    expect((await call(updateMe, { as: 'bob', body: { displayName: 'Bob' } })).body).toMatchObject({
      displayName: 'Bob',
      defaultCardId: b,
    });
    expect((await call(setDefault, { as: 'bob', params: { id: b } })).body.isDefault).toBe(true);
    expect(await cardStates()).toEqual([expect.objectContaining({ cards: 2, defaults: 1 })]);
  });

  it('deleting the default hands it to the oldest remaining card; the last card is kept with 409', async () => {
    const [a, b, c] = [await cardOf('carol'), await cardOf('carol'), await cardOf('carol')];
    await call(setDefault, { as: 'carol', params: { id: c } });
    expect((await call(deleteCard, { as: 'carol', params: { id: c } })).status).toBe(204);
    const after = await sql(`select id from cards where is_default`);
    expect(after).toEqual([{ id: a }]);
    expect((await call(deleteCard, { as: 'carol', params: { id: a } })).status).toBe(204);
    expect(await sql(`select id from cards where is_default`)).toEqual([{ id: b }]);
    const last = await call(deleteCard, { as: 'carol', params: { id: b } });
    expect(last.status).toBe(409);
    expect(last.body).toMatchObject({ status: 409, code: 'last_card' });
    expect(await sql(`select id, is_default from cards`)).toEqual([{ id: b, is_default: true }]);
    expect((await call(deleteCard, { as: 'carol', params: { id: a } })).status).toBe(404);
    expect((await call(getMe, { as: 'carol' })).body.defaultCardId).toBe(b);
  });

  it('a user without cards has no default card', async () => {
    expect((await call(getMe, { as: 'nobody' })).body.defaultCardId).toBeNull();
  });
});

describe('PUT /cards/{id}/links', () => {
  it('replaces the list in order; [] removes all', async () => {
    const id = await cardOf('dave', { links: links('old', 3) });
    const res = await call(replaceLinks, { as: 'dave', params: { id }, body: links('new', 2) });
    expect(res.status).toBe(200);
    expect(res.body.links.map((l: { label: string; position: number }) => [l.position, l.label])).toEqual([
      [0, 'new-0'],
      [1, 'new-1'],
    ]);
    expect(await sql(`select position, label from card_links order by position`)).toEqual([
      { position: 0, label: 'new-0' },
      { position: 1, label: 'new-1' },
    ]);
    expect((await call(replaceLinks, { as: 'dave', params: { id }, body: [] })).body.links).toEqual([]);
    expect(await count('card_links')).toBe(0);
  });

  it('20 concurrent replacements with lists of different lengths: the stored list is exactly one of them', async () => {
    const id = await cardOf('erin', { links: links('initial', 5) });
    await warmUp('erin');
    const lists = Array.from({ length: 20 }, (_, i) => links(`r${i}`, i + 1));
    const responses = await Promise.all(lists.map((body) => call(replaceLinks, { as: 'erin', params: { id }, body })));
    expect(tally(responses)).toEqual({ 200: 20 });
    responses.forEach((res, i) => expect(res.body.links.map((l: { label: string }) => l.label)).toEqual(lists[i]!.map((l) => l.label)));
    const stored = await sql<{ position: number; label: string; url: string }>(
      `select position, label, url from card_links where card_id = $1 order by position`,
      [id],
    );
    const winner = lists.find((list) => list.length === stored.length)!;
    expect(stored).toEqual(winner.map((link, position) => ({ position, ...link })));
  });
});

describe('GET /cards', () => {
  it("lists only the caller's cards, oldest first, in pages", async () => {
    const titles = ['One', 'Two', 'Three', 'Four', 'Five'];
    for (const title of titles) await cardOf('fay', { title });
    await cardOf('gus', { title: 'Not yours' });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await call(listCards, { as: 'fay', query: { limit: '2', ...(cursor && { cursor }) } });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.body.items.map((card: { title: string }) => card.title));
      cursor = res.body.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(titles);
    expect((await call(listCards, { as: 'nobody' })).body).toEqual({ items: [], nextCursor: null });
    expect((await call(listCards, { as: 'fay', query: { cursor: 'garbage' } })).status).toBe(400);
    expect((await call(listCards, { as: 'fay', query: { limit: '101' } })).status).toBe(400);
  });
});

describe('PATCH /cards/{id}', () => {
  it('changes title and description; the slug stays', async () => {
    const id = await cardOf('hal', { title: 'Hal', description: 'Old' });
    const res = await call(updateCard, { as: 'hal', params: { id }, body: { title: 'Hal 9000', description: null } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ slug: 'hal', title: 'Hal 9000', description: null, visibility: 'PUBLIC' });
    expect((await call(updateCard, { as: 'hal', params: { id }, body: {} })).body).toEqual(res.body);
  });
});

describe('slugs of UNLISTED and PRIVATE cards', () => {
  const readable = async (slug: string) => (await call(getPublicCard, { params: { slug } })).status;

  it.each(['UNLISTED', 'PRIVATE'] as const)('a new %s card gets 128 random bits, not its title', async (visibility) => {
    const res = await newCard('sam', { title: 'Secret Review Card', visibility });
    expect(res.body.slug).toMatch(SECRET_SLUG);
    expect(await readable('secret-review-card')).toBe(404);
    expect(await readable(res.body.slug)).toBe(visibility === 'UNLISTED' ? 200 : 404);
  });

  it('PUBLIC → UNLISTED: a new unguessable slug, the public one stops working; back to PUBLIC: a title slug again', async () => {
    const id = await cardOf('sam', { title: 'Review Notes' });
    const unlisted = await call(updateCard, { as: 'sam', params: { id }, body: { visibility: 'UNLISTED' } });
    expect(unlisted).toMatchObject({ status: 200, body: { visibility: 'UNLISTED', slug: expect.stringMatching(SECRET_SLUG) } });
    expect([await readable('review-notes'), await readable(unlisted.body.slug)]).toEqual([404, 200]);
    // Between UNLISTED and PRIVATE the slug stays: it was never guessable.
    const hidden = await call(updateCard, { as: 'sam', params: { id }, body: { visibility: 'PRIVATE' } });
    expect(hidden.body.slug).toBe(unlisted.body.slug);
    // The title slug is free again, but another card has taken it meanwhile: the next number, as for any create.
    await cardOf('sam', { title: 'Review Notes' });
    const shown = await call(updateCard, { as: 'sam', params: { id }, body: { visibility: 'PUBLIC', title: 'Review Notes' } });
    expect(shown).toMatchObject({ status: 200, body: { visibility: 'PUBLIC', slug: 'review-notes-2' } });
    expect([await readable(unlisted.body.slug), await readable('review-notes-2')]).toEqual([404, 200]);
  });

  it('the migration gives UNLISTED and PRIVATE cards stored with title slugs a random one', async () => {
    for (const title of ['Old Public', 'Old Unlisted', 'Old Private']) await cardOf('sam', { title });
    // As stored before the rule: title slugs whatever the visibility.
    await sql(`update cards set visibility = case slug when 'old-unlisted' then 'UNLISTED' when 'old-private' then 'PRIVATE' else visibility end`);
    const migration = (await readdir('drizzle')).find((name) => name.endsWith('_secret_card_slugs.sql'))!;
    await sql(await readFile(`drizzle/${migration}`, 'utf8'));
    const stored = await sql<{ slug: string; visibility: string }>(`select slug, visibility from cards order by created_at`);
    expect(stored).toEqual([
      { slug: 'old-public', visibility: 'PUBLIC' },
      { slug: expect.stringMatching(SECRET_SLUG), visibility: 'UNLISTED' },
      { slug: expect.stringMatching(SECRET_SLUG), visibility: 'PRIVATE' },
    ]);
  });

  it('20 concurrent PUBLIC → UNLISTED/PUBLIC flips of one card end with a slug of its final kind', async () => {
    const id = await cardOf('sam', { title: 'Flip' });
    const flips = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(updateCard, { as: 'sam', params: { id }, body: { visibility: i % 2 ? 'PUBLIC' : 'UNLISTED' } })),
    );
    expect(tally(flips)).toEqual({ 200: 20 });
    const [card] = await sql(`select slug, visibility from cards where id = $1`, [id]);
    expect(card!.slug).toMatch(card!.visibility === 'PUBLIC' ? /^flip(-\d+)?$/ : SECRET_SLUG);
  });
});

describe('authorization', () => {
  type Caller = 'anonymous' | 'other' | 'owner';
  const routes = {
    getCard: (as: string | undefined, id: string) => call(getCard, { as, params: { id } }),
    updateCard: (as: string | undefined, id: string) => call(updateCard, { as, params: { id }, body: { title: 'Taken over' } }),
    replaceLinks: (as: string | undefined, id: string) => call(replaceLinks, { as, params: { id }, body: links('x', 1) }),
    setDefault: (as: string | undefined, id: string) => call(setDefault, { as, params: { id } }),
    deleteCard: (as: string | undefined, id: string) => call(deleteCard, { as, params: { id } }),
  };
  const ownerStatus: Record<keyof typeof routes, number> = {
    getCard: 200,
    updateCard: 200,
    replaceLinks: 200,
    setDefault: 200,
    deleteCard: 204,
  };
  const cases = (['PRIVATE', 'UNLISTED', 'PUBLIC'] as const).flatMap((visibility) =>
    (Object.keys(routes) as (keyof typeof routes)[]).flatMap((name) =>
      (['anonymous', 'other', 'owner'] as Caller[]).map((caller) => ({
        visibility,
        name,
        caller,
        status: caller === 'anonymous' ? 401 : caller === 'other' ? 404 : ownerStatus[name],
      })),
    ),
  );
  const snapshot = (id: string) =>
    sql(
      `select c.*, (select json_agg(l order by l.position) from card_links l where l.card_id = c.id) as links
       from cards c where c.id = $1`,
      [id],
    );

  it.each(cases)('$name of a $visibility card by $caller → $status', async ({ visibility, name, caller, status }) => {
    await cardOf('owner', { title: 'Keeper' });
    const id = await cardOf('owner', { title: 'Target', visibility, links: links('own', 2) });
    await cardOf('other', { title: 'Other' });
    const before = await snapshot(id);
    const res = await routes[name]({ anonymous: undefined, other: 'other', owner: 'owner' }[caller], id);
    expect(res.status).toBe(status);
    if (caller === 'anonymous') expect(res.body.code).toBe('unauthorized');
    if (caller === 'other') {
      // Exactly the answer for a card that does not exist.
      const missing = await routes[name]('other', randomUUID());
      expect(res.body).toEqual(missing.body);
      expect(res.body.code).toBe('not_found');
    }
    if (caller !== 'owner') expect(await snapshot(id)).toEqual(before);
    expect(await cardStates()).toEqual(
      expect.arrayContaining([expect.objectContaining({ sub: 'owner', defaults: 1 })]),
    );
  });

  it.each(['PRIVATE', 'UNLISTED', 'PUBLIC'] as const)(
    'GET /c/{slug} of a %s card, for anonymous, other user and owner alike',
    async (visibility) => {
      const created = await newCard('owner', { title: 'Shown', visibility, links: links('pub', 2) });
      for (const as of [undefined, 'other', 'owner']) {
        const res = await call(getPublicCard, { as, params: { slug: created.body.slug } });
        if (visibility === 'PRIVATE') {
          expect(res.status).toBe(404);
          expect(res.body).toEqual((await call(getPublicCard, { params: { slug: 'no-such-card' } })).body);
        } else {
          expect(res.status).toBe(200);
          expect(res.body).toEqual(created.body);
        }
      }
    },
  );

  it("GET /cards and POST /cards need a token; lists never show another user's cards", async () => {
    expect((await call(listCards)).status).toBe(401);
    expect((await newCard(undefined)).status).toBe(401);
    await cardOf('owner', { visibility: 'PUBLIC' });
    expect((await call(listCards, { as: 'other' })).body.items).toEqual([]);
    expect(await count('cards')).toBe(1);
  });

  it.each(Object.keys(routes) as (keyof typeof routes)[])('%s with a malformed id → 400, never 500', async (name) => {
    await cardOf('owner');
    for (const id of ['not-a-uuid', '123', "1' or '1'='1", '00000000-0000-0000-0000-00000000000g']) {
      const res = await routes[name]('owner', id);
      expect(res.status, id).toBe(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors[0].path).toBe('path.id');
    }
  });
});

describe('validation: 400 and nothing written', () => {
  const badLinks: [string, unknown][] = [
    ['javascript: URL', [{ label: 'x', url: 'javascript:alert(1)' }]],
    ['data: URL', [{ label: 'x', url: 'data:text/html,<script>alert(1)</script>' }]],
    ['ftp: URL', [{ label: 'x', url: 'ftp://example.com/file' }]],
    ['relative URL', [{ label: 'x', url: '/profile' }]],
    ['URL without scheme', [{ label: 'x', url: 'example.com' }]],
    ['scheme without slashes', [{ label: 'x', url: 'http:example.com' }]],
    ['URL over 2048 characters', [{ label: 'x', url: `https://example.com/${'a'.repeat(2030)}` }]],
    ['empty label', [{ label: '  ', url: 'https://example.com' }]],
    ['label over 50 characters', [{ label: 'l'.repeat(51), url: 'https://example.com' }]],
    ['21 links', links('many', 21)],
    ['unknown link field', [{ label: 'x', url: 'https://example.com', rel: 'me' }]],
    ['missing url', [{ label: 'x' }]],
    ['not an array', { label: 'x', url: 'https://example.com' }],
  ];
  const badCards: [string, unknown][] = [
    ['title over 100 characters', { title: 't'.repeat(101) }],
    ['empty title', { title: '   ' }],
    ['description over 280 characters', { title: 'ok', description: 'd'.repeat(281) }],
    ['unknown visibility', { title: 'ok', visibility: 'SECRET' }],
    ['unknown field', { title: 'ok', colour: 'red' }],
    ['missing title', {}],
    ...badLinks.map(([what, bad]): [string, unknown] => [`links: ${what}`, { title: 'ok', links: bad }]),
  ];

  it.each(badCards)('POST /cards with %s', async (_, body) => {
    const res = await call(createCard, { as: 'ivy', body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(await count('cards')).toBe(0);
    expect(await count('card_links')).toBe(0);
  });

  it.each(badLinks)('PUT /cards/{id}/links with %s', async (_, body) => {
    const id = await cardOf('ivy', { links: links('keep', 2) });
    const before = await sql(`select * from card_links order by position`);
    const [{ updated_at: updatedAt }] = (await sql(`select updated_at from cards`)) as [{ updated_at: Date }];
    const res = await call(replaceLinks, { as: 'ivy', params: { id }, body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(await sql(`select * from card_links order by position`)).toEqual(before);
    expect(await sql(`select updated_at from cards`)).toEqual([{ updated_at: updatedAt }]);
  });

  it.each([
    ['title over 100 characters', { title: 't'.repeat(101) }],
    ['null title', { title: null }],
    ['description over 280 characters', { description: 'd'.repeat(281) }],
    ['unknown visibility', { visibility: 'HIDDEN' }],
    ['unknown field', { isDefault: true }],
    ['links (replaced only by PUT /links)', { links: [] }],
  ])('PATCH /cards/{id} with %s', async (_, body) => {
    const id = await cardOf('ivy', { title: 'Kept', description: 'Kept too' });
    const before = await sql(`select * from cards`);
    const res = await call(updateCard, { as: 'ivy', params: { id }, body });
    expect(res.status).toBe(400);
    expect(await sql(`select * from cards`)).toEqual(before);
  });

  it('accepts the limits themselves: 20 links, a 100-character title, 50-character labels, 2048-character URLs', async () => {
    const url = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`;
    const res = await newCard('ivy', {
      title: 't'.repeat(100),
      description: 'd'.repeat(280),
      links: Array.from({ length: 20 }, (_, i) => ({ label: `${i}`.padEnd(50, 'l'), url })),
    });
    expect(res.status).toBe(201);
    expect(await count('card_links')).toBe(20);
  });
});
