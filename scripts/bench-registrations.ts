/**
 * `npm run bench:registrations [-- --seconds 5 --rtt 2 --clients 8,32,128,512 --pool 200 --rounds 1 --cpu-bound]`: a ticket
 * drop on one event, every column in the same run on the same Postgres, as production pays it: durable commits
 * (fsync and synchronous_commit on), a network round trip between the function and the database (a TCP delay proxy
 * in its own process, 2 ms by default), and at most `--pool` connections (as a pooler in front of Postgres admits a
 * bounded number), the clients beyond it queueing for one. `--cpu-bound`: fsync off and no delay. `--pgbouncer`: the
 * measured connections go through Debian's PgBouncer in transaction mode (as Neon's pooler), `--pool` server
 * connections, behind the delay proxy.
 *   (a) one row   a bare `UPDATE one_row SET n = n + 1` of a single row: one row's ceiling
 *   (h) raw SQL   the sharded design's own ceiling: one statement locks one of 8 shard rows (SKIP LOCKED, else
 *                 waits for a random one), bumps it and inserts a row, and nothing else
 *   (b) lockstep  POST /events/{slug}/registrations through the real handler, in-process: one CALL of the event's
 *                 intake, decided in batches by its admitter (docs/ticket-drop.md); the check says how it batched
 *   (k) keyed     the same with a fresh Idempotency-Key on every request
 *   (w) webhooks  (b) on an event with a webhook subscription: the statement also writes the outbox message
 * Each event starts with 10,000 confirmed registrations and room for 10,000 more, more than a cell takes (the
 * sell-out cell is the one that crosses into the waitlist). Then, at the largest client count: (x) lockstep with 10% of the clients cancelling what they
 * registered (by token), and a sell-out (capacity 2,000, 1-3 spots, 10% of the confirmed cancelling by token) whose
 * exactness is checked in SQL. Every cell is timed after a second's warm-up on a target of its own; `--rounds N`
 * times each cell N times, the columns of a client count taking turns round by round, and prints its run of median
 * rate, with every rate in its check. The connections stay open for the whole run, as a pooler keeps its server
 * connections through a drop (a backend's first registration costs tens of milliseconds of CPU). Prints ok/s,
 * p50/p99, failures, the CPU milliseconds each process spent per success (this one runs the handlers; Postgres counts
 * its backends) and how busy the cores were, and the ratios against the targets of issue 19.
 */
import { fork } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism, loadavg, uptime } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { writeLineChart } from './bench-chart';
import { cpuMeter, type CpuSplit } from './bench-cpu';
import { benchDatabase } from './bench-harness';
import { freePort } from './local-postgres';
import { findPgBouncer, startPgBouncer } from './pgbouncer';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    rtt: { type: 'string', default: '2' },
    clients: { type: 'string', default: '8,32,128,512' },
    pool: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '1' },
    pgbouncer: { type: 'boolean', default: false },
    'cpu-bound': { type: 'boolean', default: false },
  },
});
const cpuBound = args['cpu-bound'];
const seconds = Number(args.seconds);
const rttMs = cpuBound ? 0 : Number(args.rtt);
const clientCounts = args.clients.split(',').map(Number);
const poolSize = Number(args.pool);
const rounds = Number(args.rounds);
const EXISTING = 10_000;
const ROOM = 10_000;
const SELL_OUT_CAPACITY = 2_000;
const CANCELLING = 0.1;

/** Issue 19's targets: against (a) at the same client count, and against the column's own rate at 8 clients. */
const TARGETS = {
  overCeiling: { 128: 1.5, 512: 2 } as Record<number, number>,
  keepsPace: 0.75,
  p99Ms: { 128: 1_000, 512: 2_000 } as Record<number, number>,
  // Issue 21: a registration on an event with a webhook subscription costs at most 10% of the rate.
  webhookCost: 0.9,
};

const loadBefore = loadavg().map((n) => n.toFixed(2)).join(' ');
const bench = await benchDatabase({ durable: !cpuBound });

