import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { checkServerVersion, SERVER_VERSION_QUERY } from './version';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * Apply the committed migrations. An advisory lock makes concurrent runs (two deploys, parallel tests) queue. A
 * server older than lockstep supports is refused before anything is applied (UnsupportedPostgresError).
 */
export async function runMigrations(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'lockstep-migrate' });
  await client.connect();
  try {
    checkServerVersion((await client.query<{ num: number; version: string }>(SERVER_VERSION_QUERY)).rows[0]);
    await client.query(`select pg_advisory_lock(hashtext('lockstep:migrations'))`);
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await client.end();
  }
}
