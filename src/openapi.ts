import * as z from 'zod/mini';
import * as cardRoutes from './cards/routes';
import * as eventRoutes from './events/routes';
import * as docsRoutes from './docs/routes';
import * as healthRoutes from './health/routes';
import * as registrationRoutes from './registrations/routes';
import { MAX_BODY_BYTES } from './contract/input';
import type { RouteSpec } from './contract/route';
import type { ErrorCode } from './errors';
import { KEY_PATTERN } from './http/idempotency';
import { statusOf } from './http/problem';
import { KEY_RETENTION_HOURS } from './idempotency/store';
import * as teamRoutes from './teams/routes';
import * as userRoutes from './users/routes';
import * as webhookRoutes from './webhooks/routes';

/** Every HTTP route's contract; serverless.yml must list exactly these (checked by a test). */
export const allRoutes: RouteSpec[] = [
  healthRoutes,
  docsRoutes,
  userRoutes,
  teamRoutes,
  eventRoutes,
  registrationRoutes,
  cardRoutes,
  webhookRoutes,
].flatMap((module) => Object.values(module as Record<string, RouteSpec>));

type JsonSchema = Record<string, unknown>;

const isWrite = (spec: RouteSpec) => spec.method !== 'GET';
const IDEMPOTENCY_ERRORS = ['invalid_idempotency_key', 'idempotency_key_in_flight', 'idempotency_key_reused'];
/** What any route can fail with; JWT verification against a JWKS adds auth_unavailable. */
const SERVER_ERRORS = ['internal_error', 'database_unavailable'];
const SECURITY = { none: [], optional: [{}, { bearer: [] }], required: [{ bearer: [] }] } as const;
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

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with. Named schemas
 * (`.meta({ id })`) become components; request schemas describe input, response schemas output.
 */
export function buildOpenApi(): JsonSchema {
  const components: Record<string, JsonSchema> = { Problem: PROBLEM_SCHEMA };
  const toSchema = (schema: z.ZodMiniType, io: 'input' | 'output'): JsonSchema => {
    const { $defs, ...root } = z.toJSONSchema(schema, {
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
    return Object.entries(json.properties ?? {}).map(([name, property]) => ({
      name,
      in: location,
      required: location === 'path' || (json.required ?? []).includes(name),
      schema: property,
    }));
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of allRoutes) {
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(spec.responses)) {
      responses[status] = schema
        ? { description: 'Success', content: { [spec.contentType ?? 'application/json']: { schema: toSchema(schema, 'output') } } }
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
      ...(spec.description && { description: spec.description }),
      security: SECURITY[spec.auth],
      parameters: [
        ...parameters(spec.params, 'path'),
        ...parameters(spec.query, 'query'),
        ...(isWrite(spec) ? [IDEMPOTENCY_KEY_PARAMETER] : []),
      ],
      ...(spec.body && {
        requestBody: { required: true, content: { 'application/json': { schema: toSchema(spec.body, 'input') } } },
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
        `Developer cards, teams and capacity-limited events. Bodies are JSON up to ${MAX_BODY_BYTES / 1024} KiB (413 beyond); unknown body fields are rejected with 400; errors are RFC 9457 problem+json.`,
    },
    // Relative: the API that serves this document (its /docs page calls the same host).
    servers: [{ url: '/', description: 'This API: http://127.0.0.1:3000 under `npm run dev`, the stage URL in AWS' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
    },
    paths,
  };
}