const pooler = args.pgbouncer ? await startPgBouncer(await pgbouncerBinary(), bench.url, poolSize) : undefined;

/** Debian's pgbouncer (scripts/ensure-debian.sh installs it where it can), or stop with the reason. */
async function pgbouncerBinary(): Promise<string> {
  const found = await findPgBouncer();
  if ('missing' in found) throw new Error(`--pgbouncer: ${found.missing}`);
  return found.path;
}

/** Every connection of the measured code goes through the delay proxy (then PgBouncer); seeding and checks go direct. */
const proxyPort = await freePort();
const upstreamPort = pooler?.port ?? Number(new URL(bench.url).port);
const proxy = fork(new URL('./delay-proxy.ts', import.meta.url).pathname, [String(proxyPort), String(upstreamPort), String(rttMs)], {
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
process.env.DATABASE_POOL_MAX = String(poolSize);
// The handlers' connections stay open for the run, idle or not, as a pooler's server connections do.
process.env.DATABASE_MAX_IDLE_SECONDS = '0';
if (pooler && !pooler.preparedStatements) process.env.DATABASE_PREPARED_STATEMENTS = 'false';
const prepared = process.env.DATABASE_PREPARED_STATEMENTS !== 'false';

const { handler: register } = await import('../functions/registrations-create');
const { handler: cancel } = await import('../functions/registrations-cancel');
const { closeDatabase } = await import('../src/db/client');
const { SHARDS } = await import('../src/capacity/schema');
const direct = new pg.Pool({ connectionString: bench.url, max: 4 });
/**
 * The raw SQL cells' own pool, through the proxy as the handlers' is. Its connections stay open for the run, idle or
 * not: a backend that exits during a later cell spends that cell's CPU (it counted above 100 % of the cores).
 */
const measured = new pg.Pool({ connectionString: proxied.toString(), max: poolSize, idleTimeoutMillis: 0 });
measured.on('error', () => undefined); // idle clients killed at shutdown
direct.on('error', () => undefined);

/** The server's postmaster (its pid file), for the CPU a cell spends in Postgres. */
const { rows: dataDir } = await direct.query<{ data_directory: string }>('show data_directory');
const postmaster = Number((await readFile(join(dataDir[0]!.data_directory, 'postmaster.pid'), 'utf8')).split('\n')[0]);
const cpuParts = { postmaster, others: { proxy: proxy.pid, pgbouncer: pooler?.pid } };

/** An event (its shards made by the trigger) holding `existing` confirmed registrations, spread over its shards. */
async function hotEvent(label: string, capacity = EXISTING + ROOM, existing = EXISTING): Promise<{ id: string; slug: string }> {
  const organizer = await direct.query(`insert into users (sub) values ($1) on conflict (sub) do update set sub = excluded.sub returning id`, ['bench']);
  const slug = `${label}-${randomUUID().slice(0, 8)}`;
  const { rows } = await direct.query(
    `insert into events (slug, name, starts_at, capacity, organizer_id)
     values ($1, $1, now() + interval '30 days', $2, $3) returning id`,
    [slug, capacity, organizer.rows[0].id],
  );
  await direct.query(
    `insert into registrations (event_id, name, email, spots, status, shard, cancel_token_hash, created_at)
     select $1, 'existing', 'existing' || n || '@example.com', 1, 'CONFIRMED', n % s.shards, md5(n::text), now() - interval '1 day'
     from generate_series(1, $2) n, (select count(*)::int as shards from event_shards where event_id = $1) s`,
    [rows[0].id, existing],
  );
  // Each shard's reserved spots are its rows', and the free spots are spread over the quotas (as settleShards does).
  await direct.query(
    `update event_shards s set reserved = c.n, quota = c.n + lockstep_quota_share($2::int - $3::int, s.shard, c.shards, s.max_spots)
     from (select shard, count(*)::int as n, count(*) over ()::int as shards from registrations where event_id = $1 group by shard) c
     where s.event_id = $1 and s.shard = c.shard`,
    [rows[0].id, capacity, existing],
  );
  // Settled as autovacuum would leave them, so no vacuum of the seed runs during a cell.
  await direct.query('vacuum analyze registrations, event_shards, registration_intake, idempotency_keys, webhook_messages');
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
  /** Cancellations, for the cells that cancel. */
  cancelled: number;
  /** CPU seconds spent by each process during the run. */
  cpu: CpuSplit;
}

type Op = (n: number, client: number, run: Run) => Promise<boolean>;

/** What a cell measures: an op on a target of its own, and the target's check in SQL afterwards. */
interface Target {
  op: Op;
  check: () => Promise<string>;
  /** Keep going after the cell's time until this holds (checked every 250 ms, for at most a minute). */
  until?: (run: Run) => Promise<boolean> | boolean;
}

/** A cell's timed run and its target's check in SQL. */
interface Cell {
  run: Run;
  check: string;
}

/**
 * Before each cell, untimed, on a target of the same kind: at least this long, and until each connection the cell
 * uses has served this many operations.
 */
const WARM_UP = { seconds: 1, perConnection: 20 };

/**
 * One round of a cell: a warm-up on a target of its own, then the timed run. The warm-up opens the pool's connections and gives
 * each backend the executions a busy server's have behind them: its catalog caches loaded, its plans made (a
 * prepared statement's generic plan comes after five custom ones). Warmed for one second only, the first lockstep
 * cell at 128 clients spent 3.7 ms of Postgres CPU per registration, the same cell run again 1.9 ms.
 */
async function timed(clients: number, target: () => Promise<Target>): Promise<Cell> {
  const warmed = WARM_UP.perConnection * Math.min(clients, poolSize);
  await drive(clients, { ...(await target()), until: (run) => run.ok >= warmed }, WARM_UP.seconds);
  const measuredTarget = await target();
  const run = await drive(clients, measuredTarget, seconds);
  return { run, check: await measuredTarget.check() };
}

/**
 * The cells of one client count, side by side: each timed `--rounds` times, the columns taking turns round by round
 * (a slower stretch of the machine then falls on every column alike). The round of median rate stands for the cell,
 * as a cell's rate moves by a fifth between runs; every round's target was checked in SQL, and the failures of all
 * rounds count.
 */
async function cells<K extends string>(clients: number, targets: Record<K, () => Promise<Target>>): Promise<Record<K, Cell>> {
  const keys = Object.keys(targets) as K[];
  const runs = new Map<K, Cell[]>(keys.map((key) => [key, []]));
  for (let round = 0; round < rounds; round++) {
    for (const key of keys) runs.get(key)!.push(await timed(clients, targets[key]));
  }
  return Object.fromEntries(keys.map((key) => [key, medianOf(runs.get(key)!)])) as Record<K, Cell>;
}

function medianOf(runs: Cell[]): Cell {
  const sorted = [...runs].sort((x, y) => rate(x.run) - rate(y.run));
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const failed = runs.reduce((sum, { run }) => sum + run.failed, 0);
  const rates = rounds > 1 ? ` (median of ${sorted.map(({ run }) => Math.round(rate(run))).join(', ')}/s)` : '';
  return { run: { ...median.run, failed }, check: `${median.check}${rates}` };
}

/** `clients` loops calling the target's op for `forSeconds` (and until its `until` holds); an op answers whether its registration succeeded. */
async function drive(clients: number, { op, until }: Target, forSeconds: number): Promise<Run> {
  const run: Run = { ok: 0, failed: 0, latencies: [], wallSeconds: 0, cancelled: 0, cpu: {} };
  const cpu = await cpuMeter(cpuParts);
  let counter = 0;
  const started = performance.now();
  let done = false;
  const watcher = (async () => {
    while (until && !(await until(run)) && performance.now() - started < 60_000) await new Promise((resolve) => setTimeout(resolve, 250));
  })();
  const finished = Promise.all([watcher, new Promise((resolve) => setTimeout(resolve, forSeconds * 1000))]).then(() => (done = true));
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (!done) {
        const t = performance.now();
        const success = await op(counter++, client, run).catch(() => false);
        run.latencies.push(performance.now() - t);
        if (success) run.ok++;
        else run.failed++;
      }
    }),
  );
  await finished;
  run.wallSeconds = (performance.now() - started) / 1000;
  run.cpu = await cpu();
  return run;
}

