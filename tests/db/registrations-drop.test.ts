import pg from 'pg';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as createEvent } from '../../functions/events-create';
import { handler as getMe } from '../../functions/me-get';
import { handler as addMember } from '../../functions/team-members-add';
import { handler as removeMember } from '../../functions/team-members-remove';
import { handler as createTeam } from '../../functions/teams-create';
import { handler as updateRegistration } from '../../functions/registrations-update';
import { handler as cancelRegistration } from '../../functions/registrations-cancel';
import { handler as register } from '../../functions/registrations-create';
import { handler as getRegistration } from '../../functions/registrations-get';
import { handler as listRegistrations } from '../../functions/registrations-list';
import { database } from '../../src/db/client';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Db } from '../../src/db/handle';
import { purgeIntake, throughIntake } from '../../src/registrations/intake';
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

/** A plan that reads one of the hot tables whole. */
const SCANNED_WHOLE = /Seq Scan on (registration_intake|registrations|idempotency_keys|events|event_shards)\b/;

/**
 * The plans of every statement one keyed registration runs, the admit statement included, read through auto_explain
 * on a session of its own, `setup` run on it first.
 */
async function plansOfOneRegistration(slug: string, setup: string): Promise<string> {
  const event = await newEvent(slug, 10);
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const plans: string[] = [];
    client.on('notice', (notice) => plans.push(notice.message ?? ''));
    await client.query(`load 'auto_explain'`);
    await client.query(`set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on; set auto_explain.log_level = notice; ${setup}`);
    const outcome = await throughIntake(drizzle({ client }) as unknown as Db, {
      event: { id: event.id },
      name: 'Planned',
      email: 'planned@example.com',
      spots: 1,
      cancelTokenHash: 'planned',
      key: { scope: 'anonymous', keyHash: slug, fingerprint: 'planned', status: 201, headers: {}, sealedBody: 'planned' },
    });
    expect(outcome.o_status).toBe('CONFIRMED');
    expect(plans.some((plan) => plan.includes('Query Text: with batch'))).toBe(true);
    return plans.join('\n');
  } finally {
    await client.end();
  }
}

beforeEach(async () => {
  await emptyTables(sql, 'events', 'slug_counters', 'users', 'teams');
});

