CREATE TYPE "public"."registration_status" AS ENUM('CONFIRMED', 'WAITLIST', 'CANCELLED');--> statement-breakpoint
CREATE SEQUENCE "public"."registration_queue_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "registrations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"event_id" uuid NOT NULL,
	"name" text NOT NULL,
	"email" text NOT NULL,
	"spots" integer NOT NULL,
	"status" "registration_status" NOT NULL,
	"queue_seq" bigint DEFAULT nextval('registration_queue_seq') NOT NULL,
	"cancel_token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "registrations_spots_range" CHECK ("registrations"."spots" between 1 and 100)
);
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "waitlist_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "registrations" ADD CONSTRAINT "registrations_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "registrations_one_active_per_email" ON "registrations" USING btree ("event_id",lower("email")) WHERE "registrations"."status" in ('CONFIRMED', 'WAITLIST');--> statement-breakpoint
CREATE INDEX "registrations_event_status_queue_idx" ON "registrations" USING btree ("event_id","status","queue_seq");--> statement-breakpoint
CREATE INDEX "registrations_event_created_idx" ON "registrations" USING btree ("event_id","created_at","id");--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_waitlist_count_not_negative" CHECK ("events"."waitlist_count" >= 0);