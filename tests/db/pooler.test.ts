import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { LambdaHandler } from '../../src/http/route';
import { call } from '../helpers/api';
import { EVENT_COUNTERS } from '../helpers/invariants';
import { emptyTables, sqlClient } from '../helpers/sql';
import { findPgBouncer, startPgBouncer, type PgBouncer } from '../../scripts/pgbouncer';

/**
 * Issue 18, item 1: behind a pooler (PgBouncer in transaction mode, as Neon's `-pooler` endpoint is), statements
 * wait in its queue for a server connection, and the request's deadline must count that time: a request that
 * answered 503 must never commit afterwards. Two server connections, the event row held by another session past
 * the deadline, and more registrations than connections: all answer 503, and once the row is released and the
 * queue has drained, none of them is in the database.
 */
const directUrl = process.env.DATABASE_URL!;
const sql = sqlClient();
const found = await findPgBouncer();
const POOL_SIZE = 2;
const REQUESTS = 12;
/** Time left in the invocation; with the default 500 ms margin the database gets 700 ms. */
const REMAINING_MS = 1_200;

let bouncer: PgBouncer | undefined;
let register: LambdaHandler | undefined;
if ('path' in found) {
  bouncer = await startPgBouncer(found.path, directUrl, POOL_SIZE);
  // Before the app reads its configuration: the handlers are imported after this.
  process.env.DATABASE_URL = bouncer.through(directUrl);
  if (!bouncer.preparedStatements) process.env.DATABASE_PREPARED_STATEMENTS = 'false';
  const { handler: createEvent } = (await import('../../functions/events-create')) as { handler: LambdaHandler };
  ({ handler: register } = (await import('../../functions/registrations-create')) as { handler: LambdaHandler });
  await emptyTables(sql, 'events', 'users', 'slug_counters', 'idempotency_keys');
  const created = await call(createEvent, { as: 'pooler-organizer', body: { name: 'Drop', slug: 'drop', startsAt: '2027-06-01T10:00:00Z', capacity: 100 } });
  expect(created.status).toBe(201);
}
afterAll(async () => {
  const { closeDatabase } = await import('../../src/db/client');
  await closeDatabase();
  await bouncer?.stop();
});

describe.skipIf(!('path' in found))(`behind PgBouncer in transaction mode${'missing' in found ? ` (skipped: ${found.missing})` : ''}`, () => {
  it('registrations queued in the pooler past their deadline answer 503 and never commit afterwards', async () => {
    const holder = new pg.Client({ connectionString: directUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`select 1 from events where slug = 'drop' for update`);
      // Registrations lock the event's shards, not its row.
      await holder.query(`select 1 from event_shards where event_id = (select id from events where slug = 'drop') order by shard for update`);

      const answers = await Promise.all(
        Array.from({ length: REQUESTS }, (_, i) =>
          call(register!, { params: { slug: 'drop' }, body: { name: `Queued ${i}`, email: `queued-${i}@example.com` }, remainingMs: REMAINING_MS }),
        ),
      );
      // How soon they answer is deadlines.test.ts's concern; this one is about what happens after.
      expect(answers.map((answer) => `${answer.status} ${answer.body?.code}`)).toEqual(Array(REQUESTS).fill('503 database_unavailable'));
      // Every request has answered: release the row, and give what the pooler still queues time to run.
      await holder.query('commit');
    } finally {
      await holder.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    expect(await sql(`select count(*)::int as registrations from registrations`)).toEqual([{ registrations: 0 }]);
    expect(await sql(`select spots_reserved, waitlist_count from (${EVENT_COUNTERS}) e join events using (id) where slug = 'drop'`)).toEqual([
      { spots_reserved: 0, waitlist_count: 0 },
    ]);
  });
});
