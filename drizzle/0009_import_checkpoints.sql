ALTER TYPE "public"."import_run_status" ADD VALUE 'STOPPED';--> statement-breakpoint
CREATE TABLE "import_checkpoints" (
	"source" text NOT NULL,
	"name" text NOT NULL,
	"fingerprint" text NOT NULL,
	"line" integer NOT NULL,
	"run_id" uuid NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "import_checkpoints_pkey" PRIMARY KEY("source","name","fingerprint")
);
