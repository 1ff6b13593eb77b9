/**
 * The local stand-in for API Gateway in front of `serverless offline` (`npm run dev`, the e2e tests). Offline's own
 * HTTP server answers some requests itself (a multipart body without a boundary, a path that is not UTF-8, a body
 * over 10 MB, an unknown route, HEAD), in bodies of its own, and copies any Origin into Access-Control-Allow-Origin.
 * So this gateway does what API Gateway does and offline only runs the functions:
 * - CORS with the settings serverless.yml gives API Gateway (src/http/cors.ts); preflights never reach a function;
 * - a request matching no route: API Gateway's 404 `{"message":"Not Found"}`;
 * - any other request becomes the HTTP API's payload 2.0 event, invoked through offline's Lambda API (the function
 *   answers whatever the content type, method, path or size), and the function's result becomes the answer;
 * - an event over Lambda's 6 MB invocation limit is answered with the function's own 413 problem (src/http).
 */
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { RouteSpec } from '../src/contract/route';
import { payloadTooLarge } from '../src/http/body';
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_EXPOSED_HEADERS, CORS_MAX_AGE, isAllowedOrigin } from '../src/http/cors';
import { problemResponse } from '../src/http/problem';
import { allRoutes } from '../src/openapi';

export interface CorsGateway {
  port: number;
  close: () => Promise<void>;
}

/** Function names as offline registers them: serverless.yml's service, offline's default stage, the function key. */
const FUNCTION_NAME_PREFIX = 'lockstep-dev-';

/** Lambda's synchronous invocation payload limit, which offline's Lambda API enforces too. */
const MAX_EVENT_BYTES = 6 * 1024 * 1024;

/** API Gateway HTTP APIs take at most 10 MB; reading stops there. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** Content types API Gateway passes as text; any other body reaches the function base64-encoded. */
const TEXT_TYPES = /^(text\/|application\/([a-z0-9.+-]+\+)?(json|xml|javascript)\b)/i;

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

const json = (statusCode: number, value: unknown): Answer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(value)),
});

/** What API Gateway itself answers, with no function behind it. */
const NOT_FOUND = json(404, { message: 'Not Found' });
const FUNCTION_FAILED = json(500, { message: 'Internal Server Error' });
const TOO_LARGE = (() => {
  const { statusCode, headers, body } = problemResponse(payloadTooLarge());
  return { statusCode, headers, body: Buffer.from(body) } satisfies Answer;
})();

interface Route {
  spec: RouteSpec;
  pattern: RegExp;
  names: string[];
}

const routes: Route[] = allRoutes.map((spec) => ({
  spec,
  names: [...spec.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!),
  pattern: new RegExp(`^${spec.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '([^/]+)')}$`),
}));

