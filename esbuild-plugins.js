// @ts-check
/**
 * esbuild plugins for the Lambda bundles (serverless.yml `custom.esbuild.plugins`): they keep code the HTTP
 * functions never run out of them, by replacing a few modules of dependencies with stubs that fail loudly if
 * ever called. Each is measured by `npm run bench:bundle`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';

/** @param {string} what */
const unavailable = (what) => `() => { throw new Error(${JSON.stringify(`${what} is not bundled in the Lambda functions`)}); }`;

/**
 * drizzle's pgTable(name, (t) => columns) callback form hands `t` every column builder (point, line, geometry,
 * vector, …): ~12 KiB. lockstep's tables pass their columns as an object, so the builders are never called.
 * @type {import('esbuild').Plugin}
 */
const drizzleWithoutColumnCallbacks = {
  name: 'drizzle-without-column-callbacks',
  setup(build) {
    build.onLoad({ filter: /[\\/]drizzle-orm[\\/]pg-core[\\/]columns[\\/]all\.js$/ }, () => ({
      contents: `export const getPgColumnBuilders = ${unavailable("pgTable's column-builder callback")};`,
      loader: 'js',
    }));
  },
};

/**
 * pg's lazy `pg.native` getter requires pg's libpq client (~8 KiB); pg-native is not installed in Lambda, so it
 * answers MODULE_NOT_FOUND, as pg expects when pg-native is missing.
 * @type {import('esbuild').Plugin}
 */
const pgWithoutNative = {
  name: 'pg-without-native',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]native[\\/]index\.js$/ }, () => ({
      contents: "throw Object.assign(new Error('pg-native is not bundled'), { code: 'MODULE_NOT_FOUND' });",
      loader: 'js',
    }));
  },
};

/** Where `metafiles` writes each bundle's esbuild metafile, read by `npm run bench:bundle`. */
export const METAFILE_DIR = '.esbuild/metafiles';

/**
 * Each bundle's esbuild metafile, outside the folder serverless-esbuild zips (its own `metafile` option would
 * put them into every function's zip).
 * @type {import('esbuild').Plugin}
 */
const metafiles = {
  name: 'metafiles',
  setup(build) {
    build.initialOptions.metafile = true;
    build.onEnd((result) => {
      const entries = build.initialOptions.entryPoints;
      const entry = Array.isArray(entries) && typeof entries[0] === 'string' ? entries[0] : undefined;
      if (!result.metafile || entry === undefined) return;
      mkdirSync(METAFILE_DIR, { recursive: true });
      writeFileSync(`${METAFILE_DIR}/${basename(entry, extname(entry))}.json`, JSON.stringify(result.metafile));
    });
  },
};

/**
 * `import text from 'file?raw'` gives the file's text, as it does under Vite (the tests): the /docs page inlines
 * Swagger UI's script and stylesheet this way.
 * @type {import('esbuild').Plugin}
 */
const rawText = {
  name: 'raw-text',
  setup(build) {
    build.onResolve({ filter: /\?raw$/ }, async ({ path, resolveDir, kind }) => {
      const resolved = await build.resolve(path.slice(0, -'?raw'.length), { resolveDir, kind });
      return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path, namespace: 'raw-text' };
    });
    build.onLoad({ filter: /.*/, namespace: 'raw-text' }, ({ path }) => ({ contents: readFileSync(path, 'utf8'), loader: 'text' }));
  },
};

export default [drizzleWithoutColumnCallbacks, pgWithoutNative, metafiles, rawText];
