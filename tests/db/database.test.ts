import { sql as drizzleSql } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { handler as health } from '../../functions/health';
import { databaseConfig } from '../../src/config';
import { connection, database } from '../../src/db/client';
import { register } from '../../src/registrations/service';
import { call } from '../helpers/api';
import { sqlClient } from '../helpers/sql';

const sql = sqlClient();

describe('database client', () => {
  it('uses the driver under test', async () => {
    expect(connection().driver).toBe(process.env.LOCKSTEP_TEST_DRIVER);
    await database().execute(drizzleSql`select 1`);
  });

  it('survives connections the server dropped while idle', async () => {
    // Fill the pool with several idle connections, then kill them all from outside, as a restart or an idle
    // timeout would while a Lambda is frozen.
    await Promise.all(Array.from({ length: 5 }, () => database().execute(drizzleSql`select pg_sleep(0.05)`)));
    const killed = await sql(
      `select pg_terminate_backend(pid) from pg_stat_activity
       where datname = current_database() and application_name = 'lockstep' and pid <> pg_backend_pid()`,
    );
    expect(killed.length).toBeGreaterThanOrEqual(1);
    await vi.waitFor(async () => {
      const rows = await sql(`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'lockstep'`);
      expect(rows[0]!.n).toBe(0);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const res = await call(health);
    expect(res.status).toBe(200);
  });

  it('prepares the registration call once per connection, not once per registration', async () => {
    const [organizer] = await sql(`insert into users (sub) values ('prepared-organizer') returning id`);
    await sql(`insert into events (slug, name, starts_at, capacity, organizer_id) values ('prepared', 'Prepared', now() + interval '1 day', 100, $1)`, [organizer!.id]);
    const client = await connection().pool.connect();
    try {
      const db = connection().onClient(client);
      for (let n = 0; n < 8; n++) await register(db, 'prepared', { name: `P ${n}`, email: `p${n}@example.com`, spots: 1 });
      const { rows } = await client.query<{ statement: string }>(`select statement from pg_prepared_statements where name like 'lockstep\\_%'`);
      if (!databaseConfig().DATABASE_PREPARED_STATEMENTS) return expect(rows).toEqual([]);
      expect(rows).toEqual([{ statement: expect.stringMatching(/^call "lockstep_register"\(/) }]);
    } finally {
      client.release();
    }
  });

  it('keeps its connection when Postgres refuses a statement', async () => {
    await database().execute(drizzleSql`select 1`);
    let opened = 0;
    const countOpened = () => opened++;
    connection().pool.on('connect', countOpened);
    try {
      for (let i = 0; i < 5; i++) {
        await expect(database().execute(drizzleSql`select 1 / ${0}::int`)).rejects.toThrow();
        await database().execute(drizzleSql`select 1`);
      }
      expect(opened).toBe(0);
    } finally {
      connection().pool.off('connect', countOpened);
    }
  });

  it('discards a connection whose backend was terminated during a query', async () => {
    const pool = connection().pool;
    // The query takes an idle connection if there is one (or opens a new one).
    const idleAfterCheckout = Math.max(pool.idleCount - 1, 0);
    // Drizzle's query promise is lazy: then() starts it.
    const sleeping = database().execute(drizzleSql`select pg_sleep(5)`).then(() => 'finished', (err: unknown) => err);
    await vi.waitFor(async () => {
      const [row] = await sql(`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'lockstep' and query like '%pg_sleep%'`);
      expect(row!.n).toBe(1);
    });
    await sql(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'lockstep' and query like '%pg_sleep%'`);
    expect(await sleeping).toBeInstanceOf(Error);
    // Not handed back to the pool as idle: the next query gets a live connection.
    expect(pool.idleCount).toBe(idleAfterCheckout);
    await database().execute(drizzleSql`select 1`);
  });

  it('has the server end its sessions idle for twice DATABASE_MAX_IDLE_SECONDS (a frozen instance leaves none behind)', async () => {
    const seconds = databaseConfig().DATABASE_MAX_IDLE_SECONDS * 2;
    const { rows } = await database().execute<{ matches: boolean }>(
      drizzleSql`select current_setting('idle_session_timeout')::interval = ${seconds} * interval '1 second' as matches`,
    );
    expect(seconds).toBeGreaterThan(0);
    expect(rows[0]?.matches).toBe(true);
  });

  it('replaces a pool that sat idle longer than DATABASE_MAX_IDLE_SECONDS', async () => {
    const before = connection();
    before.lastReleasedAt = 0;
    const after = connection();
    expect(after).not.toBe(before);
    expect((await call(health)).status).toBe(200);
  });

  it('keeps its pool, its connections and the server its session, however long idle with DATABASE_MAX_IDLE_SECONDS=0', async () => {
    vi.resetModules();
    vi.stubEnv('DATABASE_MAX_IDLE_SECONDS', '0');
    const fresh = await import('../../src/db/client');
    try {
      const before = fresh.connection();
      before.lastReleasedAt = 0;
      expect(fresh.connection()).toBe(before);
      expect(before.pool.options.idleTimeoutMillis).toBe(0);
      const { rows } = await fresh.database().execute<{ timeout: string }>(drizzleSql`select current_setting('idle_session_timeout') as timeout`);
      expect(rows[0]?.timeout).toBe('0');
    } finally {
      await fresh.closeDatabase();
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});

describe('GET /health', () => {
  afterEach(() => {
    vi.resetModules();
  });

  it('200 when the database answers', async () => {
    const res = await call(health);
    expect(res).toMatchObject({ status: 200, body: { status: 'ok', database: 'ok' } });
  });

  it('503 problem+json when the database is unreachable, without leaking the connection string', async () => {
    vi.resetModules();
    vi.stubEnv('DATABASE_URL', 'postgresql://lockstep:s3cret-password@127.0.0.1:1/lockstep');
    try {
      const fresh = await import('../../functions/health');
      const res = await call(fresh.handler);
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.body).toMatchObject({ status: 503, code: 'database_unavailable' });
      expect(JSON.stringify(res)).not.toMatch(/s3cret|127\.0\.0\.1|select/i);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('internal errors', () => {
  it('a failing query answers 500 with a fixed text: no SQL, no parameters, no stack', async () => {
    const { route } = await import('../../src/http/route');
    const { defineRoute } = await import('../../src/contract/route');
    const failing = route(
      defineRoute({ operationId: 'failing', method: 'GET', path: '/failing', summary: 'test', auth: 'none', responses: {} }),
      async ({ db }) => {
        await db.execute(drizzleSql`select * from no_such_table where secret = ${'parameter-value-42'}`);
        return { status: 200 };
      },
    );
    const res = await call(failing);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ status: 500, code: 'internal_error' });
    expect(JSON.stringify(res.body)).not.toMatch(/no_such_table|parameter-value-42|select|at /i);
  });
});