/** Percent-decoded as API Gateway does, bytes that are not UTF-8 becoming U+FFFD instead of an error. */
const decode = (text: string) => Buffer.from(text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');

function match(method: string, rawPath: string): { spec: RouteSpec; pathParameters?: Record<string, string> } | undefined {
  for (const { spec, pattern, names } of routes) {
    if (spec.method !== method) continue;
    const found = pattern.exec(rawPath);
    if (!found) continue;
    if (names.length === 0) return { spec };
    return { spec, pathParameters: Object.fromEntries(names.map((name, i) => [name, decode(found[i + 1]!)])) };
  }
  return undefined;
}

/** The HTTP API payload 2.0 event for a request: headers lower-cased and repeated ones joined with commas, as AWS does. */
function eventFor(req: IncomingMessage, spec: RouteSpec, pathParameters: Record<string, string> | undefined, body: Buffer) {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? req.rawHeaders[i + 1]! : `${headers[name]},${req.rawHeaders[i + 1]!}`;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const contentType = headers['content-type'] ?? '';
  const text = TEXT_TYPES.test(contentType) && isUtf8(body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey: `${spec.method} ${spec.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(pathParameters && { pathParameters }),
    requestContext: {
      accountId: 'offline',
      apiId: 'offline',
      domainName: headers.host ?? '127.0.0.1',
      http: { method: spec.method, path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: `${spec.method} ${spec.path}`,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.byteLength > 0 && { body: text ? body.toString('utf8') : body.toString('base64') }),
    isBase64Encoded: body.byteLength > 0 && !text,
  };
}

/** Reads the request body, or undefined once it passes `limit` (the rest is drained). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

/** Invokes the function through offline's Lambda API; a new connection per call (see the note below). */
function invoke(lambdaPort: number, functionName: string, event: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const call = request(
      {
        host: '127.0.0.1',
        port: lambdaPort,
        method: 'POST',
        path: `/2015-03-31/functions/${functionName}/invocations`,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(event) },
        // A kept-alive socket that offline closes as it idles can be reused at that very moment, and the call dies
        // with ECONNRESET (a 502 in a rush of retrying clients).
        agent: false,
      },
      async (answer) => {
        const chunks: Buffer[] = [];
        for await (const chunk of answer as AsyncIterable<Buffer>) chunks.push(chunk);
        if (answer.statusCode !== 200 || answer.headers['x-amz-function-error']) return resolve(FUNCTION_FAILED);
        resolve(lambdaResult(Buffer.concat(chunks).toString('utf8')));
      },
    );
    call.on('error', reject);
    call.end(event);
  });
}

/** A payload 2.0 result as API Gateway maps it: a structured result as given, anything else a 200 JSON body. */
function lambdaResult(payload: string): Answer {
  const result: unknown = payload === '' ? null : JSON.parse(payload);
  if (result === null || typeof result !== 'object' || !('statusCode' in result)) {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(payload) };
  }
  const { statusCode, headers = {}, body = '', isBase64Encoded = false, cookies = [] } = result as {
    statusCode: number;
    headers?: Record<string, string>;
    body?: string;
    isBase64Encoded?: boolean;
    cookies?: string[];
  };
  return {
    statusCode,
    headers: { ...headers, ...(cookies.length > 0 && { 'set-cookie': cookies.join(', ') }) },
    body: Buffer.from(body, isBase64Encoded ? 'base64' : 'utf8'),
  };
}

export async function startCorsGateway(options: {
  port: number;
  /** offline's Lambda API (its `lambdaPort`). */
  lambdaPort: number;
  allowedOrigins: readonly string[];
}): Promise<CorsGateway> {
  const { allowedOrigins } = options;
  const allowOrigin = (origin: string) => (allowedOrigins.includes('*') ? '*' : origin);

  async function answer(req: IncomingMessage): Promise<Answer> {
    const method = req.method ?? 'GET';
    const found = match(method, new URL(req.url ?? '/', 'http://gateway').pathname);
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (!found) return NOT_FOUND;
    if (body === undefined) return TOO_LARGE;
    const event = JSON.stringify(eventFor(req, found.spec, found.pathParameters, body));
    if (Buffer.byteLength(event) > MAX_EVENT_BYTES) return TOO_LARGE;
    return invoke(options.lambdaPort, `${FUNCTION_NAME_PREFIX}${found.spec.operationId}`, event);
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    const allowed = isAllowedOrigin(allowedOrigins, origin);
    if (allowedOrigins.length > 0 && req.method === 'OPTIONS' && origin && req.headers['access-control-request-method']) {
      res.writeHead(204, {
        vary: 'Origin',
        ...(allowed && {
          'access-control-allow-origin': allowOrigin(origin),
          'access-control-allow-methods': CORS_ALLOWED_METHODS.join(','),
          'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(','),
          'access-control-max-age': String(CORS_MAX_AGE),
        }),
      });
      res.end();
      return;
    }
    answer(req).then(
      ({ statusCode, headers, body }) => {
        res.writeHead(statusCode, {
          ...withoutCors(headers),
          ...(allowed && {
            vary: 'Origin',
            'access-control-allow-origin': allowOrigin(origin),
            'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(','),
          }),
        });
        res.end(body);
      },
      (err: NodeJS.ErrnoException) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`serverless offline is not answering (${err.code ?? err.message})`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const withoutCors = (headers: IncomingHttpHeaders | Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !name.toLowerCase().startsWith('access-control-')));
