import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openApiTypes, OPENAPI_TYPES_PATH } from '../../scripts/openapi-types';
import { renderReference, type OpenApiDocument } from '../../src/docs/render';
import { allRoutes, buildOpenApi } from '../../src/openapi';

describe('API contract', () => {
  it('docs/openapi.json is generated from the current zod schemas (run `npm run openapi`)', async () => {
    const committed = JSON.parse(await readFile('docs/openapi.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(buildOpenApi())));
  });

  it('the client types are what openapi-typescript generates from docs/openapi.json (run `npm run openapi`)', async () => {
    const document = JSON.parse(await readFile('docs/openapi.json', 'utf8')) as Record<string, unknown>;
    expect(await readFile(OPENAPI_TYPES_PATH, 'utf8')).toBe(await openApiTypes(document));
  });

  it('docs/openapi.json passes redocly lint with its recommended rules: no error, no warning', async () => {
    const { stdout } = await promisify(execFile)('node_modules/.bin/redocly', [
      'lint', 'docs/openapi.json', '--format=json', '--extends=recommended',
    ]);
    const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('the /docs page shows every operation and schema of the document, escaped', async () => {
    const document = JSON.parse(await readFile('docs/openapi.json', 'utf8')) as OpenApiDocument;
    const page = renderReference(document);
    for (const route of allRoutes) {
      expect(page).toContain(`id="op-${route.operationId}"`);
      expect(page).toContain(`<code>${route.path}</code>`);
    }
    for (const name of Object.keys(document.components?.schemas ?? {})) expect(page).toContain(`id="schema-${name}"`);
    // Nothing to load: no script, and no link or source outside the page but /openapi.json.
    expect(page).not.toMatch(/<script|<link|src=/);
    expect([...page.matchAll(/href="([^"#][^"]*)"/g)].map(([, href]) => href)).toEqual(['openapi.json']);
    const hostile = renderReference({ ...document, info: { ...document.info, description: '<img src=x onerror=alert(1)>' } });
    expect(hostile).toContain('&lt;img src=x onerror=alert(1)&gt;');
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
