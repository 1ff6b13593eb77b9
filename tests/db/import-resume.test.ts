import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { database } from '../../src/db/client';
import { runImport, type ImportSummary } from '../../src/import/service';
import { bundledScripts } from '../helpers/cli';
import { importFolderPerTest } from '../helpers/import-folder';
import { EVENT_COUNTERS } from '../helpers/invariants';
import { sqlClient } from '../helpers/sql';

/** Issue 11, part 3: a run cut short resumes where it stopped and creates nothing twice. */
const sql = sqlClient();
const folder = importFolderPerTest(sql, 'import-resume');
const bundled = bundledScripts('scripts/import.ts');

/** `events` events of capacity 5, each followed by `perEvent` one-spot registrations: 5 confirmed, the rest wait. */
async function writeObject(events: number, perEvent: number): Promise<number> {
  const lines: string[] = [];
  for (let e = 0; e < events; e++) {
    lines.push(JSON.stringify({ externalId: `e${e}`, name: `Resumed ${e}`, startsAt: '2027-08-01T10:00:00Z', capacity: 5 }));
    for (let r = 0; r < perEvent; r++) {
      lines.push(JSON.stringify({ externalId: `e${e}-r${r}`, eventExternalId: `e${e}`, name: `P ${r}`, email: `p${r}-${e}@example.com` }));
    }
  }
  await writeFile(join(folder(), 'big.jsonl'), lines.join('\n'));
  return lines.length;
}

async function assertImportedExactly(events: number, perEvent: number) {
  const [totals] = await sql(`select (select count(*)::int from events) as events, (select count(*)::int from registrations) as registrations`);
  expect(totals).toEqual({ events, registrations: events * perEvent });
  const wrong = await sql(`select e.external_id from (${EVENT_COUNTERS}) c join events e using (id) where c.spots_reserved <> $1 or c.waitlist_count <> $2
    or c.spots_reserved <> (select count(*) from registrations r where r.event_id = e.id and r.status = 'CONFIRMED')
    or c.waitlist_count <> (select count(*) from registrations r where r.event_id = e.id and r.status = 'WAITLIST')`,
  [Math.min(5, perEvent), Math.max(0, perEvent - 5)]);
  expect(wrong).toEqual([]);
  expect(await sql('select * from import_checkpoints')).toEqual([]);
  expect(await sql('select name from import_objects')).toEqual([{ name: 'big.jsonl' }]);
}

