ALTER TABLE "webhook_messages" DROP CONSTRAINT "webhook_messages_subscription_id_fkey";
--> statement-breakpoint
-- A subscription's messages (and their attempts, by cascade) go with it, as the foreign key's cascade did.
CREATE FUNCTION lockstep_delete_subscription_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM webhook_messages WHERE subscription_id = OLD.id;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "webhook_subscriptions_delete_messages" AFTER DELETE ON "webhook_subscriptions" FOR EACH ROW EXECUTE FUNCTION lockstep_delete_subscription_messages();
