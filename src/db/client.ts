import { drivers } from '#db-drivers';
import type pg from 'pg';
import { databaseConfig, type DatabaseConfig } from '../config';
import { LockstepError } from '../errors';
import { logger } from '../logger';
import { abandonedSignal, deadlineExceeded, remainingMs, within } from './deadline';
import type { DriverName } from './drivers/types';
import { ConnectionLostError, isConnectionLost, isStatementError, postgresError } from './errors';
import type { Db } from './handle';
import { checkServerVersion, SERVER_VERSION_QUERY, UnsupportedPostgresError } from './version';

interface Connection {
  db: Db;
  /** A Drizzle instance bound to one checked-out client, for transactions. */
  onClient: (client: pg.PoolClient) => Db;
  driver: DriverName;
  pool: pg.Pool;
  lastReleasedAt: number;
  /** The server's version, checked on the pool's first connection (see checkServer). */
  serverChecked?: Promise<void>;
}

/**
 * TCP keep-alive probes start after this much silence: a connection whose peer vanished (a NAT dropped it, the
 * server's host died) is then found dead within seconds (Node probes every second, ten times) instead of never,
 * so a pool never keeps a slot for a dead socket.
 */
const KEEP_ALIVE_DELAY_MS = 10_000;

let current: Connection | undefined;

function driverFor(cfg: Pick<DatabaseConfig, 'DATABASE_DRIVER' | 'DATABASE_URL'>): DriverName {
  if (cfg.DATABASE_DRIVER !== 'auto') return cfg.DATABASE_DRIVER;
  return new URL(cfg.DATABASE_URL).hostname.endsWith('.neon.tech') ? 'neon' : 'pg';
}

function connect(cfg: DatabaseConfig): Connection {
  const driver = driverFor(cfg);
  const open = drivers[driver];
  if (open === undefined) {
    // A bundle carries only the driver it was packaged for (serverless.yml passes the same DATABASE_DRIVER to both).
    throw new Error(`DATABASE_DRIVER ${driver} is not in this bundle (${Object.keys(drivers).join(', ')}): package it with DATABASE_DRIVER=${driver}`);
  }
  const { pool, db, onClient } = open(
    {
      connectionString: cfg.DATABASE_URL,
      max: cfg.DATABASE_POOL_MAX,
      // Waiting for a client is bounded by `checkout` (the request's deadline), not by a fixed pool-wide limit.
      connectionTimeoutMillis: 0,
      // A connection idle this long closes on the pool's timer while the process runs (0: never).
      idleTimeoutMillis: maxIdleMs(cfg) ?? 0,
      application_name: 'lockstep',
      options: serverSessionOptions(cfg),
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEP_ALIVE_DELAY_MS,
    },
    cfg,
  );
  const connection: Connection = { db, onClient, driver, pool, lastReleasedAt: Date.now() };
  keepConnectionsOnServerErrors(connection);
  // An idle client whose server went away (restart, pg_terminate_backend, idle timeout) emits here; pg then
  // discards it. Without a listener the process would crash.
  pool.on('error', (err: Error & { code?: string }) =>
    logger.warn('idle database connection lost', { driver, code: err.code }),
  );
  // A checked-out client whose connection dies between queries emits 'error' too; pg-pool only listens while it
  // is idle, so without this listener a backend killed mid-transaction would crash the process.
  pool.on('connect', (client: { on: (event: 'error', listener: (err: Error & { code?: string }) => void) => void }) =>
    client.on('error', (err) => logger.warn('database connection lost', { driver, code: err.code })),
  );
  pool.on('release', () => {
    connection.lastReleasedAt = Date.now();
  });
  return connection;
}

/**
 * pg-pool's `query` (which Drizzle calls outside transactions, in both drivers) discards its connection on any
 * error, even a constraint violation the server answered normally: every refused write (409 already_registered, an
 * import's unchanged row) would pay a new connection (TCP, TLS, SCRAM; a WebSocket on Neon). Run it on a checked-out
 * client instead and keep the connection when Postgres refused only the statement (`isStatementError`); anything
 * else, a FATAL termination included, discards it as before.
 */
function keepConnectionsOnServerErrors(connection: Connection): void {
  const query = async (...args: unknown[]) => {
    const { client, release } = await checkout(connection);
    let failure: Error | undefined;
    try {
      return await (client.query as (...queryArgs: unknown[]) => Promise<unknown>)(...args);
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      release(failure && !isStatementError(failure) ? failure : undefined);
    }
  };
  connection.pool.query = query as typeof connection.pool.query;
}

/**
 * A Lambda frozen for good (its instance is reaped without a word) leaves its connections open on the server.
 * Direct connections are asked to end server-side after twice DATABASE_MAX_IDLE_SECONDS idle, so they cannot pile
 * up against max_connections, while this client replaces a pool idle for DATABASE_MAX_IDLE_SECONDS before that
 * happens. Neon's `-pooler` (PgBouncer, transaction mode) takes no startup options and holds a server connection
 * only during a transaction, so its idle clients cost no Postgres connection.
 */
function serverSessionOptions(cfg: DatabaseConfig): string | undefined {
  const idle = maxIdleMs(cfg);
  if (idle === undefined || new URL(cfg.DATABASE_URL).hostname.includes('-pooler.')) return undefined;
  return `-c idle_session_timeout=${Math.ceil((idle * 2) / 1000)}s`;
}

