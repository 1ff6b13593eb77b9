ALTER TYPE "public"."import_run_status" ADD VALUE 'SKIPPED';--> statement-breakpoint
CREATE TABLE "import_sources" (
	"source" text PRIMARY KEY NOT NULL,
	"lease_run_id" uuid,
	"lease_expires_at" timestamp with time zone,
	"watermark" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
