import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { database } from '../../src/db/client';
import { SourceLease } from '../../src/import/lease';
import { runImport, type ImportSettings, type ImportSummary } from '../../src/import/service';
import { importFolderPerTest } from '../helpers/import-folder';
import { sqlClient } from '../helpers/sql';

/** Issue 18.10: one run per source at a time, by a lease in import_sources that a crashed run's lapses. */
const sql = sqlClient();
const folder = importFolderPerTest(sql, 'import-lease');

const importFolder = (extra: Partial<ImportSettings> = {}) =>
  runImport(database(), { location: folder(), ownerSub: 'importer', concurrency: 4, ...extra });

/** An event (imported by a first run), and `count` registrations of it in a second object, written one by one. */
async function eventWithRegistrations(count: number) {
  await writeFile(join(folder(), '1-event.jsonl'), JSON.stringify({ externalId: 'ev', name: 'Leased', startsAt: '2027-09-01T10:00:00Z', capacity: 5 }));
  await importFolder();
  const rows = Array.from({ length: count }, (_, r) =>
    JSON.stringify({ externalId: `r${r}`, eventExternalId: 'ev', name: `P ${r}`, email: `p${r}@example.com` }));
  await writeFile(join(folder(), '2-registrations.jsonl'), rows.join('\n'));
}

/**
 * Hold the event's row and its shards (which every registration locks one of) until `release()`; `waited()` resolves
 * once an import statement waits for them.
 */
async function holdEventRow() {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  await client.query('begin');
  await client.query(`select 1 from events where external_id = 'ev' for update`);
  await client.query(`select 1 from event_shards where event_id = (select id from events where external_id = 'ev') order by shard for update`);
  const [{ pid }] = (await client.query('select pg_backend_pid() as pid')).rows;
  return {
    waited: () =>
      vi.waitFor(async () => expect(await sql('select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [pid])).toHaveLength(1), {
        timeout: 10_000,
        interval: 20,
      }),
    release: async () => {
      await client.query('commit');
      await client.end();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('import lease', () => {
  it('two runs started at once: one imports every row, the other is SKIPPED, names it, and reads nothing', async () => {
    await eventWithRegistrations(30);
    await sql('delete from import_runs');
    const [a, b] = await Promise.all([importFolder(), importFolder()]);
    const [ran, skipped] = a.status === 'SKIPPED' ? [b, a] : [a, b];
    expect(ran).toMatchObject({ status: 'SUCCEEDED', read: 30, objectsImported: 1 });
    expect(skipped).toMatchObject({ status: 'SKIPPED', read: 0, objectsImported: 0, objectsSkipped: 0, heldBy: { runId: ran.runId } });
    const runs = await sql('select id, status, error from import_runs order by status');
    expect(runs).toEqual([
      { id: ran.runId, status: 'SUCCEEDED', error: null },
      { id: skipped.runId, status: 'SKIPPED', error: expect.stringContaining(`run ${ran.runId} holds the source until `) },
    ]);
    expect(await sql(`select count(*)::int as n, count(distinct external_id)::int as keys from registrations`)).toEqual([{ n: 30, keys: 30 }]);
    // Released at the end: the next run takes the source at once.
    expect(await sql('select lease_run_id, lease_expires_at from import_sources')).toEqual([{ lease_run_id: null, lease_expires_at: null }]);
  });

  it('a crashed run\'s lease holds the source until it lapses; then the next run takes it', async () => {
    await writeFile(join(folder(), 'a.jsonl'), JSON.stringify({ externalId: 'ev', name: 'After a crash', startsAt: '2027-09-01T10:00:00Z', capacity: 5 }));
    // What a run killed mid-object leaves: its lease, never renewed nor released.
    const crashed = randomUUID();
    expect(await SourceLease.acquire(database(), { source: folder(), runId: crashed }, 300)).toBeInstanceOf(SourceLease);

    const refused = await importFolder();
    expect(refused).toMatchObject({ status: 'SKIPPED', read: 0, heldBy: { runId: crashed } });
    await sleep(Math.max(0, refused.heldBy!.until!.getTime() - Date.now()) + 50);
    expect(await importFolder()).toMatchObject({ status: 'SUCCEEDED', read: 1, created: 1 });
  });

  it('a running run renews its lease: a run started after the lease\'s length is still SKIPPED', async () => {
    await eventWithRegistrations(3);
    const held = await holdEventRow();
    // Renewed every 200 ms: two renewals may be late (a loaded machine) before another run could take it.
    const first = importFolder({ leaseMs: 600 });
    let second: ImportSummary | undefined;
    try {
      await held.waited();
      await sleep(1000);
      // Had the lease lapsed, the second run would wait on the held row: give up on it rather than wait forever.
      second = await Promise.race([importFolder(), sleep(5000).then(() => undefined)]);
    } finally {
      await held.release();
    }
    const firstDone = await first;
    expect(second).toMatchObject({ status: 'SKIPPED', heldBy: { runId: firstDone.runId } });
    expect(firstDone).toMatchObject({ status: 'SUCCEEDED', read: 3 });
  });

  it('a run whose lease was taken over starts no more rows and fails; the next run imports the rest once', async () => {
    await eventWithRegistrations(10);
    const held = await holdEventRow();
    const first = importFolder({ leaseMs: 150 });
    try {
      await held.waited();
      // The lease lapsed (a stall) and another run took it: the first learns at its next renewal.
      await sql(`update import_sources set lease_run_id = gen_random_uuid()`);
      await sleep(800); // sixteen renewal periods
    } finally {
      await held.release();
    }
    await expect(first).rejects.toThrow(/lost its lease/);
    const [failed] = await sql(`select status, error from import_runs where status <> 'SUCCEEDED'`);
    expect(failed).toEqual({ status: 'FAILED', error: expect.stringMatching(/^LeaseLost/) });
    // Only the row already in flight was written.
    expect(await sql('select external_id from registrations')).toEqual([{ external_id: 'r0' }]);

    await sql(`update import_sources set lease_run_id = null, lease_expires_at = null`);
    expect(await importFolder()).toMatchObject({ status: 'SUCCEEDED', read: 9, created: 4, waitlisted: 5 });
    expect(await sql(`select count(*)::int as n, count(distinct external_id)::int as keys from registrations`)).toEqual([{ n: 10, keys: 10 }]);
  });
});