/** How long a pool or a connection may stay idle, in ms; undefined: for good (DATABASE_MAX_IDLE_SECONDS=0). */
function maxIdleMs(cfg: DatabaseConfig): number | undefined {
  return cfg.DATABASE_MAX_IDLE_SECONDS > 0 ? cfg.DATABASE_MAX_IDLE_SECONDS * 1000 : undefined;
}

/**
 * The shared database handle, reused across warm invocations. A Lambda frozen between invocations can come back
 * to sockets the server or a NAT dropped long ago, which would hang or fail the next query; a pool idle longer
 * than DATABASE_MAX_IDLE_SECONDS is therefore replaced before use.
 */
export function database(): Db {
  return connection().db;
}

export function connection(): Connection {
  const idle = maxIdleMs(databaseConfig());
  if (current && idle !== undefined && Date.now() - current.lastReleasedAt > idle) {
    const stale = current.pool;
    stale.end().catch(() => undefined);
    current = undefined;
  }
  current ??= connect(databaseConfig());
  return current;
}

/** Close the pool (CLI scripts, tests); the next `database()` call opens a new one. */
export async function closeDatabase(): Promise<void> {
  const closing = current;
  current = undefined;
  await closing?.pool.end();
}

/**
 * Run `work` on one client checked out from the pool, always given back: discarded when its connection broke,
 * kept otherwise. Transactions use this instead of Drizzle's pool path, which never releases a client whose BEGIN
 * failed (drizzle-orm 0.45: BEGIN runs outside its try/finally), leaking a pool slot per dead connection.
 */
export async function withClient<T>(work: (db: Db, client: pg.PoolClient) => Promise<T>): Promise<T> {
  const current = connection();
  const { client, release } = await checkout(current);
  let broken: Error | undefined;
  try {
    return await work(current.onClient(client), client);
  } catch (err) {
    if (isConnectionLost(err)) broken = err as Error;
    throw err;
  } finally {
    release(broken);
  }
}

/** How long work without a deadline (CLIs, scheduled jobs) waits for a connection. */
const CHECKOUT_TIMEOUT_MS = 30_000;

/** A checked-out client and the one way to give it back (discarded when given an error). */
interface Lease {
  client: pg.PoolClient;
  release: (broken?: Error) => void;
}

/**
 * A client from the pool, waiting no longer than the request's deadline allows (and the pool's own connection
 * timeout without one). Any failure here happened before a statement was sent, so it is always a retryable 503, never a 500:
 * pg-pool's own timeout error carries no code. A client that arrives after we gave up goes straight back.
 */
async function checkout(current: Connection): Promise<Lease> {
  const budget = remainingMs() ?? CHECKOUT_TIMEOUT_MS;
  let client: pg.PoolClient;
  try {
    client = await within(budget, current.pool.connect(), (late) => late.then((c) => c.release(), () => undefined));
  } catch (err) {
    // Named as a lost connection, whatever pg-pool threw (its own timeout carries no code): classified as 503 in
    // the one error table, and safe to retry since nothing was sent.
    throw err instanceof LockstepError ? err : new ConnectionLostError(err);
  }
  const lease = leaseUntilAbandoned(client);
  try {
    await checkServer(current, client);
  } catch (err) {
    // An unsupported server (checkServer's LockstepError) or a refused statement leaves the connection usable.
    lease.release(err instanceof LockstepError || isStatementError(err) ? undefined : (err as Error));
    throw err;
  }
  return lease;
}

/**
 * Give the client back once: when the work is done, or at once when its request has answered without it (the
 * handler's backstop). An abandoned client is discarded and its socket destroyed: the work may wait on a dead
 * connection for good, and with DATABASE_POOL_MAX=1 (one Lambda, one request) it holds the pool's only slot, so
 * every later request on a warm instance would answer 503. Whatever the server still does for it, the deadline it
 * carries ends (src/db/deadline.ts).
 */
function leaseUntilAbandoned(client: pg.PoolClient): Lease {
  const abandoned = abandonedSignal();
  if (abandoned?.aborted) {
    // The request answered while this client was on its way: it was never used, so it goes back as it is.
    client.release();
    throw deadlineExceeded();
  }
  let released = false;
  const release = (broken?: Error) => {
    if (released) return;
    released = true;
    abandoned?.removeEventListener('abort', onAbandoned);
    client.release(broken);
  };
  const onAbandoned = () => {
    release(deadlineExceeded());
    // pg's end() waits for the server's goodbye, which a dead peer never sends; the pending query then fails now.
    (client as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
  };
  abandoned?.addEventListener('abort', onAbandoned, { once: true });
  return { client, release };
}

/**
 * Refuse a server older than lockstep supports on the pool's first connection, with one sentence, once per
 * instance: every request then answers 503 and logs that sentence, rather than each write failing its own way.
 * Costs one round trip per cold start.
 */
async function checkServer(current: Connection, client: pg.PoolClient): Promise<void> {
  current.serverChecked ??= client.query<{ num: number; version: string }>(SERVER_VERSION_QUERY).then(({ rows }) => checkServerVersion(rows[0]));
  try {
    await current.serverChecked;
  } catch (err) {
    if (!(err instanceof UnsupportedPostgresError)) {
      current.serverChecked = undefined;
      throw postgresError(err) ? err : new ConnectionLostError(err);
    }
    throw new LockstepError('database_unavailable', 'The database is unavailable', { cause: err, retryAfter: 60 });
  }
}