/** One row of its own, for (a). */
async function oneRow(): Promise<number> {
  await direct.query(`create table if not exists one_row (id int primary key, n bigint not null)`);
  const { rows } = await direct.query(`insert into one_row (id, n) select coalesce(max(id), 0) + 1, 0 from one_row returning id`);
  return rows[0].id;
}

const ceiling = (id: number) => async () => (await measured.query('update one_row set n = n + 1 where id = $1', [id])).rowCount === 1;

/** Shard rows of their own for (h), as many as an event has, and the table their rows go to. */
async function rawShards(): Promise<number> {
  await direct.query(`create table if not exists raw_shards (id int, shard int, n bigint not null, primary key (id, shard)) with (fillfactor = 20)`);
  await direct.query(`create table if not exists raw_rows (id int not null, shard int not null, at timestamptz not null default clock_timestamp())`);
  const { rows } = await direct.query(`select coalesce(max(id), 0) + 1 as id from raw_shards`);
  await direct.query(`insert into raw_shards (id, shard, n) select $1, s, 0 from generate_series(0, $2 - 1) s`, [rows[0].id, SHARDS]);
  return rows[0].id;
}

/**
 * (h), the sharded design's ceiling without lockstep: ONE statement locks a free shard row (SKIP LOCKED, in an order
 * starting at a random shard), or else waits for that random one, bumps it and inserts a row; no event, checks,
 * view, key or outbox. Issue 19 measured this headroom in raw SQL.
 */
