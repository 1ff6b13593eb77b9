import { beforeAll, describe, expect, it, vi } from 'vitest';
import { generateImportFixture } from '../../scripts/import-fixture';
import { database } from '../../src/db/client';
import { runImport, type ImportSettings } from '../../src/import/service';
import { startFakeS3, type FakeS3 } from '../helpers/fake-s3';
import { sqlClient } from '../helpers/sql';

const sql = sqlClient();
const fixture = generateImportFixture({ events: 200, registrations: 800, seed: 11 });
let s3: FakeS3;

beforeAll(async () => {
  // The SDK's default credential chain stops at the environment: no instance metadata lookups leave this machine.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  s3 = await startFakeS3();
  for (const object of fixture.objects) s3.put('lockstep-imports', `incoming/${object.name}`, object.content);
  s3.put('lockstep-imports', 'incoming/notes.txt', 'not an import');
  s3.put('lockstep-imports', 'elsewhere/01-batch.csv', 'externalId,name\n');
});

const importS3 = (extra: Partial<ImportSettings> = {}) =>
  runImport(database(), {
    location: 's3://lockstep-imports/incoming/',
    ownerSub: 'importer',
    concurrency: 4,
    s3Endpoint: s3.endpoint,
    ...extra,
  });

const counts = async () =>
  (await sql(`select (select count(*)::int from events) as events, (select count(*)::int from registrations) as registrations`))[0]!;

