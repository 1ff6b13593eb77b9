import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as createEvent } from '../../functions/events-create';
import { handler as deleteEvent } from '../../functions/events-delete';
import { handler as updateEvent } from '../../functions/events-update';
import { handler as getMe } from '../../functions/me-get';
import { handler as addMember } from '../../functions/team-members-add';
import { handler as removeMember } from '../../functions/team-members-remove';
import { handler as updateMember } from '../../functions/team-members-update';
import { handler as createTeam } from '../../functions/teams-create';
import { handler as deleteTeam } from '../../functions/teams-delete';
import { handler as getTeam } from '../../functions/teams-get';
import { handler as transferTeam } from '../../functions/teams-transfer';
import { handler as updateTeam } from '../../functions/teams-update';
import { call, type Result } from '../helpers/api';
import { emptyTables, sqlClient } from '../helpers/sql';

const sql = sqlClient();
const count = async (table: string, where = 'true') =>
  Number((await sql(`select count(*) from ${table} where ${where}`))[0]!.count);

beforeEach(async () => {
  await emptyTables(sql, 'events', 'team_memberships', 'teams', 'slug_counters', 'users');
});

const ids = new Map<string, string>();
/** The users row id for a subject, created on first sight like any caller. */
async function idOf(sub: string): Promise<string> {
  const res = await call(getMe, { as: sub });
  expect(res.status).toBe(200);
  return res.body.id;
}

/** A team of `owner` with the given members added by the owner; ids of everyone involved in `ids`. */
async function team(name: string, owner: string, members: Record<string, 'ADMIN' | 'MEMBER'> = {}) {
  const created = await call(createTeam, { as: owner, body: { name } });
  expect(created.status).toBe(201);
  const slug: string = created.body.slug;
  ids.set(owner, created.body.ownerId);
  for (const [sub, role] of Object.entries(members)) {
    const userId = await idOf(sub);
    ids.set(sub, userId);
    expect((await call(addMember, { as: owner, params: { slug }, body: { userId, role } })).status).toBe(201);
  }
  return slug;
}
const id = (sub: string) => ids.get(sub)!;

/** The invariant, in SQL: every team has exactly one OWNER membership (a membership row, so a member). */
async function expectOneOwnerPerTeam() {
  const broken = await sql(`
    select t.id, count(m.user_id) filter (where m.role = 'OWNER') as owners
    from teams t left join team_memberships m on m.team_id = t.id
    group by t.id having count(m.user_id) filter (where m.role = 'OWNER') <> 1`);
  expect(broken).toEqual([]);
}

const roleIn = async (slug: string, sub: string) =>
  (
    await sql<{ role: string }>(
      `select m.role from team_memberships m join teams t on t.id = m.team_id where t.slug = $1 and m.user_id = $2`,
      [slug, id(sub)],
    )
  )[0]?.role ?? null;

const snapshot = async () => ({
  teams: await sql('select * from teams order by id'),
  memberships: await sql('select * from team_memberships order by team_id, user_id'),
  events: await sql('select * from events order by id'),
});

