import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateImportFixture, writeImportFixture } from '../../scripts/import-fixture';
import { database } from '../../src/db/client';
import { createEvent } from '../../src/events/service';
import { ensureUser } from '../../src/users/service';
import { call } from '../helpers/api';
import { emptyImportTables } from '../helpers/import-folder';
import { captureMetrics, metricValues } from '../helpers/metrics';
import { sqlClient } from '../helpers/sql';

const sql = sqlClient();

beforeEach(() => emptyImportTables(sql, 'idempotency_keys'));
afterEach(async () => {
  vi.unstubAllEnvs();
  await (await import('../../src/db/client')).closeDatabase();
  vi.resetModules();
});

describe('metrics written by the adapters', () => {
  it('a registration counts as confirmed or waitlisted, its replay as a replay and nothing else', async () => {
    const lines = await captureMetrics(async () => {
      const { handler: createEvent } = await import('../../functions/events-create');
      const { handler: register } = await import('../../functions/registrations-create');
      const event = await call(createEvent, { as: 'organizer', body: { name: 'Drop', startsAt: '2027-06-01T10:00:00Z', capacity: 1 } });
      const slug = event.body.slug as string;
      const registration = (email: string) => ({ params: { slug }, body: { name: email, email }, key: email });
      expect((await call(register, registration('a@example.com'))).body.status).toBe('CONFIRMED');
      expect((await call(register, registration('b@example.com'))).body.status).toBe('WAITLIST');
      expect((await call(register, registration('b@example.com'))).headers['idempotent-replayed']).toBe('true');
    });
    expect(metricValues(lines)).toEqual([{ RegistrationsConfirmed: 1 }, { RegistrationsWaitlisted: 1 }, { IdempotentReplays: 1 }]);
  });

  it('the maintenance job writes the drift it found, 0 included', async () => {
    const lines = await captureMetrics(async () => {
      const { handler } = await import('../../functions/maintenance');
      await handler();
      const owner = await ensureUser(database(), { sub: 'organizer' });
      const event = await createEvent(database(), owner, { name: 'Drifting', startsAt: new Date('2027-06-01T10:00:00Z'), capacity: 5, maxSpotsPerRegistration: 1 });
      // 3 spots taken, no registration: 1 on each of 3 shards (a capacity of 5 gives shards 0 to 4 a quota of 1).
      await sql(`update event_shards set reserved = 1 where event_id = $1 and shard < 3`, [event.id]);
      await handler();
    });
    expect(metricValues(lines)).toEqual([{ CounterDriftFound: 0 }, { CounterDriftFound: 1 }]);
  });

  describe('an import run', () => {
    const fixture = generateImportFixture({ events: 5, registrations: 20, seed: 4 });
    let folder: string;
    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), 'lockstep-import-metrics-'));
      await writeImportFixture(folder, fixture);
    });
    afterAll(() => rm(folder, { recursive: true, force: true }));

    it('writes its rows by outcome when it finishes, and a FAILED run ImportRunsFailed', async () => {
      vi.stubEnv('IMPORT_OWNER_SUB', 'importer');
      vi.stubEnv('IMPORT_SOURCE', folder);
      const finished = await captureMetrics(async () => (await import('../../functions/import-events')).handler());
      const { created, unchanged, waitlisted, rejected } = fixture.expected;
      expect(metricValues(finished)).toEqual([
        { ImportRunsFailed: 0 },
        { ImportRows: created, Outcome: 'created' },
        { ImportRows: unchanged, Outcome: 'unchanged' },
        { ImportRows: waitlisted, Outcome: 'waitlisted' },
        { ImportRows: rejected, Outcome: 'rejected' },
      ]);

      vi.resetModules();
      vi.stubEnv('IMPORT_SOURCE', join(folder, 'missing'));
      const failed = await captureMetrics(async () => {
        await expect((await import('../../functions/import-events')).handler()).rejects.toThrow();
      });
      expect(metricValues(failed)).toEqual([{ ImportRunsFailed: 1 }]);
    });
  });
});
