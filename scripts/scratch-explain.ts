import pg from 'pg';
import { benchDatabase } from './bench-harness';
const bench = await benchDatabase({ durable: false });
const { intakeProcedure } = await import('../src/registrations/intake');
const db = new pg.Client({ connectionString: bench.url });
await db.connect();
const org = await db.query(`insert into users (sub) values ('x') returning id`);
const ev = await db.query(`insert into events (slug, name, starts_at, capacity, organizer_id) values ('e','e', now() + interval '3 days', 20000, $1) returning id`, [org.rows[0].id]);
const id = ev.rows[0].id;
await db.query(`insert into registrations (event_id, name, email, spots, status, shard, cancel_token_hash, created_at)
  select $1, 'existing', 'existing' || n || '@example.com', 1, 'CONFIRMED', n % 8, md5(n::text), now() - interval '1 day' from generate_series(1, 10000) n`, [id]);
await db.query(`update event_shards s set reserved = c.n, quota = c.n + 1250 from (select shard, count(*)::int n from registrations where event_id = $1 group by shard) c where s.event_id = $1 and s.shard = c.shard`, [id]);
await db.query('vacuum analyze');
const proc = intakeProcedure();
let admit = proc.slice(proc.indexOf('with batch as'), proc.indexOf(';\n          exit;'));
admit = admit.replaceAll('v_event', `'${id}'::uuid`).replaceAll('v_horizon', 'pg_snapshot_xmax(pg_current_snapshot())').replaceAll('v_limit', 'null');
for (const round of [1, 2, 3]) {
  await db.query(`insert into registration_intake (event_id, owner_pid, owner_start, name, email, spots, cancel_token_hash)
    select $1, pid, backend_start, 'n', 'new' || g || '-' || $2 || '@example.com', 1, md5(g::text) from pg_stat_activity, generate_series(1, 5) g where pid = pg_backend_pid()`, [id, round]);
  const t = performance.now();
  const { rows } = await db.query(`explain (analyze, buffers, costs off) ${admit}`);
  console.log(`round ${round}: ${(performance.now() - t).toFixed(1)} ms`);
  if (round === 3) console.log(rows.map((r) => r['QUERY PLAN']).join('\n'));
}
await db.end();
await bench.stop();
