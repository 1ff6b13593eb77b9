-- Idempotency keys were stored in plain text with plain response bodies (a registration's cancelToken among them).
-- They live for 24 hours and nothing was deployed yet: the table is recreated with hashed keys and sealed bodies.
DROP TABLE "idempotency_keys" CASCADE;