const rawEscrow = (id: number) => async () => {
  const start = randomInt(SHARDS);
  const { rowCount } = await measured.query(
    `with pick as (select shard from raw_shards where id = $1 order by (shard + $2) % $3 limit 1 for update skip locked),
       bumped as (update raw_shards r set n = n + 1 where r.id = $1 and r.shard = coalesce((select shard from pick), $2) returning r.shard)
     insert into raw_rows (id, shard) select $1, shard from bumped`,
    [id, start, SHARDS],
  );
  return rowCount === 1;
};

type Created = { statusCode: number; body?: string };

const registerOnce = (slug: string, n: number, spots: number, withKey: boolean) =>
  register({
    headers: { 'content-type': 'application/json', ...(withKey && { 'idempotency-key': randomUUID() }) },
    rawPath: `/events/${slug}/registrations`,
    pathParameters: { slug },
    body: JSON.stringify({ name: `Bench ${n}`, email: `b${n}-${slug}@example.com`, spots }),
    requestContext: { requestId: `bench-${n}` },
  } as never) as Promise<Created>;

const cancelOnce = (slug: string, created: { id: string; cancelToken: string }) =>
  cancel({
    headers: {},
    rawPath: `/events/${slug}/registrations/${created.id}`,
    pathParameters: { slug, id: created.id },
    queryStringParameters: { token: created.cancelToken },
    requestContext: { requestId: `bench-cancel-${created.id}` },
  } as never) as Promise<Created>;

const lockstep = (slug: string, withKey = false) => async (n: number) => (await registerOnce(slug, n, 1, withKey)).statusCode === 201;

/**
 * Registrations of 1-`maxSpots` spots; `cancels(client)` says whether this client cancels (by token) what it got
 * confirmed. A registration counts as ok once answered 201; a cancellation that fails counts as a failure.
 */
