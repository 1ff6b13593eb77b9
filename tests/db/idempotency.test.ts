import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as createEvent } from '../../functions/events-create';
import { handler as deleteEvent } from '../../functions/events-delete';
import { handler as updateEvent } from '../../functions/events-update';
import { handler as updateMe } from '../../functions/me-update';
import { handler as cancelRegistration } from '../../functions/registrations-cancel';
import { handler as register } from '../../functions/registrations-create';
import { handler as updateRegistration } from '../../functions/registrations-update';
import { handler as updateSettings } from '../../functions/settings-update';
import { handler as createCard } from '../../functions/cards-create';
import { handler as deleteCard } from '../../functions/cards-delete';
import { handler as replaceLinks } from '../../functions/cards-links-replace';
import { handler as setDefaultCard } from '../../functions/cards-set-default';
import { handler as updateCard } from '../../functions/cards-update';
import { handler as getMe } from '../../functions/me-get';
import { handler as addMember } from '../../functions/team-members-add';
import { handler as removeMember } from '../../functions/team-members-remove';
import { handler as updateMember } from '../../functions/team-members-update';
import { handler as createTeam } from '../../functions/teams-create';
import { handler as deleteTeam } from '../../functions/teams-delete';
import { handler as transferTeam } from '../../functions/teams-transfer';
import { handler as updateTeam } from '../../functions/teams-update';
import { connection, database } from '../../src/db/client';
import { purgeExpiredIdempotencyKeys } from '../../src/idempotency/store';
import type { LambdaHandler } from '../../src/http/route';
import { call, type Call, type Result } from '../helpers/api';
import { EVENT_COUNTERS } from '../helpers/invariants';
import { emptyTables, sqlClient } from '../helpers/sql';
import { behindPooler } from '../setup/database';

const sql = sqlClient();
const ORGANIZER = 'organizer';
const eventBody = (name: string) => ({ name, startsAt: '2027-05-01T10:00:00Z', capacity: 100 });
const count = async (query: string) => Number((await sql(query))[0]!.n);

/** Everything the write routes can change, to prove a replay changed nothing. */
const snapshot = () =>
  sql(`select
    (select json_agg(e order by e.id) from events e) as events,
    (select json_agg(r order by r.id) from registrations r) as registrations,
    (select json_agg(u order by u.id) from users u) as users,
    (select json_agg(s order by s.user_id) from user_settings s) as settings,
    (select json_agg(t order by t.id) from teams t) as teams,
    (select json_agg(m order by m.team_id, m.user_id) from team_memberships m) as memberships,
    (select json_agg(c order by c.id) from cards c) as cards,
    (select json_agg(l order by l.id) from card_links l) as links`);

beforeEach(async () => {
  await emptyTables(sql, 'events', 'slug_counters', 'users', 'idempotency_keys', 'teams');
});

const userId = async (sub: string) => (await call(getMe, { as: sub })).body.id as string;

/** A team owned by ORGANIZER with `member` as a MEMBER. */
async function seedTeam(slug: string, member: string) {
  expect((await call(createTeam, { as: ORGANIZER, body: { name: `Team ${slug}`, slug } })).status).toBe(201);
  const memberId = await userId(member);
  expect((await call(addMember, { as: ORGANIZER, params: { slug }, body: { userId: memberId, role: 'MEMBER' } })).status).toBe(201);
  return memberId;
}

async function seedCards(owner: string, titles: string[]) {
  const ids: string[] = [];
  for (const title of titles) ids.push((await call(createCard, { as: owner, body: { title } })).body.id);
  return ids;
}

async function seedEvent(slug: string) {
  const res = await call(createEvent, { as: ORGANIZER, body: { ...eventBody(`Seed ${slug}`), slug } });
  expect(res.status).toBe(201);
  return res.body as { id: string };
}

