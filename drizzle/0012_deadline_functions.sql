-- Deadlines measured by the server's clock (src/db/deadline.ts). A request's deadline travels with its statements
-- as a timestamp, and every limit is derived from it when the server starts the work: time spent queued in a
-- pooler (PgBouncer, Neon's -pooler) counts, so work that starts after its request has answered never runs.

-- Milliseconds left before `deadline` on the server's clock; query_canceled (57014) once none are left, which the
-- app answers as 503 database_unavailable.
CREATE OR REPLACE FUNCTION lockstep_time_left_ms(deadline timestamptz) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL RESTRICTED AS $$
DECLARE
  left_ms bigint := floor(extract(epoch FROM (deadline - clock_timestamp())) * 1000);
BEGIN
  IF left_ms < 1 THEN
    RAISE EXCEPTION USING ERRCODE = 'query_canceled', MESSAGE = 'lockstep: the request''s deadline passed before this work could finish';
  END IF;
  RETURN left_ms;
END
$$;
--> statement-breakpoint
-- Bound the current transaction by `deadline`: lock waits and each statement end by it, and a session left idle in
-- the transaction (a client that froze or vanished) ends `grace_ms` after it. PostgreSQL 17 and later also bound
-- the whole transaction (transaction_timeout); before 17 the client sends no COMMIT past the deadline and checks
-- the deadline again in COMMIT's own round trip.
CREATE OR REPLACE FUNCTION lockstep_begin_within(deadline timestamptz, grace_ms integer) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  left_ms bigint := lockstep_time_left_ms(deadline);
BEGIN
  PERFORM set_config('lock_timeout', left_ms || 'ms', true);
  PERFORM set_config('statement_timeout', left_ms || 'ms', true);
  PERFORM set_config('idle_in_transaction_session_timeout', (left_ms + grace_ms) || 'ms', true);
  IF current_setting('server_version_num')::integer >= 170000 THEN
    PERFORM set_config('transaction_timeout', (left_ms + grace_ms) || 'ms', true);
  END IF;
END
$$;
