import * as z from 'zod/mini';
import * as cardRoutes from './cards/routes';
import * as eventRoutes from './events/routes';
import * as docsRoutes from './docs/routes';
import * as healthRoutes from './health/routes';
import * as registrationRoutes from './registrations/routes';
import { exampleOf } from './contract/examples';
import { MAX_BODY_BYTES } from './contract/input';
import type { RouteSpec } from './contract/route';
import type { ErrorCode } from './errors';
import { KEY_PATTERN } from './http/idempotency';
import { statusOf } from './http/problem';
import { KEY_RETENTION_HOURS } from './idempotency/store';
import * as teamRoutes from './teams/routes';
import * as userRoutes from './users/routes';
import * as webhookRoutes from './webhooks/routes';
// The examples of every contract, registered for the generator alone (src/contract/examples.ts).
import './cards/examples';
import './docs/examples';
import './events/examples';
import './health/examples';
import './registrations/examples';
import './teams/examples';
import './users/examples';
import './webhooks/examples';

/** Every HTTP route's contract by tag (its domain); serverless.yml must list exactly these (checked by a test). */
const routesByTag: Record<string, { description: string; routes: Record<string, RouteSpec> }> = {
  health: { description: 'Liveness', routes: healthRoutes },
  docs: { description: 'This reference and its OpenAPI document', routes: docsRoutes },
  users: { description: 'The caller and their settings', routes: userRoutes },
  teams: { description: 'Teams with exactly one OWNER', routes: teamRoutes },
  events: { description: 'Events with a capacity', routes: eventRoutes },
  registrations: { description: 'Registrations, the waitlist and the counters', routes: registrationRoutes },
  cards: { description: 'Developer cards and their links', routes: cardRoutes },
  webhooks: { description: 'Signed, retried notifications of event and registration changes', routes: webhookRoutes },
};
const taggedRoutes = Object.entries(routesByTag).flatMap(([tag, { routes }]) => Object.values(routes).map((spec) => ({ tag, spec })));
export const allRoutes: RouteSpec[] = taggedRoutes.map(({ spec }) => spec);

type JsonSchema = Record<string, unknown>;

const isWrite = (spec: RouteSpec) => spec.method !== 'GET';
const IDEMPOTENCY_ERRORS = ['invalid_idempotency_key', 'idempotency_key_in_flight', 'idempotency_key_reused'];
/** What any route can fail with; JWT verification against a JWKS adds auth_unavailable. */
const SERVER_ERRORS = ['internal_error', 'database_unavailable'];
const SECURITY = { none: [], optional: [{}, { bearer: [] }], required: [{ bearer: [] }] } as const;
const EXAMPLE_IDEMPOTENCY_KEY = '6f1d2c3b-4a5e-4f60-9a7b-8c9d0e1f2a3b';
const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    `Makes the request exactly-once per caller (or per anonymous caller): a retry after a commit replays the stored status and body with \`Idempotent-Replayed: true\`; a retry after a failure runs again. The same key with another method, path or body answers 422; while the first request is still running, 409 with Retry-After. Outcomes below 500 are kept for at least ${KEY_RETENTION_HOURS} hours. Anonymous callers should use unguessable keys (UUIDs).`,
  schema: { type: 'string', pattern: KEY_PATTERN.source },
};

const PROBLEM_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details. Messages of 5xx answers are fixed texts.',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', examples: ['urn:lockstep:problem:slug_taken'] },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'Stable snake_case error code' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

const shellQuote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;

/** The example request of a route as a curl command against `$BASE` (its path and query filled from the examples). */
export function curlExample(spec: RouteSpec): string {
  const pathValues = (exampleOf(spec.params) ?? {}) as Record<string, string>;
  const path = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(pathValues[name] ?? name));
  const query = new URLSearchParams(Object.entries((exampleOf(spec.query) ?? {}) as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)]));
  const url = `$BASE${path}${query.size ? `?${query}` : ''}`;
  const body = exampleOf(spec.body);
  return [
    `curl -s${spec.method === 'GET' ? '' : ` -X ${spec.method}`} "${url}"`,
    ...(spec.auth === 'none' ? [] : ['-H "Authorization: Bearer $TOKEN"']),
    ...(isWrite(spec) ? [`-H 'Idempotency-Key: ${EXAMPLE_IDEMPOTENCY_KEY}'`] : []),
    ...(body === undefined ? [] : ["-H 'Content-Type: application/json'", `-d ${shellQuote(JSON.stringify(body))}`]),
  ].join(' \\\n  ');
}

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with. Named schemas
 * (`.meta({ id })`) become components; request schemas describe input, response schemas output.
 */