const withCancellations =
  (slug: string, maxSpots: number, cancels: (client: number, status: string) => boolean) => async (n: number, client: number, run: Run) => {
    const res = await registerOnce(slug, n, 1 + (n % maxSpots), false);
    if (res.statusCode !== 201) return false;
    const created = JSON.parse(res.body!) as { id: string; cancelToken: string; status: string };
    if (!cancels(client, created.status)) return true;
    const t = performance.now();
    const cancelled = await cancelOnce(slug, created);
    run.latencies.push(performance.now() - t);
    if (cancelled.statusCode !== 204) {
      run.failed++;
      return true;
    }
    run.cancelled++;
    return true;
  };

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/**
 * The event's invariants in SQL: each shard's counter equals its rows and the quotas add up to the capacity (so
 * nothing is oversold), the queue's shard counts the waiting rows and every shard knows whether anyone waits, no
 * email is active twice, and strict FIFO at rest (the head of the queue does not fit, and nobody confirmed arrived
 * after a registration still waiting).
 */
async function exact(eventId: string): Promise<string> {
  const { rows } = await direct.query(
    `select e.capacity, sh.reserved, sh.waitlist, sh.quota, sh.drifted_shards, sh.flags_wrong,
       (select coalesce(sum(spots), 0)::int from registrations where event_id = e.id and status = 'CONFIRMED') as confirmed,
       (select count(*)::int from registrations where event_id = e.id and status = 'WAITLIST') as waiting,
       (select spots from registrations where event_id = e.id and status = 'WAITLIST' order by created_at, id limit 1) as head,
       (select count(*)::int from (select lower(email) from registrations where event_id = e.id and status <> 'CANCELLED'
          group by 1 having count(*) > 1) d) as duplicates,
       (select count(*)::int from registration_intake i where i.event_id = e.id and i.decided_at is null) as pending,
       (select count(*)::int from registrations c where c.event_id = e.id and c.status = 'CONFIRMED' and (c.created_at, c.id) >
          (select created_at, id from registrations w where w.event_id = e.id and w.status = 'WAITLIST' order by created_at, id limit 1)) as passed
     from events e cross join lateral (
       select sum(s.reserved)::int as reserved, sum(s.waitlist)::int as waitlist, sum(s.quota)::int as quota,
         count(*) filter (where s.reserved <> (select coalesce(sum(spots), 0) from registrations r
           where r.event_id = s.event_id and r.shard = s.shard and r.status = 'CONFIRMED'))::int as drifted_shards,
         count(*) filter (where s.waiting <> (select count(*) > 0 from registrations r where r.event_id = s.event_id and r.status = 'WAITLIST'))::int as flags_wrong
       from event_shards s where s.event_id = e.id) sh
     where e.id = $1`,
    [eventId],
  );
  const e = rows[0];
  const problems = [
    e.confirmed > e.capacity && `OVERSOLD ${e.confirmed}/${e.capacity}`,
    e.quota !== e.capacity && `QUOTAS ${e.quota} ≠ CAPACITY ${e.capacity}`,
    e.reserved !== e.confirmed && `COUNTER ${e.reserved} ≠ ${e.confirmed}`,
    e.drifted_shards > 0 && `${e.drifted_shards} SHARDS ≠ THEIR ROWS`,
    e.waitlist !== e.waiting && `WAITLIST ${e.waitlist} ≠ ${e.waiting}`,
    e.flags_wrong > 0 && `${e.flags_wrong} WAITING FLAGS WRONG`,
    e.head !== null && e.capacity - e.confirmed >= e.head && `HEAD FITS (${e.head} ≤ ${e.capacity - e.confirmed})`,
    e.duplicates > 0 && `${e.duplicates} DUPLICATE EMAILS`,
    e.pending > 0 && `${e.pending} INTAKE ROWS NEVER DECIDED`,
    e.passed > 0 && `${e.passed} CONFIRMED PAST A WAITER`,
  ].filter(Boolean);
  if (problems.length) inexact.push(eventId);
  return problems.length ? problems.join('; ') : `exact ${e.confirmed}/${e.capacity}, ${e.waiting} waiting`;
}

const inexact: string[] = [];

