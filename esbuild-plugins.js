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

/** The names a dependency's ES module exports, read from its source (`export function x`, `export { a as b }`). */
function exportedNames(/** @type {string} */ source) {
  const names = new Set();
  for (const [, name] of source.matchAll(/^export (?:async )?(?:function\*?|const|let|var|class) ([\w$]+)/gm)) names.add(name);
  for (const [, list] of source.matchAll(/^export \{([^}]*)\}(?! from)/gm)) {
    for (const item of (list ?? '').split(',')) names.add(item.trim().split(/\s+as\s+/).pop());
  }
  names.delete('');
  return [...names];
}

/**
 * zod's JSON Schema generation (z.toJSONSchema, schema.toJSONSchema(), Standard JSON Schema): only
 * `npm run openapi` uses it. zod classic imports it from every schema, so without this it is ~17 KiB of every
 * bundle. `aggregateChecks` stays real: classic's `.minLength`/`.minValue` getters read it.
 * @type {import('esbuild').Plugin}
 */
const zodWithoutJsonSchema = {
  name: 'zod-without-json-schema',
  setup(build) {
    const stubbed = /[\\/]zod[\\/]v4[\\/]core[\\/](to-json-schema|json-schema-processors|json-schema-generator)\.js$/;
    build.onResolve({ filter: /(to-json-schema|json-schema-processors|json-schema-generator)\.js$/ }, async (args) => {
      // The stub's own re-export of the real module (an absolute path), and build.resolve() below: resolved as usual.
      if (args.namespace === 'zod-json-schema-stub') return { path: args.path };
      if (args.pluginData === 'real') return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'real' });
      return stubbed.test(resolved.path) ? { path: resolved.path, namespace: 'zod-json-schema-stub' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-json-schema-stub' }, (args) => {
      const keep = args.path.endsWith('json-schema-processors.js') ? ['aggregateChecks'] : [];
      const factories = ['createToJSONSchemaMethod', 'createStandardJSONSchemaMethod'];
      const lines = [`const unavailable = ${unavailable('JSON Schema generation (npm run openapi)')};`];
      if (keep.length > 0) lines.push(`export { ${keep.join(', ')} } from ${JSON.stringify(args.path)};`);
      for (const name of exportedNames(readFileSync(args.path, 'utf8'))) {
        if (keep.includes(name)) continue;
        if (name === 'JSONSchemaGenerator') lines.push(`export class ${name} { constructor() { unavailable(); } }`);
        else lines.push(`export const ${name} = ${factories.includes(name) ? '() => unavailable' : 'unavailable'};`);
      }
      return { contents: lines.join('\n'), loader: 'js', resolveDir: args.path.replace(/[\\/][^\\/]+$/, '') };
    });
  },
};

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

export default [zodWithoutJsonSchema, drizzleWithoutColumnCallbacks, pgWithoutNative, metafiles];
