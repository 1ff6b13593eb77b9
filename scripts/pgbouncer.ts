import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './local-postgres';

/** A running PgBouncer: clients connect to 127.0.0.1:port with the target's user, password and database names. */
export interface PgBouncer {
  port: number;
  /** Its process, for the benchmarks' CPU accounting. */
  pid: number;
  /**
   * Whether it tracks protocol-level prepared statements across server connections (PgBouncer 1.21 and later,
   * as Neon's pooler): without, the app must run with DATABASE_PREPARED_STATEMENTS=false behind it.
   */
  preparedStatements: boolean;
  /** `url` with its host and port replaced by the pooler's. */
  through: (url: string) => string;
  stop: () => Promise<void>;
}

/**
 * Debian's pgbouncer, installed by scripts/ensure-debian.sh where this machine can (root and apt-get);
 * otherwise the one sentence saying why, for the tests to skip with.
 */
export async function findPgBouncer(): Promise<{ path: string } | { missing: string }> {
  try {
    const { stdout } = await promisify(execFile)('bash', ['scripts/ensure-debian.sh', 'pgbouncer'], { timeout: 600_000 });
    return { path: stdout.trim() };
  } catch (err) {
    return { missing: ((err as { stderr?: string }).stderr ?? String(err)).trim() };
  }
}

/**
 * PgBouncer in transaction mode in front of `targetUrl`'s server, as Neon's `-pooler` endpoint is: every database
 * name is passed through, at most `poolSize` server connections per database and user, and clients beyond them
 * wait in its queue. The password travels in the clear, as the test cluster's `password` method takes it.
 */
export async function startPgBouncer(binary: string, targetUrl: string, poolSize: number): Promise<PgBouncer> {
  const target = new URL(targetUrl);
  const { stdout: version } = await promisify(execFile)(binary, ['--version']);
  const [major = 0, minor = 0] = (/PgBouncer (\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  const preparedStatements = major > 1 || (major === 1 && minor >= 21);
  const dir = await mkdtemp(join(tmpdir(), 'lockstep-pgbouncer-'));
  const port = await freePort();
  const user = decodeURIComponent(target.username);
  await writeFile(join(dir, 'userlist.txt'), `"${user}" "${decodeURIComponent(target.password)}"\n`);
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = plain',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      'min_pool_size = 0',
      'reserve_pool_size = 0',
      // The drop benchmark's 512 clients, and more, wait in its queue.
      'max_client_conn = 2000',
      // node-postgres sends these at startup; Neon's pooler ignores them too.
      'ignore_startup_parameters = extra_float_digits,options',
      'server_login_retry = 1',
      ...(preparedStatements ? ['max_prepared_statements = 200'] : []),
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
  );
  // pgbouncer refuses to run as root: it then runs as the `postgres` user the embedded server runs as.
  const root = process.getuid?.() === 0;
  if (root) await chmod(dir, 0o755);
  const child = spawn(binary, [...(root ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, exited, () => log);
  return {
    port,
    pid: child.pid!,
    preparedStatements,
    through: (url) => {
      const pooled = new URL(url);
      pooled.hostname = '127.0.0.1';
      pooled.port = String(port);
      return pooled.toString();
    },
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, exited: Promise<void>, log: () => string): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (const started = Date.now(); Date.now() - started < 10_000; ) {
    if (gone) throw new Error(`pgbouncer exited at start:\n${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`pgbouncer did not listen on ${port}:\n${log()}`);
}