/** How the event's admitters batched: the rows one admit statement decided share its decision time. */
async function batchStats(eventId: string): Promise<string> {
  const { rows } = await direct.query(
    `select count(*)::int as batches, avg(n) as size from (
       select count(*) as n from registration_intake where event_id = $1 and decided_at is not null group by decided_at) b`,
    [eventId],
  );
  return `${rows[0].batches} batches of ${Number(rows[0].size).toFixed(1)}`;
}
const rate = (run: Run) => run.ok / run.wallSeconds;
const row = (clients: number, label: string, run: Run, check: string) => ({
  clients,
  column: label,
  'ok/s': Math.round(rate(run)),
  ...(run.cancelled > 0 && { 'cancels/s': Math.round(run.cancelled / run.wallSeconds) }),
  failed: run.failed,
  'p50 ms': Math.round(percentile(run.latencies, 50)),
  'p99 ms': Math.round(percentile(run.latencies, 99)),
  // Where the CPU goes, per successful operation, and how much of the machine's cores the cell kept busy.
  'cpu ms/op': Object.entries(run.cpu)
    .map(([part, seconds]) => `${part} ${((seconds * 1000) / Math.max(1, run.ok)).toFixed(1)}`)
    .join(' '),
  'cpu %': Math.round((100 * Object.values(run.cpu).reduce((sum, n) => sum + n, 0)) / (run.wallSeconds * availableParallelism())),
  check,
});

const table: Array<Record<string, unknown>> = [];
const verdicts: string[] = [];
const verdict = (met: boolean, text: string) => verdicts.push(`${met ? 'meets ' : 'MISSES'} ${text}`);
const byClients = new Map<number, Record<'a' | 'b' | 'k' | 'w', Run>>();
/** A hot event (see hotEvent) registered for by `op`, checked by `exact`. */
const onEvent = (event: { id: string; slug: string }, op: Op): Target => ({ op, check: () => exact(event.id) });

for (const clients of clientCounts) {
  const { a, h, b, k, w } = await cells(clients, {
    a: async () => ({ op: ceiling(await oneRow()), check: async () => 'n/a' }),
    h: async () => ({ op: rawEscrow(await rawShards()), check: async () => 'n/a' }),
    b: async () => {
      const event = await hotEvent('lockstep');
      return { op: lockstep(event.slug), check: async () => `${await exact(event.id)}; ${await batchStats(event.id)}` };
    },
    k: async () => {
      const event = await hotEvent('keyed');
      return onEvent(event, lockstep(event.slug, true));
    },
    w: async () => {
      const event = await hotEvent('webhooks');
      await subscribed(event.id);
      return onEvent(event, lockstep(event.slug));
    },
  });
  table.push(row(clients, '(a) one row: bare UPDATE', a.run, a.check));
  table.push(row(clients, `(h) ${SHARDS} shard rows, raw SQL: UPDATE + INSERT`, h.run, h.check));
  table.push(row(clients, '(b) lockstep', b.run, b.check));
  table.push(row(clients, '(k) lockstep + Idempotency-Key', k.run, k.check));
  table.push(row(clients, '(w) lockstep, event with a webhook subscription', w.run, w.check));
  byClients.set(clients, { a: a.run, b: b.run, k: k.run, w: w.run });
  const [ra, rb, rk, rw] = [a.run, b.run, k.run, w.run];
  table.push({
    clients,
    column: `b/a ${(rate(rb) / rate(ra)).toFixed(2)}  k/a ${(rate(rk) / rate(ra)).toFixed(2)}  w/b ${(rate(rw) / rate(rb)).toFixed(2)}  h/a ${(rate(h.run) / rate(ra)).toFixed(2)}  b/h ${(rate(rb) / rate(h.run)).toFixed(2)}`,
  });
}

