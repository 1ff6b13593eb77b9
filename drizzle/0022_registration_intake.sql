CREATE TABLE "registration_intake" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "registration_intake_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"event_id" uuid NOT NULL,
	"arrival" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	"deadline" timestamp with time zone,
	"owner_pid" integer NOT NULL,
	"owner_start" timestamp with time zone NOT NULL,
	"name" text NOT NULL,
	"email" text NOT NULL,
	"spots" integer NOT NULL,
	"cancel_token_hash" text NOT NULL,
	"import_source" text,
	"external_id" text,
	"key_scope" text,
	"key_hash" text,
	"key_fingerprint" text,
	"key_status" integer,
	"key_headers" jsonb,
	"key_sealed_body" text,
	"decided_at" timestamp with time zone,
	"status" "registration_status",
	"public_body" text,
	"refused_state" text,
	"refused_constraint" text,
	"messages" integer
);
--> statement-breakpoint
CREATE INDEX "registration_intake_pending_idx" ON "registration_intake" USING btree ("event_id","arrival","id") WHERE "registration_intake"."decided_at" is null;--> statement-breakpoint
CREATE INDEX "registration_intake_decided_idx" ON "registration_intake" USING btree ("decided_at");