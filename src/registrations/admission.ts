/**
 * The intake procedure's text (see ./intake.ts), for its migration (`npm run db:intake`) and the test that holds
 * the migration to it. Not imported at run time: the database runs what the migration created.
 */
import { getTableName, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { eventSettings, queueShard, settleShards, shardTotals } from '../capacity/service';
import { eventShards } from '../capacity/schema';
import { columnNames, qualifiedColumn } from '../db/columns';
import { TRANSACTION_TIMEOUT_GRACE_MS } from '../db/deadline';
import { EACH_ROW, INDEXES_ONLY } from '../db/plans';
import { literal, renderedText } from '../db/prepared';
import { eventAudience, nextChangeSeq } from '../events/changes';
import { events } from '../events/schema';
import { KEY_CONSTRAINT } from '../idempotency/schema';
import { keyRecorded, pendingKeyColumnList, recordKeys } from '../idempotency/store';
import { outboxCount, registrationMessages } from '../webhooks/outbox';
import { INTAKE_COLUMNS, INTAKE_PARAMETERS, INTAKE_PROCEDURE, OUTCOME_COLUMNS, ownerWaits } from './intake';
import { ACTIVE_EMAIL_INDEX, EXTERNAL_KEY_INDEX, registrationIntake, registrations, registrationStatusEnum } from './schema';
import { viewJson } from './view';

const i = registrationIntake;
const r = registrations;
const sh = eventShards;
const c = (column: Parameters<typeof columnNames>[0]) => columnNames(column);

/**
 * A row is decided only with this much of its request's time left, so the batch has committed before the request
 * could answer without it (the handler's backstop comes after the deadline).
 */
const DECISION_GRACE = sql.raw(`interval '${TRANSACTION_TIMEOUT_GRACE_MS} milliseconds'`);

/** The procedure's variables the admit statement reads. */
const v = { event: sql.raw('v_event'), horizon: sql.raw('v_horizon'), limit: sql.raw('v_limit') };

const statusType = sql.identifier(registrationStatusEnum.enumName);

/** The view of a row decided in a batch, which carries its own place in the queue (`waitlist_position`). */
const decidedJson = viewJson(sql`waitlist_position`);

/**
 * The admit statement: decide the batch (every pending row of the event below the horizon, in arrival order, at
 * most `v_limit`) under all of the event's shard locks, which the procedure took before it.
 * 1. Refuse a row for its own reasons: a deadline less than DECISION_GRACE away (57014), a waiting backend that
 *    is gone (08006), a key recorded already or earlier in the batch (the key's primary key: a replay), an import's
 *    external key likewise (its index: unchanged).
 * 2. Refuse what the event refuses (closed, too many spots, deleted: no reason here, the request reads it).
 * 3. Refuse an email with an active registration, or earlier in the batch (the active-email index: 409).
 * 4. Confirm in arrival order while the spots fit and nobody waits (strict FIFO); queue the rest, each with its place.
 * 5. Insert the registrations, stamped in arrival order after every earlier registration of the event, with their
 *    view's JSON, key records and webhook messages; settle the shards; write each row's outcome.
 */
const admitStatement = renderedText(sql`
  with batch as (
    select ${c(i.id)} as intake_id, ${c(i.arrival)}, ${c(i.deadline)}, ${c(i.ownerPid)}, ${c(i.ownerStart)}, ${c(i.name)}, ${c(i.email)},
      ${c(i.spots)}, ${c(i.cancelTokenHash)}, ${c(i.importSource)}, ${c(i.externalId)}, ${pendingKeyColumnList()}
    from ${i}
    where ${i.eventId} = ${v.event} and ${i.decidedAt} is null and ${i.arrival} < ${v.horizon}
    order by ${i.arrival}, ${i.id} limit ${v.limit}
    -- Locked, so a request whose deadline passes while queued withdraws its row only if no admitter holds it.
    for update
  ),
  stamp as (select clock_timestamp() as at),
  totals as (${shardTotals(v.event)}),
  -- Once per row: referenced in several places below, these would be evaluated again in each.
  raced as materialized (
    select b.*, coalesce(b.deadline <= (select at from stamp) + ${DECISION_GRACE}, false) as late,
      not ${ownerWaits(sql`b.owner_pid`, sql`b.owner_start`)} as gone
    from batch b
  ),
  screened as (
    select y.*,
      case when y.late then '57014' when y.gone then '08006' when y.key_used or y.external_used then '23505' end as refused_state,
      case when y.key_used then ${literal(KEY_CONSTRAINT)} when y.external_used then ${literal(EXTERNAL_KEY_INDEX)} end as refused_constraint
    from (
      -- A key or external key counts against later rows only on a row that is still in the race.
      select x.*,
        x.in_race and x.key_hash is not null and (
          row_number() over (partition by x.in_race, x.key_scope, x.key_hash order by x.arrival, x.intake_id) > 1 or ${keyRecorded(sql`x`)}
        ) as key_used,
        x.in_race and x.external_id is not null and (
          row_number() over (partition by x.in_race, x.import_source, x.external_id order by x.arrival, x.intake_id) > 1
          or exists (select 1 from ${r} where ${r.importSource} = x.import_source and ${r.externalId} = x.external_id ${EACH_ROW})
        ) as external_used
      from (select raced.*, not raced.late and not raced.gone as in_race from raced) as x
    ) as y
  ),
  admissible as (
    -- No totals: the event is gone. Every row of the batch goes on from here, refused or not.
    select s.*, s.refused_state is null and coalesce(t.open and s.spots <= t.max_spots, false) as admissible
    from screened s left join totals t on true
  ),
  emails as (
    select a.*, a.admissible and (
        row_number() over (partition by a.admissible, lower(a.email) order by a.arrival, a.intake_id) > 1
        or exists (select 1 from ${r} where ${r.eventId} = ${v.event} and lower(${r.email}) = lower(a.email) and ${r.status} in ('CONFIRMED', 'WAITLIST') ${EACH_ROW})
      ) as email_taken
    from admissible a
  ),
  ranked as (
    select a.*, sum(case when a.accepted then a.spots else 0 end) over w as running
    from (select e.*, e.admissible and not e.email_taken as accepted from emails e) as a window w as (order by a.arrival, a.intake_id)
  ),
  fifo as (
    -- Confirmed while every accepted row before it was: the first that does not fit queues, and every later one with it.
    select k.*, bool_and(not k.accepted or k.fits) over (order by k.arrival, k.intake_id) as confirmed
    from (select ranked.*, t.waitlist = 0 and (t.capacity is null or ranked.running <= t.free) as fits from ranked, totals t) as k
  ),
  -- Each row as it is inserted, its view's JSON included, so the intake rows are written from this CTE through
  -- their primary key (a join of two CTEs of the batch was planned as a nested loop over every pair).
  decided as (
    select d.*, ${decidedJson} as public_body from (
      select gen_random_uuid() as id, f.intake_id, ${v.event} as event_id, f.name, f.email, f.spots, f.status, ${queueShard}::smallint as shard,
        f.cancel_token_hash, f.import_source, f.external_id, ${pendingKeyColumnList('f')}, base.at + f.n * interval '1 microsecond' as created_at, base.at + f.n * interval '1 microsecond' as updated_at,
        case when f.status = 'WAITLIST' then t.waitlist + f.queued end as waitlist_position, ${nextChangeSeq} as change_seq
      from (
        select fifo.*, (case when fifo.confirmed then 'CONFIRMED' else 'WAITLIST' end)::${statusType} as status,
          row_number() over w as n, count(*) filter (where not fifo.confirmed) over w as queued
        from fifo where fifo.accepted window w as (order by fifo.arrival, fifo.intake_id)
      ) as f, totals t,
      -- After every registration of the event so far: createdAt follows the queue order across batches too.
      (select greatest((select at from stamp), max(${r.createdAt}) + interval '1 microsecond') as at from ${r} where ${r.eventId} = ${v.event}) as base
    ) as d
  ),
  inserted as (
    insert into ${r} (${columnNames(r.id, r.eventId, r.name, r.email, r.spots, r.status, r.shard, r.cancelTokenHash, r.importSource, r.externalId, r.createdAt, r.updatedAt)})
    select id, event_id, name, email, spots, status, shard, cancel_token_hash, import_source, external_id, created_at, updated_at from decided
  ),
  recorded as (${recordKeys(sql`decided`)}),
  settled as (${settleShards(sql`select l.event_id, l.shard, ${eventSettings},
      l.reserved + case when l.shard = ${queueShard} then (select coalesce(sum(spots), 0) from decided where status = 'CONFIRMED') else 0 end as reserved,
      l.waitlist + case when l.shard = ${queueShard} then (select count(*) from decided where status = 'WAITLIST') else 0 end as waitlist
    from ${sh} as l join ${events} on ${events.id} = l.event_id where l.event_id = ${v.event}`)}),
  event as (select ${events.id} as id, ${eventAudience} from ${events} where ${events.id} = ${v.event}),
  ${registrationMessages()},
  refused as (
    update ${i} set ${c(i.decidedAt)} = (select at from stamp),
      ${c(i.refusedState)} = case when k.email_taken then '23505' else k.refused_state end,
      ${c(i.refusedConstraint)} = case when k.email_taken then ${literal(ACTIVE_EMAIL_INDEX)} else k.refused_constraint end
    from ranked k where ${i.id} = k.intake_id and not k.accepted
  )
  update ${i} set ${c(i.decidedAt)} = (select at from stamp), ${c(i.status)} = d.status, ${c(i.publicBody)} = d.public_body,
    ${c(i.messages)} = ${outboxCount}
  from decided d where ${i.id} = d.intake_id`);

/** The procedure's own row (its id in `v_mine`). */
const mine = sql`${i.id} = v_mine`;

/** Read the row's outcome into `v_done` and the INOUT parameters. */
const readOutcome = renderedText(sql`select ${i.decidedAt} is not null, ${i.status}, ${i.publicBody}, ${i.refusedState}, ${i.refusedConstraint},
      ${i.messages} into v_done, ${sql.raw(OUTCOME_COLUMNS.join(', '))} from ${i} where ${mine}`);

/** A refused row is read once, by its request, and leaves nothing behind (a refusal changes nothing). */
const forgetRefusal = renderedText(sql`if v_done and o_status is null then delete from ${i} where ${mine}; end if`);

/** The deadline passed while queued: the row refused as late, unless decided meanwhile. */
const withdraw = renderedText(
  sql`update ${i} set ${c(i.decidedAt)} = clock_timestamp(), ${c(i.refusedState)} = '57014' where ${mine} and ${i.decidedAt} is null`,
);

const p = (column: AnyPgColumn) => qualifiedColumn(column, 'p');

/** The earliest pending row below the horizon, refused with the SQLSTATE and constraint it failed its batch with. */
const refuseFirst = renderedText(sql`update ${i} set ${c(i.decidedAt)} = clock_timestamp(), ${c(i.refusedState)} = v_state,
      ${c(i.refusedConstraint)} = nullif(v_constraint, '')
    where ${i.id} = (select ${p(i.id)} from ${i} as p where ${p(i.eventId)} = v_event and ${p(i.decidedAt)} is null and ${p(i.arrival)} < v_horizon
      order by ${p(i.arrival)}, ${p(i.id)} limit 1)`);

/** The event's shards locked in shard order, as every all-shards path locks them. */
const lockEventShards = renderedText(sql`perform 1 from ${sh} where ${sh.eventId} = v_event order by ${sh.shard} for update`);

/** The event, by id or by slug: apart, so each is a lookup on its own unique index, whatever plan the session caches. */
const findEvent = (by: SQL) => renderedText(sql`select ${events.id} into v_event from ${events} where ${by}`);

/**
 * The procedure's definition, rendered from this module: drizzle/ holds it as a migration, and a unit test fails
 * when the two differ (`npm run db:intake` writes a new migration).
 * - The intake: the event (by id, else by slug; none: no row, the request explains), then the row, inserted under
 *   the event's intake lock (shared) and committed. The lock is what makes the horizon safe (see below).
 * - Each turn, bounded by the deadline: become the admitter if nobody is (a try of the admission lock, held by the
 *   session and released before the batch commits), and hold the wait lock (exclusive) to the end of the turn; else
 *   wait for the admitter to end its turn (the wait lock, shared: every waiter of a batch wakes at once, where a
 *   queue for the admission lock woke them one after another). Then read the row. The admitter, if it is
 *   undecided: reads the horizon (`pg_snapshot_xmax`) while holding the intake lock exclusively, so every arrival
 *   below it has committed and every later one draws a larger transaction id; locks the event's shards in order;
 *   admits. A waiter whose row is still undecided (it arrived after the horizon) takes another turn.
 * - An admit statement that fails decides the batch one row at a time: the row that fails alone is refused with
 *   its SQLSTATE and constraint, and the rest go on.
 * - The deadline passed while queued: withdraw the row, unless an admitter holds it (then its decision stands).
 */
export function intakeProcedure(): string {
  const params = INTAKE_PARAMETERS.map(({ name, type }) => `${name} ${type}`).join(', ');
  const values = INTAKE_COLUMNS.map((column) => `p_${column.name}`).join(', ');
  const columns = INTAKE_COLUMNS.map((column) => column.name).join(', ');
  return `create or replace procedure ${INTAKE_PROCEDURE}(${params},
  inout o_status ${registrationStatusEnum.enumName} default null, inout o_public_body text default null,
  inout o_refused_state text default null, inout o_refused_constraint text default null, inout o_messages integer default null)
language plpgsql as $proc$
declare
  v_event uuid;
  v_key integer;
  v_mine bigint;
  v_start timestamptz;
  v_horizon xid8;
  v_limit bigint;
  v_done boolean := false;
  v_admitter boolean;
  v_late boolean := false;
  v_state text;
  v_constraint text;
begin
  if p_deadline is not null then perform lockstep_time_left_ms(p_deadline); end if;
  perform ${INDEXES_ONLY};
  if p_event_id is not null then
    ${findEvent(sql`${events.id} = p_event_id`)};
  else
    ${findEvent(sql`${events.slug} = p_slug`)};
  end if;
  if v_event is null then return; end if;
  v_key := hashtext(v_event::text);
  perform pg_advisory_xact_lock_shared(1, v_key);
  -- The backend's start, read once per session: reading it copies every backend's status.
  v_start := nullif(current_setting('lockstep.backend_start', true), '')::timestamptz;
  if v_start is null then
    select a.backend_start into v_start from pg_stat_get_activity(pg_backend_pid()) as a;
    perform set_config('lockstep.backend_start', v_start::text, false);
  end if;
  -- Not flushed on its own: nobody is answered before the batch's commit, which flushes this one's WAL with its own.
  perform set_config('synchronous_commit', 'off', true);
  insert into ${getTableName(i)} (${i.eventId.name}, ${i.ownerPid.name}, ${i.ownerStart.name}, ${columns})
    values (v_event, pg_backend_pid(), v_start, ${values})
    returning id into v_mine;
  commit;
  loop
    v_admitter := false;
    perform ${INDEXES_ONLY};
    begin
      if p_deadline is not null then perform set_config('lock_timeout', lockstep_time_left_ms(p_deadline) || 'ms', true); end if;
      -- The session's, released before the batch commits: a commit releases its locks in an order of their own, and
      -- a waiter woken while the admission lock was still held took turn after turn until it went.
      v_admitter := pg_try_advisory_lock(2, v_key);
      if v_admitter then
        perform pg_advisory_xact_lock(3, v_key);
      else
        perform pg_advisory_xact_lock_shared(3, v_key);
      end if;
    exception when lock_not_available or query_canceled then
      v_late := true;
    end;
    if v_late then
      if v_admitter then perform pg_advisory_unlock(2, v_key); end if;
      perform set_config('lock_timeout', '${TRANSACTION_TIMEOUT_GRACE_MS}ms', true);
      ${withdraw};
      ${readOutcome};
      ${forgetRefusal};
      commit;
      return;
    end if;
    if not v_admitter then
      ${readOutcome};
    else
      begin
        ${readOutcome};
        if not v_done then
          perform pg_advisory_lock(1, v_key);
          v_horizon := pg_snapshot_xmax(pg_current_snapshot());
          perform pg_advisory_unlock(1, v_key);
          ${lockEventShards};
          -- Planned once per session: a custom plan for each batch cost as much as deciding it (measured).
          perform set_config('plan_cache_mode', 'force_generic_plan', true);
          v_limit := null;
          loop
            begin
              ${admitStatement};
              exit;
            exception
              -- Out of time or a lock: not the rows' doing. The batch stays pending for the next admitter.
              when lock_not_available or query_canceled then raise;
              when others then
              if v_limit = 1 then
                get stacked diagnostics v_state = returned_sqlstate, v_constraint = constraint_name;
                ${refuseFirst};
                exit;
              end if;
              v_limit := 1;
            end;
          end loop;
          ${readOutcome};
        end if;
      exception when others then
        -- The session's lock must not outlive the call: a pooler hands the connection to someone else.
        perform pg_advisory_unlock(2, v_key);
        raise;
      end;
      perform pg_advisory_unlock(2, v_key);
    end if;
    ${forgetRefusal};
    commit;
    exit when v_done;
  end loop;
end $proc$`;
}

