-- A subscription that becomes disabled (by its organizer, or by a delivery that found it failing for too long or
-- answered 410) sends nothing: its pending messages become FAILED, waiting for a replay. One rule, at the end of
-- the statement that disabled it, so the message whose own failure disabled it is included.
CREATE FUNCTION lockstep_fail_pending_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE webhook_messages SET status = 'FAILED' WHERE subscription_id = NEW.id AND status = 'PENDING';
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "webhook_subscriptions_fail_pending" AFTER UPDATE OF "enabled" ON "webhook_subscriptions"
FOR EACH ROW WHEN (OLD."enabled" AND NOT NEW."enabled") EXECUTE FUNCTION lockstep_fail_pending_messages();