describe('sequential replay', () => {
  const routes: Array<[string, () => Promise<{ handler: LambdaHandler; request: Call }>]> = [
    ['POST /events', async () => ({ handler: createEvent, request: { as: ORGANIZER, body: eventBody('Replayed') } })],
    ['PATCH /events/{slug}', async () => {
      await seedEvent('patched');
      return { handler: updateEvent, request: { as: ORGANIZER, params: { slug: 'patched' }, body: { capacity: 7 } } };
    }],
    ['DELETE /events/{slug}', async () => {
      await seedEvent('deleted');
      return { handler: deleteEvent, request: { as: ORGANIZER, params: { slug: 'deleted' } } };
    }],
    ['PATCH /me', async () => ({ handler: updateMe, request: { as: 'me', body: { displayName: 'Once' } } })],
    ['PUT /me/settings', async () => ({ handler: updateSettings, request: { as: 'me', body: { theme: 'dark' } } })],
    ['POST /events/{slug}/registrations', async () => {
      await seedEvent('reg');
      return { handler: register, request: { params: { slug: 'reg' }, body: { name: 'Ann', email: 'ann@example.com' } } };
    }],
    ['PATCH /events/{slug}/registrations/{id}', async () => {
      await seedEvent('regpatch');
      const reg = await call(register, { params: { slug: 'regpatch' }, body: { name: 'Bo', email: 'bo@example.com' } });
      return { handler: updateRegistration, request: { as: ORGANIZER, params: { slug: 'regpatch', id: reg.body.id }, body: { status: 'WAITLIST' } } };
    }],
    ['DELETE /events/{slug}/registrations/{id}', async () => {
      await seedEvent('regdel');
      const reg = await call(register, { params: { slug: 'regdel' }, body: { name: 'Cy', email: 'cy@example.com' } });
      return { handler: cancelRegistration, request: { params: { slug: 'regdel', id: reg.body.id }, query: { token: reg.body.cancelToken } } };
    }],
    ['POST /teams', async () => ({ handler: createTeam, request: { as: ORGANIZER, body: { name: 'Replayed team' } } })],
    ['PATCH /teams/{slug}', async () => {
      await seedTeam('t-patch', 'm1');
      return { handler: updateTeam, request: { as: ORGANIZER, params: { slug: 't-patch' }, body: { description: 'Once' } } };
    }],
    ['DELETE /teams/{slug}', async () => {
      await seedTeam('t-delete', 'm1');
      return { handler: deleteTeam, request: { as: ORGANIZER, params: { slug: 't-delete' } } };
    }],
    ['POST /teams/{slug}/members', async () => {
      await seedTeam('t-add', 'm1');
      return { handler: addMember, request: { as: ORGANIZER, params: { slug: 't-add' }, body: { userId: await userId('m2'), role: 'ADMIN' } } };
    }],
    ['PATCH /teams/{slug}/members/{userId}', async () => {
      const member = await seedTeam('t-role', 'm1');
      return { handler: updateMember, request: { as: ORGANIZER, params: { slug: 't-role', userId: member }, body: { role: 'ADMIN' } } };
    }],
    ['DELETE /teams/{slug}/members/{userId}', async () => {
      const member = await seedTeam('t-remove', 'm1');
      return { handler: removeMember, request: { as: ORGANIZER, params: { slug: 't-remove', userId: member } } };
    }],
    ['POST /teams/{slug}/transfer', async () => {
      const member = await seedTeam('t-transfer', 'm1');
      return { handler: transferTeam, request: { as: ORGANIZER, params: { slug: 't-transfer' }, body: { userId: member } } };
    }],
    ['POST /cards', async () => ({ handler: createCard, request: { as: 'carder', body: { title: 'Replayed card' } } })],
    ['PATCH /cards/{id}', async () => {
      const [id] = await seedCards('carder', ['Patched']);
      return { handler: updateCard, request: { as: 'carder', params: { id: id! }, body: { visibility: 'PRIVATE' } } };
    }],
    ['PUT /cards/{id}/links', async () => {
      const [id] = await seedCards('carder', ['Linked']);
      return { handler: replaceLinks, request: { as: 'carder', params: { id: id! }, body: [{ label: 'Site', url: 'https://example.com' }] } };
    }],
    ['POST /cards/{id}/default', async () => {
      const [, second] = await seedCards('carder', ['First', 'Second']);
      return { handler: setDefaultCard, request: { as: 'carder', params: { id: second! } } };
    }],
    ['DELETE /cards/{id}', async () => {
      const [first] = await seedCards('carder', ['Keep', 'Drop']);
      return { handler: deleteCard, request: { as: 'carder', params: { id: first! } } };
    }],
  ];

  it.each(routes)('%s: the retry returns the same status and body, marked replayed, and changes nothing', async (_, setup) => {
    const { handler, request } = await setup();
    const key = randomUUID();
    const first = await call(handler, { ...request, key });
    expect(first.status).toBeLessThan(300);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const before = await snapshot();
    const retry = await call(handler, { ...request, key });
    expect(retry.status).toBe(first.status);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await snapshot()).toEqual(before);
  });

  it('a refusal is stored and replayed too', async () => {
    await seedEvent('taken');
    const request = { as: ORGANIZER, body: { ...eventBody('Again'), slug: 'taken' }, key: 'refused-once' };
    const first = await call(createEvent, request);
    expect(first.status).toBe(409);
    await sql(`update events set slug = 'freed'`);
    const retry = await call(createEvent, request);
    expect(retry).toMatchObject({ status: 409, body: first.body });
    expect(retry.headers['idempotent-replayed']).toBe('true');
  });
});

