-- The intake procedure, rendered from src/registrations/admission.ts by `npm run db:intake`. Do not edit.
create or replace procedure lockstep_register(p_event_id uuid, p_slug text, p_name text, p_email text, p_spots integer, p_cancel_token_hash text, p_import_source text, p_external_id text, p_key_scope text, p_key_hash text, p_key_fingerprint text, p_key_status integer, p_key_headers jsonb, p_key_sealed_body text, p_deadline timestamp with time zone,
  inout o_status registration_status default null, inout o_public_body text default null,
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
  perform set_config('enable_seqscan', 'off', true);
  if p_event_id is not null then
    select "events"."id" into v_event from "events" where "events"."id" = p_event_id;
  else
    select "events"."id" into v_event from "events" where "events"."slug" = p_slug;
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
  insert into registration_intake (event_id, owner_pid, owner_start, name, email, spots, cancel_token_hash, import_source, external_id, key_scope, key_hash, key_fingerprint, key_status, key_headers, key_sealed_body, deadline)
    values (v_event, pg_backend_pid(), v_start, p_name, p_email, p_spots, p_cancel_token_hash, p_import_source, p_external_id, p_key_scope, p_key_hash, p_key_fingerprint, p_key_status, p_key_headers, p_key_sealed_body, p_deadline)
    returning id into v_mine;
  commit;
  loop
    v_admitter := false;
    perform set_config('enable_seqscan', 'off', true);
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
      perform set_config('lock_timeout', '100ms', true);
      update "registration_intake" set "decided_at" = clock_timestamp(), "refused_state" = '57014' where "registration_intake"."id" = v_mine and "registration_intake"."decided_at" is null;
      select "registration_intake"."decided_at" is not null, "registration_intake"."status", "registration_intake"."public_body", "registration_intake"."refused_state", "registration_intake"."refused_constraint",
      "registration_intake"."messages" into v_done, o_status, o_public_body, o_refused_state, o_refused_constraint, o_messages from "registration_intake" where "registration_intake"."id" = v_mine;
      if v_done and o_status is null then delete from "registration_intake" where "registration_intake"."id" = v_mine; end if;
      commit;
      return;
    end if;
    if not v_admitter then
      select "registration_intake"."decided_at" is not null, "registration_intake"."status", "registration_intake"."public_body", "registration_intake"."refused_state", "registration_intake"."refused_constraint",
      "registration_intake"."messages" into v_done, o_status, o_public_body, o_refused_state, o_refused_constraint, o_messages from "registration_intake" where "registration_intake"."id" = v_mine;
    else
      begin
        select "registration_intake"."decided_at" is not null, "registration_intake"."status", "registration_intake"."public_body", "registration_intake"."refused_state", "registration_intake"."refused_constraint",
      "registration_intake"."messages" into v_done, o_status, o_public_body, o_refused_state, o_refused_constraint, o_messages from "registration_intake" where "registration_intake"."id" = v_mine;
        if not v_done then
          perform pg_advisory_lock(1, v_key);
          v_horizon := pg_snapshot_xmax(pg_current_snapshot());
          perform pg_advisory_unlock(1, v_key);
          perform 1 from "event_shards" where "event_shards"."event_id" = v_event order by "event_shards"."shard" for update;
          -- Planned once per session: a custom plan for each batch cost as much as deciding it (measured).
          perform set_config('plan_cache_mode', 'force_generic_plan', true);
          v_limit := null;
          loop
            begin
              
  with batch as (
    select "id" as intake_id, "arrival", "deadline", "owner_pid", "owner_start", "name", "email",
      "spots", "cancel_token_hash", "import_source", "external_id", "key_scope", "key_hash", "key_fingerprint", "key_status", "key_headers", "key_sealed_body"
    from "registration_intake"
    where "registration_intake"."event_id" = v_event and "registration_intake"."decided_at" is null and "registration_intake"."arrival" < v_horizon
    order by "registration_intake"."arrival", "registration_intake"."id" limit v_limit
    -- Locked, so a request whose deadline passes while queued withdraws its row only if no admitter holds it.
    for update
  ),
  stamp as (select clock_timestamp() as at),
  totals as (select "events"."capacity" as capacity, "events"."capacity" - sum("event_shards"."reserved") as free, sum("event_shards"."waitlist") as waitlist,
      bool_and("event_shards"."open") as open, min("event_shards"."max_spots") as max_spots
    from "event_shards" join "events" on "events"."id" = "event_shards"."event_id" where "event_shards"."event_id" = v_event group by "events"."capacity"),
  -- Once per row: referenced in several places below, these would be evaluated again in each.
  raced as materialized (
    select b.*, coalesce(b.deadline <= (select at from stamp) + interval '100 milliseconds', false) as late,
      not exists (select 1 from pg_stat_get_activity(b.owner_pid) as a where a.backend_start = b.owner_start or a.backend_start is null) as gone
    from batch b
  ),
  screened as (
    select y.*,
      case when y.late then '57014' when y.gone then '08006' when y.key_used or y.external_used then '23505' end as refused_state,
      case when y.key_used then 'idempotency_keys_pkey' when y.external_used then 'registrations_external_key' end as refused_constraint
    from (
      -- A key or external key counts against later rows only on a row that is still in the race.
      select x.*,
        x.in_race and x.key_hash is not null and (
          row_number() over (partition by x.in_race, x.key_scope, x.key_hash order by x.arrival, x.intake_id) > 1 or exists (select 1 from "idempotency_keys" where "idempotency_keys"."scope" = x."key_scope"
    and "idempotency_keys"."key_hash" = x."key_hash" offset 0)
        ) as key_used,
        x.in_race and x.external_id is not null and (
          row_number() over (partition by x.in_race, x.import_source, x.external_id order by x.arrival, x.intake_id) > 1
          or exists (select 1 from "registrations" where "registrations"."import_source" = x.import_source and "registrations"."external_id" = x.external_id offset 0)
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
        or exists (select 1 from "registrations" where "registrations"."event_id" = v_event and lower("registrations"."email") = lower(a.email) and "registrations"."status" in ('CONFIRMED', 'WAITLIST') offset 0)
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
    select d.*, json_build_object('id', "id", 'eventId', "event_id", 'name', null, 'email', null, 'spots', "spots", 'status', "status", 'waitlistPosition', case when "status" = 'WAITLIST' then waitlist_position end, 'createdAt', to_char("created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'updatedAt', to_char("updated_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text as public_body from (
      select gen_random_uuid() as id, f.intake_id, v_event as event_id, f.name, f.email, f.spots, f.status, 0::smallint as shard,
        f.cancel_token_hash, f.import_source, f.external_id, "f"."key_scope", "f"."key_hash", "f"."key_fingerprint", "f"."key_status", "f"."key_headers", "f"."key_sealed_body", base.at + f.n * interval '1 microsecond' as created_at, base.at + f.n * interval '1 microsecond' as updated_at,
        case when f.status = 'WAITLIST' then t.waitlist + f.queued end as waitlist_position, nextval('event_change_seq') as change_seq
      from (
        select fifo.*, (case when fifo.confirmed then 'CONFIRMED' else 'WAITLIST' end)::"registration_status" as status,
          row_number() over w as n, count(*) filter (where not fifo.confirmed) over w as queued
        from fifo where fifo.accepted window w as (order by fifo.arrival, fifo.intake_id)
      ) as f, totals t,
      -- After every registration of the event so far: createdAt follows the queue order across batches too.
      (select greatest((select at from stamp), max("registrations"."created_at") + interval '1 microsecond') as at from "registrations" where "registrations"."event_id" = v_event) as base
    ) as d
  ),
  inserted as (
    insert into "registrations" ("id", "event_id", "name", "email", "spots", "status", "shard", "cancel_token_hash", "import_source", "external_id", "created_at", "updated_at")
    select id, event_id, name, email, spots, status, shard, cancel_token_hash, import_source, external_id, created_at, updated_at from decided
  ),
  recorded as (insert into "idempotency_keys" ("scope", "key_hash", "fingerprint", "status", "headers", "sealed_body", "public_body")
  select "key_scope", "key_hash", "key_fingerprint", "key_status", "key_headers", "key_sealed_body", public_body
  from decided where "key_hash" is not null),
  settled as (update "event_shards" set
      "open" = n.open, "max_spots" = n.max_spots, "reserved" = n.reserved,
      "waitlist" = n.waitlist, "waiting" = n.waiting, "quota" = n.quota
    from (
      select y.*, case when y.capacity is null then null when y.free < 0 then -1
          else y.reserved + lockstep_quota_share(y.free, y.shard, y.shards, y.max_spots) end as quota
      from (
        -- In bigint: a sum of bigints is numeric, whose division is not the integer one.
        select x.*, (x.capacity - sum(x.reserved) over w)::bigint as free, sum(x.waitlist) over w > 0 as waiting, count(*) over w as shards
        from (select l.event_id, l.shard, "events"."status" = 'OPEN' as open,
  least("events"."max_spots_per_registration", coalesce("events"."capacity", "events"."max_spots_per_registration")) as max_spots,
  "events"."capacity" as capacity,
      l.reserved + case when l.shard = 0 then (select coalesce(sum(spots), 0) from decided where status = 'CONFIRMED') else 0 end as reserved,
      l.waitlist + case when l.shard = 0 then (select count(*) from decided where status = 'WAITLIST') else 0 end as waitlist
    from "event_shards" as l join "events" on "events"."id" = l.event_id where l.event_id = v_event) as x
        window w as (partition by x.event_id)
      ) as y
    ) as n
    -- Every shard of `next`, even one that stays as it is: a filter on the values would be checked first against the
    -- row as this statement's snapshot has it, which for the registration that locked the shards itself may be older
    -- than the version it locked (a shard skipped for looking unchanged would keep a newer, wrong value).
    where "event_shards"."event_id" = n.event_id and "event_shards"."shard" = n.shard),
  event as (select "events"."id" as id, "events"."organizer_id" as organizer_id, "events"."team_id" as team_id from "events" where "events"."id" = v_event),
  "webhook_outbox" as (insert into "webhook_messages" ("subscription_id", "event_id", "sequence", "type", "data", "status")
    select s.id, event.id, change.sequence, change.type, change.data,
      -- A disabled subscription keeps its messages for a replay, but nothing is sent.
      (case when "s"."enabled" then 'PENDING' else 'FAILED' end)::"webhook_message_status"
    from event cross join "decided" cross join lateral (select case when decided.status = 'CONFIRMED' then 'registration.confirmed' else 'registration.waitlisted' end as type, "decided".change_seq as sequence,
        jsonb_build_object('registration', "decided".public_body::jsonb || jsonb_build_object('name', "decided".name, 'email', "decided".email)) as data) as change join "webhook_subscriptions" as s on (
      ("s"."team_id" is null and "s"."owner_id" = event.organizer_id) or "s"."team_id" = event.team_id)
    and ("s"."event_types" is null or change.type = any("s"."event_types"))
    and ("s"."event_ids" is null or event.id = any("s"."event_ids"))
    returning 1),
  refused as (
    update "registration_intake" set "decided_at" = (select at from stamp),
      "refused_state" = case when k.email_taken then '23505' else k.refused_state end,
      "refused_constraint" = case when k.email_taken then 'registrations_one_active_per_email' else k.refused_constraint end
    from ranked k where "registration_intake"."id" = k.intake_id and not k.accepted
  )
  update "registration_intake" set "decided_at" = (select at from stamp), "status" = d.status, "public_body" = d.public_body,
    "messages" = (select count(*) from "webhook_outbox")::int
  from decided d where "registration_intake"."id" = d.intake_id;
              exit;
            exception
              -- Out of time or a lock: not the rows' doing. The batch stays pending for the next admitter.
              when lock_not_available or query_canceled then raise;
              when others then
              if v_limit = 1 then
                get stacked diagnostics v_state = returned_sqlstate, v_constraint = constraint_name;
                update "registration_intake" set "decided_at" = clock_timestamp(), "refused_state" = v_state,
      "refused_constraint" = nullif(v_constraint, '')
    where "registration_intake"."id" = (select "p"."id" from "registration_intake" as p where "p"."event_id" = v_event and "p"."decided_at" is null and "p"."arrival" < v_horizon
      order by "p"."arrival", "p"."id" limit 1);
                exit;
              end if;
              v_limit := 1;
            end;
          end loop;
          select "registration_intake"."decided_at" is not null, "registration_intake"."status", "registration_intake"."public_body", "registration_intake"."refused_state", "registration_intake"."refused_constraint",
      "registration_intake"."messages" into v_done, o_status, o_public_body, o_refused_state, o_refused_constraint, o_messages from "registration_intake" where "registration_intake"."id" = v_mine;
        end if;
      exception when others then
        -- The session's lock must not outlive the call: a pooler hands the connection to someone else.
        perform pg_advisory_unlock(2, v_key);
        raise;
      end;
      perform pg_advisory_unlock(2, v_key);
    end if;
    if v_done and o_status is null then delete from "registration_intake" where "registration_intake"."id" = v_mine; end if;
    commit;
    exit when v_done;
  end loop;
end $proc$;