describe('importEvents from S3', () => {
  it('streams every new object under the prefix, then lists only after them; a renamed copy creates nothing', async () => {
    // The first object stops after 4 KiB until rows from it are in the database: a reader that waited for the whole
    // body would never get there.
    const first = fixture.objects[0]!;
    const held = s3.hold(`incoming/${first.name}`, 4096);
    const running = importS3();
    await held.reached;
    await vi.waitFor(async () => expect((await counts()).events).toBeGreaterThan(0), { timeout: 20_000 });
    const whileHeld = await counts();
    held.release();
    const summary = await running;

    expect(whileHeld.events).toBeLessThan(fixture.events.size);
    const { read, created, unchanged, waitlisted, rejected } = summary;
    expect({ read, created, unchanged, waitlisted, rejected }).toEqual(fixture.expected);
    expect(summary).toMatchObject({ source: 's3://lockstep-imports/incoming/', objectsImported: 4, objectsSkipped: 0 });
    expect(await counts()).toEqual({ events: fixture.events.size, registrations: fixture.registrations.size });
    const rejections = await sql(`select object || ':' || line as at from import_rejections where run_id = $1`, [summary.runId]);
    expect(new Set(rejections.map((r) => r.at))).toEqual(fixture.rejections);
    // Listed page by page (two keys per page), nothing read outside the prefix, no object read twice.
    const gets = s3.requests.filter((request) => request.startsWith('GET /lockstep-imports/') && !request.endsWith(' list'));
    expect(gets.sort()).toEqual(fixture.objects.map((object) => `GET /lockstep-imports/incoming/${object.name}`).sort());
    expect(s3.requests.filter((request) => request.endsWith(' list')).length).toBe(3);

    const requestsBefore = s3.requests.length;
    const again = await importS3();
    expect(again).toMatchObject({ objectsImported: 0, objectsSkipped: 0, read: 0 });
    // One page after the watermark (which holds notes.txt alone), nothing read.
    expect(s3.requests.slice(requestsBefore)).toEqual(['GET /lockstep-imports/ list after incoming/04-batch.jsonl']);

    // Same rows under a new name: read, and every row found by its key.
    s3.put('lockstep-imports', 'incoming/05-copy.jsonl', fixture.objects[1]!.content);
    const copy = await importS3();
    const copiedRows = fixture.objects[1]!.content.split('\n').filter((line) => line.trim() !== '').length;
    const copiedRejections = [...fixture.rejections].filter((at) => at.startsWith('02-batch.jsonl:')).length;
    expect(copy).toMatchObject({
      objectsImported: 1,
      objectsSkipped: 0,
      read: copiedRows,
      created: 0,
      waitlisted: 0,
      rejected: copiedRejections,
      unchanged: copiedRows - copiedRejections,
    });
    expect(await counts()).toEqual({ events: fixture.events.size, registrations: fixture.registrations.size });
  });

  it('a run lists and looks up only the names after the watermark; one under it waits for a rescan', async () => {
    const location = 's3://lockstep-imports/marked/';
    const event = (id: string) => JSON.stringify({ externalId: id, name: `Event ${id}`, startsAt: '2027-05-01T10:00:00Z', capacity: 5 });
    for (const name of ['2027-01-01-a', '2027-01-02-b', '2027-01-03-c']) s3.put('lockstep-imports', `marked/${name}.jsonl`, event(name));
    expect(await importS3({ location })).toMatchObject({ objectsImported: 3 });

    for (const name of ['2027-01-04-d', '2027-01-05-e']) s3.put('lockstep-imports', `marked/${name}.jsonl`, event(name));
    const before = s3.requests.length;
    expect(await importS3({ location })).toMatchObject({ objectsImported: 2, objectsSkipped: 0, created: 2 });
    expect(s3.requests.slice(before)).toEqual([
      'GET /lockstep-imports/ list after marked/2027-01-03-c.jsonl',
      'GET /lockstep-imports/marked/2027-01-04-d.jsonl',
      'GET /lockstep-imports/marked/2027-01-05-e.jsonl',
    ]);

    // Named before the watermark: a run does not see it (the naming rule); a rescan lists everything and reads it alone.
    s3.put('lockstep-imports', 'marked/2026-12-31-late.jsonl', event('late'));
    expect(await importS3({ location })).toMatchObject({ objectsImported: 0, read: 0 });
    const rescan = s3.requests.length;
    expect(await importS3({ location, rescan: true })).toMatchObject({ objectsImported: 1, objectsSkipped: 5, created: 1 });
    expect(s3.requests.slice(rescan).filter((request) => request.includes(' list'))).toEqual(Array(3).fill('GET /lockstep-imports/ list'));
    // The watermark never moves back.
    expect(await sql('select watermark from import_sources where source = $1', [location])).toEqual([{ watermark: '2027-01-05-e.jsonl' }]);
  });

  it('one key imports that object alone, under the source of its prefix', async () => {
    const single = await importS3({ location: 's3://lockstep-imports/incoming/01-batch.csv' });
    expect(single).toMatchObject({ source: 's3://lockstep-imports/incoming/', objectsImported: 0, objectsSkipped: 1 });
  });

  it('a connection broken mid-object fails the run without recording the object; the next run loses no row', async () => {
    const crash = generateImportFixture({ events: 100, registrations: 1_000, objects: 1, seed: 5 });
    const object = crash.objects[0]!;
    s3.put('lockstep-imports', `crash/${object.name}`, object.content);
    s3.cut(`crash/${object.name}`, Math.floor(object.content.length / 2));
    const location = 's3://lockstep-imports/crash/';
    await expect(importS3({ location })).rejects.toThrow();
    const [failed] = await sql(`select * from import_runs where source = $1`, [location]);
    expect(failed).toMatchObject({ status: 'FAILED', objects_imported: 0, error: expect.stringMatching(/aborted|ECONNRESET|socket/i) });
    expect(failed!.rows_read).toBeGreaterThan(0);
    expect(failed!.rows_read).toBeLessThan(crash.expected.read);
    expect(await sql(`select name from import_objects where source = $1`, [location])).toEqual([]);

    // The retry resumes after the broken run's checkpoint when it saved one (every 200 lines or second), so it reads
    // at most the whole object; the sums below prove that nothing was lost or written twice.
    const retry = await importS3({ location });
    expect(retry).toMatchObject({ objectsImported: 1 });
    expect(retry.read).toBeGreaterThan(0);
    expect(retry.read).toBeLessThanOrEqual(crash.expected.read);
    // What the broken run wrote and what the retry wrote add up to a clean import: nothing twice, nothing lost.
    expect(failed!.created + retry.created).toBe(crash.expected.created);
    expect(failed!.waitlisted + retry.waitlisted).toBe(crash.expected.waitlisted);
    const registrations = await sql(`select r.external_id, r.status from registrations r join events e on e.id = r.event_id
      where e.import_source = $1`, [location]);
    expect(new Map(registrations.map((r) => [r.external_id, r.status]))).toEqual(crash.registrations);
  });

  it('a source that cannot be read fails the run, records it FAILED and imports nothing as done', async () => {
    await expect(importS3({ location: 's3://no-such-bucket/' })).rejects.toThrow();
    const [run] = await sql(`select status, error from import_runs where source = 's3://no-such-bucket/'`);
    expect(run!.status).toBe('FAILED');
    expect(run!.error).toMatch(/NoSuchBucket/);
  });
});
