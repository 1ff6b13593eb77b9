import pg from 'pg';
import { benchDatabase } from './bench-harness';
const logs: string[] = [];
const bench = await benchDatabase({ durable: true, onLog: (m) => logs.push(String(m)) });
const { intakeProcedure } = await import('../src/registrations/intake');
const admin = new pg.Client({ connectionString: bench.url });
await admin.connect();
const variant = process.argv[2] ?? 'base';
let proc = intakeProcedure();
if (variant === 'nostat') proc = proc.replace(/not exists \(select 1 from pg_stat_get_activity\(b\.owner_pid\) as a where a\.backend_start = b\.owner_start\)/, 'false');
if (variant.includes('nolock')) proc = proc.replace('    -- Locked, so a request whose deadline passes while queued withdraws its row only if no admitter holds it.\n    for update\n', '');
if (variant.includes('noexc')) proc = proc.replace(/    begin\n      if p_deadline is not null then perform set_config\('lock_timeout', lockstep_time_left_ms\(p_deadline\) \|\| 'ms', true\); end if;\n      perform pg_advisory_xact_lock\(2, v_key\);\n    exception when lock_not_available or query_canceled then\n      v_late := true;\n    end;/, '    perform pg_advisory_xact_lock(2, v_key);');
if (variant.includes('nointakestat')) proc = proc.replace('from pg_stat_get_activity(pg_backend_pid()) as a', "from (select pg_backend_pid() as pid, '2020-01-01'::timestamptz as backend_start) as a");
if (variant.includes('noadmitstat')) proc = proc.replace(/not exists \(select 1 from pg_stat_get_activity\(b\.owner_pid\) as a where a\.backend_start = b\.owner_start\)/, 'false');
if (!proc.includes('perform pg_advisory_xact_lock(2, v_key);\n    if') && variant.includes('noexc')) console.log('noexc not applied');
if (variant.includes('timing')) {
  await admin.query('create table scratch_t (phase text, took interval)');
  proc = proc.replace('      perform pg_advisory_lock(1, v_key);', "      perform set_config('x.t', clock_timestamp()::text, true);\n      perform pg_advisory_lock(1, v_key);");
  proc = proc.replace('      perform 1 from event_shards where event_id = v_event order by shard for update;', "      insert into scratch_t select 'horizon', clock_timestamp() - current_setting('x.t')::timestamptz;\n      perform set_config('x.t', clock_timestamp()::text, true);\n      perform 1 from event_shards where event_id = v_event order by shard for update;\n      insert into scratch_t select 'shards', clock_timestamp() - current_setting('x.t')::timestamptz;\n      perform set_config('x.t', clock_timestamp()::text, true);");
  proc = proc.replace("        end;\n      end loop;\n", "        end;\n      end loop;\n      insert into scratch_t select 'admit', clock_timestamp() - current_setting('x.t')::timestamptz;\n");
}
await admin.query(proc);
const org = await admin.query(`insert into users (sub) values ('x') returning id`);
const ev = await admin.query(`insert into events (slug, name, starts_at, capacity, organizer_id) values ('e','e', now() + interval '3 days', 100000, $1) returning id`, [org.rows[0].id]);
const id = ev.rows[0].id;
await admin.query(`insert into registrations (event_id, name, email, spots, status, shard, cancel_token_hash, created_at)
  select $1, 'existing', 'existing' || n || '@example.com', 1, 'CONFIRMED', n % 8, md5(n::text), now() - interval '1 day' from generate_series(1, 10000) n`, [id]);
await admin.query(`update event_shards s set reserved = c.n, quota = c.n + 10000 from (select shard, count(*)::int n from registrations where event_id = $1 group by shard) c where s.event_id = $1 and s.shard = c.shard`, [id]);
await admin.query('vacuum analyze');
const clients = Number(process.argv[3] ?? 128);
const pool = new pg.Pool({ connectionString: bench.url, max: Math.min(clients, 200) });
if (variant.includes('explain')) pool.on('connect', (c) => void c.query("load 'auto_explain'; set auto_explain.log_min_duration = 150; set auto_explain.log_nested_statements = on; set auto_explain.log_analyze = on; set auto_explain.log_buffers = on"));
if (variant.includes('dl10')) pool.on('connect', (c) => void c.query("set deadlock_timeout = '10s'"));
if (variant.includes('generic')) pool.on('connect', (c) => void c.query("set plan_cache_mode = force_generic_plan"));
const withDeadline = process.argv[4] === 'deadline';
let n = 0; let ok = 0;
await Promise.all(Array.from({ length: Math.min(clients, 200) }, () => pool.query('select 1')));
const end = Date.now() + 4000;
const t0 = process.cpuUsage();
const sampler = setInterval(async () => {
  if (!variant.includes('sample')) return;
  const { rows } = await admin.query(`select coalesce(wait_event_type,'-') || ':' || coalesce(wait_event,'-') || ':' || state as w, count(*)::int as n, left(max(query), 60) as q from pg_stat_activity where backend_type = 'client backend' group by 1 order by 2 desc limit 6`);
  console.log(rows.map((r) => `${r.n} ${r.w}`).join(' | '));
}, 700);
await Promise.all(Array.from({ length: clients }, async () => {
  while (Date.now() < end) {
    const i = n++;
    const { rows } = await pool.query({ name: 'r', text: `call lockstep_register($1::uuid, null, $2, $3, 1, 'h', null, null, null, null, null, null, null, null, ${withDeadline ? "now() + interval '10 s'" : 'null'})`, values: [id, `n${i}`, `e${i}@x.com`] });
    if (rows[0].o_status) ok++;
  }
}));
clearInterval(sampler);
const { rows } = await admin.query(`select count(*)::int as batches, avg(n)::float as size from (select count(*) n from registration_intake where decided_at is not null group by decided_at) b`);
if (variant.includes('timing')) console.log((await admin.query(`select phase, count(*), avg(took), max(took) from scratch_t group by phase`)).rows);
console.log(variant, clients, withDeadline ? 'deadline' : '', `${Math.round(ok / 4)}/s`, rows[0]);
await pool.end(); await admin.end(); await bench.stop();
if (variant.includes('explain')) console.log(logs.filter((l) => l.includes('duration')).slice(0, 2).join('\n=====\n'));
