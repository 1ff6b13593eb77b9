CREATE TYPE "public"."theme" AS ENUM('system', 'light', 'dark');--> statement-breakpoint
CREATE TYPE "public"."event_status" AS ENUM('OPEN', 'CLOSED');--> statement-breakpoint
CREATE TABLE "user_settings" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"theme" "theme" DEFAULT 'system' NOT NULL,
	"reduced_motion" boolean DEFAULT false NOT NULL,
	"font_scale" real DEFAULT 1 NOT NULL,
	"locale" text DEFAULT 'en' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_settings_font_scale_range" CHECK ("user_settings"."font_scale" between 0.5 and 3)
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sub" text NOT NULL,
	"email" text,
	"display_name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_sub_key" UNIQUE("sub")
);
--> statement-breakpoint
CREATE TABLE "slug_counters" (
	"namespace" text NOT NULL,
	"base" text NOT NULL,
	"last_number" bigint NOT NULL,
	CONSTRAINT "slug_counters_pkey" PRIMARY KEY("namespace","base")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"location" text,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone,
	"capacity" integer,
	"spots_reserved" integer DEFAULT 0 NOT NULL,
	"max_spots_per_registration" integer DEFAULT 10 NOT NULL,
	"status" "event_status" DEFAULT 'OPEN' NOT NULL,
	"organizer_id" uuid NOT NULL,
	"team_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "events_slug_key" UNIQUE("slug"),
	CONSTRAINT "events_spots_reserved_within_capacity" CHECK ("events"."spots_reserved" >= 0 and ("events"."capacity" is null or "events"."spots_reserved" <= "events"."capacity")),
	CONSTRAINT "events_capacity_range" CHECK ("events"."capacity" is null or "events"."capacity" between 0 and 1000000),
	CONSTRAINT "events_max_spots_range" CHECK ("events"."max_spots_per_registration" between 1 and 100),
	CONSTRAINT "events_ends_after_start" CHECK ("events"."ends_at" is null or "events"."ends_at" >= "events"."starts_at")
);
--> statement-breakpoint
ALTER TABLE "user_settings" ADD CONSTRAINT "user_settings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_organizer_id_users_id_fk" FOREIGN KEY ("organizer_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_slug_pattern_idx" ON "events" USING btree ("slug" text_pattern_ops);--> statement-breakpoint
CREATE INDEX "events_open_by_start_idx" ON "events" USING btree ("starts_at","id") WHERE "events"."status" = 'OPEN';--> statement-breakpoint
CREATE INDEX "events_organizer_idx" ON "events" USING btree ("organizer_id");--> statement-breakpoint
CREATE INDEX "events_team_idx" ON "events" USING btree ("team_id");