import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { openApiTypes, OPENAPI_TYPES_PATH } from '../../scripts/openapi-types';
import { renderReference, type OpenApiDocument } from '../../src/docs/render';
import { exampleOf } from '../../src/contract/examples';
import { allRoutes, buildOpenApi, curlExample } from '../../src/openapi';

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

  it('every operation has a request and a response example, each valid against its own zod schema', () => {
    for (const route of allRoutes) {
      const inputs = [route.params, route.query, route.body].filter((schema) => schema !== undefined);
      const outputs = Object.values(route.responses).filter((schema) => schema !== null);
      for (const schema of [...inputs, ...outputs]) {
        const example = exampleOf(schema);
        expect(example, route.operationId).toBeDefined();
        expect(z.safeParse(schema, example).error, route.operationId).toBeUndefined();
      }
    }
  });

  it('every operation documents its curl command, with the example body, key and token it needs', () => {
    const operations = Object.values(buildOpenApi().paths as Record<string, Record<string, { operationId: string; description: string }>>)
      .flatMap((methods) => Object.values(methods));
    expect(operations).toHaveLength(allRoutes.length);
    for (const operation of operations) expect(operation.description).toMatch(/```sh\ncurl -s[^`]+\$BASE\/[^`]+\n```$/);
    expect(curlExample(allRoutes.find((route) => route.operationId === 'createRegistration')!)).toBe(
      `curl -s -X POST "$BASE/events/node-meetup/registrations" \\\n  -H 'Idempotency-Key: 6f1d2c3b-4a5e-4f60-9a7b-8c9d0e1f2a3b' \\\n  -H 'Content-Type: application/json' \\\n  -d '{"name":"Ada Lovelace","email":"ada@example.com","spots":2}'`,
    );
  });

  it('the /docs page carries Swagger UI and the document inline: nothing to load, nothing that closes its scripts', async () => {
    const document = JSON.parse(await readFile('docs/openapi.json', 'utf8')) as OpenApiDocument;
    const page = renderReference(document);
    expect(page).not.toMatch(/<script[^>]*\ssrc=|<link[\s>]/i);
    expect(page.match(/<\/script/gi)).toHaveLength(2);
    const spec = /spec: (\{.*\}) \}\)\);<\/script>/.exec(page)?.[1];
    expect(JSON.parse(spec!)).toEqual(document);
    const hostile = renderReference({ ...document, info: { ...document.info, description: '</script><img src=x onerror=alert(1)>' } });
    expect(hostile.match(/<\/script/gi)).toHaveLength(2);
    expect(hostile).toContain('\\u003c/script>\\u003cimg src=x onerror=alert(1)>');
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
