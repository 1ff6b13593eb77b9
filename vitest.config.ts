import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { LongestFirstSequencer } from './tests/setup/sequencer.ts';

const testSecret = 'lockstep-test-secret-0123456789abcdef';

const dbFiles = (...names: string[]) => names.map((name) => `tests/db/${name}.test.ts`);
/** The suites that hold the deadline and exactly-once promises, run again on other servers (see `onOtherServers`). */
const promiseSuites = dbFiles('deadlines', 'registrations', 'idempotency');

/**
 * unit: pure functions. db-pg / db-neon: the same database-facing suite over each driver (`pg` directly,
 * `@neondatabase/serverless` through a local WebSocket proxy). e2e: `serverless offline` over HTTP. import: the
 * scheduled import and maintenance jobs over `pg`, with generated data sets.
 */
/** Handlers parse their configuration on import; tests that never connect give them this one. */
const unconnected = { DATABASE_URL: 'postgresql://unit@127.0.0.1:1/none', IMPORT_SOURCE: 's3://unit-imports/', IMPORT_OWNER_SUB: 'unit' };

const suite: TestProjectInlineConfiguration[] = [
  // Pure functions: files share a worker and its loaded modules instead of each starting one (~5 s of CPU for 18 files);
  // the few that stub the environment or reset modules undo it after each test.
  { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'], env: unconnected, isolate: false } },
  ...(['pg', 'neon'] as const).map((driver) => ({
    extends: true as const,
    test: {
      name: `db-${driver}`,
      include: ['tests/db/**/*.test.ts'],
      setupFiles: ['tests/setup/database.ts'],
      env: { LOCKSTEP_TEST_DRIVER: driver },
    },
  })),
  { extends: true, test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], setupFiles: ['tests/setup/database.ts'] } },
  {
    extends: true,
    test: {
      name: 'import',
      include: ['tests/import/**/*.test.ts'],
      setupFiles: ['tests/setup/database.ts'],
      env: { LOCKSTEP_TEST_DRIVER: 'pg' },
    },
  },
];

/**
 * `npm run test:servers` (LOCKSTEP_TEST_SERVERS=1), a step of .ci/run beside `npm test`, apart so `npm test` keeps
 * to its minutes. db-pg15: the promise, fault, fuzz, pooler and lost-connection suites on PostgreSQL 15, the oldest
 * supported (no transaction_timeout: docs/postgres-versions.md). db-pgbouncer: the promise suites with the app
 * behind PgBouncer in transaction mode, as Neon's `-pooler` endpoint is (tests/setup/global-setup.ts starts both).
 * versions: PostgreSQL 14 refused with one sentence. crash: no answered registration lost in a crash.
 */
const otherServers: TestProjectInlineConfiguration[] = [
  {
    extends: true,
    test: {
      name: 'db-pg15',
      include: [...promiseSuites, ...dbFiles('faults', 'fuzz-api', 'fuzz-import', 'pooler', 'lost-connections')],
      setupFiles: ['tests/setup/database.ts'],
      env: { LOCKSTEP_TEST_DRIVER: 'pg' },
    },
  },
  {
    extends: true,
    test: { name: 'db-pgbouncer', include: promiseSuites, setupFiles: ['tests/setup/database.ts'], env: { LOCKSTEP_TEST_DRIVER: 'pg' } },
  },
  // PostgreSQL 14 is started by the test itself.
  { extends: true, test: { name: 'versions', include: ['tests/versions/**/*.test.ts'] } },
  // A durable server of its own, crashed and recovered.
  { extends: true, test: { name: 'crash', include: ['tests/crash/**/*.test.ts'] } },
];

/**
 * `npm run test:package` (LOCKSTEP_TEST_PACKAGE=1), the last step of .ci/run: one `serverless package` without AWS
 * credentials and its CloudFormation template checked (secrets, roles, alarms, throttling). Apart from `npm test`:
 * packaging 46 functions takes 20 to 55 s of both cores.
 */
const packaged: TestProjectInlineConfiguration[] = [{ extends: true, test: { name: 'package', include: ['tests/package/**/*.test.ts'], env: unconnected } }];

/** Without a pgbouncer this machine can install, db-pgbouncer is left out, saying why. */
function onOtherServers(): TestProjectInlineConfiguration[] {
  const pgbouncer = spawnSync('bash', ['scripts/ensure-debian.sh', 'pgbouncer'], { encoding: 'utf8' });
  if (pgbouncer.status !== 0) console.warn(`db-pgbouncer skipped: ${pgbouncer.stderr.trim()}`);
  return otherServers.filter((project) => pgbouncer.status === 0 || project.test?.name !== 'db-pgbouncer');
}

export default defineConfig({
  test: {
    // Test files mostly wait on PostgreSQL (another process) and on timers: more files than cores keep both cores
    // busy. Worker threads, not forked processes: each file's worker starts and loads its modules for less CPU.
    // `npm test` on 2 idle cores, one run each: forks ×4 182 s; threads ×4 169 s, ×5 161 s and 184 s, ×6 201 s.
    maxWorkers: availableParallelism() + 3,
    pool: 'threads',
    sequence: { sequencer: LongestFirstSequencer },
    deps: {
      optimizer: {
        ssr: {
          enabled: true,
          include: ['drizzle-orm', 'drizzle-orm/errors', 'drizzle-orm/pg-core', 'drizzle-orm/node-postgres', 'drizzle-orm/node-postgres/migrator', 'drizzle-orm/neon-serverless'],
        },
      },
    },
    globalSetup: ['tests/setup/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: {
      AUTH_JWT_SECRET: testSecret,
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
      DATABASE_POOL_MAX: '20',
    },
    projects: process.env.LOCKSTEP_TEST_SERVERS === '1' ? onOtherServers() : process.env.LOCKSTEP_TEST_PACKAGE === '1' ? packaged : suite,
  },
});
