import { build, type Plugin } from 'esbuild';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { afterAll } from 'vitest';

/** Inside the checkout (gitignored): Node resolves a bundle's packages from the node_modules above it. */
const BUNDLES = resolve('.esbuild/test-cli');

/**
 * Packages stay imports, resolved by Node at run time, except drizzle-orm: its 180 KB package.json (an `exports` entry
 * per file) is parsed again for each of the ~200 modules Node 24's ESM loader resolves in it, 1.5 s of CPU per process
 * (0.2 s on Node 20). The test workers load it pre-bundled too (deps.optimizer in vitest.config.ts).
 */
const packagesExceptDrizzle: Plugin = {
  name: 'packages-except-drizzle',
  setup(build) {
    build.onResolve({ filter: /^[^./#]/ }, ({ path }) => (/^drizzle-orm(\/|$)/.test(path) ? undefined : { path, external: true }));
  },
};

/**
 * Command-line scripts (`scripts/*.ts`, what `npm run import` and the like start under tsx) bundled once per test
 * file with esbuild, the transform tsx itself runs, for `node <bundle> ...args`. The scripts' own modules are in
 * the bundle; their packages (but drizzle-orm, above) stay imports that Node resolves from node_modules at run time,
 * as under tsx. A bundle starts in ~0.3 s; Node with tsx's loader in ~1.1 s on an idle machine and 4-6 s in the busy
 * suite, where a test that ran the CLI three times spent most of its time starting tsx.
 */
export function bundledScripts(...scripts: string[]): (script: string) => Promise<string> {
  let built: Promise<string> | undefined;
  afterAll(async () => {
    if (built) await rm(await built, { recursive: true, force: true });
  });
  const bundle = async () => {
    await mkdir(BUNDLES, { recursive: true });
    const outdir = await mkdtemp(join(BUNDLES, 'run-'));
    await build({
      entryPoints: scripts,
      outdir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      plugins: [packagesExceptDrizzle],
      logLevel: 'warning',
    });
    return outdir;
  };
  return async (script) => {
    if (!scripts.includes(script)) throw new Error(`${script} is not among the bundled scripts (${scripts.join(', ')})`);
    built ??= bundle();
    return join(await built, `${basename(script, extname(script))}.mjs`);
  };
}
