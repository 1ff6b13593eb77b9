import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { config } from '../config';
import { database, type Db } from '../db/client';
import { LockstepError } from '../errors';
import { fingerprint, parseIdempotencyKey, runIdempotently, type HttpResponse } from '../idempotency/service';
import { logger } from '../logger';
import type { UserRow } from '../users/schema';
import { ensureUser } from '../users/service';
import { authenticate } from './auth';
import { describeError } from './describe-error';
import { findInputProblem } from './input';
import { problemResponse, statusOf, toLockstepError } from './problem';

export const MAX_BODY_BYTES = 64 * 1024;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type AuthMode = 'none' | 'optional' | 'required';

/** A route's whole contract: the handler validates against it and the OpenAPI document is generated from it. */
export interface RouteSpec<
  A extends AuthMode = AuthMode,
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
> {
  operationId: string;
  method: HttpMethod;
  path: string;
  summary: string;
  description?: string;
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  /** Success status → response schema (`null` for an empty body). */
  responses: Record<number, z.ZodType | null>;
  /** Error codes this route can answer with, for the documentation. */
  errors?: readonly string[];
}

export function defineRoute<A extends AuthMode, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  spec: RouteSpec<A, P, Q, B>,
): RouteSpec<A, P, Q, B> {
  return spec;
}

type Infer<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RouteContext<A extends AuthMode, P, Q, B> {
  db: Db;
  /** The calling user, created on first sight. */
  user: A extends 'required' ? UserRow : A extends 'optional' ? UserRow | undefined : undefined;
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
  requestId: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type LambdaHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<APIGatewayProxyResultV2>;

/**
 * The Lambda handler for one route: parse and validate the API Gateway v2 event, authenticate, run the service,
 * and turn every outcome, thrown or not, into an HTTP response. Nothing escapes: serverless-offline answers a
 * thrown error with 200 and API Gateway with a bare 500.
 */
export function route<A extends AuthMode, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  spec: RouteSpec<A, P, Q, B>,
  run: (ctx: RouteContext<A, P, Q, B>) => Promise<Reply>,
): LambdaHandler {
  config(); // Fail the cold start, not the first request, on bad configuration.
  return async (event) => {
    const started = performance.now();
    const requestId = event.requestContext?.requestId ?? 'local';
    logger.appendKeys({ requestId, operation: spec.operationId });
    let response: HttpResponse;
    try {
      response = await handle(spec, run, event, requestId);
    } catch (err) {
      response = errorResponse(toLockstepError(err), err);
    }
    logger.info('request', { status: response.statusCode, durationMs: Math.round(performance.now() - started) });
    logger.resetKeys();
    return response;
  };
}

function errorResponse(error: LockstepError, thrown: unknown): HttpResponse {
  if (statusOf(error.code) >= 500) logger.error('request failed', { code: error.code, error: describeError(thrown) });
  return problemResponse(error);
}

async function handle<A extends AuthMode, P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(
  spec: RouteSpec<A, P, Q, B>,
  run: (ctx: RouteContext<A, P, Q, B>) => Promise<Reply>,
  event: APIGatewayProxyEventV2,
  requestId: string,
): Promise<HttpResponse> {
  const headers = lowerCaseKeys(event.headers ?? {});
  const identity = spec.auth === 'none' ? undefined : await authenticate(headers.authorization);
  if (spec.auth === 'required' && identity === undefined) {
    throw new LockstepError('unauthorized', 'This route needs an Authorization: Bearer token');
  }
  const keyHeader = spec.method === 'GET' ? undefined : headers['idempotency-key'];
  const key = keyHeader === undefined ? undefined : parseIdempotencyKey(keyHeader);
  // Everything is validated before the first database round trip.
  const body = spec.body ? parse(spec.body, readJson(event, headers), 'body') : undefined;
  const params = spec.params ? parse(spec.params, event.pathParameters ?? {}, 'path') : undefined;
  const query = spec.query ? parse(spec.query, event.queryStringParameters ?? {}, 'query') : undefined;
  const execute = async (db: Db) => {
    const user = identity ? await ensureUser(db, identity) : undefined;
    return toResponse(await run({ db, user, params, query, body, requestId } as RouteContext<A, P, Q, B>));
  };
  if (key === undefined) return execute(database());

  const request = {
    scope: identity ? `sub:${identity.sub}` : 'anonymous',
    key,
    fingerprint: fingerprint(spec.method, event.rawPath ?? spec.path, event.queryStringParameters ?? {}, requestBodyText(event)),
  };
  const outcome = await runIdempotently(database(), request, async (tx) => {
    try {
      return { response: await execute(tx), commit: true };
    } catch (err) {
      const error = toLockstepError(err);
      if (statusOf(error.code) >= 500) throw err;
      return { response: errorResponse(error, err), commit: false };
    }
  });
  const { replayed, ...response } = outcome;
  return replayed ? { ...response, headers: { ...response.headers, 'idempotent-replayed': 'true' } } : response;
}

function toResponse(reply: Reply): HttpResponse {
  if (reply.body === undefined) return { statusCode: reply.status, headers: reply.headers ?? {}, body: '' };
  return {
    statusCode: reply.status,
    headers: { 'content-type': 'application/json', ...reply.headers },
    body: JSON.stringify(reply.body),
  };
}

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function requestBodyText(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

function readJson(event: APIGatewayProxyEventV2, headers: Record<string, string | undefined>): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.byteLength > MAX_BODY_BYTES) {
    const message = `The body is larger than ${MAX_BODY_BYTES} bytes`;
    throw new LockstepError('payload_too_large', message, { errors: [{ path: '', message }] });
  }
  const contentType = headers['content-type'];
  if (contentType !== undefined && !/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i.test(contentType)) {
    const message = 'Send the body as application/json';
    throw new LockstepError('unsupported_media_type', message, { errors: [{ path: '', message }] });
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new LockstepError('invalid_json', 'The body is not valid JSON', {
      cause: err,
      errors: [{ path: '', message: err instanceof Error ? err.message : 'Unparseable JSON' }],
    });
  }
}

export function parse<S extends z.ZodType>(schema: S, input: unknown, where: 'body' | 'path' | 'query'): z.output<S> {
  // Postgres text cannot hold NUL, and zod walks input recursively: both refused here for every route at once.
  const problem = findInputProblem(input);
  const errors = problem ? [{ path: fieldPath(where, problem.path), message: problem.message }] : undefined;
  const result = errors ? undefined : schema.safeParse(input);
  if (result?.success) return result.data;
  throw new LockstepError('validation_failed', `The request ${where} is invalid`, {
    errors: errors ?? result?.error.issues.map((issue) => ({ path: fieldPath(where, issue.path), message: issue.message })),
  });
}

/** `capacity`, `path.slug`, `query.limit`: body fields need no prefix. */
function fieldPath(where: 'body' | 'path' | 'query', path: readonly PropertyKey[]): string {
  return [...(where === 'body' ? [] : [where]), ...path.map(String)].join('.');
}
