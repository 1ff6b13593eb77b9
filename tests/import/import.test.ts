import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateImportFixture, writeImportFixture, type ImportCounts, type ImportFixture } from '../../scripts/import-fixture';
import { database } from '../../src/db/client';
import { runImport, type ImportSettings, type ImportSummary } from '../../src/import/service';
import { slugify } from '../../src/slug/slug';
import { emptyImportTables } from '../helpers/import-folder';
import { EVENT_COUNTERS } from '../helpers/invariants';
import { sqlClient } from '../helpers/sql';

const sql = sqlClient();
// Generated once per file: 1,000 event rows (enough for every kind of broken event row in both formats) and 2,000
// registration rows in 4 objects (CSV and JSONL); `npm run bench:import` runs the 22,000-row data set.
const fixture = generateImportFixture({ events: 1_000, registrations: 2_000 });
let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'lockstep-import-'));
  await writeImportFixture(folder, fixture);
});
afterAll(() => rm(folder, { recursive: true, force: true }));

const truncate = () => emptyImportTables(sql);

const importFolder = (extra: Partial<ImportSettings> = {}) =>
  runImport(database(), { location: folder, ownerSub: 'importer', concurrency: 8, ...extra });

const countsOf = ({ read, created, unchanged, waitlisted, rejected }: ImportSummary): ImportCounts => ({
  read,
  created,
  unchanged,
  waitlisted,
  rejected,
});

/** Everything the database holds after importing a data set, whichever way: compared exactly to the generator. */
async function assertImportedState(imported: ImportFixture = fixture) {
  const events = await sql<{ external_id: string; name: string; slug: string; sub: string }>(
    `select e.external_id, e.name, e.slug, u.sub from events e join users u on u.id = e.organizer_id`,
  );
  expect(new Map(events.map((e) => [e.external_id, e.name]))).toEqual(imported.events);
  expect(events).toHaveLength(imported.events.size);
  expect(new Set(events.map((e) => e.sub))).toEqual(new Set(['importer']));
  expect(new Set(events.map((e) => e.slug)).size).toBe(events.length);
  for (const event of events) expect(event.slug).toMatch(new RegExp(`^${slugify(event.name)}(-[0-9]+)?$`));

  const registrations = await sql<{ external_id: string; status: string }>(`select external_id, status from registrations`);
  expect(registrations).toHaveLength(imported.registrations.size);
  // Every registration's status is the one strict FIFO in file order gives.
  expect(new Map(registrations.map((r) => [r.external_id, r.status]))).toEqual(imported.registrations);

  // The invariants of docs/api.md, for every event at once.
  const counterDrift = await sql(`
    select e.id from (${EVENT_COUNTERS}) e left join registrations r on r.event_id = e.id
    group by e.id, e.capacity, e.spots_reserved, e.waitlist_count
    having e.spots_reserved <> coalesce(sum(r.spots) filter (where r.status = 'CONFIRMED'), 0)
        or e.waitlist_count <> count(r.id) filter (where r.status = 'WAITLIST')
        or (e.capacity is not null and e.spots_reserved > e.capacity)`);
  expect(counterDrift).toEqual([]);
  const shardDrift = await sql(`
    select s.event_id, s.shard from event_shards s
    where s.reserved <> (select coalesce(sum(spots), 0) from registrations r
                         where r.event_id = s.event_id and r.shard = s.shard and r.status = 'CONFIRMED')`);
  expect(shardDrift).toEqual([]);
  const headFits = await sql(`
    select e.id from (${EVENT_COUNTERS}) e
    join lateral (select spots from registrations r where r.event_id = e.id and r.status = 'WAITLIST'
                  order by r.created_at, r.id limit 1) head on true
    where e.capacity is null or head.spots <= e.capacity - e.spots_reserved`);
  expect(headFits).toEqual([]);
  const duplicateEmails = await sql(`
    select event_id, lower(email) from registrations where status in ('CONFIRMED', 'WAITLIST')
    group by event_id, lower(email) having count(*) > 1`);
  expect(duplicateEmails).toEqual([]);
}

