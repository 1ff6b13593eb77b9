import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as z from 'zod/mini';
import type { RouteSpec } from '../../src/contract/route';
import type { LambdaHandler } from '../../src/http/route';
import { allRoutes } from '../../src/openapi';
import { call, token } from '../helpers/api';
import {
  anyJson,
  arbitraryFor,
  FUZZ_RUNS,
  fuzzParameters,
  garbageCursor,
  jsonSchemaOf,
  mutateObject,
  nastyText,
  oddContentTypes,
  oddIdempotencyKeys,
  rawBodies,
} from '../helpers/fuzz';
import { emptyTables, sqlClient } from '../helpers/sql';

/**
 * Every route of the registry, through its real handler on the real database: requests generated from the route's
 * zod contract, then mutated by the classes of issue 11. Never a 5xx; a 4xx is problem+json with a code and changes
 * no row count; a 2xx is a documented status whose body validates against the route's response schema.
 */
const sql = sqlClient();

/** serverless.yml is the registry's deployment: its handler files, by method and path. */
function handlersByRoute(): Map<string, string> {
  const yaml = readFileSync('serverless.yml', 'utf8');
  const found = new Map<string, string>();
  for (const [, file, method, quoted, plain] of yaml.matchAll(
    /handler: (functions\/[\w-]+)\.handler\s+events:\s+- httpApi: \{ method: (\w+), path: (?:'([^']+)'|([^\s}]+)) \}/g,
  )) {
    found.set(`${method} ${quoted ?? plain}`, file!);
  }
  return found;
}

const SUBS = ['fuzz-owner', 'fuzz-member', 'fuzz-stranger'] as const;

interface Fixture {
  slugs: string[];
  ids: string[];
  userIds: string[];
  tokens: string[];
  cancelTokens: string[];
  cursors: string[];
}

/** Tables whose row counts a refusal must leave alone (idempotency_keys keeps refusals for replay, by design). */
let countQuery: string;
const rowCounts = async () => (await sql(countQuery))[0] as Record<string, string>;

async function seed(handlers: Map<string, LambdaHandler>): Promise<Fixture> {
  await emptyTables(sql, 'users', 'events', 'teams', 'slug_counters', 'idempotency_keys');
  const run = (route: string, request: Parameters<typeof call>[1]) => call(handlers.get(route)!, request);
  const users = [];
  for (const sub of SUBS) users.push((await run('GET /me', { as: sub })).body.id as string);
  const team = await run('POST /teams', { as: SUBS[0], body: { name: 'Fuzz Team' } });
  await run('POST /teams/{slug}/members', { as: SUBS[0], params: { slug: team.body.slug }, body: { userId: users[1], role: 'ADMIN' } });
  const event = await run('POST /events', {
    as: SUBS[0],
    body: { name: 'Fuzz Event', startsAt: '2027-06-01T10:00:00Z', capacity: 3, teamSlug: team.body.slug },
  });
  const registrations = [];
  for (const [i, spots] of [2, 2, 1].entries()) {
    registrations.push(
      (await run('POST /events/{slug}/registrations', { params: { slug: event.body.slug }, body: { name: `R${i}`, email: `r${i}@example.com`, spots } })).body,
    );
  }
  const card = await run('POST /cards', { as: SUBS[0], body: { title: 'Fuzz Card', links: [{ label: 'site', url: 'https://example.com' }] } });
  const list = await run('GET /events/{slug}/registrations', { as: SUBS[0], params: { slug: event.body.slug }, query: { limit: '1' } });
  for (const res of [team, event, card, list, ...registrations.map((body) => ({ status: body.id ? 201 : 0 }))]) {
    expect(res.status, 'fixture').toBeLessThan(300);
  }
  return {
    slugs: [event.body.slug, team.body.slug, card.body.slug],
    ids: [...registrations.map((r) => r.id as string), card.body.id],
    userIds: users,
    tokens: await Promise.all(SUBS.map((sub) => token(sub))),
    cancelTokens: registrations.map((r) => r.cancelToken as string),
    cursors: [list.body.nextCursor],
  };
}