const most = Math.max(...clientCounts);
const least = Math.min(...clientCounts);
const every = Math.round(1 / CANCELLING);
const { x, sellOut } = await cells(most, {
  x: async () => {
    const event = await hotEvent('cancelling');
    return onEvent(event, withCancellations(event.slug, 1, (client) => client % every === 0));
  },
  sellOut: async () => {
    const event = await hotEvent('sell-out', SELL_OUT_CAPACITY, 0);
    let drawn = 0;
    return {
      ...onEvent(event, withCancellations(event.slug, 3, (_, status) => status === 'CONFIRMED' && drawn++ % every === 0)),
      until: async () =>
        (await direct.query(`select bool_or(waiting) as sold from event_shards where event_id = $1`, [event.id])).rows[0].sold as boolean,
    };
  },
});
table.push(row(most, `(x) lockstep, ${CANCELLING * 100}% of clients cancelling by token`, x.run, x.check));
table.push(row(most, `sell-out: capacity ${SELL_OUT_CAPACITY}, 1-3 spots, ${CANCELLING * 100}% of confirmed cancel`, sellOut.run, sellOut.check));
const [rx, rs] = [x.run, sellOut.run];

for (const [clients, runs] of byClients) {
  for (const key of ['b', 'k'] as const) {
    const run = runs[key];
    const over = TARGETS.overCeiling[clients];
    if (over !== undefined) verdict(rate(run) / rate(runs.a) >= over, `(${key}) ${(rate(run) / rate(runs.a)).toFixed(2)}x (a) at ${clients} clients (target ≥ ${over}x)`);
    const p99 = TARGETS.p99Ms[clients];
    if (p99 !== undefined) verdict(percentile(run.latencies, 99) <= p99, `(${key}) p99 ${Math.round(percentile(run.latencies, 99))} ms at ${clients} clients (target ≤ ${p99} ms)`);
    verdict(run.failed === 0, `(${key}) ${run.failed} failed at ${clients} clients (target 0)`);
  }
  verdict(rate(runs.w) / rate(runs.b) >= TARGETS.webhookCost, `(w) ${(rate(runs.w) / rate(runs.b)).toFixed(2)}x (b) at ${clients} clients (target ≥ ${TARGETS.webhookCost}x)`);
}
const own = (key: 'b' | 'k') => rate(byClients.get(most)![key]) / rate(byClients.get(least)![key]);
for (const key of ['b', 'k'] as const) {
  verdict(own(key) >= TARGETS.keepsPace, `(${key}) at ${most} clients keeps ${own(key).toFixed(2)}x its rate at ${least} (target ≥ ${TARGETS.keepsPace}x)`);
}
verdict(rx.failed === 0 && rs.failed === 0, `cancelling cells: ${rx.failed + rs.failed} failed (target 0)`);
verdict(inexact.length === 0, `every lockstep cell exact in SQL, the sell-out included (${inexact.length} not)`);

console.log(
 `${seconds}s per cell, pool of ${poolSize}${pooler ? ', through PgBouncer (transaction mode)' : ''}, ${EXISTING} existing registrations per event (the sell-out starts empty); ` +
    (cpuBound ? 'CPU-bound: fsync off, no delay' : `durable commits, ${rttMs} ms round trip to the database`) +
    `, prepared statements ${prepared ? 'on' : 'off'}` +
    `; load average before: ${loadBefore}, after: ${loadavg().map((n) => n.toFixed(2)).join(' ')} (up ${Math.round(uptime() / 60)} min)`,
);
console.table(table);
console.log(verdicts.join('\n'));
const chart = await writeLineChart({
  name: 'registrations',
  title: 'Registrations per second on one hot event',
  conditions: `${seconds}s per run, pool of ${poolSize}${pooler ? ' through PgBouncer' : ''}, ${cpuBound ? 'CPU-bound: fsync off, no delay' : `durable commits, ${rttMs} ms round trip`}`,
  // The (a), (h), (b), (k) and (w) columns at every client count; the cancelling cells run at one count only.
  rows: table.filter((row) => 'ok/s' in row && /^\([abhkw]\)/.test(String(row.column))),
  x: { field: 'clients', title: 'concurrent clients' },
  y: { field: 'ok/s', title: 'registrations/s' },
  series: 'column',
});
console.log(`chart: ${chart}`);
await Promise.all([direct.end(), measured.end(), closeDatabase()]);
proxy.kill();
await pooler?.stop();
await bench.stop();