export function buildOpenApi(): JsonSchema {
  const components: Record<string, JsonSchema> = { Problem: PROBLEM_SCHEMA };
  const toSchema = (schema: z.ZodMiniType, io: 'input' | 'output'): JsonSchema => {
    const { $defs, $schema: _dialect, ...root } = z.toJSONSchema(schema, {
      io,
      target: 'draft-2020-12',
      unrepresentable: 'any',
      override: ({ jsonSchema }) => {
        delete jsonSchema.$schema;
      },
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const moveRefs = (value: unknown): unknown =>
      JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/'));
    for (const [id, definition] of Object.entries($defs ?? {})) components[id] = moveRefs(definition) as JsonSchema;
    const named = (root as { id?: string }).id;
    if (named) {
      const { id: _id, ...definition } = root;
      components[named] = moveRefs(definition) as JsonSchema;
      return { $ref: `#/components/schemas/${named}` };
    }
    return moveRefs(root) as JsonSchema;
  };
  const parameters = (schema: z.ZodMiniType | undefined, location: 'path' | 'query') => {
    if (!schema) return [];
    const json = toSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    const example = (exampleOf(schema) ?? {}) as Record<string, unknown>;
    return Object.entries(json.properties ?? {}).map(([name, property]) => ({
      name,
      in: location,
      required: location === 'path' || (json.required ?? []).includes(name),
      schema: property,
      ...(example[name] !== undefined && { example: example[name] }),
    }));
  };

  const withExample = (json: JsonSchema, schema: z.ZodMiniType) => {
    const example = exampleOf(schema);
    return { schema: json, ...(example !== undefined && { example }) };
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const { tag, spec } of taggedRoutes) {
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(spec.responses)) {
      responses[status] = schema
        ? { description: 'Success', content: { [spec.contentType ?? 'application/json']: withExample(toSchema(schema, 'output'), schema) } }
        : { description: 'Success, no content' };
    }
    const codes = [
      'validation_failed',
      ...(spec.errors ?? []),
      ...(isWrite(spec) ? IDEMPOTENCY_ERRORS : []),
      ...SERVER_ERRORS,
      ...(spec.auth === 'none' ? [] : ['auth_unavailable']),
    ].filter((code, index, all) => all.indexOf(code) === index);
    const problem = (description: string, which: string[]) => ({
      description: `${description} Codes: ${which.join(', ')}`,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    });
    responses['4XX'] = problem('Problem details: the request was refused and changed nothing.', codes.filter((code) => statusOf(code as ErrorCode) < 500));
    responses['5XX'] = problem(
      'Problem details with a fixed message; 503 carries Retry-After.',
      codes.filter((code) => statusOf(code as ErrorCode) >= 500),
    );
    (paths[spec.path] ??= {})[spec.method.toLowerCase()] = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: [tag],
      description: `${spec.description ? `${spec.description}\n\n` : ''}\`\`\`sh\n${curlExample(spec)}\n\`\`\``,
      security: SECURITY[spec.auth],
      parameters: [
        ...parameters(spec.params, 'path'),
        ...parameters(spec.query, 'query'),
        ...(isWrite(spec) ? [IDEMPOTENCY_KEY_PARAMETER] : []),
      ],
      ...(spec.body && {
        requestBody: { required: true, content: { 'application/json': withExample(toSchema(spec.body, 'input'), spec.body) } },
      }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'lockstep',
      version: '1.0.0',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
      description:
        `Developer cards, teams and capacity-limited events. Bodies are JSON up to ${MAX_BODY_BYTES / 1024} KiB (413 beyond); unknown body fields are rejected with 400; errors are RFC 9457 problem+json.\n\nThe curl examples use \`BASE=http://127.0.0.1:3000\` (\`npm run dev\`, or your stage URL) and \`TOKEN=$(npm run -s token -- alice)\`; send any operation from this page with **Authorize** (the token) and an Idempotency-Key of your own (a UUID) on writes.`,
    },
    // Relative: the API that serves this document (its /docs page calls the same host).
    servers: [{ url: '/', description: 'This API: http://127.0.0.1:3000 under `npm run dev`, the stage URL in AWS' }],
    tags: Object.entries(routesByTag).map(([name, { description }]) => ({ name, description })),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
    },
    paths,
  };
}
