import { and, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/handle';
import { columnNames } from '../db/columns';
import { lockWaitDefault, lockWaitLimit } from '../db/deadline';
import { isConstraintViolation, postgresError, SqlState } from '../db/errors';
import { insertOrReread } from '../db/get-or-create';
import { EACH_ROW } from '../db/plans';
import { deleteInBatches } from '../db/purge';
import { resendAfterLostConnection } from '../db/retry';
import { transaction } from '../db/transaction';
import { LockstepError } from '../errors';
import { idempotencyKeys, KEY_CONSTRAINT, PENDING_KEY_COLUMNS } from './schema';
import { keyMaterial, seal, unseal } from './seal';

/** A response as stored under a key and replayed: status, headers and the body's exact text. */
export interface StoredResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A key as the store sees it: whose it is, the key itself (never stored), and what request it was sent with. */
export interface IdempotentRequest {
  scope: string;
  key: string;
  fingerprint: string;
}

export type IdempotentOutcome = StoredResponse & { replayed: boolean };

/** How long a request waits for an in-flight request with the same key before answering 409. */
const IN_FLIGHT_WAIT_MS = 2_000;
export const KEY_RETENTION_HOURS = 24;

/** The effect answered below 500 without committing (a refusal): roll it back, keep the answer. */
class RolledBackOutcome {
  constructor(readonly response: StoredResponse) {}
}

/** What an effect hands back: its response, and whether its writes stand (false: a refusal, rolled back). */
export type AttemptResult = { response: StoredResponse; commit: boolean };

/**
 * Exactly-once effects, transactional form: the key is claimed inside the transaction that performs the effect and
 * completed with the response before commit. A concurrent request with the same key blocks on the uncommitted claim
 * for at most IN_FLIGHT_WAIT_MS, then replays the committed response, or runs itself if the first rolled back. A
 * crash before commit leaves no trace. `attempt` returns the HTTP response; an outcome of 500 or more must be thrown.
 */
export async function runIdempotently(
  db: Db,
  request: IdempotentRequest,
  attempt: (tx: Db) => Promise<AttemptResult>,
): Promise<IdempotentOutcome> {
  const stored = storedKey(request);
  let outcome: IdempotentOutcome | RolledBackOutcome;
  try {
    outcome = await transaction(db, async (tx) => {
      if (!(await claim(tx, stored))) return replay(tx, stored);
      const { response, commit } = await attempt(tx);
      if (!commit) throw new RolledBackOutcome(response);
      await tx.update(idempotencyKeys).set(responseColumns(stored, response)).where(keyIs(stored));
      return { ...response, replayed: false };
    });
  } catch (err) {
    if (!(err instanceof RolledBackOutcome)) throw err;
    outcome = err;
  }
  return outcome instanceof RolledBackOutcome ? storeRefusal(db, stored, outcome.response) : outcome;
}

/**
 * The key's part in an effect decided by ONE SQL statement for a batch of requests (a registration, through its
 * event's intake: src/registrations/intake.ts). The request hands `pending(...)` to the row it waits on; the
 * deciding statement refuses a row whose key is recorded already (`keyRecorded`) and writes the record of each row
 * it decides (`recordKeys`), with the response, or nothing at all.
 */
export interface StatementKey {
  /** The key's record, for the pending row: the response's status and headers, and `secrets` sealed under the key. */
  pending(secrets: Record<string, string>): PendingKey;
}

/** A key's record on a pending row, as `pendingKeyColumns` (./schema.ts) stores it. */
export interface PendingKey {
  scope: string;
  keyHash: string;
  fingerprint: string;
  status: number;
  headers: Record<string, string>;
  sealedBody: string;
}

const pendingColumn = (key: keyof typeof PENDING_KEY_COLUMNS) => sql.identifier(PENDING_KEY_COLUMNS[key]);

/** The pending key's columns (of relation `row`, when given), in the order `recordKeys` inserts them. */
export const pendingKeyColumnList = (row?: string): SQL =>
  sql.join(
    Object.values(PENDING_KEY_COLUMNS).map((name) => (row ? sql`${sql.identifier(row)}.${sql.identifier(name)}` : sql.identifier(name))),
    sql`, `,
  );

/** True when `row` (a relation with `pendingKeyColumns`) carries a key that already has a record. */
export const keyRecorded = (row: SQL): SQL =>
  sql`exists (select 1 from ${idempotencyKeys} where ${idempotencyKeys.scope} = ${row}.${pendingColumn('keyScope')}
    and ${idempotencyKeys.keyHash} = ${row}.${pendingColumn('keyHash')} ${EACH_ROW})`;

/** The INSERT of the record of each row of `source` that carries a key, its response body the text column `public_body`. */
export const recordKeys = (source: SQL): SQL => sql`insert into ${idempotencyKeys} (${columnNames(
    idempotencyKeys.scope, idempotencyKeys.keyHash, idempotencyKeys.fingerprint, idempotencyKeys.status,
    idempotencyKeys.headers, idempotencyKeys.sealedBody, idempotencyKeys.publicBody,
  )})
  select ${pendingKeyColumnList()}, public_body
  from ${source} where ${pendingColumn('keyHash')} is not null`;

/**
 * Exactly-once effects, one-statement form (see StatementKey). `attempt` runs without a transaction; a refusal
 * (commit: false) is stored like in the transactional form, so one that came from the effect's own unique index
 * because a request with the same key committed first (a retry that queued behind the original) replays that
 * request instead. A statement failed on the key's primary key replays too.
 */
export async function runIdempotentStatement(
  db: Db,
  request: IdempotentRequest,
  response: { statusCode: number; headers: Record<string, string> },
  attempt: (key: StatementKey) => Promise<AttemptResult>,
): Promise<IdempotentOutcome> {
  const stored = storedKey(request);
  const key: StatementKey = {
    pending: (secrets) => ({
      scope: stored.scope,
      keyHash: stored.keyHash,
      fingerprint: stored.fingerprint,
      status: response.statusCode,
      headers: response.headers,
      sealedBody: seal(stored.secret, JSON.stringify(secrets)),
    }),
  };
  let result: AttemptResult;
  try {
    // Unlike a keyless statement, a keyed one is safe to resend after a lost connection: if the first committed,
    // its record makes the second a replay.
    result = await resendAfterLostConnection(() => attempt(key));
  } catch (err) {
    if (isConstraintViolation(err, KEY_CONSTRAINT)) return replay(db, stored);
    throw err;
  }
  return result.commit ? { ...result.response, replayed: false } : storeRefusal(db, stored, result.response);
}

type StoredKey = ReturnType<typeof keyMaterial> & { scope: string; fingerprint: string };

const storedKey = (request: IdempotentRequest): StoredKey => ({
  ...keyMaterial(request),
  scope: request.scope,
  fingerprint: request.fingerprint,
});

const keyIs = (key: StoredKey) => and(eq(idempotencyKeys.scope, key.scope), eq(idempotencyKeys.keyHash, key.keyHash));

const responseColumns = (key: StoredKey, response: StoredResponse) => ({
  status: response.statusCode,
  headers: response.headers,
  sealedBody: seal(key.secret, response.body),
});

/**
 * Insert the claim. On another request's uncommitted claim it waits, bounded by a lock_timeout set just for this
 * statement: set before the insert (the FROM clause runs first) and put back after it (the outer SELECT runs
 * last) to the time the request's deadline leaves, or the session's default without one, so the effect's own lock
 * waits keep their limit.
 */
async function claim(tx: Db, key: StoredKey): Promise<boolean> {
  const restored = lockWaitDefault();
  try {
    const result = await tx.execute<{ claimed: number }>(sql`
      with claimed as (
        insert into ${idempotencyKeys} (scope, key_hash, fingerprint)
        select ${key.scope}, ${key.keyHash}, ${key.fingerprint}
        from ${lockWaitLimit(IN_FLIGHT_WAIT_MS)}
        on conflict (scope, key_hash) do nothing
        returning 1
      )
      select claimed.n as claimed, set_config('lock_timeout', ${restored}, true)
      from (select count(*)::int as n from claimed) as claimed`);
    return result.rows[0]?.claimed === 1;
  } catch (err) {
    throw postgresError(err)?.code === SqlState.lockNotAvailable ? inFlight(err) : err;
  }
}

/** The committed response for this key, or 422 when the key was used for a different request. */
async function replay(db: Db, key: StoredKey): Promise<IdempotentOutcome> {
  const [stored] = await readRecord(db, key);
  return replayRecord(key, stored);
}

const readRecord = (db: Db, key: StoredKey) => db.select().from(idempotencyKeys).where(keyIs(key));

function replayRecord(key: StoredKey, stored: typeof idempotencyKeys.$inferSelect | undefined): IdempotentOutcome {
  if (!stored || stored.status === null || stored.sealedBody === null) throw inFlight();
  if (stored.fingerprint !== key.fingerprint) {
    throw new LockstepError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request', {
      errors: [{ path: 'Idempotency-Key', message: 'Use a new key for a different method, path, query or body' }],
    });
  }
  const sealed = unseal(key.secret, stored.sealedBody);
  const body = stored.publicBody === null ? sealed : JSON.stringify({ ...JSON.parse(stored.publicBody), ...JSON.parse(sealed) });
  return { statusCode: stored.status, headers: stored.headers ?? {}, body, replayed: true };
}

