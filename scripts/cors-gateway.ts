/**
 * The local stand-in for API Gateway's CORS, in front of `serverless offline`: offline copies any request's Origin
 * into Access-Control-Allow-Origin (listed or not, and with no CORS configured at all), so `npm run dev` and the
 * e2e tests answer CORS here instead, with the settings serverless.yml gives API Gateway (src/http/cors.ts).
 * Preflights are answered without reaching a function, as API Gateway does.
 */
import { createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS, CORS_EXPOSED_HEADERS, CORS_MAX_AGE, isAllowedOrigin } from '../src/http/cors';

export interface CorsGateway {
  port: number;
  close: () => Promise<void>;
}

const withoutCors = (headers: IncomingHttpHeaders): OutgoingHttpHeaders =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !name.startsWith('access-control-')));

export async function startCorsGateway(options: {
  port: number;
  upstreamPort: number;
  allowedOrigins: readonly string[];
}): Promise<CorsGateway> {
  const { allowedOrigins } = options;
  const allowOrigin = (origin: string) => (allowedOrigins.includes('*') ? '*' : origin);
  const server = createServer((req, res) => {
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
    // A new connection per request (agent: false): a kept-alive socket that offline closes as it idles can be
    // reused at that very moment, and the request dies with ECONNRESET (a 502 in a rush of retrying clients).
    const upstream = request(
      { host: '127.0.0.1', port: options.upstreamPort, method: req.method, path: req.url, headers: req.headers, agent: false },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, {
          ...withoutCors(answer.headers),
          ...(allowed && {
            vary: 'Origin',
            'access-control-allow-origin': allowOrigin(origin),
            'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(','),
          }),
        });
        answer.pipe(res);
      },
    );
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`serverless offline is not answering (${err.code ?? err.message})`);
    });
    req.pipe(upstream);
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
