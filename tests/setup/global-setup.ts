import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { runMigrations } from '../../src/db/migrate';
import { startLocalPostgres } from '../../scripts/local-postgres';
import { assertNodeVersion } from '../../scripts/node-version';
import { startWsProxy } from './ws-proxy';

export const TEMPLATE_DATABASE = 'lockstep_template';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    wsProxy: string;
  }
}

interface SharedDatabase {
  adminUrl: string;
  wsProxy: string;
  stop: () => Promise<void>;
}

/**
 * One PostgreSQL for the whole run (embedded, or TEST_DATABASE_URL), a migrated template database each test file
 * clones in milliseconds, and the WebSocket proxy the Neon driver connects through. Vitest runs a global setup once
 * per project, all in its main process: the first call starts them, every project shares them, the last one out
 * stops them.
 */
const shared = globalThis as { lockstepTestDatabase?: { ready: Promise<SharedDatabase>; users: number } };

export default async function setup(project: TestProject) {
  assertNodeVersion('vitest');
  shared.lockstepTestDatabase ??= { ready: startDatabase(), users: 0 };
  const state = shared.lockstepTestDatabase;
  state.users++;
  const database = await state.ready;
  project.provide('adminDatabaseUrl', database.adminUrl);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  project.provide('wsProxy', database.wsProxy);
  return async () => {
    if (--state.users > 0) return;
    shared.lockstepTestDatabase = undefined;
    await database.stop();
  };
}

async function startDatabase(): Promise<SharedDatabase> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stopPostgres = async () => undefined as void;
  if (!adminUrl) {
    const local = await startLocalPostgres({
      dataDir: await mkdtemp(join(tmpdir(), 'lockstep-test-pg-')),
      persistent: false,
      maxConnections: 400,
      // The Neon driver runs SCRAM's 4,096 HMAC rounds in plain JavaScript (it is written for edge runtimes), and
      // the suites open thousands of connections; Neon itself takes the password in the clear, over TLS.
      authMethod: 'password',
      // A throwaway cluster of short-lived databases: no replicas to feed, and no vacuum worth its CPU.
      flags: ['-c', 'wal_level=minimal', '-c', 'max_wal_senders=0', '-c', 'autovacuum=off'],
    });
    adminUrl = local.url();
    stopPostgres = local.stop;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DATABASE} with (force)`);
  await admin.query(`create database ${TEMPLATE_DATABASE}`);
  await admin.end();
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${TEMPLATE_DATABASE}`;
  await runMigrations(templateUrl.toString());

  const proxy = await startWsProxy();
  return {
    adminUrl,
    wsProxy: `127.0.0.1:${proxy.port}`,
    stop: async () => {
      await proxy.close();
      await stopPostgres();
    },
  };
}
