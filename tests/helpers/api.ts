import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { LambdaHandler } from '../../src/http/route';
import { signDevToken, type DevTokenOptions } from '../../scripts/token';

export interface Call {
  /** Path parameters, as API Gateway would extract them. */
  params?: Record<string, string>;
  /** The raw path (part of an idempotency fingerprint); derived from the parameters when absent. */
  path?: string;
  query?: Record<string, string>;
  /** An object is sent as JSON; a string is sent verbatim. */
  body?: unknown;
  headers?: Record<string, string>;
  /** A subject to sign a token for, or a ready token. */
  as?: string | { token: string };
  /** Sent as the Idempotency-Key header. */
  key?: string;
  /** The invocation's time left, as a Lambda context reports it; without it the configured function timeout. */
  remainingMs?: number;
}

export interface Result<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

export function token(sub: string, options?: DevTokenOptions, secret = process.env.AUTH_JWT_SECRET ?? '') {
  return signDevToken(secret, sub, options);
}

/** Invoke a handler in-process with an API Gateway HTTP API (payload 2.0) event. */
export async function call<T = any>(handler: LambdaHandler, request: Call = {}): Promise<Result<T>> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.as !== undefined) {
    headers.authorization = `Bearer ${typeof request.as === 'string' ? await token(request.as) : request.as.token}`;
  }
  if (request.key !== undefined) headers['idempotency-key'] = request.key;
  let body: string | undefined;
  if (request.body !== undefined) {
    body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    headers['content-type'] ??= 'application/json';
  }
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path ?? `/${Object.values(request.params ?? {}).join('/')}`,
    rawQueryString: '',
    headers,
    queryStringParameters: request.query,
    pathParameters: request.params,
    body,
    isBase64Encoded: false,
    requestContext: { requestId: randomUUID(), http: { method: 'GET', path: '/' } },
  } as unknown as APIGatewayProxyEventV2;
  const endsAt = Date.now() + (request.remainingMs ?? 0);
  const context = request.remainingMs === undefined ? undefined : ({ getRemainingTimeInMillis: () => endsAt - Date.now() } as Context);
  const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  const text = result.body ?? '';
  return {
    status: result.statusCode ?? 0,
    headers: (result.headers ?? {}) as Record<string, string>,
    body: text === '' ? undefined : JSON.parse(text),
  };
}
