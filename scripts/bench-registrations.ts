/**
 * `npm run bench:registrations [-- --seconds 5 --rtt 2 --clients 8,32,128 --cpu-bound]`: registrations/s on one hot
 * event, every strategy in the same run on the same Postgres, as production pays it: durable commits (fsync and
 * synchronous_commit on) and a network round trip between the function and the database (a TCP delay proxy in its
 * own process, 2 ms by default). `--cpu-bound`: fsync off and no delay, what the CPU alone allows.
 *   (a) ceiling   a bare `UPDATE events SET spots_reserved = spots_reserved + 1` loop
 *   (s) service   lockstep's register() called directly: its one statement, without the HTTP layer's CPU
 *   (b) lockstep  POST /events/{slug}/registrations through the real handler, in-process
 *   (k) lockstep  the same with a fresh Idempotency-Key on every request
 *   (w) webhooks  (b) on an event with a webhook subscription: the statement also writes the outbox message
 *   (c) replaced  the old strategy: Serializable transaction, event row FOR UPDATE, SUM over the event's rows, insert
 * Each event starts with 10,000 confirmed registrations and room for a few thousand more, so runs also cross into
 * the waitlist. Prints ok/s, p50/p99 latency, failures, an oversell check and the ratios, against the targets.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { writeLineChart } from './bench-chart';
import { benchDatabase } from './bench-harness';
import { freePort } from './local-postgres';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rtt: { type: 'string', default: '2' },
    clients: { type: 'string', default: '8,32,128' },
    'cpu-bound': { type: 'boolean', default: false },
  },
});
const cpuBound = args['cpu-bound'];
const seconds = Number(args.seconds);
const rttMs = cpuBound ? 0 : Number(args.rtt);
const clientCounts = args.clients.split(',').map(Number);
const EXISTING = 10_000;
const ROOM = 3_000;

const bench = await benchDatabase({ durable: !cpuBound });

/** Every connection of the measured code goes through the delay proxy; seeding and checks go direct. */
const proxyPort = await freePort();
const proxy = fork(new URL('./delay-proxy.ts', import.meta.url).pathname, [String(proxyPort), new URL(bench.url).port, String(rttMs)], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
await new Promise<void>((resolve, reject) => {
  proxy.once('message', () => resolve());
  proxy.once('exit', (code) => reject(new Error(`delay proxy exited with ${code}`)));
});
const proxied = new URL(bench.url);
proxied.port = String(proxyPort);
process.env.DATABASE_URL = proxied.toString();
// One connection per client, as one per Lambda instance.
process.env.DATABASE_POOL_MAX = String(Math.max(...clientCounts));

const { handler: register } = await import('../functions/registrations-create');
const { closeDatabase, database } = await import('../src/db/client');
const { register: registerService } = await import('../src/registrations/service');
const direct = new pg.Pool({ connectionString: bench.url, max: 4 });
const measured = new pg.Pool({ connectionString: proxied.toString(), max: Math.max(...clientCounts) });
for (const pool of [direct, measured]) pool.on('error', () => undefined); // idle clients killed at shutdown

async function hotEvent(label: string, capacity: number | null = EXISTING + ROOM): Promise<{ id: string; slug: string }> {
  const organizer = await direct.query(`insert into users (sub) values ($1) on conflict (sub) do update set sub = excluded.sub returning id`, ['bench']);
  const slug = `${label}-${randomUUID().slice(0, 8)}`;
  const { rows } = await direct.query(
    `insert into events (slug, name, starts_at, capacity, spots_reserved, organizer_id)
     values ($1, $1, now() + interval '30 days', $2, $3, $4) returning id`,
    [slug, capacity, EXISTING, organizer.rows[0].id],
  );
  await direct.query(
    `insert into registrations (event_id, name, email, spots, status, cancel_token_hash)
     select $1, 'existing', 'existing' || n || '@example.com', 1, 'CONFIRMED', md5(n::text) from generate_series(1, $2) n`,
    [rows[0].id, EXISTING],
  );
  await direct.query('analyze registrations');
  return { id: rows[0].id, slug };
}

/** A subscription to one event (issue 21): its registrations' statement writes a webhook message each. */
async function subscribed(eventId: string): Promise<void> {
  await direct.query(
    `insert into webhook_subscriptions (owner_id, url, secret, event_ids)
     select organizer_id, 'https://hooks.example.com/lockstep', 'whsec_' || encode(decode(md5(random()::text), 'hex'), 'base64'), array[id]
     from events where id = $1`,
    [eventId],
  );
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
  (await measured.query('update events set spots_reserved = spots_reserved + 1 where id = $1', [eventId])).rowCount === 1;

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

const service = (slug: string) => async (n: number) => {
  await registerService(database(), slug, { name: `Service ${n}`, email: `s${n}-${slug}@example.com`, spots: 1 });
  return true;
};

/** The replaced system: no retry on serialization failure, so a failure is a failed registration. */
const replaced = (eventId: string) => async (n: number) => {
  const client = await measured.connect();
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

/** Oversell, and for lockstep also the counter against the rows (the replaced strategy kept no counter). */
async function oversold(eventId: string, counted = true): Promise<string> {
  const { rows } = await direct.query(
    `select e.capacity, e.spots_reserved,
       (select coalesce(sum(spots), 0)::int from registrations where event_id = e.id and status = 'CONFIRMED') as confirmed
     from events e where id = $1`,
    [eventId],
  );
  const { capacity, spots_reserved: reserved, confirmed } = rows[0];
  if (confirmed > capacity) return `OVERSOLD ${confirmed}/${capacity}`;
  return !counted || reserved === confirmed ? `ok ${confirmed}/${capacity}` : `COUNTER ${reserved} ≠ ${confirmed}`;
}

const rate = (run: Run) => run.ok / run.wallSeconds;
const table = [];
const verdicts: string[] = [];
for (const clients of clientCounts) {
  const results: Record<string, Run> = {};
  const checks: Record<string, string> = {};
  // Unlimited, so the CHECK never stops the bare increments.
  const a = await hotEvent('ceiling', null);
  results.a = await drive(clients, ceiling(a.id));
  const sv = await hotEvent('service');
  results.s = await drive(clients, service(sv.slug));
  checks.s = await oversold(sv.id);
  const b = await hotEvent('lockstep');
  results.b = await drive(clients, lockstep(b.slug));
  checks.b = await oversold(b.id);
  const k = await hotEvent('keyed');
  results.k = await drive(clients, lockstep(k.slug, true));
  checks.k = await oversold(k.id);
  const w = await hotEvent('webhooks');
  await subscribed(w.id);
  results.w = await drive(clients, lockstep(w.slug));
  checks.w = await oversold(w.id);
  const c = await hotEvent('replaced');
  results.c = await drive(clients, replaced(c.id));
  checks.c = await oversold(c.id, false);
  const strategies = [
    ['a', '(a) bare UPDATE ceiling'],
    ['s', '(s) register() service, no HTTP layer'],
    ['b', '(b) lockstep handler'],
    ['k', '(k) lockstep handler + Idempotency-Key'],
    ['w', '(w) lockstep handler, event with a webhook'],
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
      check: checks[key] ?? 'n/a',
    });
  }
  const ratio = (x: Run, y: Run) => rate(x) / rate(y);
  const kb = ratio(results.k!, results.b!);
  const wb = ratio(results.w!, results.b!);
  const ba = ratio(results.b!, results.a!);
  const p99 = percentile(results.k!.latencies, 99) / percentile(results.a!.latencies, 99);
  table.push({
    clients,
    strategy: `s/a ${ratio(results.s!, results.a!).toFixed(2)}  b/a ${ba.toFixed(2)}  k/a ${ratio(results.k!, results.a!).toFixed(2)}  k/b ${kb.toFixed(2)}  w/b ${wb.toFixed(2)}  b/c ${ratio(results.b!, results.c!).toFixed(1)}  k p99/a p99 ${p99.toFixed(2)}`,
  });
  verdicts.push(
    `${clients} clients: k/b ${kb.toFixed(2)} ${kb >= 0.9 ? 'meets' : 'MISSES'} ≥ 0.9; b/a ${ba.toFixed(2)} ${ba >= 0.75 ? 'meets' : 'MISSES'} ≥ 0.75; ` +
      `w/b ${wb.toFixed(2)} ${wb >= 0.9 ? 'meets' : 'MISSES'} ≥ 0.9` +
      (clients === 128 ? `; keyed p99 ${p99.toFixed(2)}× the ceiling's ${p99 <= 1.5 ? 'meets' : 'MISSES'} ≤ 1.5×` : ''),
  );
}
console.log(
  `${seconds}s per run, ${EXISTING} existing registrations per event, room for ${ROOM} more; ` +
    (cpuBound ? 'CPU-bound: fsync off, no delay' : `durable commits, ${rttMs} ms round trip to the database`),
);
console.table(table);
console.log(verdicts.join('\n'));
const chart = await writeLineChart({
  name: 'registrations',
  title: 'Registrations per second on one hot event',
  conditions: `${seconds}s per run, ${cpuBound ? 'CPU-bound: fsync off, no delay' : `durable commits, ${rttMs} ms round trip`}`,
  rows: table.filter((row) => 'ok/s' in row),
  x: { field: 'clients', title: 'concurrent clients' },
  y: { field: 'ok/s', title: 'registrations/s' },
  series: 'strategy',
});
console.log(`chart: ${chart}`);
await Promise.all([direct.end(), measured.end(), closeDatabase()]);
proxy.kill();
await bench.stop();