describe('importEvents over a generated data set, then again', () => {
  // One import shared by the two tests below (the second builds on the first), to keep the suite's time sane.
  let summary: ImportSummary;
  beforeAll(async () => {
    await truncate();
    summary = await importFolder();
  }, 180_000);

  it('imports 3,000 rows: exact counts, invariants, distinct slugs, rejections by object and line', async () => {
    expect(fixture.expected.read).toBe(3_000);
    expect(fixture.malformed).toBe(30); // 1 %
    expect(countsOf(summary)).toEqual(fixture.expected);
    expect(summary).toMatchObject({ objectsImported: 4, objectsSkipped: 0 });
    await assertImportedState();
    // The data set is what it claims: shared names (about 17 events each) were numbered, not refused, and 69
    // events were overbooked.
    const [shared] = await sql(`select count(*)::int as n from events where name = 'Node Meetup'`);
    expect(shared!.n).toBeGreaterThan(10);
    const [waiting] = await sql(`select count(*)::int as n from (${EVENT_COUNTERS}) e where waitlist_count > 0`);
    expect(waiting!.n).toBeGreaterThan(50);

    const [run] = await sql(`select * from import_runs where id = $1`, [summary.runId]);
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      source: folder,
      objects_imported: 4,
      rows_read: fixture.expected.read,
      created: fixture.expected.created,
      unchanged: fixture.expected.unchanged,
      waitlisted: fixture.expected.waitlisted,
      rejected: fixture.expected.rejected,
      error: null,
    });
    const rejections = await sql<{ object: string; line: number; reason: string }>(
      `select object, line, reason from import_rejections where run_id = $1`,
      [summary.runId],
    );
    expect(new Set(rejections.map((r) => `${r.object}:${r.line}`))).toEqual(fixture.rejections);
    expect(rejections).toHaveLength(fixture.rejections.size);
    const reasons = rejections.map((r) => r.reason).join('\n');
    for (const reason of [
      'not valid JSON',
      'not a JSON object',
      'expected 10 cells as in the header, found 3',
      'event row: name: Too small',
      'endsAt: endsAt must not be before startsAt',
      'registration row: email: Invalid email address',
      'Unrecognized key: "coupon"',
      'already_registered',
      'not_found: No event with this eventExternalId',
      'validation_failed: The request is invalid (spots: At most 10 spots per registration)',
    ]) {
      expect(reasons).toContain(reason);
    }
    const imported = await sql(`select name from import_objects where source = $1 order by name`, [folder]);
    expect(imported.map((o) => o.name)).toEqual(['01-batch.csv', '02-batch.jsonl', '03-batch.csv', '04-batch.jsonl']);
  });

  it('runs again: lists nothing after the watermark; reprocessing every row creates nothing', { timeout: 180_000 }, async () => {
    const first = summary;
    const snapshot = await sql(`select id, slug, spots_reserved, waitlist_count from (${EVENT_COUNTERS}) c join events using (id) order by id`);
    const registrations = await sql(`select id, status, shard, created_at from registrations order by id`);

    const again = await importFolder();
    // The objects sort at or before the watermark: not even looked up.
    expect(again).toMatchObject({ objectsImported: 0, objectsSkipped: 0, read: 0, created: 0 });

    const reprocessed = await importFolder({ reprocess: true });
    expect(countsOf(reprocessed)).toEqual({
      read: fixture.expected.read,
      created: 0,
      waitlisted: 0,
      unchanged: fixture.expected.created + fixture.expected.waitlisted + fixture.expected.unchanged,
      rejected: fixture.expected.rejected,
    });
    expect(await sql(`select id, slug, spots_reserved, waitlist_count from (${EVENT_COUNTERS}) c join events using (id) order by id`)).toEqual(snapshot);
    expect(await sql(`select id, status, shard, created_at from registrations order by id`)).toEqual(registrations);
    await assertImportedState();
    const runs = await sql(`select id, status from import_runs order by started_at`);
    expect(runs.map((r) => r.id)).toEqual([first.runId, again.runId, reprocessed.runId]);
  });
});

