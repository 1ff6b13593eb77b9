-- UNLISTED and PRIVATE cards no longer keep title-derived slugs (an UNLISTED "Secret Review Card" was at
-- /c/secret-review-card, found by guessing): each gets 32 hex characters of a random UUID (122 random bits), the
-- format of the slugs the app now gives them (src/slug/slug.ts secretSlug, 128 bits). Their old links stop working.
UPDATE "cards" SET "slug" = replace(gen_random_uuid()::text, '-', '') WHERE "visibility" <> 'PUBLIC';
