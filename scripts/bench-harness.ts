import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runMigrations } from '../src/db/migrate';
import { startLocalPostgres } from './local-postgres';

/**
 * A throwaway migrated database for a benchmark: embedded PostgreSQL in a temp dir (or BENCH_DATABASE_URL), with
 * the app's environment pointed at it. Import app modules only after this resolves: they read config on import.
 */
export async function benchDatabase(
  server: { flags?: string[]; onLog?: (message: unknown) => void; durable?: boolean } = {},
): Promise<{ url: string; stop: () => Promise<void> }> {
  let url = process.env.BENCH_DATABASE_URL;
  let stop = async () => undefined as void;
  if (!url) {
    const local = await startLocalPostgres({
      dataDir: await mkdtemp(join(tmpdir(), 'lockstep-bench-pg-')),
      persistent: false,
      maxConnections: 500,
      ...server,
    });
    const admin = new pg.Client({ connectionString: local.url() });
    await admin.connect();
    await admin.query('create database bench');
    await admin.end();
    url = local.url('bench');
    stop = local.stop;
  }
  await runMigrations(url);
  process.env.DATABASE_URL = url;
  process.env.AUTH_JWT_SECRET ||= 'lockstep-benchmark-secret-0123456789abcdef';
  process.env.POWERTOOLS_LOG_LEVEL ||= 'SILENT';
  return { url, stop };
}
