import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalPostgres, type LocalPostgres } from '../../scripts/local-postgres';
import { runMigrations } from '../../src/db/migrate';
import { assertEventInvariants } from '../helpers/invariants';
import { sqlClient } from '../helpers/sql';

/**
 * No answered registration is lost in a crash. The intake's own commit does not wait for its WAL flush (nobody is
 * answered from it); the batch's commit does, and flushes the intake rows' WAL with its own. A drop on a server
 * with synchronous commits is cut short by an immediate shutdown (every process gone at once, with its unwritten
 * WAL); after crash recovery every registration a call answered is there, and the counters are exact.
 */
const CLIENTS = 24;
const ANSWERED_BEFORE_CRASH = 150;

const dataDir = await mkdtemp(join(tmpdir(), 'lockstep-crash-pg-'));
const start = (port?: number) => startLocalPostgres({ dataDir, port, persistent: true });
let server: LocalPostgres = await start();
const url = server.url();
await runMigrations(url);
// The app reads its configuration on import: pointed at this server first.
process.env.DATABASE_URL = url;
const { database, closeDatabase } = await import('../../src/db/client');
const { throughIntake } = await import('../../src/registrations/intake');
/** Used only after recovery: it connects on its first query. */
const sql = sqlClient();
afterAll(async () => {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** An immediate shutdown, as a crash: the postmaster (its pid file) tells every backend to quit without writing. */
async function crash(): Promise<void> {
  const postmaster = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  process.kill(postmaster, 'SIGQUIT');
  while (await readFile(join(dataDir, 'postmaster.pid')).then(() => true, () => false)) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('a crash during a drop', () => {
  it('keeps every registration a call answered, and the event invariants hold', { timeout: 120_000 }, async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const [user] = (await admin.query(`insert into users (sub) values ('crash') returning id`)).rows;
    const [event] = (
      await admin.query(`insert into events (slug, name, starts_at, capacity, organizer_id) values ('crash', 'Crash', now() + interval '30 days', 10000, $1) returning id`, [user.id])
    ).rows;
    await admin.end();

    const answered: string[] = [];
    let crashed: Promise<void> | undefined;
    const db = database();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let n = 0; ; n++) {
          try {
            const outcome = await throughIntake(db, { event: { id: event.id }, name: 'Crash', email: `c${client}-${n}@example.com`, spots: 1, cancelTokenHash: randomUUID() });
            answered.push((JSON.parse(outcome.o_public_body!) as { id: string }).id);
          } catch {
            return; // the server is gone
          }
          if (answered.length === ANSWERED_BEFORE_CRASH) crashed = crash();
        }
      }),
    );
    await crashed;
    await closeDatabase();

    server = await start(Number(new URL(url).port));
    const kept = new Set((await sql<{ id: string }>(`select id from registrations where event_id = $1`, [event.id])).map((row) => row.id));
    expect(answered.length).toBeGreaterThanOrEqual(ANSWERED_BEFORE_CRASH);
    expect(answered.filter((id) => !kept.has(id))).toEqual([]);
    await assertEventInvariants(sql, event.id);
  });
});
