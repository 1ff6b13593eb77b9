/**
 * Column (s) of `npm run bench:registrations`: lockstep's own registration SQL decided in batches, the design of
 * docs/ticket-drop.md ("sequenced intake") before it is in src/. One CALL per registration commits an intake row,
 * then waits for the event's admitter; the admitter decides every pending row that arrived before its horizon with
 * ONE statement built from the registration statement's own fragments: the event's shards locked, email
 * duplicates refused, confirmed in arrival order while the spots fit and nobody waits (strict FIFO), else queued,
 * the rows inserted with the view's JSON, the shards settled and the webhook messages written. No keys, no import,
 * no deadline: what it measures is the cost of the shared work, not the handler's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type pg from 'pg';

/** The admit statement, rendered from the app's fragments; `p_event` and `horizon` are the procedure's variables. */
export async function admitStatement(): Promise<string> {
  const { events } = await import('../src/events/schema');
  const { eventShards: sh, QUEUE_SHARD } = await import('../src/capacity/schema');
  const { registrations: r } = await import('../src/registrations/schema');
  const { settleShards, eventSettings } = await import('../src/capacity/service');
  const { registrationJson } = await import('../src/registrations/view');
  const { registrationMessages } = await import('../src/webhooks/outbox');
  const { eventForMessages } = await import('../src/events/changes');
  const { columnNames } = await import('../src/db/columns');
  const { renderedOnce } = await import('../src/db/prepared');
  const event = sql.raw('p_event');
  const queue = sql.raw(String(QUEUE_SHARD));
  const statement = sql`
    with batch as (
      select i.id as intake_id, i.name, i.email, i.spots, i.token_hash, i.arrival,
        row_number() over (partition by lower(i.email) order by i.arrival, i.id) as email_rank
      from bench_intake i where i.event_id = ${event} and not i.decided and i.arrival < horizon
    ),
    totals as (
      select ${events.capacity} as capacity, ${events.capacity} - sum(${sh.reserved}) as free, sum(${sh.waitlist}) as waitlist,
        bool_and(${sh.open}) as open, min(${sh.maxSpots}) as max_spots
      from ${sh} join ${events} on ${events.id} = ${sh.eventId} where ${sh.eventId} = ${event} group by ${events.capacity}
    ),
    valid as (
      select b.* from batch b, totals t
      where t.open and b.spots <= t.max_spots and b.email_rank = 1 and not exists (
        select 1 from ${r} where ${r.eventId} = ${event} and lower(${r.email}) = lower(b.email) and ${r.status} in ('CONFIRMED', 'WAITLIST'))
    ),
    ranked as (select v.*, sum(v.spots) over w as running, row_number() over w as n from valid v window w as (order by v.arrival, v.intake_id)),
    fifo as (
      -- Confirmed while every row before it was: the first that does not fit queues, and every later one with it.
      select k.*, bool_and(k.fits) over (order by k.arrival, k.intake_id) as confirmed
      from (select ranked.*, t.waitlist = 0 and (t.capacity is null or ranked.running <= t.free) as fits from ranked, totals t) as k
    ),
    event as (
      select ${events.id} as id, (select waitlist from totals) + (select count(*) from fifo where not confirmed) as waitlist_count, ${eventForMessages}
      from ${events} where ${events.id} = ${event}
    ),
    -- Each row as it will be inserted, its view's JSON included, so the intake rows are written from this CTE
    -- through their primary key: joining two CTEs of a batch was planned as a nested loop over every pair (their
    -- row estimates are the planner's default), half of the statement at 112 rows.
    decided as (
      select d.*, ${registrationJson} as public_body from (
        select gen_random_uuid() as id, f.intake_id, ${event} as event_id, f.name, f.email, f.spots,
          (case when f.confirmed then 'CONFIRMED' else 'WAITLIST' end)::registration_status as status, ${queue}::smallint as shard,
          f.token_hash as cancel_token_hash, base.at + f.n * interval '1 microsecond' as created_at, now() as updated_at
        from fifo f, (select clock_timestamp() as at) as base
      ) as d
    ),
    inserted as (
      insert into ${r} (${columnNames(r.id, r.eventId, r.name, r.email, r.spots, r.status, r.shard, r.cancelTokenHash, r.createdAt, r.updatedAt)})
      select id, event_id, name, email, spots, status, shard, cancel_token_hash, created_at, updated_at from decided
      returning ${columnNames(r.status)} as status, ${registrationJson} as public_body, ${columnNames(r.name)} as name, ${columnNames(r.email)} as email
    ),
    settled as (${settleShards(sql`select l.event_id, l.shard, ${eventSettings},
        l.reserved + case when l.shard = ${queue} then (select coalesce(sum(spots), 0) from fifo where confirmed) else 0 end as reserved,
        l.waitlist + case when l.shard = ${queue} then (select count(*) from fifo where not confirmed) else 0 end as waitlist
      from ${sh} as l join ${events} on ${events.id} = l.event_id where l.event_id = ${event}`)}),
    ${registrationMessages},
    refused as (
      update bench_intake i set decided = true from batch b
      where i.id = b.intake_id and b.intake_id not in (select intake_id from decided)
    )
    update bench_intake i set decided = true, status = d.status::text, body = d.public_body
    from decided d where i.id = d.intake_id`;
  return new PgDialect().sqlToQuery(renderedOnce(statement)).sql;
}

