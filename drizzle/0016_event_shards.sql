CREATE SEQUENCE "public"."event_change_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1;--> statement-breakpoint
CREATE TABLE "event_shards" (
	"event_id" uuid NOT NULL,
	"shard" smallint NOT NULL,
	"open" boolean NOT NULL,
	"max_spots" integer NOT NULL,
	"quota" integer,
	"reserved" integer DEFAULT 0 NOT NULL,
	"waitlist" integer DEFAULT 0 NOT NULL,
	"waiting" boolean DEFAULT false NOT NULL,
	CONSTRAINT "event_shards_pkey" PRIMARY KEY("event_id","shard"),
	CONSTRAINT "event_shards_shard_range" CHECK ("event_shards"."shard" between 0 and 7),
	CONSTRAINT "event_shards_reserved_within_quota" CHECK ("event_shards"."reserved" >= 0 and ("event_shards"."quota" is null or "event_shards"."reserved" <= "event_shards"."quota")),
	CONSTRAINT "event_shards_waitlist_on_queue_shard" CHECK ("event_shards"."waitlist" >= 0 and ("event_shards"."shard" = 0 or "event_shards"."waitlist" = 0))
);
--> statement-breakpoint
ALTER TABLE "events" DROP CONSTRAINT "events_spots_reserved_within_capacity";--> statement-breakpoint
ALTER TABLE "events" DROP CONSTRAINT "events_waitlist_count_not_negative";--> statement-breakpoint
ALTER TABLE "registrations" DROP CONSTRAINT "registrations_event_id_events_id_fk";
--> statement-breakpoint
DROP INDEX "registrations_event_status_queue_idx";--> statement-breakpoint
DROP INDEX "registrations_event_queue_idx";--> statement-breakpoint
ALTER TABLE "registrations" ADD COLUMN "shard" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "event_shards" ADD CONSTRAINT "event_shards_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Every registration updates a shard row: with room left on its page, each update is HOT (no index entry) and the
-- page's dead versions are pruned in place.
ALTER TABLE "event_shards" SET (fillfactor = 20);--> statement-breakpoint
-- Each event's counters move to its shards (src/capacity/schema.ts). The queue's shard takes them all at first, and
-- the other shards a quota of 0: the first registration that finds no shard with room spreads the free spots.
INSERT INTO "event_shards" ("event_id", "shard", "open", "max_spots", "quota", "reserved", "waitlist", "waiting")
SELECT e."id", g, e."status" = 'OPEN',
  least(e."max_spots_per_registration", coalesce(e."capacity", e."max_spots_per_registration")),
  CASE WHEN e."capacity" IS NULL THEN NULL WHEN g = 0 THEN e."capacity" ELSE 0 END,
  CASE WHEN g = 0 THEN e."spots_reserved" ELSE 0 END,
  CASE WHEN g = 0 THEN e."waitlist_count" ELSE 0 END,
  e."waitlist_count" > 0
FROM "events" e CROSS JOIN generate_series(0, 7) AS g;--> statement-breakpoint
-- Webhook sequence numbers continue above every number already sent.
SELECT setval('event_change_seq', greatest(1, (SELECT max("change_seq") FROM "events"), (SELECT max("sequence") FROM "webhook_messages")));--> statement-breakpoint
-- A shard's share of `free` spots spread over `shards` shards in chunks of at least `chunk` (the largest
-- registration), so a registration finds a shard with room for it: the first least(shards, free / chunk) shards
-- get equal shares, the remainder from shard 0 up, the others none. The one spreading rule: the trigger below and
-- settleShards (src/capacity/service.ts) both use it. NULL (unlimited) in, NULL out.
CREATE FUNCTION lockstep_quota_share(free bigint, shard integer, shards bigint, chunk integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN shard < spread THEN free / spread + CASE WHEN shard < free % spread THEN 1 ELSE 0 END ELSE 0 END
  FROM (SELECT least(shards, greatest(1, free / greatest(chunk, 1))) AS spread) AS s
$$;--> statement-breakpoint
-- Every event gets its 8 shards (event_shards_shard_range) as it is created, its capacity spread over their quotas.
CREATE FUNCTION lockstep_create_event_shards() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  max_spots integer := least(NEW.max_spots_per_registration, coalesce(NEW.capacity, NEW.max_spots_per_registration));
BEGIN
  INSERT INTO event_shards (event_id, shard, open, max_spots, quota)
  SELECT NEW.id, g, NEW.status = 'OPEN', max_spots, lockstep_quota_share(NEW.capacity, g, 8, max_spots)
  FROM generate_series(0, 7) AS g;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_create_shards" AFTER INSERT ON "events" FOR EACH ROW EXECUTE FUNCTION lockstep_create_event_shards();--> statement-breakpoint
ALTER TABLE "registrations" ADD CONSTRAINT "registrations_event_shard_fkey" FOREIGN KEY ("event_id","shard") REFERENCES "public"."event_shards"("event_id","shard") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "registrations_event_status_arrival_idx" ON "registrations" USING btree ("event_id","status","created_at","id");--> statement-breakpoint
CREATE INDEX "registrations_event_arrival_idx" ON "registrations" USING btree ("event_id","created_at","id");--> statement-breakpoint
ALTER TABLE "events" DROP COLUMN "spots_reserved";--> statement-breakpoint
ALTER TABLE "events" DROP COLUMN "waitlist_count";--> statement-breakpoint
ALTER TABLE "events" DROP COLUMN "change_seq";--> statement-breakpoint
ALTER TABLE "registrations" DROP COLUMN "queue_seq";--> statement-breakpoint
DROP SEQUENCE "public"."registration_queue_seq";