-- The registration list pages an event's rows in queue order (queue_seq), no longer by created_at.
DROP INDEX "registrations_event_created_idx";--> statement-breakpoint
CREATE INDEX "registrations_event_queue_idx" ON "registrations" USING btree ("event_id","queue_seq");