/**
 * The intake-and-admit protocol as a procedure, for (q) and (s): `intake` inserts the caller's row (its id into
 * `mine`) under the intake lock (shared) and commits; then each turn of the admission lock runs `decided` (the row's
 * outcome, and `done`), and while it is not done reads the horizon under the intake lock (exclusive: every earlier
 * arrival has committed) and runs `admit`, which decides every pending row below it. `key` names the event's locks.
 * (Waiting out the admitter in shared mode first, so a whole batch wakes at once, measured 0.86-0.95× of this side
 * by side.)
 */
export function intakeProcedure(p: { name: string; args: string; key: string; intake: string; decided: string; admit: string }): string {
  return `create or replace procedure ${p.name}(${p.args}) language plpgsql as $proc$
    declare
      mine bigint;
      horizon xid8;
      done boolean;
    begin
      perform pg_advisory_xact_lock_shared(1, ${p.key});
      ${p.intake} returning id into mine;
      commit;
      loop
        perform pg_advisory_xact_lock(2, ${p.key});
        ${p.decided};
        if not done then
          perform pg_advisory_lock(1, ${p.key});
          horizon := pg_snapshot_xmax(pg_current_snapshot());
          perform pg_advisory_unlock(1, ${p.key});
          ${p.admit};
        end if;
        commit;
        exit when done;
      end loop;
    end $proc$`;
}

/** (s)'s intake table, its admitters' log (bench_batches) and its procedure, once per run. */
export async function createBatchIntake(db: pg.Pool): Promise<void> {
  await db.query(`
    create table if not exists bench_intake (id bigint generated always as identity primary key, event_id uuid not null,
      arrival xid8 not null default pg_current_xact_id(), name text not null, email text not null, spots int not null,
      token_hash text not null, decided boolean not null default false, status text, body text);
    create index if not exists bench_intake_pending on bench_intake (event_id, arrival, id) where not decided;
    create table if not exists bench_batches (event_id uuid not null, decided int not null, took_ms double precision not null,
      at timestamptz not null default clock_timestamp())`);
  await db.query(
    intakeProcedure({
      name: 'bench_register',
      args: 'p_event uuid, p_name text, p_email text, p_spots int, p_token_hash text, inout p_status text default null, inout p_body text default null',
      key: 'hashtext(p_event::text)',
      intake: 'insert into bench_intake (event_id, name, email, spots, token_hash) values (p_event, p_name, p_email, p_spots, p_token_hash)',
      decided: 'select decided, status, body into done, p_status, p_body from bench_intake where id = mine',
      admit: `declare
          started timestamptz := clock_timestamp();
          batch_size int;
        begin
          perform 1 from event_shards where event_id = p_event order by shard for update;
          ${await admitStatement()};
          get diagnostics batch_size = row_count;
          insert into bench_batches (event_id, decided, took_ms) values (p_event, batch_size, extract(epoch from clock_timestamp() - started) * 1000);
        end`,
    }),
  );
}

/** One registration of one spot through the procedure; true when confirmed. */
export async function batchRegister(db: pg.Pool, eventId: string, n: number): Promise<boolean> {
  const token = randomBytes(32).toString('base64url');
  const { rows } = await db.query({
    name: 'bench_register',
    text: 'call bench_register($1, $2, $3, $4, $5)',
    values: [eventId, `Bench ${n}`, `s${n}-${eventId}@example.com`, 1, createHash('sha256').update(token).digest('base64url')],
  });
  JSON.parse(rows[0].p_body as string);
  return rows[0].p_status === 'CONFIRMED';
}

/**
 * How the event's admitters worked: batches, their mean size, the mean time from the horizon to the end of the
 * admit statement, and the share of the cell's span the admission lock spent deciding.
 */
export async function batchStats(db: pg.Pool, eventId: string): Promise<string> {
  const { rows } = await db.query(
    `select count(*)::int as batches, avg(decided) as size, avg(took_ms) as took,
       sum(took_ms) / nullif(extract(epoch from max(at) - min(at)) * 1000, 0) as busy
     from bench_batches where event_id = $1`,
    [eventId],
  );
  const b = rows[0];
  return `${b.batches} batches of ${Number(b.size).toFixed(1)}, ${Number(b.took).toFixed(2)} ms each, deciding ${Math.round(100 * Number(b.busy))} % of the time`;
}
