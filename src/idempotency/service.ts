import { and, eq, lt, sql } from 'drizzle-orm';
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
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

/**
 * What makes two requests "the same": method, path, query parameters (sorted) and canonical JSON body. The query
 * matters: `?token=` decides which registration a DELETE may cancel.
 */
export function fingerprint(
  method: string,
  path: string,
  query: Record<string, string | undefined>,
  rawBody: string | undefined,
): string {
  let body = rawBody ?? '';
  try {
    if (rawBody) body = canonicalJson(JSON.parse(rawBody));
  } catch {
    // Not JSON: the raw text is its own canonical form.
  }
  return createHash('sha256').update(`${method} ${path}\n${canonicalJson(query)}\n${body}`).digest('hex');
}

/** The stored identity of a key, and the AES key for its response, both derived from the key itself. */
function keyMaterial(request: IdempotentRequest) {
  return {
    keyHash: createHash('sha256').update(request.key).digest('hex'),
    secret: Buffer.from(hkdfSync('sha256', request.key, request.scope, 'lockstep idempotent response', 32)),
  };
}

function seal(secret: Buffer, body: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  const sealed = Buffer.concat([cipher.update(body, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

function unseal(secret: Buffer, stored: string): string {
  const raw = Buffer.from(stored, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', secret, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
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
  const stored = { ...keyMaterial(request), scope: request.scope, fingerprint: request.fingerprint };
  let outcome: IdempotentOutcome | RolledBackOutcome;
  try {
    outcome = await transaction(db, async (tx) => {
      if (!(await claim(tx, stored))) return replay(tx, stored);
      const { response, commit } = await attempt(tx);
      if (!commit) throw new RolledBackOutcome(response);
      await tx
        .update(idempotencyKeys)
        .set({ status: response.statusCode, headers: response.headers, sealedBody: seal(stored.secret, response.body) })
        .where(keyIs(stored));
      return { ...response, replayed: false };
    });
  } catch (err) {
    if (!(err instanceof RolledBackOutcome)) throw err;
    outcome = err;
  }
  return outcome instanceof RolledBackOutcome ? storeRefusal(db, stored, outcome.response) : outcome;
}

type StoredKey = ReturnType<typeof keyMaterial> & { scope: string; fingerprint: string };

const keyIs = (key: StoredKey) => and(eq(idempotencyKeys.scope, key.scope), eq(idempotencyKeys.keyHash, key.keyHash));

/**
 * Insert the claim. On another request's uncommitted claim it waits, bounded by a lock_timeout set just for this
 * statement: set before the insert (the FROM clause runs first) and put back after it (the outer SELECT runs
 * last), so the effect's own lock waits are not cut short.
 */
async function claim(tx: Db, key: StoredKey): Promise<boolean> {
  try {
    const result = await tx.execute<{ claimed: number }>(sql`
      with claimed as (
        insert into ${idempotencyKeys} (scope, key_hash, fingerprint)
        select ${key.scope}, ${key.keyHash}, ${key.fingerprint}
        from (select set_config('lock_timeout', ${`${IN_FLIGHT_WAIT_MS}ms`}, true)) as bounded_wait
        on conflict (scope, key_hash) do nothing
        returning 1
      )
      select claimed.n as claimed,
        set_config('lock_timeout', (select reset_val from pg_settings where name = 'lock_timeout'), true)
      from (select count(*)::int as n from claimed) as claimed`);
    return result.rows[0]?.claimed === 1;
  } catch (err) {
    throw postgresError(err)?.code === SqlState.lockNotAvailable ? inFlight(err) : err;
  }
}

/** The committed response for this key, or 422 when the key was used for a different request. */
async function replay(db: Db, key: StoredKey): Promise<IdempotentOutcome> {
  const [stored] = await db.select().from(idempotencyKeys).where(keyIs(key));
  if (!stored || stored.status === null || stored.sealedBody === null) throw inFlight();
  if (stored.fingerprint !== key.fingerprint) {
    throw new LockstepError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request', {
      errors: [{ path: 'Idempotency-Key', message: 'Use a new key for a different method, path, query or body' }],
    });
  }
  return { statusCode: stored.status, headers: stored.headers ?? {}, body: unseal(key.secret, stored.sealedBody), replayed: true };
}

/**
 * A refusal (4xx) is stored too, so a retry gets the same answer. Its effect was rolled back with the claim, so
 * the key is stored afresh; if another request with the key committed in between, its response wins.
 */
async function storeRefusal(db: Db, key: StoredKey, response: HttpResponse): Promise<IdempotentOutcome> {
  const [stored] = await db
    .insert(idempotencyKeys)
    .values({
      scope: key.scope,
      keyHash: key.keyHash,
      fingerprint: key.fingerprint,
      status: response.statusCode,
      headers: response.headers,
      sealedBody: seal(key.secret, response.body),
    })
    .onConflictDoNothing()
    .returning({ scope: idempotencyKeys.scope });
  return stored ? { ...response, replayed: false } : replay(db, key);
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