/**
 * A refusal (4xx) is stored too, so a retry gets the same answer. Its effect was rolled back with the claim, so
 * the key is stored afresh; if another request with the key committed in between, its response wins.
 */
async function storeRefusal(db: Db, key: StoredKey, response: StoredResponse): Promise<IdempotentOutcome> {
  const got = await insertOrReread(
    () =>
      db
        .insert(idempotencyKeys)
        .values({ scope: key.scope, keyHash: key.keyHash, fingerprint: key.fingerprint, ...responseColumns(key, response) })
        .onConflictDoNothing()
        .returning({ scope: idempotencyKeys.scope }),
    () => readRecord(db, key),
  );
  return got?.from === 'insert' ? { ...response, replayed: false } : replayRecord(key, got?.row);
}

const inFlight = (cause?: unknown) =>
  new LockstepError('idempotency_key_in_flight', 'A request with this Idempotency-Key is still in progress', {
    cause,
    retryAfter: 1,
  });

/** Delete keys older than the retention period. */
export function purgeExpiredIdempotencyKeys(db: Db, batchSize?: number): Promise<number> {
  return deleteInBatches(db, idempotencyKeys, lt(idempotencyKeys.createdAt, sql`now() - make_interval(hours => ${KEY_RETENTION_HOURS})`), batchSize);
}