describe('importEvents under contention', () => {
  it('four runs at once over one source: one imports, three are SKIPPED; each row once, counters exact, FIFO in file order', async () => {
    await truncate();
    const hot = await mkdtemp(join(tmpdir(), 'lockstep-import-hot-'));
    try {
      const capacities = [40, 25, 60, 10];
      const blocks = capacities.map((capacity, e) => {
        const spots = Array.from({ length: 100 }, (_, i) => 1 + ((i * 7 + e) % 3));
        const rows = [
          { externalId: `hot-${e}`, name: 'Hot Event', startsAt: '2027-05-01T10:00:00Z', capacity },
          ...spots.map((n, i) => ({ eventExternalId: `hot-${e}`, externalId: `r${e}-${i}`, name: `P${i}`, email: `p${i}@example.com`, spots: n })),
        ];
        // Strict FIFO in file order: confirmed while the spots fit and nobody waits.
        let reserved = 0;
        let waiting = false;
        const statuses = spots.map((n) => {
          if (!waiting && reserved + n <= capacity) {
            reserved += n;
            return 'CONFIRMED';
          }
          waiting = true;
          return 'WAITLIST';
        });
        return { rows, statuses, reserved };
      });
      // The same rows in four objects of one source, each starting with another event: without the source's lease,
      // every run would lead on its own event first, then meet the others on theirs.
      for (let k = 0; k < 4; k++) {
        const rotated = [...blocks.slice(k), ...blocks.slice(0, k)].flatMap((block) => block.rows);
        await writeFile(join(hot, `run-${k}.jsonl`), rotated.map((row) => JSON.stringify(row)).join('\n'));
      }

      const runs = await Promise.all(
        [0, 1, 2, 3].map((k) => runImport(database(), { location: join(hot, `run-${k}.jsonl`), ownerSub: 'importer', concurrency: 4 })),
      );
      expect(new Set(runs.map((run) => run.source))).toEqual(new Set([hot]));
      const ran = runs.filter((run) => run.status !== 'SKIPPED');
      expect(ran).toHaveLength(1);
      expect(ran[0]).toMatchObject({ status: 'SUCCEEDED', read: 404, unchanged: 0, rejected: 0, objectsImported: 1 });
      expect(ran[0]!.created + ran[0]!.waitlisted).toBe(404);
      for (const run of runs) if (run !== ran[0]) expect(run).toMatchObject({ status: 'SKIPPED', read: 0, heldBy: { runId: ran[0]!.runId } });

      const events = await sql(
        `select id, external_id, slug, spots_reserved, waitlist_count from (${EVENT_COUNTERS}) c join events using (id) order by external_id`,
      );
      // Distinct slugs for the four events of one name.
      expect(new Set(events.map((e) => e.slug)).size).toBe(4);
      expect(events.map((e) => e.slug)).toContain('hot-event');
      for (const event of events) expect(event.slug).toMatch(/^hot-event(-[0-9]+)?$/);
      for (const [e, block] of blocks.entries()) {
        const registrations = await sql(`select external_id, status from registrations where event_id = $1 order by created_at, id`, [events[e]!.id]);
        expect(registrations.map((r) => r.external_id)).toEqual(block.rows.slice(1).map((row) => row.externalId));
        expect(registrations.map((r) => r.status)).toEqual(block.statuses);
        expect(events[e]).toMatchObject({
          spots_reserved: block.reserved,
          waitlist_count: block.statuses.filter((status) => status === 'WAITLIST').length,
        });
      }
    } finally {
      await rm(hot, { recursive: true, force: true });
    }
  });
});
