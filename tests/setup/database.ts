import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { closeDatabase } from '../../src/db/client';

/**
 * Runs before each test file: a private database cloned from the migrated template, and the app configured to
 * use it through the driver this project tests (LOCKSTEP_TEST_DRIVER).
 */
const adminUrl = inject('adminDatabaseUrl');
const database = `test_${randomBytes(6).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
// CREATE DATABASE ... TEMPLATE needs the template to have no other sessions; files start concurrently.
for (let attempt = 0; ; attempt++) {
  try {
    await admin.query(`create database ${database} template ${inject('templateDatabase')}`);
    break;
  } catch (err) {
    if (attempt > 50 || (err as { code?: string }).code !== '55006') throw err;
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
  }
}
await admin.end();

const url = new URL(adminUrl);
url.pathname = `/${database}`;
// Project db-pgbouncer: the app, and the tests' own connections, go through PgBouncer as in production.
const pooler = inject('pooler');
export const behindPooler = pooler !== '';
if (behindPooler) url.host = pooler;
export const testDatabaseUrl = url.toString();

process.env.DATABASE_URL = testDatabaseUrl;
process.env.DATABASE_DRIVER = process.env.LOCKSTEP_TEST_DRIVER ?? 'pg';
process.env.NEON_WS_PROXY = inject('wsProxy');
if (!inject('poolerPreparedStatements')) process.env.DATABASE_PREPARED_STATEMENTS = 'false';

afterAll(async () => {
  await closeDatabase();
  const cleanup = new pg.Client({ connectionString: adminUrl });
  await cleanup.connect();
  await cleanup.query(`drop database if exists ${database} with (force)`);
  await cleanup.end();
});
