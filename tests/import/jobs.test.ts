import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateImportFixture, writeImportFixture } from '../../scripts/import-fixture';
import { database } from '../../src/db/client';
import { createEvent } from '../../src/events/service';
import { runMaintenance } from '../../src/maintenance/service';
import { register } from '../../src/registrations/service';
import { ensureUser } from '../../src/users/service';
import { bundledScripts } from '../helpers/cli';
import { emptyImportTables } from '../helpers/import-folder';
import { eventCounters } from '../helpers/invariants';
import { sqlClient } from '../helpers/sql';

const sql = sqlClient();
const run = promisify(execFile);
const bundled = bundledScripts('scripts/maintenance.ts', 'scripts/import.ts');

/**
 * A script run as a process of its own, as `npm run` runs it (there under tsx; here its esbuild bundle, see
 * bundledScripts), against this file's database; resolves with its exit code and output.
 */
async function cli(script: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [await bundled(script), ...args], {
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

beforeEach(async () => {
  await emptyImportTables(sql, 'idempotency_keys');
});

/**
 * An event whose counter says 6 spots are taken while its rows hold 2: the confirmed registration of 4 spots was
 * deleted behind the counter's back. Two registrations wait (3 spots, then 1), and both fit once the counter is
 * true. A second, consistent event must not be reported.
 */
async function corruptedEvent() {
  const organizer = await ensureUser(database(), { sub: 'organizer' });
  const event = await createEvent(database(), organizer, { name: 'Drifting', startsAt: new Date('2027-06-01T10:00:00Z'), capacity: 6, maxSpotsPerRegistration: 10 });
  const clean = await createEvent(database(), organizer, { name: 'Clean', startsAt: new Date('2027-06-01T10:00:00Z'), capacity: 6, maxSpotsPerRegistration: 10 });
  for (const [email, spots] of [['a@example.com', 2], ['b@example.com', 4], ['c@example.com', 3], ['d@example.com', 1]] as const) {
    await register(database(), event.slug, { name: email, email, spots });
    await register(database(), clean.slug, { name: email, email, spots });
  }
  await sql(`delete from registrations where event_id = $1 and email = 'b@example.com'`, [event.id]);
  return event;
}

const eventState = async (id: string) => {
  const { spots_reserved, waitlist_count } = await eventCounters(sql, id);
  return { spots_reserved, waitlist_count };
};
const statuses = async (id: string) =>
  (await sql(`select email, status from registrations where event_id = $1 order by email`, [id])).map((r) => `${r.email} ${r.status}`);

describe('maintenance', () => {
  it('purges expired idempotency keys, reports drift, and with repair fixes it and promotes the waitlist', async () => {
    await sql(`insert into idempotency_keys (scope, key_hash, fingerprint, created_at) values
      ('anonymous', 'old', 'f', now() - interval '25 hours'), ('anonymous', 'fresh', 'f', now())`);
    const event = await corruptedEvent();

    const report = await runMaintenance(database(), { repair: false });
    expect(report.purgedIdempotencyKeys).toBe(1);
    expect(report.drift).toEqual([
      { eventId: event.id, spotsReserved: 6, confirmedSpots: 2, waitlistCount: 2, waitingRows: 2, repaired: false },
    ]);
    expect(await eventState(event.id)).toEqual({ spots_reserved: 6, waitlist_count: 2 });
    expect(await sql(`select key_hash from idempotency_keys`)).toEqual([{ key_hash: 'fresh' }]);

    const repaired = await runMaintenance(database(), { repair: true });
    expect(repaired.drift).toEqual([{ ...report.drift[0], repaired: true }]);
    expect(await eventState(event.id)).toEqual({ spots_reserved: 6, waitlist_count: 0 });
    expect(await statuses(event.id)).toEqual(['a@example.com CONFIRMED', 'c@example.com CONFIRMED', 'd@example.com CONFIRMED']);
    expect((await runMaintenance(database(), { repair: false })).drift).toEqual([]);
  });

  it('purges webhook messages finished more than 30 days ago, with their attempts; pending and recent ones stay', async () => {
    const [user] = await sql<{ id: string }>(`insert into users (sub) values ('hooked') returning id`);
    const [hook] = await sql<{ id: string }>(
      `insert into webhook_subscriptions (owner_id, url, secret) values ($1, 'https://hooks.example.com/x', 'whsec_dGVzdA==') returning id`,
      [user!.id],
    );
    const message = (label: string, status: string, age: string) =>
      sql(
        `insert into webhook_messages (id, subscription_id, event_id, sequence, type, data, status, created_at, delivered_at)
         values ($1, $2, gen_random_uuid(), 1, 'event.changed', '{}', $3::webhook_message_status, now() - $4::interval,
           case when $3::webhook_message_status = 'DELIVERED' then now() - $4::interval end)`,
        [label, hook!.id, status, age],
      );
    const ids = { old: randomUUID(), oldFailed: randomUUID(), oldPending: randomUUID(), recent: randomUUID() };
    await message(ids.old, 'DELIVERED', '31 days');
    await message(ids.oldFailed, 'FAILED', '31 days');
    await message(ids.oldPending, 'PENDING', '31 days');
    await message(ids.recent, 'DELIVERED', '29 days');
    await sql(`insert into webhook_attempts (message_id, subscription_id, attempted_at, status_code, latency_ms) values ($1, $2, now(), 204, 5)`, [
      ids.old,
      hook!.id,
    ]);

    expect((await runMaintenance(database(), { repair: false })).purgedWebhookMessages).toBe(2);
    expect((await sql<{ id: string }>(`select id from webhook_messages`)).map((row) => row.id).sort()).toEqual([ids.oldPending, ids.recent].sort());
    expect(await sql(`select count(*)::int as n from webhook_attempts`)).toEqual([{ n: 0 }]);
  });

  it('the scheduled handler reports only, unless MAINTENANCE_REPAIR is true', async () => {
    const event = await corruptedEvent();
    const { handler } = await import('../../functions/maintenance');
    expect((await handler()).drift).toMatchObject([{ eventId: event.id, repaired: false }]);
    expect(await eventState(event.id)).toEqual({ spots_reserved: 6, waitlist_count: 2 });

    vi.resetModules();
    vi.stubEnv('MAINTENANCE_REPAIR', 'true');
    try {
      const repairing = await import('../../functions/maintenance');
      expect((await repairing.handler()).drift).toMatchObject([{ eventId: event.id, repaired: true }]);
      expect(await eventState(event.id)).toEqual({ spots_reserved: 6, waitlist_count: 0 });
    } finally {
      vi.unstubAllEnvs();
      await (await import('../../src/db/client')).closeDatabase();
      vi.resetModules();
    }
  });

  it('npm run maintenance reports drift (exit 2); with --repair it fixes it (exit 0)', async () => {
    const event = await corruptedEvent();
    const report = await cli('scripts/maintenance.ts', []);
    expect(report.code).toBe(2);
    expect(report.stdout).toContain('event counters: 1 drifted');
    expect(report.stdout).toContain(
      `event ${event.id}: spots_reserved 6 vs confirmed 2, waitlist_count 2 vs waiting 2: not repaired (run with --repair)`,
    );
    expect(await eventState(event.id)).toEqual({ spots_reserved: 6, waitlist_count: 2 });

    const repair = await cli('scripts/maintenance.ts', ['--repair']);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain(`event ${event.id}: spots_reserved 6 vs confirmed 2, waitlist_count 2 vs waiting 2: repaired`);
    expect(await eventState(event.id)).toEqual({ spots_reserved: 6, waitlist_count: 0 });
    expect((await cli('scripts/maintenance.ts', [])).stdout).toContain('event counters: all consistent');
  });
});

describe('importEvents, from the command line and as the scheduled handler', () => {
  const fixture = generateImportFixture({ events: 60, registrations: 400, seed: 3 });
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'lockstep-import-cli-'));
    await writeImportFixture(folder, fixture);
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));
  const { read, created, waitlisted, unchanged, rejected } = fixture.expected;

  // Three CLI processes: at load 20 each took 15-20 s to start and run under tsx.
  it('npm run import -- <folder>: progress on stderr, summary and rejections on stdout; a second run skips', { timeout: 120_000 }, async () => {
    const env = { IMPORT_OWNER_SUB: 'cli-importer', IMPORT_CONCURRENCY: '4' };
    const first = await cli('scripts/import.ts', [folder], env);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('objects 4/4');
    expect(first.stdout).toContain(`import run `);
    expect(first.stdout).toContain(`objects: 4 imported, 0 skipped (already imported)`);
    expect(first.stdout).toContain(
      `rows: ${read} read, ${created} created, ${waitlisted} waitlisted, ${unchanged} unchanged, ${rejected} rejected`,
    );
    expect(first.stdout).toMatch(/ {2}rejected 0\d-batch\.(csv|jsonl):\d+/);
    const [owner] = await sql(`select count(*)::int as events from events e join users u on u.id = e.organizer_id where u.sub = 'cli-importer'`);
    expect(owner!.events).toBe(fixture.events.size);

    const second = await cli('scripts/import.ts', [folder], env);
    // Every object sorts at or before the watermark: none listed.
    expect(second.stdout).toContain('objects: 0 imported, 0 skipped (already imported)');
    const broken = await cli('scripts/import.ts', [folder], { ...env, IMPORT_CONCURRENCY: '0' });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('Invalid configuration: IMPORT_CONCURRENCY');
  });

  it('npm run import while another run holds the source: not run, says which run holds it, exits 3', async () => {
    await sql(`insert into import_sources (source, lease_run_id, lease_expires_at)
      values ($1, '00000000-0000-4000-8000-000000000001', now() + interval '1 minute')`, [folder]);
    const held = await cli('scripts/import.ts', [folder], { IMPORT_OWNER_SUB: 'cli-importer' });
    expect(held.code).toBe(3);
    expect(held.stdout).toContain(': SKIPPED\nnot run: import run 00000000-0000-4000-8000-000000000001 holds this source until ');
    expect(await sql('select count(*)::int as n from events')).toEqual([{ n: 0 }]);
  });

  it('the scheduled handler imports IMPORT_SOURCE as IMPORT_OWNER_SUB', async () => {
    vi.resetModules();
    vi.stubEnv('IMPORT_SOURCE', folder);
    vi.stubEnv('IMPORT_OWNER_SUB', 'scheduled-importer');
    try {
      const { handler } = await import('../../functions/import-events');
      const summary = await handler();
      expect(summary).toMatchObject({ read, created, waitlisted, unchanged, rejected, objectsImported: 4 });
      const [run] = await sql(`select status, rows_read from import_runs where id = $1`, [summary.runId]);
      expect(run).toEqual({ status: 'SUCCEEDED', rows_read: read });
    } finally {
      vi.unstubAllEnvs();
      await (await import('../../src/db/client')).closeDatabase();
      vi.resetModules();
    }
  });
});