describe('a ticket drop', () => {
  it('concurrent registrations are decided in batches, in arrival order', async () => {
    const event = await newEvent('batched', 1000);
    const responses = await Promise.all(Array.from({ length: 64 }, (_, i) => registerFor('batched', `s${i}@example.com`)));
    expect(responses.map((r) => r.body.status)).toEqual(Array(64).fill('CONFIRMED'));
    // Rows of one batch share its decision time: one admit statement per registration would give 64.
    const [intake] = await sql(
      `select count(*)::int as decided, count(distinct decided_at)::int as batches,
         bool_and(later.created_at > earlier.created_at) as in_order
       from registration_intake i
       join registrations earlier on earlier.id = (i.public_body::json->>'id')::uuid
       left join lateral (select r.created_at from registration_intake j join registrations r on r.id = (j.public_body::json->>'id')::uuid
         where j.event_id = i.event_id and j.arrival > i.arrival order by j.arrival limit 1) later on true
       where i.event_id = $1`,
      [event.id],
    );
    expect(intake).toMatchObject({ decided: 64, in_order: true });
    expect(intake!.batches).toBeLessThan(64);
    await assertEventInvariants(sql, event.id);
  });

  it('a registration whose backend is gone before its batch is refused, and the rest of the batch goes on', async () => {
    const event = await newEvent('gone', 10);
    // The shards held: the first registration becomes the admitter and waits for them, the second queues behind it.
    const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    await holder.query('begin');
    await holder.query('select 1 from event_shards where event_id = $1 order by shard for update', [event.id]);
    const [{ pid: holderPid }] = (await holder.query('select pg_backend_pid() as pid')).rows;
    const first = registerFor('gone', 'first@example.com');
    const waiter = async () => (await sql('select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [holderPid]))[0]?.pid as number | undefined;
    await vi.waitFor(async () => expect(await waiter()).toBeDefined(), { timeout: 10_000, interval: 20 });
    const second = registerFor('gone', 'second@example.com');
    await vi.waitFor(async () => expect(await sql('select 1 from registration_intake where event_id = $1', [event.id])).toHaveLength(2), { timeout: 10_000, interval: 20 });
    await sql('select pg_terminate_backend($1)', [await waiter()]);
    await holder.query('commit');
    await holder.end();
    expect((await first).status).toBe(503);
    expect((await second).body.status).toBe('CONFIRMED');
    expect(await sql('select email from registrations where event_id = $1', [event.id])).toEqual([{ email: 'second@example.com' }]);
    expect(await sql('select refused_state from registration_intake where event_id = $1 and status is null', [event.id])).toEqual([{ refused_state: '08006' }]);
    await assertEventInvariants(sql, event.id);
  });

  it('a row that fails its batch is refused alone with its SQLSTATE and constraint, and the batch is decided without it', async () => {
    const event = await newEvent('poisoned', 10);
    // A row the API would never write (0 spots): inserting its registration fails the CHECK on spots.
    await sql(
      `insert into registration_intake (event_id, owner_pid, owner_start, name, email, spots, cancel_token_hash)
       select $1, pid, backend_start, 'Zero', 'zero@example.com', 0, 'x' from pg_stat_activity where pid = pg_backend_pid()`,
      [event.id],
    );
    const res = await registerFor('poisoned', 'good@example.com');
    expect(res.body.status).toBe('CONFIRMED');
    expect(await sql(`select refused_state, refused_constraint from registration_intake where email = 'zero@example.com'`))
      .toEqual([{ refused_state: '23514', refused_constraint: 'registrations_spots_range' }]);
    await assertEventInvariants(sql, event.id);
  });

  it('a row with less than the decision grace (100 ms) of its deadline left is refused as late, not decided', async () => {
    const event = await newEvent('graced', 10);
    const session = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await session.connect();
    const call = async (email: string) =>
      (await session.query(`call lockstep_register($1::uuid, null, 'P', $2, 1, 'x', null, null, null, null, null, null, null, null, null)`, [event.id, email])).rows[0];
    try {
      // Warmed up first: a session's first admit plans its statement.
      expect((await call('warm@example.com')).o_status).toBe('CONFIRMED');
      // A pending row whose request has 60 ms left (its backend, this session, still waits), admitted at once by the
      // next call: decided within the 60 ms, but not with the grace left.
      await session.query(
        `insert into registration_intake (event_id, owner_pid, owner_start, name, email, spots, cancel_token_hash, deadline)
         select $1, pid, backend_start, 'Late', 'late@example.com', 1, 'x', clock_timestamp() + interval '60 milliseconds'
         from pg_stat_activity where pid = pg_backend_pid()`,
        [event.id],
      );
      expect((await call('on-time@example.com')).o_status).toBe('CONFIRMED');
    } finally {
      await session.end();
    }
    expect(await sql(`select refused_state from registration_intake where email = 'late@example.com'`)).toEqual([{ refused_state: '57014' }]);
    expect(await sql(`select email from registrations where event_id = $1 order by email`, [event.id])).toEqual([
      { email: 'on-time@example.com' },
      { email: 'warm@example.com' },
    ]);
  });

  it('the intake purge deletes rows decided past retention and rows whose backend is gone, never a row still waited for', async () => {
    const event = await newEvent('purged', 10);
    expect((await registerFor('purged', 'recent@example.com')).status).toBe(201);
    expect((await registerFor('purged', 'old@example.com')).status).toBe(201);
    await sql(`update registration_intake set decided_at = now() - interval '2 hours' where email = 'old@example.com'`);
    // Two pending rows: one whose backend (this test's session) waits, one whose backend is gone.
    const pending = (email: string, pid: string) =>
      sql(
        `insert into registration_intake (event_id, owner_pid, owner_start, name, email, spots, cancel_token_hash)
         select $1, ${pid}, backend_start, 'P', $2, 1, 'x' from pg_stat_activity where pid = pg_backend_pid()`,
        [event.id, email],
      );
    await pending('waiting@example.com', 'pid');
    await pending('gone@example.com', '2147483647');
    expect(await purgeIntake(database())).toBe(2);
    expect(await sql(`select email from registration_intake where event_id = $1 order by email`, [event.id])).toEqual([
      { email: 'recent@example.com' },
      { email: 'waiting@example.com' },
    ]);
  });

  it('every statement of a registration, the admit statement included, reaches its tables through an index, as planned on empty tables', async () => {
    // This database's tables were never analyzed: a planner that trusted their size would scan them whole, or hash
    // every key and registration the batch could meet, and a session's generic plan would keep doing it.
    const plans = await plansOfOneRegistration('planned', '');
    expect(plans).not.toMatch(SCANNED_WHOLE);
    expect(plans).not.toMatch(/hashed SubPlan/);
  });

  it('every statement of a registration reaches its tables through an index, as a session plans it once on small analyzed tables', async () => {
    // Analyzed while small (a quiet hour before a drop), a table is cheaper to scan whole than through an index, and
    // a session keeps a statement's generic plan (from its sixth run; forced here from the first) until the next
    // ANALYZE: each turn read every intake row the hour kept, each call every event.
    await sql(`vacuum analyze registration_intake, registrations, idempotency_keys, events, event_shards`);
    expect(await plansOfOneRegistration('analyzed', 'set plan_cache_mode = force_generic_plan')).not.toMatch(SCANNED_WHOLE);
  });

  it('registrations go on while the event row is locked: they lock a shard, never the event', async () => {
    const event = await newEvent('unlocked', 10);
    const hold = await holdEventRow(event.id);
    try {
      const started = Date.now();
      const res = await registerFor('unlocked', 'free@example.com');
      expect(res.status).toBe(201);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await hold.release();
    }
    await assertEventInvariants(sql, event.id);
  });

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

  it("a team ADMIN changes and cancels the team event's registrations, and cannot once removed from the team", async () => {
    const team = await call(createTeam, { as: 'owner', body: { name: 'Crew' } });
    const adminId = (await call(getMe, { as: 'admin' })).body.id;
    expect((await call(addMember, { as: 'owner', params: { slug: team.body.slug }, body: { userId: adminId, role: 'ADMIN' } })).status).toBe(201);
    const event = await call(createEvent, { as: 'owner', body: { name: 'Crew Night', slug: 'crew-night', startsAt: '2027-04-01T10:00:00Z', capacity: 1, teamSlug: team.body.slug } });
    const first = await registerFor('crew-night', 'first@example.com');
    const second = await registerFor('crew-night', 'second@example.com');
    expect(second.body.status).toBe('WAITLIST');
    const demoted = await call(updateRegistration, { as: 'admin', params: { slug: 'crew-night', id: first.body.id }, body: { status: 'WAITLIST' } });
    expect(demoted.body).toMatchObject({ status: 'WAITLIST', waitlistPosition: 1 });
    expect((await call(cancelRegistration, { as: 'admin', params: { slug: 'crew-night', id: first.body.id } })).status).toBe(204);
    expect((await call(removeMember, { as: 'owner', params: { slug: team.body.slug, userId: adminId } })).status).toBe(204);
    expect((await call(cancelRegistration, { as: 'admin', params: { slug: 'crew-night', id: second.body.id } })).status).toBe(403);
    expect(await sql(`select email, status from registrations order by created_at, id`)).toEqual([
      { email: 'second@example.com', status: 'CONFIRMED' },
      { email: 'first@example.com', status: 'CANCELLED' },
    ]);
    await assertEventInvariants(sql, event.body.id);
  });
});
