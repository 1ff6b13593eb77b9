import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { BlockedAddressError, endpointProblem, guardedLookup, isPermittedAddress } from './ssrf';

/** What one POST to an endpoint came to: the answer's status, or why there was none. Never the payload. */
export interface SendOutcome {
  statusCode?: number;
  /** timeout, blocked_address, connection_refused, dns_failure, tls_error, network_error. */
  error?: string;
  latencyMs: number;
  /** The answer's first bytes (at most MAX_RESPONSE_BYTES). */
  responseBody?: string;
  /** Retry-After of the answer, in seconds. */
  retryAfterSeconds?: number;
}

export interface SendOptions {
  timeoutMs: number;
  allowLoopback: boolean;
}

/** The answer is read up to this many bytes, then the connection is dropped. */
const MAX_RESPONSE_BYTES = 1024;

/**
 * POST `body` once: redirects are not followed (a 3xx is a failed attempt), the address connected to must be
 * public (checked at connect time, see ssrf.ts), and the whole exchange is bounded by `timeoutMs`.
 */
export async function send(url: URL, headers: Record<string, string>, body: string, options: SendOptions): Promise<SendOutcome> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  // An address literal is connected to without a lookup: judged here, with the rest of what a subscription checks.
  if (endpointProblem(url, options.allowLoopback) !== undefined) return { error: 'blocked_address', latencyMs: 0 };
  try {
    const answer = await post(url, headers, body, options);
    return { ...answer, latencyMs: latencyMs() };
  } catch (err) {
    return { error: classify(err), latencyMs: latencyMs() };
  }
}

function post(url: URL, headers: Record<string, string>, body: string, options: SendOptions) {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Omit<SendOutcome, 'latencyMs'>>((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      lookup: guardedLookup(options.allowLoopback),
      // A fresh connection per attempt: a pooled socket would skip the connect-time check.
      agent: false,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    req.on('socket', (socket: Socket) => {
      // Belt and braces: the peer actually connected to.
      socket.once('connect', () => {
        if (!isPermittedAddress(socket.remoteAddress ?? '', options.allowLoopback)) req.destroy(new BlockedAddressError('not public'));
      });
    });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        res.destroy();
        resolve({
          statusCode: res.statusCode,
          responseBody: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'),
          retryAfterSeconds: retryAfter(res.headers['retry-after']),
        });
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_RESPONSE_BYTES) done();
      });
      res.on('end', done);
      res.on('error', reject);
    });
    req.end(body);
  });
}

/** Retry-After as delta-seconds or an HTTP date, in seconds from now. */
export function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function classify(err: unknown): string {
  if (err instanceof BlockedAddressError) return 'blocked_address';
  const { name, code } = err as { name?: string; code?: string };
  if (name === 'AbortError' || name === 'TimeoutError' || code === 'ABORT_ERR') return 'timeout';
  if (code === 'ECONNREFUSED') return 'connection_refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns_failure';
  if (typeof code === 'string' && (code.startsWith('ERR_TLS') || code.includes('CERT'))) return 'tls_error';
  return 'network_error';
}