describe('imports resume', () => {
  it('an object bigger than one run can read finishes over several runs, each row processed once', async () => {
    const rows = await writeObject(40, 8);
    const runs: ImportSummary[] = [];
    do {
      runs.push(await runImport(database(), { location: folder(), ownerSub: 'importer', concurrency: 4, stopAt: Date.now() + 150 }));
    } while (runs.at(-1)!.status === 'STOPPED' && runs.length < 200);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.at(-1)!.status).toBe('SUCCEEDED');
    const total = (field: 'read' | 'created' | 'waitlisted' | 'unchanged' | 'rejected') => runs.reduce((sum, run) => sum + run[field], 0);
    // A stopping run finishes its rows in flight and saves after them: no row is read by two runs.
    expect({ read: total('read'), unchanged: total('unchanged'), rejected: total('rejected') }).toEqual({ read: rows, unchanged: 0, rejected: 0 });
    expect(total('created') + total('waitlisted')).toBe(rows);
    const statuses = await sql<{ status: string }>('select status from import_runs order by started_at');
    expect(statuses.map((row) => row.status)).toEqual([...Array(runs.length - 1).fill('STOPPED'), 'SUCCEEDED']);
    await assertImportedExactly(40, 8);
  });

  it('a run killed mid-object (SIGKILL) is resumed from its checkpoint by the next run, creating nothing twice', async () => {
    // 1,000 lines: the kill comes at the first checkpoint (every 200 lines or second), far from the object's end.
    const rows = await writeObject(125, 7);
    // `npm run import` as one process (see bundledScripts): the tsx CLI would run the import in a child that outlives
    // a kill.
    const child = spawn(process.execPath, [await bundled('scripts/import.ts'), folder()], {
      env: { ...process.env, IMPORT_OWNER_SUB: 'importer', IMPORT_CONCURRENCY: '2', POWERTOOLS_LOG_LEVEL: 'SILENT' },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let saved = 0;
    for (const started = Date.now(); saved === 0 && Date.now() - started < 50_000; ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      saved = (await sql('select line from import_checkpoints'))[0]?.line ?? 0;
    }
    child.kill('SIGKILL');
    await exited;
    // A checkpoint the child had already sent still commits on the server after the kill: wait until it settles.
    for (let last = -1, now = saved; now !== last; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      [last, now] = [now, (await sql('select line from import_checkpoints'))[0]?.line ?? 0];
    }
    expect(saved).toBeGreaterThan(0);
    expect(await sql('select name from import_objects')).toEqual([]);
    expect(await sql('select status from import_runs')).toEqual([{ status: 'RUNNING' }]);
    const checkpoint = (await sql('select line from import_checkpoints'))[0]!.line as number;

    // The killed run still holds the source, until its lease lapses (a minute, made now here).
    const [killedRun] = await sql<{ id: string }>('select id from import_runs');
    expect(await runImport(database(), { location: folder(), ownerSub: 'importer', concurrency: 4 })).toMatchObject({
      status: 'SKIPPED',
      heldBy: { runId: killedRun!.id },
    });
    await sql('update import_sources set lease_expires_at = now()');
    const resumed = await runImport(database(), { location: folder(), ownerSub: 'importer', concurrency: 4 });
    expect(resumed.status).toBe('SUCCEEDED');
    // One row per line: the resumed run reads exactly the rows after the checkpoint.
    expect(resumed.read).toBe(rows - checkpoint);
    expect(resumed.rejected).toBe(0);
    await assertImportedExactly(125, 7);
  });

  it('a lost connection on one event\'s row loses none of the rows queued behind another event: the next run imports each once', async () => {
    // Two events, then 240 registrations of `a` (written one after another; more than the 200 rows between saves, so
    // rows counted done would be saved) and one of `b`, all read at once (8 × 32 rows ahead).
    const event = (id: string) => JSON.stringify({ externalId: id, name: `Event ${id}`, startsAt: '2027-08-01T10:00:00Z', capacity: 5 });
    await writeFile(join(folder(), '1-events.jsonl'), [event('a'), event('b')].join('\n'));
    const registration = (eventId: string, r: number) =>
      JSON.stringify({ externalId: `${eventId}-r${r}`, eventExternalId: eventId, name: `P ${r}`, email: `p${r}-${eventId}@example.com` });
    const lines = [...Array.from({ length: 240 }, (_, r) => registration('a', r)), registration('b', 0)];
    await writeFile(join(folder(), '2-registrations.jsonl'), lines.join('\n'));
    const importFile = (name: string) => runImport(database(), { location: join(folder(), name), ownerSub: 'importer', concurrency: 8 });
    await importFile('1-events.jsonl');

    // Each event's row held by its own transaction: a's first registration waits, a's others queue behind it, and
    // b's registration waits on the other holder, whose waiter is then terminated (a lost connection).
    const holders = await Promise.all(['a', 'b'].map(async (id) => {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query('begin');
      await client.query('select 1 from events where external_id = $1 for update', [id]);
      // Registrations lock the event's shards, not its row.
      await client.query(
        'select 1 from event_shards where event_id = (select id from events where external_id = $1) order by shard for update',
        [id],
      );
      const [{ pid }] = (await client.query('select pg_backend_pid() as pid')).rows;
      return { client, pid: pid as number };
    }));
    try {
      const failing = importFile('2-registrations.jsonl');
      const waiterOf = async (holder: number) =>
        (await sql(`select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))`, [holder]))[0]?.pid as number | undefined;
      await vi.waitFor(async () => {
        expect(await waiterOf(holders[0]!.pid)).toBeDefined();
        expect(await waiterOf(holders[1]!.pid)).toBeDefined();
      }, { timeout: 10_000, interval: 20 });
      await sql('select pg_terminate_backend($1)', [await waiterOf(holders[1]!.pid)]);
      await holders[0]!.client.query('commit');
      await expect(failing).rejects.toThrow();
    } finally {
      for (const { client } of holders) await client.end();
    }
    expect(await sql('select status from import_runs order by started_at')).toEqual([{ status: 'SUCCEEDED' }, { status: 'FAILED' }]);

    const resumed = await importFile('2-registrations.jsonl');
    expect(resumed.status).toBe('SUCCEEDED');
    const registrations = await sql(`select e.external_id as event, count(*)::int as n, count(distinct r.external_id)::int as distinct_keys,
      c.spots_reserved, c.waitlist_count from registrations r join events e on e.id = r.event_id join (${EVENT_COUNTERS}) c on c.id = e.id
      group by e.id, c.spots_reserved, c.waitlist_count order by e.external_id`);
    expect(registrations).toEqual([
      { event: 'a', n: 240, distinct_keys: 240, spots_reserved: 5, waitlist_count: 235 },
      { event: 'b', n: 1, distinct_keys: 1, spots_reserved: 1, waitlist_count: 0 },
    ]);
  });
});