interface Request {
  params: Record<string, string>;
  query: Record<string, string>;
  body: string | undefined;
  base64: boolean;
  headers: Record<string, string>;
}

function requests(spec: RouteSpec, fixture: Fixture): fc.Arbitrary<Request> {
  const real: Record<string, string[]> = { slug: fixture.slugs, id: fixture.ids, userId: fixture.userIds };
  const shape = (schema: z.ZodMiniType | undefined) => (schema ? (schema as z.ZodMiniObject).shape : {}) as Record<string, z.ZodMiniType>;
  const params = fc.record(
    Object.fromEntries(
      Object.keys(shape(spec.params)).map((name) => [
        name,
        fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...(real[name] ?? ['x'])) },
          { weight: 2, arbitrary: arbitraryFor(jsonSchemaOf(shape(spec.params)[name]!)).map(String) },
          { weight: 1, arbitrary: nastyText },
          { weight: 1, arbitrary: fc.constantFrom('00000000-0000-0000-0000-000000000000', 'not-a-uuid', 'a'.repeat(201), '', 'FUZZ-EVENT') },
        ),
      ]),
    ),
  ) as fc.Arbitrary<Record<string, string>>;
  const queryValues = spec.query ? arbitraryFor(jsonSchemaOf(spec.query)) : fc.constant({});
  const query = fc
    .tuple(queryValues, fc.constantFrom(...fixture.cancelTokens, undefined), fc.constantFrom(...fixture.cursors, undefined))
    .map(([values, cancelToken, cursor]) => {
      const text = Object.fromEntries(Object.entries(values as Record<string, unknown>).map(([key, value]) => [key, String(value)]));
      const names = Object.keys(shape(spec.query));
      if (names.includes('token') && cancelToken) text.token = cancelToken;
      if (names.includes('cursor') && cursor && !text.cursor) text.cursor = cursor;
      return text;
    });
  const body = spec.body ? arbitraryFor(jsonSchemaOf(spec.body)) : fc.constant(undefined);
  const auth = fc.constantFrom(...fixture.tokens.map((t) => `Bearer ${t}`), undefined);
  const valid = fc.record({ params, query, body, auth });

  return valid.chain(({ params, query, body, auth }) => {
    const base: Request = {
      params,
      query,
      body: body === undefined ? undefined : JSON.stringify(body),
      base64: false,
      headers: { ...(auth && { authorization: auth }), ...(body !== undefined && { 'content-type': 'application/json' }) },
    };
    type Mutation = (request: Request) => Request;
    const withBody = (text: string | undefined): Mutation => (request) => ({
      ...request,
      body: text,
      headers: { ...request.headers, 'content-type': 'application/json' },
    });
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      { weight: 3, arbitrary: mutateObject(body).map((mutated) => withBody(JSON.stringify(mutated))) },
      { weight: 2, arbitrary: rawBodies(body).map(withBody) },
      { weight: 1, arbitrary: anyJson.map((value) => withBody(JSON.stringify(value))) },
      {
        weight: 1,
        arbitrary: fc.boolean().map((garbage): Mutation => (request) => ({
          ...request,
          base64: true,
          body: garbage ? '@@not base64@@' : Buffer.from(request.body ?? '{}').toString('base64'),
        })),
      },
      {
        weight: 1,
        arbitrary: oddContentTypes.map((type): Mutation => (request) => {
          const { 'content-type': _dropped, ...headers } = request.headers;
          return { ...request, headers: type === undefined ? headers : { ...headers, 'content-type': type } };
        }),
      },
      { weight: 1, arbitrary: oddIdempotencyKeys.map((key): Mutation => (request) => ({ ...request, headers: { ...request.headers, 'Idempotency-Key': key } })) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a.b.c', `Bearer ${fixture.tokens[0]}x`, 'bearer  x', 'Bearer \u0000', `Bearer ${'x'.repeat(9000)}`)
          .map((authorization): Mutation => (request) => ({ ...request, headers: { ...request.headers, Authorization: authorization } })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.constantFrom('limit', 'cursor', 'status', 'token', 'extra'),
            fc.oneof(garbageCursor, nastyText, fc.constantFrom('-1', '0', '101', '1e2', '0x10', ' 5', 'NaN', '2.5', '')),
          )
          .map(([name, value]): Mutation => (request) => ({ ...request, query: { ...request.query, [name]: value } })),
      },
    );
    // A quarter unchanged; the rest carry one to three mutations at once (a deep body under a key, ...).
    return fc
      .oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) })
      .map((mutations) => mutations.reduce((request, mutate) => mutate(request), base));
  });
}