describe('POST /teams', () => {
  it('creates the team and its OWNER membership; ownerId is the caller', async () => {
    const res = await call(createTeam, { as: 'olivia', body: { name: '  Platform Guild ', description: 'Infra people' } });
    expect(res.status).toBe(201);
    const olivia = await idOf('olivia');
    expect(res.body).toEqual({
      id: expect.any(String),
      slug: 'platform-guild',
      name: 'Platform Guild',
      description: 'Infra people',
      ownerId: olivia,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(await sql('select team_id, user_id, role from team_memberships')).toEqual([
      { team_id: res.body.id, user_id: olivia, role: 'OWNER' },
    ]);
  });

  it('100 concurrent creates with one name: all 201, distinct slugs, exactly one OWNER membership per team', async () => {
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(createTeam, { as: `founder-${i % 10}`, body: { name: 'Dream Team' } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(100).fill(201));
    const slugs = responses.map((r) => r.body.slug as string);
    expect(new Set(slugs).size).toBe(100);
    expect(slugs.sort()).toEqual(['dream-team', ...Array.from({ length: 99 }, (_, i) => `dream-team-${i + 2}`)].sort());
    expect(await count('teams')).toBe(100);
    expect(await count('team_memberships')).toBe(100);
    expect(await count('team_memberships', `role = 'OWNER'`)).toBe(100);
    const owners = await sql<{ slug: string; sub: string }>(`
      select t.slug, u.sub from teams t join team_memberships m on m.team_id = t.id and m.role = 'OWNER'
      join users u on u.id = m.user_id`);
    const creatorOf = new Map(responses.map((r, i) => [r.body.slug, `founder-${i % 10}`]));
    for (const { slug, sub } of owners) expect(sub).toBe(creatorOf.get(slug));
    await expectOneOwnerPerTeam();
  });

  it('an explicit slug that is taken → 409 slug_taken, nothing written', async () => {
    await call(createTeam, { as: 'olivia', body: { name: 'First', slug: 'crew' } });
    const res = await call(createTeam, { as: 'bob', body: { name: 'Second', slug: 'crew' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'slug_taken', errors: [{ path: 'slug' }] });
    expect(await count('teams')).toBe(1);
    expect(await count('team_memberships')).toBe(1);
  });

  it('numbers past explicit slugs and never uses a reserved word', async () => {
    await call(createTeam, { as: 'olivia', body: { name: 'Other', slug: 'ops-7' } });
    await call(createTeam, { as: 'olivia', body: { name: 'Ops' } });
    expect((await call(createTeam, { as: 'olivia', body: { name: 'Ops' } })).body.slug).toBe('ops-8');
    expect((await call(createTeam, { as: 'olivia', body: { name: 'Admin' } })).body.slug).toBe('admin-2');
  });

  it.each([
    ['short name', { name: 'ab' }, 'name'],
    ['long description', { name: 'Valid', description: 'x'.repeat(1001) }, 'description'],
    ['reserved slug', { name: 'Valid', slug: 'teams' }, 'slug'],
    ['invalid slug', { name: 'Valid', slug: 'Not A Slug' }, 'slug'],
    ['unknown field', { name: 'Valid', ownerId: randomUUID() }, ''],
  ])('%s → 400, nothing written', async (_, body, path) => {
    const res = await call(createTeam, { as: 'olivia', body });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors[0].path).toBe(path);
    expect(await count('teams')).toBe(0);
  });

  it('401 without a token', async () => {
    expect((await call(createTeam, { body: { name: 'Nobody' } })).status).toBe(401);
    expect(await count('teams')).toBe(0);
  });
});

describe('GET /teams/{slug}', () => {
  it('lists members owner first, then by joinedAt, with display names', async () => {
    await call(getMe, { as: 'zed' });
    await sql(`update users set display_name = 'Zed' where sub = 'zed'`);
    const slug = await team('Readers', 'olivia', { zed: 'MEMBER', amy: 'ADMIN' });
    await call(transferTeam, { as: 'olivia', params: { slug }, body: { userId: id('amy') } });
    const res = await call(getTeam, { params: { slug } });
    expect(res.status).toBe(200);
    expect(res.body.ownerId).toBe(id('amy'));
    expect(res.body.members.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([
      [id('amy'), 'OWNER'],
      [id('olivia'), 'ADMIN'],
      [id('zed'), 'MEMBER'],
    ]);
    expect(res.body.members[2]).toEqual({ userId: id('zed'), displayName: 'Zed', role: 'MEMBER', joinedAt: expect.any(String) });
  });

  it('404 for an unknown team', async () => {
    expect(await call(getTeam, { params: { slug: 'nope' } })).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });
});

describe('members', () => {
  it('adding an existing member → 200 with the existing member, role unchanged', async () => {
    const slug = await team('Crew', 'olivia', { amy: 'MEMBER' });
    const again = await call(addMember, { as: 'olivia', params: { slug }, body: { userId: id('amy'), role: 'ADMIN' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ userId: id('amy'), role: 'MEMBER' });
    const owner = await call(addMember, { as: 'olivia', params: { slug }, body: { userId: id('olivia'), role: 'MEMBER' } });
    expect(owner).toMatchObject({ status: 200, body: { role: 'OWNER' } });
    expect(await count('team_memberships')).toBe(2);
  });

  it('50 concurrent adds of the same user: one membership, one 201 and 49 × 200, no 5xx', async () => {
    const slug = await team('Crowd', 'olivia', { adam: 'ADMIN' });
    const newbie = await idOf('newbie');
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 3 === 0
          ? call(addMember, { as: 'adam', params: { slug }, body: { userId: newbie, role: 'MEMBER' } })
          : call(addMember, { as: 'olivia', params: { slug }, body: { userId: newbie, role: i % 2 ? 'ADMIN' : 'MEMBER' } }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(49);
    const rows = await sql(`select role from team_memberships where user_id = $1`, [newbie]);
    expect(rows).toHaveLength(1);
    // Whoever won set the role; every other answer shows that same, unchanged role.
    for (const res of responses) expect(res.body).toMatchObject({ userId: newbie, role: rows[0]!.role });
    await expectOneOwnerPerTeam();
  });

  it('an unknown userId → 404 user_not_found; a malformed one → 400; nothing written', async () => {
    const slug = await team('Crew', 'olivia');
    const unknown = await call(addMember, { as: 'olivia', params: { slug }, body: { userId: randomUUID(), role: 'MEMBER' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'user_not_found', errors: [{ path: 'userId' }] });
    const malformed = await call(addMember, { as: 'olivia', params: { slug }, body: { userId: 'not-a-uuid', role: 'MEMBER' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors[0].path).toBe('userId');
    const owner = await call(addMember, { as: 'olivia', params: { slug }, body: { userId: randomUUID(), role: 'OWNER' } });
    expect(owner.status).toBe(400);
    expect(owner.body.errors[0].path).toBe('role');
    expect((await call(removeMember, { as: 'olivia', params: { slug, userId: 'nope' } })).status).toBe(400);
    expect(await count('team_memberships')).toBe(1);
  });

  it('an outsider adding an unknown user gets 403, not a hint about the user', async () => {
    const slug = await team('Crew', 'olivia');
    const res = await call(addMember, { as: 'mallory', params: { slug }, body: { userId: randomUUID(), role: 'MEMBER' } });
    expect(res).toMatchObject({ status: 403, body: { code: 'forbidden' } });
  });

  it('PATCH and DELETE of a user who is not a member → 404 member_not_found', async () => {
    const slug = await team('Crew', 'olivia');
    const stranger = await idOf('stranger');
    const patched = await call(updateMember, { as: 'olivia', params: { slug, userId: stranger }, body: { role: 'ADMIN' } });
    expect(patched).toMatchObject({ status: 404, body: { code: 'member_not_found' } });
    const removed = await call(removeMember, { as: 'olivia', params: { slug, userId: stranger } });
    expect(removed).toMatchObject({ status: 404, body: { code: 'member_not_found' } });
  });

  it('the owner promotes and demotes members', async () => {
    const slug = await team('Crew', 'olivia', { amy: 'MEMBER' });
    const res = await call(updateMember, { as: 'olivia', params: { slug, userId: id('amy') }, body: { role: 'ADMIN' } });
    expect(res).toMatchObject({ status: 200, body: { userId: id('amy'), role: 'ADMIN' } });
    expect(await roleIn(slug, 'amy')).toBe('ADMIN');
  });
});

describe('POST /teams/{slug}/transfer', () => {
  it('makes the member OWNER and the old owner ADMIN', async () => {
    const slug = await team('Crew', 'olivia', { amy: 'MEMBER' });
    const res = await call(transferTeam, { as: 'olivia', params: { slug }, body: { userId: id('amy') } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ slug, ownerId: id('amy') });
    expect([await roleIn(slug, 'olivia'), await roleIn(slug, 'amy')]).toEqual(['ADMIN', 'OWNER']);
    // The old owner may now leave; the new one may not.
    expect((await call(removeMember, { as: 'olivia', params: { slug, userId: id('olivia') } })).status).toBe(204);
    const stuck = await call(removeMember, { as: 'amy', params: { slug, userId: id('amy') } });
    expect(stuck).toMatchObject({ status: 409, body: { code: 'owner_cannot_leave' } });
    await expectOneOwnerPerTeam();
  });

  it('to a non-member → 404 member_not_found and nothing changes (the demotion is rolled back)', async () => {
    const slug = await team('Crew', 'olivia');
    const before = await snapshot();
    const res = await call(transferTeam, { as: 'olivia', params: { slug }, body: { userId: await idOf('stranger') } });
    expect(res).toMatchObject({ status: 404, body: { code: 'member_not_found', errors: [{ path: 'userId' }] } });
    expect(await snapshot()).toEqual(before);
  });

  it('to oneself changes no role', async () => {
    const slug = await team('Crew', 'olivia');
    const res = await call(transferTeam, { as: 'olivia', params: { slug }, body: { userId: id('olivia') } });
    expect(res).toMatchObject({ status: 200, body: { ownerId: id('olivia') } });
    expect(await roleIn(slug, 'olivia')).toBe('OWNER');
  });

  const rounds = 20;

  it(`races the removal of the target member (${rounds} rounds): one owner, who is a member; 2xx or clear 4xx`, async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const heir = `heir-${round}`;
      const slug = await team(`Succession ${round}`, 'boss', { [heir]: 'MEMBER' });
      // Even rounds: the owner removes the heir; odd rounds: the heir leaves. The removal is one statement and the
      // transfer three, so the removal starts 0-4 ms later to spread the interleavings.
      const remover = round % 2 === 0 ? 'boss' : heir;
      const [t, r] = await Promise.all([
        call(transferTeam, { as: 'boss', params: { slug }, body: { userId: id(heir) } }),
        sleep(round % 5).then(() => call(removeMember, { as: remover, params: { slug, userId: id(heir) } })),
      ]);
      const outcome = `transfer ${t!.status}${t!.body?.code ? ` ${t!.body.code}` : ''} / removal by ${
        remover === 'boss' ? 'owner' : 'member'
      } ${r!.status}${r!.body?.code ? ` ${r!.body.code}` : ''}`;
      outcomes.push(outcome);
      const [owner, heirRole] = [(await call(getTeam, { params: { slug } })).body.ownerId, await roleIn(slug, heir)];
      if (t!.status === 200) {
        // Transfer first: the heir is the owner and cannot be removed.
        expect(outcome).toMatch(/^transfer 200 \/ removal by \w+ 409 owner_cannot_leave$/);
        expect([owner, heirRole, await roleIn(slug, 'boss')]).toEqual([id(heir), 'OWNER', 'ADMIN']);
      } else {
        // Removal first: the transfer finds no member and rolls its demotion back.
        expect(outcome).toMatch(/^transfer 404 member_not_found \/ removal by \w+ 204$/);
        expect([owner, heirRole, await roleIn(slug, 'boss')]).toEqual([id('boss'), null, 'OWNER']);
      }
    }
    await expectOneOwnerPerTeam();
    expect(await count('teams')).toBe(rounds);
    console.info('transfer vs removal:', tally(outcomes));
  });

  it(`two transfers to different members at once (${rounds} rounds): one 200, one 403, one owner`, async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const slug = await team(`Fork ${round}`, 'boss', { [`left-${round}`]: 'MEMBER', [`right-${round}`]: 'ADMIN' });
      const [left, right] = await Promise.all(
        [`left-${round}`, `right-${round}`].map((sub) =>
          call(transferTeam, { as: 'boss', params: { slug }, body: { userId: id(sub) } }),
        ),
      );
      const statuses = [left!.status, right!.status];
      outcomes.push(`left ${statuses[0]} / right ${statuses[1]}`);
      expect(statuses.sort()).toEqual([200, 403]);
      const winner = left!.status === 200 ? `left-${round}` : `right-${round}`;
      const loser = winner.startsWith('left') ? `right-${round}` : `left-${round}`;
      expect([left, right].find((r) => r!.status === 403)!.body.code).toBe('forbidden');
      expect(await roleIn(slug, winner)).toBe('OWNER');
      expect(await roleIn(slug, 'boss')).toBe('ADMIN');
      expect(await roleIn(slug, loser)).toBe(loser.startsWith('left') ? 'MEMBER' : 'ADMIN');
    }
    await expectOneOwnerPerTeam();
    console.info('two transfers:', tally(outcomes));
  });
});

/** Starts `racer` halfway through starting `others`, so some of them run before it and some after. */
async function raceInTheMiddle(racer: () => Promise<Result>, others: (() => Promise<Result>)[]) {
  const half = Math.floor(others.length / 2);
  const started = [...others.slice(0, half).map((run) => run()), racer(), ...others.slice(half).map((run) => run())];
  const results = await Promise.all(started);
  return { racer: results[half]!, others: results.filter((_, i) => i !== half) };
}

/**
 * Pins one interleaving: `statements` run in a transaction on a separate connection and stay uncommitted until
 * `request` is seen waiting for a row lock in Postgres; then that transaction commits and the request completes.
 */
async function behindUncommitted(statements: string, request: () => Promise<Result>): Promise<Result> {
  const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await holder.connect();
  try {
    await holder.query(`begin; ${statements}`);
    const pending = request();
    await lockWaiters(1);
    await holder.query('commit');
    return await pending;
  } finally {
    await holder.end();
  }
}

/** Resolves once `n` of the app's connections wait for a lock in Postgres. */
async function lockWaiters(n: number) {
  await vi.waitFor(
    async () => {
      const [waiting] = await sql(`select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name = 'lockstep' and wait_event_type = 'Lock'`);
      expect(waiting!.n).toBeGreaterThanOrEqual(n);
    },
    { timeout: 5_000, interval: 10 },
  );
}

function tally(outcomes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}

describe('conditions are re-checked on the locked row (interleavings pinned)', () => {
  const promote = (slug: string, sub: string) => `
    update team_memberships set role = 'ADMIN' where role = 'OWNER' and team_id = (select id from teams where slug = '${slug}');
    update team_memberships set role = 'OWNER' where user_id = '${id(sub)}';`;

  it('a removal waiting behind a transfer to its target finds the new owner: 409, nothing removed', async () => {
    const slug = await team('Pinned', 'boss', { heir: 'MEMBER' });
    const res = await behindUncommitted(promote(slug, 'heir'), () =>
      call(removeMember, { as: 'boss', params: { slug, userId: id('heir') } }),
    );
    expect(res).toMatchObject({ status: 409, body: { code: 'owner_cannot_leave' } });
    expect([await roleIn(slug, 'heir'), await roleIn(slug, 'boss')]).toEqual(['OWNER', 'ADMIN']);
  });

  it('a transfer waiting behind the removal of its target: 404 and its demotion rolled back', async () => {
    const slug = await team('Pinned', 'boss', { heir: 'MEMBER' });
    const res = await behindUncommitted(`delete from team_memberships where user_id = '${id('heir')}';`, () =>
      call(transferTeam, { as: 'boss', params: { slug }, body: { userId: id('heir') } }),
    );
    expect(res).toMatchObject({ status: 404, body: { code: 'member_not_found' } });
    expect([await roleIn(slug, 'boss'), await roleIn(slug, 'heir')]).toEqual(['OWNER', null]);
    await expectOneOwnerPerTeam();
  });

  it('a transfer waiting behind another transfer finds the caller no longer owner: 403', async () => {
    const slug = await team('Pinned', 'boss', { left: 'MEMBER', right: 'MEMBER' });
    const res = await behindUncommitted(`update teams set updated_at = now(); ${promote(slug, 'left')}`, () =>
      call(transferTeam, { as: 'boss', params: { slug }, body: { userId: id('right') } }),
    );
    expect(res).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect([await roleIn(slug, 'left'), await roleIn(slug, 'right')]).toEqual(['OWNER', 'MEMBER']);
  });

  it('a role change waiting behind a transfer to that member: the target is now the owner, the caller not: 403', async () => {
    const slug = await team('Pinned', 'boss', { heir: 'ADMIN' });
    const res = await behindUncommitted(promote(slug, 'heir'), () =>
      call(updateMember, { as: 'boss', params: { slug, userId: id('heir') }, body: { role: 'MEMBER' } }),
    );
    expect(res).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect([await roleIn(slug, 'heir'), await roleIn(slug, 'boss')]).toEqual(['OWNER', 'ADMIN']);
  });

  it('an add waiting behind an uncommitted add of the same user answers 200 with that membership', async () => {
    const slug = await team('Pinned', 'boss');
    const newbie = await idOf('newbie');
    const res = await behindUncommitted(
      `insert into team_memberships (team_id, user_id, role) select id, '${newbie}', 'ADMIN' from teams;`,
      () => call(addMember, { as: 'boss', params: { slug }, body: { userId: newbie, role: 'MEMBER' } }),
    );
    expect(res).toMatchObject({ status: 200, body: { userId: newbie, role: 'ADMIN' } });
  });
});

describe('DELETE /teams/{slug}', () => {
  it('deletes memberships with the team and keeps its events, detached', async () => {
    const slug = await team('Doomed', 'olivia', { amy: 'ADMIN' });
    const event = await call(createEvent, {
      as: 'amy',
      body: { name: 'Team Night', startsAt: '2027-03-01T18:00:00Z', capacity: 10, teamSlug: slug },
    });
    expect(event.status).toBe(201);
    expect((await call(deleteTeam, { as: 'olivia', params: { slug } })).status).toBe(204);
    expect(await count('teams')).toBe(0);
    expect(await count('team_memberships')).toBe(0);
    expect(await sql('select slug, team_id from events')).toEqual([{ slug: event.body.slug, team_id: null }]);
    expect((await call(getTeam, { params: { slug } })).status).toBe(404);
  });

  it('20 concurrent member adds racing the deletion: 201 or 404, never a 5xx, no orphans', async () => {
    const slug = await team('Vanishing', 'olivia');
    const newcomers = await Promise.all(Array.from({ length: 20 }, (_, i) => idOf(`newcomer-${i}`)));
    const adds = newcomers.map((userId) => () =>
      call(addMember, { as: 'olivia', params: { slug }, body: { userId, role: 'MEMBER' } }),
    );
    const { racer: deleted, others: addResults } = await raceInTheMiddle(
      () => call(deleteTeam, { as: 'olivia', params: { slug } }),
      adds,
    );
    expect(deleted!.status).toBe(204);
    for (const add of addResults) expect([201, 404]).toContain(add.status);
    expect(addResults.filter((a) => a.status === 404).every((a) => a.body.code === 'not_found')).toBe(true);
    expect(await count('teams')).toBe(0);
    expect(await count('team_memberships')).toBe(0);
    console.info('adds racing deletion:', tally(addResults.map((a) => String(a.status))));
  });
});

describe('PATCH /teams/{slug}', () => {
  it('changes name and description, never the slug', async () => {
    const slug = await team('Crew', 'olivia', { amy: 'ADMIN' });
    const res = await call(updateTeam, { as: 'amy', params: { slug }, body: { name: 'Renamed Crew', description: null } });
    expect(res).toMatchObject({ status: 200, body: { slug, name: 'Renamed Crew', description: null, ownerId: id('olivia') } });
    const withSlug = await call(updateTeam, { as: 'olivia', params: { slug }, body: { slug: 'other' } });
    expect(withSlug.status).toBe(400);
    expect((await sql('select slug, name from teams'))[0]).toEqual({ slug, name: 'Renamed Crew' });
  });
});

/** The authorization matrix: every team route × anonymous, non-member, member, admin, owner. */
describe('authorization', () => {
  type Caller = 'anonymous' | 'outsider' | 'member' | 'admin' | 'owner';
  type Expected = Record<Caller, number | [number, string]>;
  const callers: Caller[] = ['anonymous', 'outsider', 'member', 'admin', 'owner'];
  const as = (caller: Caller) => (caller === 'anonymous' ? undefined : caller);

  const routes: [string, (slug: string, caller: Caller) => Promise<Result>, Expected][] = [
    [
      'GET /teams/{slug}',
      (slug, caller) => call(getTeam, { as: as(caller), params: { slug } }),
      { anonymous: 200, outsider: 200, member: 200, admin: 200, owner: 200 },
    ],
    [
      'PATCH /teams/{slug}',
      (slug, caller) => call(updateTeam, { as: as(caller), params: { slug }, body: { name: 'New Name' } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 200, owner: 200 },
    ],
    [
      'DELETE /teams/{slug}',
      (slug, caller) => call(deleteTeam, { as: as(caller), params: { slug } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 403, owner: 204 },
    ],
    [
      'POST /teams/{slug}/members as MEMBER',
      (slug, caller) => call(addMember, { as: as(caller), params: { slug }, body: { userId: id('newbie'), role: 'MEMBER' } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 201, owner: 201 },
    ],
    [
      'POST /teams/{slug}/members as ADMIN',
      (slug, caller) => call(addMember, { as: as(caller), params: { slug }, body: { userId: id('newbie'), role: 'ADMIN' } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 201, owner: 201 },
    ],
    [
      'PATCH /teams/{slug}/members/{member}',
      (slug, caller) =>
        call(updateMember, { as: as(caller), params: { slug, userId: id('other-member') }, body: { role: 'ADMIN' } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 403, owner: 200 },
    ],
    [
      "PATCH /teams/{slug}/members/{owner}",
      (slug, caller) => call(updateMember, { as: as(caller), params: { slug, userId: id('owner') }, body: { role: 'ADMIN' } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 403, owner: [409, 'ownership_transfer_required'] },
    ],
    [
      'DELETE /teams/{slug}/members/{member}',
      (slug, caller) => call(removeMember, { as: as(caller), params: { slug, userId: id('other-member') } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 204, owner: 204 },
    ],
    [
      'DELETE /teams/{slug}/members/{admin}',
      (slug, caller) => call(removeMember, { as: as(caller), params: { slug, userId: id('other-admin') } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 204, owner: 204 },
    ],
    [
      'DELETE /teams/{slug}/members/{owner}',
      (slug, caller) => call(removeMember, { as: as(caller), params: { slug, userId: id('owner') } }),
      {
        anonymous: 401,
        outsider: 403,
        member: 403,
        admin: [409, 'owner_cannot_leave'],
        owner: [409, 'owner_cannot_leave'],
      },
    ],
    [
      'DELETE /teams/{slug}/members/{self}',
      (slug, caller) =>
        call(removeMember, { as: as(caller), params: { slug, userId: id(caller === 'anonymous' ? 'outsider' : caller) } }),
      { anonymous: 401, outsider: [404, 'member_not_found'], member: 204, admin: 204, owner: [409, 'owner_cannot_leave'] },
    ],
    [
      'POST /teams/{slug}/transfer',
      (slug, caller) => call(transferTeam, { as: as(caller), params: { slug }, body: { userId: id('other-member') } }),
      { anonymous: 401, outsider: 403, member: 403, admin: 403, owner: 200 },
    ],
  ];

  const cases = routes.flatMap(([name, run, expected]) =>
    callers.map((caller) => {
      const [status, code] = typeof expected[caller] === 'number' ? [expected[caller], undefined] : expected[caller];
      return { name, caller, run, status, code };
    }),
  );

  it.each(cases)('$name as $caller → $status', async ({ run, caller, status, code }) => {
    const slug = await team('Matrix', 'owner', {
      admin: 'ADMIN',
      member: 'MEMBER',
      'other-admin': 'ADMIN',
      'other-member': 'MEMBER',
    });
    ids.set('outsider', await idOf('outsider'));
    ids.set('newbie', await idOf('newbie'));
    const before = await snapshot();
    const res = await run(slug, caller);
    expect(res.status).toBe(status);
    const expectedCode = code ?? { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' }[status as number];
    if (status >= 400) {
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.body.code).toBe(expectedCode);
      expect(await snapshot()).toEqual(before);
    }
    await expectOneOwnerPerTeam();
  });

  it('404 not_found for an unknown team on every write route', async () => {
    const someone = await idOf('outsider');
    const params = { slug: 'no-such-team' };
    const responses = await Promise.all([
      call(updateTeam, { as: 'outsider', params, body: { name: 'Whatever' } }),
      call(deleteTeam, { as: 'outsider', params }),
      call(addMember, { as: 'outsider', params, body: { userId: someone, role: 'MEMBER' } }),
      call(updateMember, { as: 'outsider', params: { ...params, userId: someone }, body: { role: 'ADMIN' } }),
      call(removeMember, { as: 'outsider', params: { ...params, userId: someone } }),
      call(transferTeam, { as: 'outsider', params, body: { userId: someone } }),
    ]);
    for (const res of responses) expect(res).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });
});

describe('the database enforces exactly one owner', () => {
  const sqlError = async (statements: string) => {
    try {
      await sql(statements);
    } catch (err) {
      return err as { code: string; constraint?: string };
    }
    throw new Error('the statement was accepted');
  };

  it.each([
    ['deleting the OWNER membership', `delete from team_memberships where role = 'OWNER'`],
    ['demoting the owner', `update team_memberships set role = 'ADMIN' where role = 'OWNER'`],
    ['a team without an OWNER membership', `insert into teams (slug, name) values ('orphan', 'Orphan')`],
    ['deleting a user who owns a team', `delete from users where sub = 'olivia'`],
    [
      'a transaction that demotes without promoting',
      `begin; update team_memberships set role = 'ADMIN' where role = 'OWNER'; update team_memberships set role = 'ADMIN' where role = 'MEMBER'; commit;`,
    ],
  ])('at commit, the trigger refuses %s', async (_, statements) => {
    await team('Crew', 'olivia', { amy: 'MEMBER' });
    await call(createTeam, { as: 'bob', body: { name: 'Other' } });
    const before = await snapshot();
    const err = await sqlError(statements);
    expect(err).toMatchObject({ code: '23514', constraint: 'team_owner_required' });
    expect(await snapshot()).toEqual(before);
    await expectOneOwnerPerTeam();
  });

  it('the partial unique index refuses a second OWNER at once', async () => {
    await team('Crew', 'olivia', { amy: 'MEMBER' });
    const err = await sqlError(`update team_memberships set role = 'OWNER' where role = 'MEMBER'`);
    expect(err).toMatchObject({ code: '23505', constraint: 'team_memberships_one_owner_key' });
  });

  it('accepts demote-then-promote in one transaction, and deleting the whole team', async () => {
    const slug = await team('Crew', 'olivia', { amy: 'MEMBER' });
    await sql(`begin;
      update team_memberships set role = 'ADMIN' where role = 'OWNER';
      update team_memberships set role = 'OWNER' where user_id = '${id('amy')}';
      commit;`);
    expect(await roleIn(slug, 'amy')).toBe('OWNER');
    await sql(`delete from teams`);
    expect(await count('team_memberships')).toBe(0);
  });
});

describe('events co-organized by a team', () => {
  const newEvent = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    startsAt: '2027-03-01T18:00:00Z',
    capacity: 20,
    ...extra,
  });

  it('the team owner and admins may attach events; members and outsiders get 403; an unknown team 404', async () => {
    const slug = await team('Hosts', 'owner', { admin: 'ADMIN', member: 'MEMBER' });
    const teamId = (await sql('select id from teams'))[0]!.id;
    for (const sub of ['owner', 'admin']) {
      const res = await call(createEvent, { as: sub, body: newEvent(`By ${sub}`, { teamSlug: slug }) });
      expect(res).toMatchObject({ status: 201, body: { teamId, organizerId: id(sub) } });
    }
    for (const sub of ['member', 'outsider']) {
      const res = await call(createEvent, { as: sub, body: newEvent(`By ${sub}`, { teamSlug: slug }) });
      expect(res).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    }
    const unknown = await call(createEvent, { as: 'owner', body: newEvent('Nowhere', { teamSlug: 'no-such-team' }) });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'not_found', errors: [{ path: 'teamSlug' }] } });
    expect(await count('events')).toBe(2);
  });

  type Caller = 'organizer' | 'owner' | 'admin' | 'member' | 'outsider';
  it.each<[Caller, number]>([
    ['organizer', 200],
    ['owner', 200],
    ['admin', 200],
    ['member', 403],
    ['outsider', 403],
  ])('PATCH and DELETE an event of the team as %s → %i', async (caller, status) => {
    const slug = await team('Hosts', 'owner', { admin: 'ADMIN', member: 'MEMBER', organizer: 'ADMIN' });
    const event = await call(createEvent, { as: 'organizer', body: newEvent('Team Event', { teamSlug: slug }) });
    const patched = await call(updateEvent, { as: caller, params: { slug: event.body.slug }, body: { capacity: 30 } });
    expect(patched.status).toBe(status);
    expect((await sql('select capacity from events'))[0]!.capacity).toBe(status === 200 ? 30 : 20);
    const deleted = await call(deleteEvent, { as: caller, params: { slug: event.body.slug } });
    expect(deleted.status).toBe(status === 200 ? 204 : 403);
    expect(await count('events')).toBe(status === 200 ? 0 : 1);
  });

  it('team rights end with the role, the membership, the attachment or the team', async () => {
    const slug = await team('Hosts', 'owner', { admin: 'ADMIN', demoted: 'ADMIN', leaver: 'ADMIN' });
    const event = (await call(createEvent, { as: 'owner', body: newEvent('Team Event', { teamSlug: slug }) })).body;
    const patch = (sub: string) => call(updateEvent, { as: sub, params: { slug: event.slug }, body: { location: sub } });
    await call(updateMember, { as: 'owner', params: { slug, userId: id('demoted') }, body: { role: 'MEMBER' } });
    await call(removeMember, { as: 'leaver', params: { slug, userId: id('leaver') } });
    expect([(await patch('admin')).status, (await patch('demoted')).status, (await patch('leaver')).status]).toEqual([
      200, 403, 403,
    ]);
    // Detaching (by a co-organizer) leaves only the organizer in charge.
    const detached = await call(updateEvent, { as: 'admin', params: { slug: event.slug }, body: { teamSlug: null } });
    expect(detached).toMatchObject({ status: 200, body: { teamId: null } });
    expect((await patch('admin')).status).toBe(403);
    // Re-attached, then the team deleted: the event stays, detached.
    expect((await call(updateEvent, { as: 'owner', params: { slug: event.slug }, body: { teamSlug: slug } })).status).toBe(200);
    expect((await patch('admin')).status).toBe(200);
    await call(deleteTeam, { as: 'owner', params: { slug } });
    expect((await patch('admin')).status).toBe(403);
    expect((await sql('select team_id from events'))[0]!.team_id).toBeNull();
  });

  it("attaching needs both: managing the team and organizing the event", async () => {
    const slug = await team('Hosts', 'owner', { admin: 'ADMIN', member: 'MEMBER' });
    const own = (await call(createEvent, { as: 'member', body: newEvent('Member Event') })).body;
    const foreign = (await call(createEvent, { as: 'outsider', body: newEvent('Foreign Event') })).body;
    const attach = (sub: string, eventSlug: string) =>
      call(updateEvent, { as: sub, params: { slug: eventSlug }, body: { teamSlug: slug } });
    expect((await attach('member', own.slug)).status).toBe(403);
    expect((await attach('admin', foreign.slug)).status).toBe(403);
    expect((await attach('owner', foreign.slug)).status).toBe(403);
    expect(await count('events', 'team_id is not null')).toBe(0);
    await call(updateMember, { as: 'owner', params: { slug, userId: id('member') }, body: { role: 'ADMIN' } });
    expect((await attach('member', own.slug)).body.teamId).not.toBeNull();
  });

  it("a co-organizer's event write racing the team's deletion takes the locks in its order: no deadlock", async () => {
    const slug = await team('Hosts', 'owner', { admin: 'ADMIN' });
    const event = (await call(createEvent, { as: 'owner', body: newEvent('Team Event', { teamSlug: slug }) })).body;
    // The admin's membership held elsewhere: the deletion, with the team locked, waits for it to delete it, and the
    // admin's write queues behind. Deleting then detaches the event (the foreign key's SET NULL).
    const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from team_memberships where user_id = $1 for update', [id('admin')]);
      const deleting = call(deleteTeam, { as: 'owner', params: { slug } });
      await lockWaiters(1);
      const patching = call(updateEvent, { as: 'admin', params: { slug: event.slug }, body: { location: 'Hall B' } });
      await lockWaiters(2);
      await holder.query('commit');
      const released = performance.now();
      const [deleted, patched] = await Promise.all([deleting, patching]);
      // A deadlock is found only after deadlock_timeout (1 s by default), and then one side is retried.
      const fast = performance.now() - released < 900;
      expect({ deleted: deleted.status, patched: patched.status, fast }).toEqual({ deleted: 204, patched: 403, fast: true });
    } finally {
      await holder.end();
    }
    expect(await sql('select team_id, location from events')).toEqual([{ team_id: null, location: null }]);
  });

  it('20 concurrent team event creates racing the team deletion: 201 or 404, never a 5xx', async () => {
    const slug = await team('Short-lived', 'owner', { admin: 'ADMIN' });
    const { racer: deleted, others: creates } = await raceInTheMiddle(
      () => call(deleteTeam, { as: 'owner', params: { slug } }),
      Array.from({ length: 20 }, (_, i) => () => call(createEvent, { as: 'admin', body: newEvent(`Race ${i}`, { teamSlug: slug }) })),
    );
    expect(deleted!.status).toBe(204);
    for (const res of creates) expect([201, 404]).toContain(res.status);
    expect(await count('events')).toBe(creates.filter((r) => r.status === 201).length);
    expect(await count('events', 'team_id is not null')).toBe(0);
    console.info('event creates racing team deletion:', tally(creates.map((r) => String(r.status))));
  });
});