describe('key rules', () => {
  it.each([['empty', ''], ['too long', 'k'.repeat(256)], ['non-ASCII', 'schlüssel'], ['control char', 'a\u0007b']])(
    '%s key → 400 invalid_idempotency_key, nothing written',
    async (_, key) => {
      const res = await call(createEvent, { as: ORGANIZER, body: eventBody('Keyed'), key });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_idempotency_key');
      expect(await count('select count(*) as n from events')).toBe(0);
    },
  );

  it('same key, different body → 422 idempotency_key_reused', async () => {
    expect((await call(createEvent, { as: ORGANIZER, body: eventBody('First body'), key: 'k1' })).status).toBe(201);
    const res = await call(createEvent, { as: ORGANIZER, body: eventBody('Second body'), key: 'k1' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('idempotency_key_reused');
    expect(await count('select count(*) as n from events')).toBe(1);
  });

  it('the fingerprint ignores key order and whitespace in the body', async () => {
    await call(createEvent, { as: ORGANIZER, body: '{"name":"Ordered","startsAt":"2027-05-01T10:00:00Z","capacity":3}', key: 'k2' });
    const res = await call(createEvent, { as: ORGANIZER, body: '{ "capacity": 3, "startsAt": "2027-05-01T10:00:00Z", "name": "Ordered" }', key: 'k2' });
    expect(res.headers['idempotent-replayed']).toBe('true');
  });

  it('same key, different caller → independent', async () => {
    const a = await call(createEvent, { as: 'alice', body: eventBody('Shared key'), key: 'shared' });
    const b = await call(createEvent, { as: 'bob', body: eventBody('Shared key'), key: 'shared' });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(await count('select count(*) as n from events')).toBe(2);
  });

  it('keys older than 24 h are purged', async () => {
    await call(createEvent, { as: ORGANIZER, body: eventBody('Old'), key: 'old' });
    await call(createEvent, { as: ORGANIZER, body: eventBody('New'), key: 'new' });
    await sql(`update idempotency_keys set created_at = now() - interval '25 hours' where key_hash = encode(sha256('old'), 'hex')`);
    expect(await purgeExpiredIdempotencyKeys(database())).toBe(1);
    expect(await sql(`select key_hash = encode(sha256('new'), 'hex') as kept from idempotency_keys`)).toEqual([{ kept: true }]);
  });

  it('stores neither the key nor a readable response: a cancelToken stays secret at rest', async () => {
    await seedEvent('secret');
    const key = randomUUID();
    const res = await call(register, { params: { slug: 'secret' }, body: { name: 'Gil', email: 'gil@example.com' }, key });
    const dump = JSON.stringify(await sql('select * from idempotency_keys'));
    expect(dump).not.toContain(res.body.cancelToken);
    expect(dump).not.toContain(key);
    expect(dump).not.toContain('gil@example.com');
  });

  it('the query string is part of the fingerprint: a wrong token refused under a key does not stick to the right one', async () => {
    await seedEvent('tokens');
    const reg = await call(register, { params: { slug: 'tokens' }, body: { name: 'Hal', email: 'hal@example.com' } });
    const wrong = await call(cancelRegistration, { params: { slug: 'tokens', id: reg.body.id }, query: { token: 'wrong' }, key: 'cancel-1' });
    expect(wrong.status).toBe(404);
    const right = await call(cancelRegistration, { params: { slug: 'tokens', id: reg.body.id }, query: { token: reg.body.cancelToken }, key: 'cancel-1' });
    expect(right.status).toBe(422);
    expect((await call(cancelRegistration, { params: { slug: 'tokens', id: reg.body.id }, query: { token: reg.body.cancelToken }, key: 'cancel-2' })).status).toBe(204);
  });

  it('a keyed request waiting on a busy row longer than the in-flight wait still succeeds', async () => {
    const event = await seedEvent('busy');
    const blocker = await import('pg').then(({ default: pg }) => new pg.Client({ connectionString: process.env.DATABASE_URL }));
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('select 1 from events where id = $1 for update', [event.id]);
    await blocker.query('select 1 from event_shards where event_id = $1 order by shard for update', [event.id]);
    const pending = call(register, { params: { slug: 'busy' }, body: { name: 'Ivy', email: 'ivy@example.com' }, key: 'patient' });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await blocker.query('commit');
    await blocker.end();
    expect((await pending).status).toBe(201);
  });
});

describe('concurrency and failures', () => {
  const expectOneEffect = (responses: Result[], created: number) => {
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    const originals = responses.filter((r) => r.status === created && r.headers['idempotent-replayed'] === undefined);
    expect(originals).toHaveLength(1);
    for (const res of responses) {
      if (res.status === 409) expect(res).toMatchObject({ body: { code: 'idempotency_key_in_flight' }, headers: { 'retry-after': '1' } });
      else expect(res.body).toEqual(originals[0]!.body);
    }
  };

  it('30 concurrent POST /events with one key: one event, the rest replays or 409 in flight', async () => {
    const responses = await Promise.all(Array.from({ length: 30 }, () => call(createEvent, { as: ORGANIZER, body: eventBody('Once only'), key: 'ev-key' })));
    expectOneEffect(responses, 201);
    expect(await count('select count(*) as n from events')).toBe(1);
  });

  it('30 concurrent registrations with one key: one registration, one counter bump', async () => {
    await seedEvent('concurrent');
    const responses = await Promise.all(
      Array.from({ length: 30 }, () => call(register, { params: { slug: 'concurrent' }, body: { name: 'Dee', email: 'dee@example.com' }, key: 'reg-key' })),
    );
    expectOneEffect(responses, 201);
    expect(await sql(`select count(*)::int as n, (select spots_reserved from (${EVENT_COUNTERS}) e) as reserved from registrations`)).toEqual([{ n: 1, reserved: 1 }]);
  });

  it('30 concurrent POST /cards with one key: one card, the rest replays or 409 in flight', async () => {
    const responses = await Promise.all(Array.from({ length: 30 }, () => call(createCard, { as: 'carder', body: { title: 'Exactly once' }, key: 'card-key' })));
    expectOneEffect(responses, 201);
    expect(await count('select count(*) as n from cards')).toBe(1);
  });

  // Behind PgBouncer a terminated backend is the pooler's to replace: the app's own connections never see it.
  it.skipIf(behindPooler)('connections terminated after the commit: the retry replays', async () => {
    await seedEvent('after-commit');
    const request = { params: { slug: 'after-commit' }, body: { name: 'Eve', email: 'eve@example.com' }, key: 'lost-response' };
    const lost = await call(register, request); // committed; pretend the response never reached the client
    await sql(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'lockstep'`);
    await vi.waitFor(async () => expect(await count(`select count(*) as n from pg_stat_activity where datname = current_database() and application_name = 'lockstep'`)).toBe(0));
    // And the app has heard of it: a pool still holding a dozen dead idle clients would spend the retry's resends.
    await vi.waitFor(() => expect(connection().pool.totalCount).toBe(0));
    const retry = await call(register, request);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(lost.body);
    expect(await count('select count(*) as n from registrations')).toBe(1);
  });

  it('the transaction dies before commit: nothing was stored, and the retry performs the effect once', async () => {
    const event = await seedEvent('before-commit');
    // Hold the event row and its shards so the keyed registration claims its key and then waits inside its
    // transaction.
    const blocker = await import('pg').then(({ default: pg }) => new pg.Client({ connectionString: process.env.DATABASE_URL }));
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('select 1 from events where id = $1 for update', [event.id]);
    await blocker.query('select 1 from event_shards where event_id = $1 order by shard for update', [event.id]);
    const request = { params: { slug: 'before-commit' }, body: { name: 'Fay', email: 'fay@example.com' }, key: 'crashes' };
    const pending = call(register, request);
    const waitingBackend = `select pid from pg_stat_activity where datname = current_database() and application_name = 'lockstep' and wait_event_type = 'Lock'`;
    await vi.waitFor(async () => expect(await sql(waitingBackend)).toHaveLength(1));
    const [killed] = await sql(waitingBackend);
    await sql('select pg_terminate_backend($1)', [killed!.pid]);
    // The claim died with its transaction: nothing is stored, and lockstep runs the request again on a new
    // connection, which waits for the row like the first attempt did.
    await vi.waitFor(async () => {
      const waiting = await sql(waitingBackend);
      expect(waiting).toHaveLength(1);
      expect(waiting[0]!.pid).not.toBe(killed!.pid);
    });
    expect(await count('select count(*) as n from idempotency_keys')).toBe(0);
    await blocker.query('rollback');
    await blocker.end();
    const first = await pending;
    expect(first.status).toBe(201);
    const retry = await call(register, request);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await sql(`select count(*)::int as n, (select spots_reserved from (${EVENT_COUNTERS}) e) as reserved from registrations`)).toEqual([{ n: 1, reserved: 1 }]);
  });

  it('a 1,000-request storm of retries over mixed routes: effects equal distinct keys', async () => {
    await seedEvent('storm');
    type Keyed = { kind: 'event' | 'registration' | 'settings'; handler: LambdaHandler; request: Call };
    const keyed: Keyed[] = [];
    for (let i = 0; i < 60; i++) keyed.push({ kind: 'event', handler: createEvent, request: { as: `user-${i % 7}`, body: eventBody('Storm event'), key: `event-${i}` } });
    for (let i = 0; i < 120; i++) {
      keyed.push({ kind: 'registration', handler: register, request: { params: { slug: 'storm' }, body: { name: `R${i}`, email: `r${i}@example.com`, spots: 1 + (i % 2) }, key: `registration-${i}` } });
    }
    for (let i = 0; i < 20; i++) keyed.push({ kind: 'settings', handler: updateSettings, request: { as: `user-${i}`, body: { fontScale: 1 + i / 20 }, key: `settings-${i}` } });
    const sends = Array.from({ length: 1000 }, (_, i) => keyed[i < keyed.length ? i : Math.floor(Math.random() * keyed.length)]!);
    sends.sort(() => Math.random() - 0.5);
    const responses: Array<{ keyed: Keyed; res: Result }> = [];
    for (let start = 0; start < sends.length; start += 100) {
      const batch = sends.slice(start, start + 100);
      responses.push(...(await Promise.all(batch.map(async (k) => ({ keyed: k, res: await call(k.handler, k.request) })))));
    }
    expect(responses.filter(({ res }) => res.status >= 500)).toEqual([]);
    const bodiesByKey = new Map<string, string>();
    for (const { keyed: k, res } of responses) {
      if (res.status === 409 && res.body.code === 'idempotency_key_in_flight') continue;
      const seen = bodiesByKey.get(k.request.key!);
      if (seen) expect(JSON.stringify(res.body)).toBe(seen);
      else bodiesByKey.set(k.request.key!, JSON.stringify(res.body));
    }
    // Every key was sent at least once with a definite outcome, and each effect happened exactly once.
    expect(await count(`select count(*) as n from events where slug <> 'storm'`)).toBe(60);
    expect(await count('select count(*) as n from registrations')).toBe(120);
    expect(await count(`select count(*) as n from (${EVENT_COUNTERS}) e where spots_reserved = (select sum(spots) from registrations where status = 'CONFIRMED')`)).toBe(1);
    expect(await count('select count(*) as n from user_settings')).toBe(20);
    expect(await count('select count(*) as n from idempotency_keys')).toBe(200);
  });
});
