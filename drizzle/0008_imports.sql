CREATE TYPE "public"."import_run_status" AS ENUM('RUNNING', 'SUCCEEDED', 'FAILED');--> statement-breakpoint
CREATE TABLE "import_objects" (
	"source" text NOT NULL,
	"name" text NOT NULL,
	"fingerprint" text NOT NULL,
	"run_id" uuid NOT NULL,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "import_objects_pkey" PRIMARY KEY("source","name","fingerprint")
);
--> statement-breakpoint
CREATE TABLE "import_rejections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"run_id" uuid NOT NULL,
	"object" text NOT NULL,
	"line" integer NOT NULL,
	"external_id" text,
	"reason" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "import_rejections_line_positive" CHECK ("import_rejections"."line" >= 1)
);
--> statement-breakpoint
CREATE TABLE "import_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"source" text NOT NULL,
	"status" "import_run_status" DEFAULT 'RUNNING' NOT NULL,
	"objects_imported" integer DEFAULT 0 NOT NULL,
	"objects_skipped" integer DEFAULT 0 NOT NULL,
	"rows_read" integer DEFAULT 0 NOT NULL,
	"created" integer DEFAULT 0 NOT NULL,
	"unchanged" integer DEFAULT 0 NOT NULL,
	"waitlisted" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "import_source" text;--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "external_id" text;--> statement-breakpoint
ALTER TABLE "registrations" ADD COLUMN "import_source" text;--> statement-breakpoint
ALTER TABLE "registrations" ADD COLUMN "external_id" text;--> statement-breakpoint
ALTER TABLE "import_rejections" ADD CONSTRAINT "import_rejections_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "public"."import_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "import_rejections_run_idx" ON "import_rejections" USING btree ("run_id","object","line");--> statement-breakpoint
CREATE INDEX "import_runs_source_started_idx" ON "import_runs" USING btree ("source","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "events_external_key" ON "events" USING btree ("import_source","external_id");--> statement-breakpoint
CREATE UNIQUE INDEX "registrations_external_key" ON "registrations" USING btree ("import_source","external_id");--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_external_key_complete" CHECK (("events"."import_source" is null) = ("events"."external_id" is null));--> statement-breakpoint
ALTER TABLE "registrations" ADD CONSTRAINT "registrations_external_key_complete" CHECK (("registrations"."import_source" is null) = ("registrations"."external_id" is null));