/**
 * `npm run bench:registrations [seconds]`: registrations/s on one hot event at 8 and 32 concurrent clients, same
 * run, same Postgres:
 *   (a) ceiling   a bare `UPDATE events SET spots_reserved = spots_reserved + 1` loop
 *   (b) lockstep  POST /events/{slug}/registrations through the real handler, in-process
 *   (k) lockstep  the same with an Idempotency-Key on every request
 *   (c) replaced  the old strategy: Serializable transaction, event row FOR UPDATE, SUM over the event's rows, insert
 * Each event starts with 10,000 confirmed registrations; capacity leaves room for a few thousand more, so runs
 * also cross into the waitlist. Prints throughput, p50/p99 latency, failures, ratios, and an oversell check.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { benchDatabase } from './bench-harness';

const seconds = Number(process.argv[2] ?? 5);
const EXISTING = 10_000;
const ROOM = 3_000;

const bench = await benchDatabase();
process.env.DATABASE_POOL_MAX = '32';
const { handler: register } = await import('../functions/registrations-create');
const { closeDatabase } = await import('../src/db/client');
const pool = new pg.Pool({ connectionString: bench.url, max: 40 });
pool.on('error', () => undefined); // idle clients killed at shutdown

async function hotEvent(label: string, capacity: number | null = EXISTING + ROOM): Promise<{ id: string; slug: string }> {
  const organizer = await pool.query(`insert into users (sub) values ($1) on conflict (sub) do update set sub = excluded.sub returning id`, ['bench']);
  const slug = `${label}-${randomUUID().slice(0, 8)}`;
  const { rows } = await pool.query(
    `insert into events (slug, name, starts_at, capacity, spots_reserved, organizer_id)
     values ($1, $1, now() + interval '30 days', $2, $3, $4) returning id`,
    [slug, capacity, EXISTING, organizer.rows[0].id],
  );
  await pool.query(
    `insert into registrations (event_id, name, email, spots, status, cancel_token_hash)
     select $1, 'existing', 'existing' || n || '@example.com', 1, 'CONFIRMED', md5(n::text) from generate_series(1, $2) n`,
    [rows[0].id, EXISTING],
  );
  await pool.query('analyze registrations');
  return { id: rows[0].id, slug };
}

interface Run {
  ok: number;
  failed: number;
  latencies: number[];
  wallSeconds: number;
}

/** `clients` loops calling `op` until the time is up. */
async function drive(clients: number, op: (n: number) => Promise<boolean>): Promise<Run> {
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let counter = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        const success = await op(counter++).catch(() => false);
        latencies.push(performance.now() - t);
        if (success) ok++;
        else failed++;
      }
    }),
  );
  return { ok, failed, latencies, wallSeconds: (performance.now() - started) / 1000 };
}

const ceiling = (eventId: string) => async () =>
  (await pool.query('update events set spots_reserved = spots_reserved + 1 where id = $1', [eventId])).rowCount === 1;

const lockstep = (slug: string, withKey = false) => async (n: number) => {
  const res = (await register({
    headers: { 'content-type': 'application/json', ...(withKey && { 'idempotency-key': randomUUID() }) },
    rawPath: `/events/${slug}/registrations`,
    pathParameters: { slug },
    body: JSON.stringify({ name: `Bench ${n}`, email: `b${n}-${slug}@example.com`, spots: 1 }),
    requestContext: { requestId: `bench-${n}` },
  } as never)) as { statusCode: number };
  return res.statusCode === 201;
};

/** The replaced system: no retry on serialization failure, so a failure is a failed registration. */
const replaced = (eventId: string) => async (n: number) => {
  const client = await pool.connect();
  try {
    await client.query('begin isolation level serializable');
    const { rows } = await client.query('select capacity from events where id = $1 for update', [eventId]);
    const { rows: sum } = await client.query(
      `select coalesce(sum(spots), 0)::int as taken from registrations where event_id = $1 and status = 'CONFIRMED'`,
      [eventId],
    );
    const status = sum[0].taken + 1 <= rows[0].capacity ? 'CONFIRMED' : 'WAITLIST';
    await client.query(
      `insert into registrations (event_id, name, email, spots, status, cancel_token_hash) values ($1, $2, $3, 1, $4, 'x')`,
      [eventId, `Old ${n}`, `o${n}-${eventId}@example.com`, status],
    );
    await client.query('commit');
    return true;
  } catch {
    await client.query('rollback').catch(() => undefined);
    return false;
  } finally {
    client.release();
  }
};

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

async function oversold(eventId: string): Promise<string> {
  const { rows } = await pool.query(
    `select e.capacity, (select coalesce(sum(spots), 0)::int from registrations where event_id = e.id and status = 'CONFIRMED') as confirmed
     from events e where id = $1`,
    [eventId],
  );
  return rows[0].confirmed > rows[0].capacity ? `OVERSOLD ${rows[0].confirmed}/${rows[0].capacity}` : `ok ${rows[0].confirmed}/${rows[0].capacity}`;
}

const table = [];
for (const clients of [8, 32]) {
  const results: Record<string, Run> = {};
  const checks: Record<string, string> = {};
  // Unlimited, so the CHECK never stops the bare increments.
  const a = await hotEvent('ceiling', null);
  results.a = await drive(clients, ceiling(a.id));
  const b = await hotEvent('lockstep');
  results.b = await drive(clients, lockstep(b.slug));
  checks.b = await oversold(b.id);
  const k = await hotEvent('keyed');
  results.k = await drive(clients, lockstep(k.slug, true));
  checks.k = await oversold(k.id);
  const c = await hotEvent('replaced');
  results.c = await drive(clients, replaced(c.id));
  checks.c = await oversold(c.id);
  const rate = (run: Run) => run.ok / run.wallSeconds;
  const strategies = [
    ['a', '(a) bare UPDATE ceiling'],
    ['b', '(b) lockstep handler'],
    ['k', '(k) lockstep handler + Idempotency-Key'],
    ['c', '(c) replaced: FOR UPDATE + Serializable + SUM'],
  ] as const;
  for (const [key, label] of strategies) {
    const run = results[key]!;
    table.push({
      clients,
      strategy: label,
      'ok/s': Math.round(rate(run)),
      failed: run.failed,
      'p50 ms': +percentile(run.latencies, 50).toFixed(2),
      'p99 ms': +percentile(run.latencies, 99).toFixed(2),
      oversell: checks[key] ?? 'n/a',
    });
  }
  const ratio = (x: Run, y: Run) => (rate(x) / rate(y)).toFixed(2);
  table.push({
    clients,
    strategy: `b/a = ${ratio(results.b!, results.a!)}, b/c = ${ratio(results.b!, results.c!)}, k/b = ${ratio(results.k!, results.b!)}, k/c = ${ratio(results.k!, results.c!)}`,
  });
}
console.log(`${seconds}s per run, ${EXISTING} existing registrations per event, room for ${ROOM} more`);
console.table(table);
await pool.end();
await closeDatabase();
await bench.stop();
