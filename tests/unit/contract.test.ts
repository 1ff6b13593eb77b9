import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { allRoutes, buildOpenApi } from '../../src/openapi';

describe('API contract', () => {
  it('docs/openapi.json is generated from the current zod schemas (run `npm run openapi`)', async () => {
    const committed = JSON.parse(await readFile('docs/openapi.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApi())));
  });

  it('serverless.yml deploys exactly one function per documented route', async () => {
    const yaml = await readFile('serverless.yml', 'utf8');
    const deployed = [...yaml.matchAll(/httpApi: \{ method: (\w+), path: (?:'([^']+)'|([^\s}]+)) \}/g)].map(
      ([, method, quoted, plain]) => `${method} ${quoted ?? plain}`,
    );
    const documented = allRoutes.map((route) => `${route.method} ${route.path}`);
    expect(deployed.sort()).toEqual(documented.sort());
    expect(new Set(deployed).size).toBe(deployed.length);
  });

  it('every function file exports a handler named in serverless.yml', async () => {
    const yaml = await readFile('serverless.yml', 'utf8');
    const handlers = [...yaml.matchAll(/handler: (functions\/[\w-]+)\.handler/g)].map(([, file]) => file);
    for (const file of handlers) {
      const module = await import(/* @vite-ignore */ new URL(`../../${file}.ts`, import.meta.url).href);
      expect(typeof module.handler, file).toBe('function');
    }
  });
});
