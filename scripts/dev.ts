/**
 * `npm run dev`: a migrated PostgreSQL and `serverless offline` on http://127.0.0.1:3000, with nothing installed
 * beyond npm packages. DATABASE_URL, PORT and AUTH_JWT_SECRET from the environment win over the defaults.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { corsConfig } from '../src/config';
import { runMigrations } from '../src/db/migrate';
import { UnsupportedPostgresError } from '../src/db/version';
import { startCorsGateway } from './cors-gateway';
import { devWebhookEnv, startDeliveryBackstop } from './dev-webhooks';
import { freePort, LocalPostgresError, startLocalPostgres, type LocalPostgres } from './local-postgres';
import { assertNodeVersion } from './node-version';
import { DEV_JWT_SECRET } from './token';

const DEV_DATABASE = 'lockstep';

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (rowCount === 0) await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
}

assertNodeVersion('npm run dev');

let local: LocalPostgres | undefined;
let databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.log('starting embedded PostgreSQL (data in .data/postgres)…');
  local = await startLocalPostgres({
    dataDir: join(process.cwd(), '.data', 'postgres'),
    port: Number(process.env.LOCKSTEP_PG_PORT ?? 54329),
    persistent: true,
  }).catch((err: unknown) => {
    if (!(err instanceof LocalPostgresError)) throw err;
    console.error(err.message);
    process.exit(1);
  });
  await ensureDatabase(local.url(), DEV_DATABASE);
  databaseUrl = local.url(DEV_DATABASE);
}
await runMigrations(databaseUrl).catch(async (err: unknown) => {
  if (!(err instanceof UnsupportedPostgresError)) throw err;
  console.error(err.message);
  await local?.stop();
  process.exit(1);
});
console.log('database migrated');

const port = Number(process.env.PORT || 3000);
// Offline runs the functions on private ports behind the gateway on PORT, which plays API Gateway (cors-gateway.ts).
const [offlinePort, lambdaPort] = [await freePort(), await freePort()];
const gateway = await startCorsGateway({ port, lambdaPort, allowedOrigins: corsConfig().CORS_ALLOWED_ORIGINS });
console.log(`API on http://127.0.0.1:${port} (reference: /docs); serverless offline behind it (Lambda API on port ${lambdaPort})`);
// Its own process group, so stopping dev stops serverless offline and everything npx started under it.
const offline = spawn('npx', ['serverless', 'offline', 'start'], {
  stdio: 'inherit',
  detached: true,
  env: {
    ...process.env,
    DATABASE_URL: databaseUrl,
    // In AWS one instance serves one request (pool size 1); here one process serves every concurrent request.
    DATABASE_POOL_MAX: process.env.DATABASE_POOL_MAX || '10',
    PORT: String(offlinePort),
    LAMBDA_PORT: String(lambdaPort),
    ...devWebhookEnv(lambdaPort),
    AUTH_JWT_SECRET: process.env.AUTH_JWT_SECRET || (process.env.AUTH_JWKS_URL ? '' : DEV_JWT_SECRET),
  },
});

const stopBackstop = startDeliveryBackstop(lambdaPort);

let stopping = false;
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    stopBackstop();
    if (offline.pid !== undefined) {
      try {
        process.kill(-offline.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    await gateway.close();
    await local?.stop().catch(() => undefined);
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
offline.on('exit', (code) => void shutdown(code ?? 0));
