import { and, eq, lt, sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import type { Db } from '../db/client';
import { postgresError, SqlState } from '../db/errors';
import { transaction } from '../db/transaction';
import { LockstepError } from '../errors';
import { idempotencyKeys } from './schema';

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface IdempotentRequest {
  scope: string;
  key: string;
  fingerprint: string;
}

export type IdempotentOutcome = HttpResponse & { replayed: boolean };

/** How long a request waits for an in-flight request with the same key before answering 409. */
export const IN_FLIGHT_WAIT_MS = 2_000;
export const KEY_RETENTION_HOURS = 24;

const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

export function parseIdempotencyKey(header: string): string {
  if (!KEY_PATTERN.test(header)) {
    throw new LockstepError('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters', {
      errors: [{ path: 'Idempotency-Key', message: 'Use 1 to 255 printable ASCII characters, e.g. a UUID' }],
    });
  }
  return header;
}

/** JSON with object keys sorted at every depth, so `{"a":1,"b":2}` and `{"b":2,"a":1}` fingerprint alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function fingerprint(method: string, path: string, rawBody: string | undefined): string {
  let body = rawBody ?? '';
  try {
    if (rawBody) body = canonicalJson(JSON.parse(rawBody));
  } catch {
    // Not JSON: the raw text is its own canonical form.
  }
  return createHash('sha256').update(`${method} ${path}\n${body}`).digest('hex');
}

/** The effect answered below 500 without committing (a refusal): roll it back, keep the answer. */
class RolledBackOutcome {
  constructor(readonly response: HttpResponse) {}
}

/**
 * Exactly-once effects: the key is claimed inside the transaction that performs the effect and completed with the
 * response before commit. A concurrent request with the same key blocks on the uncommitted claim for at most
 * IN_FLIGHT_WAIT_MS, then replays the committed response, or runs itself if the first rolled back. A crash before
 * commit leaves no trace. `attempt` returns the HTTP response; an outcome of 500 or more must be thrown.
 */
export async function runIdempotently(
  db: Db,
  request: IdempotentRequest,
  attempt: (tx: Db) => Promise<{ response: HttpResponse; commit: boolean }>,
): Promise<IdempotentOutcome> {
  let outcome: IdempotentOutcome | RolledBackOutcome;
  try {
    outcome = await transaction(db, async (tx) => {
      if (!(await claim(tx, request))) return replay(tx, request);
      const { response, commit } = await attempt(tx);
      if (!commit) throw new RolledBackOutcome(response);
      await tx
        .update(idempotencyKeys)
        .set({ status: response.statusCode, headers: response.headers, body: response.body })
        .where(keyIs(request));
      return { ...response, replayed: false };
    });
  } catch (err) {
    if (!(err instanceof RolledBackOutcome)) throw err;
    outcome = err;
  }
  return outcome instanceof RolledBackOutcome ? storeRefusal(db, request, outcome.response) : outcome;
}

const keyIs = (request: IdempotentRequest) =>
  and(eq(idempotencyKeys.scope, request.scope), eq(idempotencyKeys.key, request.key));

/**
 * Insert the claim. On another request's uncommitted claim it waits, bounded by a lock_timeout set in the same
 * statement; the setting stays for the rest of this transaction, so the effect's lock waits are bounded too.
 */
async function claim(tx: Db, request: IdempotentRequest): Promise<boolean> {
  try {
    const claimed = await tx.execute(sql`
      insert into ${idempotencyKeys} (scope, key, fingerprint)
      select ${request.scope}, ${request.key}, ${request.fingerprint}
      from (select set_config('lock_timeout', ${`${IN_FLIGHT_WAIT_MS}ms`}, true)) as bounded_wait
      on conflict (scope, key) do nothing
      returning 1`);
    return claimed.rows.length === 1;
  } catch (err) {
    throw postgresError(err)?.code === SqlState.lockNotAvailable ? inFlight(err) : err;
  }
}

/** The committed response for this key, or 422 when the key was used for a different request. */
async function replay(db: Db, request: IdempotentRequest): Promise<IdempotentOutcome> {
  const [stored] = await db.select().from(idempotencyKeys).where(keyIs(request));
  if (!stored || stored.status === null || stored.body === null) throw inFlight();
  if (stored.fingerprint !== request.fingerprint) {
    throw new LockstepError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request', {
      errors: [{ path: 'Idempotency-Key', message: 'Use a new key for a different method, path or body' }],
    });
  }
  return { statusCode: stored.status, headers: stored.headers ?? {}, body: stored.body, replayed: true };
}

/**
 * A refusal (4xx) is stored too, so a retry gets the same answer. Its effect was rolled back with the claim, so
 * the key is stored afresh; if another request with the key committed in between, its response wins.
 */
async function storeRefusal(db: Db, request: IdempotentRequest, response: HttpResponse): Promise<IdempotentOutcome> {
  const [stored] = await db
    .insert(idempotencyKeys)
    .values({ ...request, status: response.statusCode, headers: response.headers, body: response.body })
    .onConflictDoNothing()
    .returning({ scope: idempotencyKeys.scope });
  return stored ? { ...response, replayed: false } : replay(db, request);
}

const inFlight = (cause?: unknown) =>
  new LockstepError('idempotency_key_in_flight', 'A request with this Idempotency-Key is still in progress', {
    cause,
    retryAfter: 1,
  });

/** Delete keys older than the retention period, in batches so one run never holds long locks. */
export async function purgeExpiredIdempotencyKeys(db: Db, batchSize = 5_000): Promise<number> {
  let purged = 0;
  for (;;) {
    const deleted = await db.execute(sql`
      delete from ${idempotencyKeys} where ctid in (
        select ctid from ${idempotencyKeys}
        where ${lt(idempotencyKeys.createdAt, sql`now() - make_interval(hours => ${KEY_RETENTION_HOURS})`)}
        limit ${batchSize})`);
    purged += deleted.rowCount ?? 0;
    if ((deleted.rowCount ?? 0) < batchSize) return purged;
  }
}