async function invoke(handler: LambdaHandler, spec: RouteSpec, request: Request) {
  // Byte-wise: encodeURIComponent throws on the lone surrogates the generators produce.
  const encode = (text: string) => [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  const rawPath = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => encode(request.params[name] ?? ''));
  const event = {
    version: '2.0',
    routeKey: `${spec.method} ${spec.path}`,
    rawPath,
    rawQueryString: Object.entries(request.query).map(([key, value]) => `${encode(key)}=${encode(value)}`).join('&'),
    headers: request.headers,
    queryStringParameters: Object.keys(request.query).length ? request.query : undefined,
    pathParameters: Object.keys(request.params).length ? request.params : undefined,
    body: request.body,
    isBase64Encoded: request.base64,
    requestContext: { requestId: randomUUID(), http: { method: spec.method, path: rawPath } },
  } as unknown as APIGatewayProxyEventV2;
  return (await handler(event)) as APIGatewayProxyStructuredResultV2;
}

const registry = handlersByRoute();
const handlers = new Map<string, LambdaHandler>();

beforeAll(async () => {
  for (const [route, file] of registry) {
    handlers.set(route, (await import(/* @vite-ignore */ new URL(`../../${file}.ts`, import.meta.url).href)).handler);
  }
  const tables = await sql<{ name: string }>(
    `select table_name as name from information_schema.tables
     where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not in ('idempotency_keys', '__drizzle_migrations')
     order by 1`,
  );
  countQuery = `select ${tables.map(({ name }) => `(select count(*) from "${name}") as "${name}"`).join(', ')}`;
});

describe(`API fuzz (${FUZZ_RUNS} runs per route; FUZZ_RUNS, FUZZ_SEED to change)`, () => {
  it('the registry is deployed whole', () => {
    expect([...registry.keys()].sort()).toEqual(allRoutes.map((spec) => `${spec.method} ${spec.path}`).sort());
  });

  for (const spec of allRoutes) {
    it(`${spec.method} ${spec.path}`, async () => {
      const handler = handlers.get(`${spec.method} ${spec.path}`)!;
      const fixture = await seed(handlers);
      await fc.assert(
        fc.asyncProperty(requests(spec, fixture), async (request) => {
          const before = await rowCounts();
          const response = await invoke(handler, spec, request);
          const status = response.statusCode ?? 0;
          const text = response.body ?? '';
          const headers = (response.headers ?? {}) as Record<string, string>;
          expect(status, text).toBeLessThan(500);
          if (status >= 400) {
            expect(headers['content-type']).toBe('application/problem+json');
            const problem = JSON.parse(text);
            expect(problem).toMatchObject({ status, code: expect.stringMatching(/^[a-z_]+$/) });
            expect(await rowCounts(), `${problem.code} changed rows`).toEqual(before);
          } else {
            expect(Object.keys(spec.responses).map(Number)).toContain(status);
            const schema = spec.responses[status];
            if (schema === null) expect(text).toBe('');
            else if (spec.contentType !== undefined) expect(headers['content-type']).toBe(spec.contentType);
            else expect(schema?.safeParse(JSON.parse(text)).error).toBeUndefined();
          }
        }),
        fuzzParameters(),
      );
    });
  }
});
